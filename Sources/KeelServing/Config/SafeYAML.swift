import CYaml
import KeelCore

/// Loads one YAML document from an untrusted source (a config.yaml, a deployer's schema,
/// keel.yaml) into plain `YAMLValue`s, with every cost bounded.
///
/// It reads libyaml's event stream itself rather than composing a Yams `Node` tree, because
/// composing hashes mapping keys recursively: a key that aliases a "billion laughs" tree costs
/// exponential time before any caller could look. Here the text size, the nesting depth and
/// the node count — each alias counted as the full size of what it repeats — are checked as
/// the events arrive. Mapping keys must be scalars and unique; scalars resolve by the YAML 1.2
/// core schema (`yes`/`no` are strings); tags other than the standard scalar ones, merge keys
/// (`<<`) and multi-document streams are refused.
public enum SafeYAML {
    /// The bounds a document must stay within.
    public struct Limits: Sendable {
        /// Largest accepted text, in UTF-8 bytes.
        public var maxBytes: Int
        /// Most nodes (scalars and collections, aliases expanded) in the document.
        public var maxNodes: Int
        /// Deepest nesting of collections.
        public var maxDepth: Int

        public init(maxBytes: Int = 1 << 20, maxNodes: Int = 100_000, maxDepth: Int = 64) {
            self.maxBytes = maxBytes
            self.maxNodes = maxNodes
            self.maxDepth = maxDepth
        }
    }

    /// Parses `text`; `source` names it in errors, which carry `errorCode` (a size over the
    /// limit is `.payloadTooLarge`). An empty document is `.null`.
    public static func load(
        _ text: String, source: String, limits: Limits = Limits(), errorCode: KeelError.Code = .invalidModel
    ) throws(KeelError) -> YAMLValue {
        let size = text.utf8.count
        guard size <= limits.maxBytes else {
            throw KeelError(.payloadTooLarge, "\(source): YAML is \(size) bytes; at most \(limits.maxBytes) are allowed")
        }
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return .null }
        var result: Result<YAMLValue, KeelError> = .failure(KeelError(errorCode, "\(source): empty YAML"))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var reader = SafeYAMLReader(source: source, limits: limits, errorCode: errorCode)
            result = reader.read(buffer)
        }
        return try result.get()
    }
}

/// The event loop behind `SafeYAML.load`: an explicit stack of open collections (no
/// recursion) and the anchors seen so far with their expanded sizes.
struct SafeYAMLReader {
    /// An open collection; a class so that appending never copies what came before.
    private final class Frame {
        let isMapping: Bool
        let anchor: String?
        var items: [YAMLValue] = []
        var pairs: [String: YAMLValue] = [:]
        var key: String?
        var nodes = 1

        init(isMapping: Bool, anchor: String?) {
            self.isMapping = isMapping
            self.anchor = anchor
        }
    }

    let source: String
    let limits: SafeYAML.Limits
    let errorCode: KeelError.Code
    private var stack: [Frame] = []
    private var anchors: [String: (value: YAMLValue, nodes: Int)] = [:]
    private var totalNodes = 0
    private var root: YAMLValue?
    private var documents = 0

    init(source: String, limits: SafeYAML.Limits, errorCode: KeelError.Code) {
        self.source = source
        self.limits = limits
        self.errorCode = errorCode
    }

