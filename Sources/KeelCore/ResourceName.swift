/// The names of things a client addresses by URL — models, aliases, key ids — are checked
/// here before they reach a folder, a query or a log line: 1–128 ASCII letters, digits, '-',
/// '_' or '.', not starting with '.', so `..`, '/' and control characters can never appear.
public enum ResourceName {
    public static let maxLength = 128

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength, bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
        }
    }

    /// The name itself, or a 400 naming the rule.
    @discardableResult
    public static func validate(_ name: String, what: String) throws(KeelError) -> String {
        guard isValid(name) else {
            let shown = String(name.unicodeScalars.prefix(40).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
            throw KeelError.invalidInput("\(what) '\(shown)' must be 1–\(maxLength) ASCII letters, digits, '-', '_' or '.', not starting with '.'")
        }
        return name
    }
}
