import KeelCore

/// One kernel registration: an operator of a domain over a range of opset versions.
struct KernelRegistration: Sendable {
    let domain: String
    let opType: String
    let versions: ClosedRange<Int>
    let factory: KernelFactory

    init(_ domain: String, _ opType: String, _ versions: ClosedRange<Int>, _ factory: @escaping KernelFactory) {
        self.domain = domain
        self.opType = opType
        self.versions = versions
        self.factory = factory
    }
}

/// Every operator Keel runs, looked up by (domain, op type, opset) — the ONNX Runtime habit of
/// small kernels registered by name. Each operator file contributes its own list.
enum KernelRegistry {
    static let defaultDomain = "ai.onnx"
    static let mlDomain = "ai.onnx.ml"
    /// Highest opset of each domain that Keel's kernels were written against.
    static let maxOpset = [defaultDomain: 23, mlDomain: 5]

    private static let table: [String: [KernelRegistration]] = {
        var table: [String: [KernelRegistration]] = [:]
        let all = ElementwiseOps.registrations + UnaryOps.registrations + ComparisonOps.registrations
            + LinearAlgebraOps.registrations + ActivationOps.registrations + ReductionOps.registrations
            + ShapeOps.registrations + IndexingOps.registrations + ConversionOps.registrations
            + NormalizationOps.registrations
            + TreeEnsembleOps.registrations + LinearMLOps.registrations + PreprocessingOps.registrations
            + EncodingOps.registrations + ZipMapOps.registrations
        for r in all { table[key(r.domain, r.opType), default: []].append(r) }
        return table
    }()

    private static func key(_ domain: String, _ op: String) -> String { domain + "\u{0}" + op }

    /// "" and "ai.onnx" name the same default domain.
    static func normalize(domain: String) -> String {
        domain.isEmpty ? defaultDomain : domain
    }

    static func lookup(domain: String, opType: String, opset: Int) -> KernelRegistration? {
        table[key(normalize(domain: domain), opType)]?.first { $0.versions.contains(opset) }
    }

    /// Sorted "Op" names per domain, for documentation and messages.
    static var supportedOperators: [String: [String]] {
        var out: [String: Set<String>] = [:]
        for list in table.values { for r in list { out[r.domain, default: []].insert(r.opType) } }
        return out.mapValues { $0.sorted() }
    }
}