    mutating func read(_ buffer: UnsafeMutableBufferPointer<UInt8>) -> Result<YAMLValue, KeelError> {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            return .failure(KeelError(.internal, "\(source): could not start the YAML parser"))
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                let mark = parser.problem_mark
                return .failure(fail("invalid YAML at line \(mark.line + 1), column \(mark.column + 1): \(problem)"))
            }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            do {
                try handle(&event)
            } catch {
                return .failure(error)
            }
        }
        return .success(root ?? .null)
    }

    private func fail(_ message: String) -> KeelError {
        KeelError(errorCode, "\(source): \(message)")
    }

    private func fail(_ message: String, at event: yaml_event_t) -> KeelError {
        fail("\(message) (line \(event.start_mark.line + 1), column \(event.start_mark.column + 1))")
    }

    private mutating func handle(_ event: inout yaml_event_t) throws(KeelError) {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            guard documents == 1 else { throw fail("expected a single YAML document, found another", at: event) }
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = Self.string(s.value, length: s.length)
            let value = try scalar(text, tag: Self.optionalString(s.tag), plain: s.style == YAML_PLAIN_SCALAR_STYLE, event)
            try count(1, event)
            try add(value, nodes: 1, keyText: text, anchor: Self.optionalString(s.anchor), event)
        case YAML_ALIAS_EVENT:
            let name = Self.optionalString(event.data.alias.anchor) ?? ""
            guard let anchored = anchors[name] else { throw fail("alias '*\(name.prefix(64))' names no anchor", at: event) }
            try count(anchored.nodes, event)
            try add(anchored.value, nodes: anchored.nodes, keyText: nil, anchor: nil, event)
        case YAML_SEQUENCE_START_EVENT:
            let s = event.data.sequence_start
            try checkCollectionTag(Self.optionalString(s.tag), allowed: ["tag:yaml.org,2002:seq", "!"], event)
            try open(Frame(isMapping: false, anchor: Self.optionalString(s.anchor)), event)
        case YAML_MAPPING_START_EVENT:
            let m = event.data.mapping_start
            try checkCollectionTag(Self.optionalString(m.tag), allowed: ["tag:yaml.org,2002:map", "!"], event)
            try open(Frame(isMapping: true, anchor: Self.optionalString(m.anchor)), event)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { throw fail("unbalanced YAML collection", at: event) }
            if frame.isMapping {
                if let key = frame.key { throw fail("mapping key '\(key.prefix(64))' has no value", at: event) }
                try add(.mapping(frame.pairs), nodes: frame.nodes, keyText: nil, anchor: frame.anchor, event)
            } else {
                try add(.sequence(frame.items), nodes: frame.nodes, keyText: nil, anchor: frame.anchor, event)
            }
        default:
            break  // stream start, document end
        }
    }

    private mutating func count(_ nodes: Int, _ event: yaml_event_t) throws(KeelError) {
        let (total, overflow) = totalNodes.addingReportingOverflow(nodes)
        guard !overflow, total <= limits.maxNodes else {
            throw fail("YAML expands to more than \(limits.maxNodes) nodes (aliases counted as what they repeat)", at: event)
        }
        totalNodes = total
    }

    private mutating func open(_ frame: Frame, _ event: yaml_event_t) throws(KeelError) {
        if let top = stack.last, top.isMapping, top.key == nil {
            throw fail("mapping keys must be scalars, not collections", at: event)
        }
        guard stack.count < limits.maxDepth else { throw fail("YAML nests deeper than \(limits.maxDepth) levels", at: event) }
        try count(1, event)
        stack.append(frame)
    }

    /// Places a finished value into the open collection (or as the root), registering its
    /// anchor with its expanded size. `keyText` is the scalar's text when it may be a key.
    private mutating func add(_ value: YAMLValue, nodes: Int, keyText: String?, anchor: String?, _ event: yaml_event_t) throws(KeelError) {
        if let anchor { anchors[anchor] = (value, nodes) }
        guard let top = stack.last else {
            root = value
            return
        }
        top.nodes += nodes
        guard top.isMapping else {
            top.items.append(value)
            return
        }
        if let key = top.key {
            top.pairs[key] = value
            top.key = nil
            return
        }
        guard let keyText else { throw fail("mapping keys must be plain scalars, not aliases or collections", at: event) }
        guard keyText != "<<" else { throw fail("merge keys ('<<') are not supported", at: event) }
        guard top.pairs[keyText] == nil else { throw fail("duplicate key '\(keyText.prefix(64))'", at: event) }
        top.key = keyText
    }

    private func scalar(_ text: String, tag: String?, plain: Bool, _ event: yaml_event_t) throws(KeelError) -> YAMLValue {
        guard let tag, tag != "!" else { return plain ? YAMLValue.resolvePlain(text) : .string(text) }
        let resolved = YAMLValue.resolvePlain(text)
        switch tag {
        case "tag:yaml.org,2002:str": return .string(text)
        case "tag:yaml.org,2002:null": if case .null = resolved { return resolved }
        case "tag:yaml.org,2002:bool": if case .bool = resolved { return resolved }
        case "tag:yaml.org,2002:int": if case .int = resolved { return resolved }
        case "tag:yaml.org,2002:float":
            if case .double = resolved { return resolved }
            if case .int(let i) = resolved { return .double(Double(i)) }
        default:
            throw fail("unsupported YAML tag '\(tag.prefix(64))'", at: event)
        }
        throw fail("'\(text.prefix(64))' is not a valid \(tag.split(separator: ":").last ?? "")", at: event)
    }

    private func checkCollectionTag(_ tag: String?, allowed: Set<String>, _ event: yaml_event_t) throws(KeelError) {
        if let tag, !allowed.contains(tag) { throw fail("unsupported YAML tag '\(tag.prefix(64))'", at: event) }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func optionalString(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
