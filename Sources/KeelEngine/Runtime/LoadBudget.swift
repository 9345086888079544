import KeelCore

/// The memory one model load may spend on structures whose size comes from the file's
/// content: 64 MiB plus 16 bytes per byte of the file. Loaders charge every such allocation
/// before making it, so a small file cannot declare its way to a large allocation; running
/// over throws `invalidModel` naming what was too large and the limit.
///
/// One budget belongs to one load on one task; it is never shared or kept afterwards.
public final class LoadBudget {
    /// Memory any load may use whatever the file's size.
    public static let baseBytes = 64 << 20
    /// Memory a load may use per byte of the file.
    public static let bytesPerFileByte = 16

    /// Bytes this load may charge in all.
    public let limit: Int
    /// Bytes charged so far for structures that live until the load ends.
    public private(set) var spent = 0

    /// The budget for a file of `fileSize` bytes.
    public convenience init(fileSize: Int) {
        let perFile = max(fileSize, 0).multipliedReportingOverflow(by: Self.bytesPerFileByte)
        let total = perFile.partialValue.addingReportingOverflow(Self.baseBytes)
        self.init(limit: perFile.overflow || total.overflow ? Int.max : total.partialValue)
    }

    /// A budget of exactly `limit` bytes (tests, nested loads).
    public init(limit: Int) {
        self.limit = max(limit, 0)
    }

    /// Bytes still available.
    public var remaining: Int { limit - spent }

    /// Charges `count` elements of `stride` bytes each for `what`, which lives until the load ends.
    public func charge(_ count: Int, of stride: Int, for what: @autoclosure () -> String) throws(KeelError) {
        let bytes = try Self.bytes(count, stride, what)
        guard bytes <= remaining else { throw exceeded(bytes, what()) }
        spent += bytes
    }

    /// Charges `count` values of type `T`.
    public func charge<T>(_ count: Int, _: T.Type, for what: @autoclosure () -> String) throws(KeelError) {
        try charge(count, of: MemoryLayout<T>.stride, for: what())
    }

    /// Checks that a short-lived allocation (freed before the next one of its kind) fits in
    /// what is left, without keeping it charged.
    public func check(transient count: Int, of stride: Int, for what: @autoclosure () -> String) throws(KeelError) {
        let bytes = try Self.bytes(count, stride, what)
        guard bytes <= remaining else { throw exceeded(bytes, what()) }
    }

    private static func bytes(_ count: Int, _ stride: Int, _ what: () -> String) throws(KeelError) -> Int {
        guard count >= 0 else { throw .invalidModel("\(what()) has a negative size (\(count))") }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: max(stride, 0))
        guard !overflow else { throw .invalidModel("\(what()) is too large: \(count) elements of \(stride) bytes overflow") }
        return bytes
    }

    private func exceeded(_ bytes: Int, _ what: String) -> KeelError {
        .invalidModel(
            "\(what) needs \(Self.mebibytes(bytes)) MiB, more than the \(Self.mebibytes(remaining)) MiB left of this model's load budget of \(Self.mebibytes(limit)) MiB (64 MiB + 16 × the file's size)")
    }

    static func mebibytes(_ bytes: Int) -> String {
        let m = Double(bytes) / Double(1 << 20)
        return m >= 10 ? String(Int(m.rounded())) : String((m * 10).rounded() / 10)
    }
}
