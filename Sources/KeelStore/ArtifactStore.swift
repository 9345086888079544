import Crypto
import Foundation
import KeelCore

/// Model files kept content-addressed: `<root>/sha256/<first two hex digits>/<hash>`. Writing
/// the same bytes twice stores them once; every load re-hashes and refuses a mismatch.
public struct ArtifactStore: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// The artifact folder inside a data folder: `<dir>/artifacts`.
    public init(dataDirectory: URL) {
        root = dataDirectory.appendingPathComponent("artifacts")
    }

    public static func sha256(_ bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }

    public func path(for hash: String) -> URL {
        root.appendingPathComponent("sha256").appendingPathComponent(String(hash.prefix(2))).appendingPathComponent(hash)
    }

    /// Stores bytes and returns their SHA-256 (hex). Written to a temporary file and renamed,
    /// so a reader never sees a partial artifact.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(KeelError) -> String {
        let hash = Self.sha256(bytes)
        let target = path(for: hash)
        let fm = FileManager.default
        if fm.fileExists(atPath: target.path), (try? load(hash)) != nil { return hash }
        do {
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(hash).\(UUID().uuidString).tmp")
            try Data(bytes).write(to: temporary)
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            try fm.moveItem(at: temporary, to: target)
        } catch {
            throw KeelError(.internal, "cannot store artifact sha256:\(hash)", logDetail: "under \(root.path): \(error)")
        }
        return hash
    }

    /// Reads an artifact and checks its hash.
    public func load(_ hash: String) throws(KeelError) -> [UInt8] {
        guard Self.isHash(hash) else { throw KeelError(.internal, "stored artifact hash '\(hash.prefix(64))' is not 64 hex digits") }
        let file = path(for: hash)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw KeelError(.notFound, "artifact sha256:\(hash) is missing", logDetail: "expected at \(file.path)")
        }
        let bytes = [UInt8](data)
        let actual = Self.sha256(bytes)
        guard actual == hash else {
            throw KeelError.invalidModel("artifact sha256:\(hash) is corrupt: its \(bytes.count) bytes hash to sha256:\(actual); refusing to load it")
        }
        return bytes
    }

    /// Whether `text` is a SHA-256 as this store names files (64 lowercase hex digits), so
    /// it can never point outside the artifact folder.
    public static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    public func contains(_ hash: String) -> Bool {
        FileManager.default.fileExists(atPath: path(for: hash).path)
    }
}
