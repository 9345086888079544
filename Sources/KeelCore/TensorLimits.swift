/// Limits on tensors that arrive from outside (request bodies, binary data, records): one
/// number for every decoder, so the engine and the codecs agree on what a request may ask for.
extension Tensor {
    /// Most elements one request tensor may hold (2^27: 512 MiB of FP32). A declared shape
    /// above it is refused before anything is allocated for it.
    public static let maxElements = 1 << 27

    /// Most dimensions one request tensor may have.
    public static let maxRank = 32

    /// Checks a shape declared by a client: rank at most `maxRank`, no negative dimension,
    /// element count without overflow and at most `maxElements`. Returns the element count.
    /// `what` names the tensor in the error (e.g. `input 'x'`).
    public static func checkedRequestShape(_ shape: [Int], what: String) throws(KeelError) -> Int {
        guard shape.count <= maxRank else {
            throw .invalidInput("\(what) has \(shape.count) dimensions; at most \(maxRank) are allowed")
        }
        if let bad = shape.first(where: { $0 < 0 }) {
            throw .invalidInput("\(what) has negative dimension \(bad) in shape \(describe(shape))")
        }
        guard let count = checkedElementCount(shape), count <= maxElements else {
            throw .invalidInput("\(what) shape \(describe(shape)) has too many elements (limit \(maxElements) per tensor)")
        }
        return count
    }
}
