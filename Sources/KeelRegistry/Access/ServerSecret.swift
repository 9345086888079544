import Crypto
import Foundation
import KeelCore
#if canImport(Glibc)
import Glibc
#endif

/// The server secret API keys are hashed with (HMAC-SHA256), so a copy of the key table is
/// no help in guessing keys without it. Every replica must have the same one.
public struct ServerSecret: Sendable {
    private let key: SymmetricKey
    /// Where it came from, for the start-up log (never the secret itself).
    public let source: String

    /// Shortest and longest secret accepted, in bytes.
    public static let minimumBytes = 32
    public static let maximumBytes = 4096
    /// The file a single node keeps its generated secret in, inside the data folder.
    public static let fileName = "server-secret"

    private init(key: SymmetricKey, source: String) {
        self.key = key
        self.source = source
    }

    public init(_ secret: String, source: String) throws(KeelError) {
        let bytes = Array(secret.utf8)
        guard bytes.count >= Self.minimumBytes, bytes.count <= Self.maximumBytes else {
            throw .invalidInput("the server secret (\(source)) must be \(Self.minimumBytes) to \(Self.maximumBytes) bytes long")
        }
        key = SymmetricKey(data: bytes)
        self.source = source
    }

    /// A fresh secret held only in memory (tests and embedders: keys do not outlive the process).
    public static func ephemeral() -> ServerSecret {
        ServerSecret(key: SymmetricKey(size: .bits256), source: "in memory")
    }

    /// `KEEL_SECRET` when set; else, when `shared` is false (one node, SQLite), the secret in
    /// the data folder, generated on first start into a file only the owner can read. A shared
    /// store needs `KEEL_SECRET`, the same on every replica: a secret per replica would make
    /// each replica refuse the keys the others created.
    public static func load(environment: String?, dataDirectory: URL, shared: Bool) throws(KeelError) -> ServerSecret {
        if let environment, !environment.isEmpty { return try ServerSecret(environment, source: "KEEL_SECRET") }
        guard !shared else {
            throw .invalidInput("KEEL_SECRET must be set (the same on every replica) when the store is shared: API keys are hashed with it")
        }
        let url = dataDirectory.appendingPathComponent(fileName)
        if let existing = try readFile(url) { return try ServerSecret(existing, source: url.path) }
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw KeelError(.unavailable, "cannot create the data folder \(dataDirectory.path): \(error.localizedDescription)")
        }
        let fresh = randomHex(32)
        switch try OwnerOnlyFile.create(url, contents: fresh + "\n") {
        case true: return try ServerSecret(fresh, source: url.path)
        case false:
            // Another process created it between the read and the create: use theirs.
            guard let theirs = try readFile(url) else { throw KeelError(.unavailable, "the server secret file \(url.path) vanished") }
            return try ServerSecret(theirs, source: url.path)
        }
    }

    private static func readFile(_ url: URL) throws(KeelError) -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let text = SmallFile.text(url.path, limit: maximumBytes + 16) else { throw .invalidInput("the server secret file \(url.path) is unreadable or too large") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// How a key secret is stored: `hmac-sha256:<64 hex digits>`.
    public func hash(_ keySecret: String) -> String {
        "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(keySecret.utf8), using: key))
    }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}

/// Files only their owner may read (mode 0600), created exclusively: never over an existing file.
public enum OwnerOnlyFile {
    /// True when the file was created and written; false when it already existed.
    public static func create(_ url: URL, contents: String) throws(KeelError) -> Bool {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw KeelError(.unavailable, "cannot create \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw KeelError(.unavailable, "cannot write \(url.path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw KeelError(.unavailable, "cannot sync \(url.path): \(String(cString: strerror(errno)))") }
        return true
    }
}
