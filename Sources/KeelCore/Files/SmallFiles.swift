import Foundation

/// Small text files from configuration (keys, secrets) read with a bound: at most `limit`
/// bytes are ever read, whatever the file's size says or becomes while it is read.
public enum SmallFile {
    /// The file's text, or nil when it cannot be opened, is over `limit` bytes or is not UTF-8.
    public static func text(_ path: String, limit: Int) -> String? {
        bytes(path, limit: limit).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// The file's bytes, or nil when it cannot be opened or is over `limit` bytes.
    public static func bytes(_ path: String, limit: Int) -> [UInt8]? {
        guard limit >= 0, limit < Int.max, let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: limit + 1) ?? Data(), data.count <= limit else { return nil }
        return [UInt8](data)
    }
}

/// Lowercase hexadecimal, two digits a byte.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
