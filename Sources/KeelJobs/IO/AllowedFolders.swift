#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeelCore

/// The folders the server may read batch inputs from and write outputs to.
///
/// Paths must be absolute; they are resolved with realpath (symbolic links followed, `..`
/// applied) and the result must lie inside a root, compared by whole path components
/// (/data2 is not inside /data). What a path outside names is never told: missing or not,
/// it is a 403.
public struct AllowedFolders: Sendable {
    /// The roots, resolved.
    public var roots: [String]

    /// Each root must be an existing folder (400 otherwise).
    public init(_ roots: [String]) throws(KeelError) {
        var resolved: [String] = []
        for root in roots {
            guard let real = Self.realPath(root) else {
                throw .invalidInput("allowed folder '\(root.prefix(200))' does not exist")
            }
            guard Self.kind(real, follow: true) == .directory else {
                throw .invalidInput("allowed folder '\(root.prefix(200))' is not a folder")
            }
            resolved.append(real)
        }
        self.roots = resolved
    }

    /// An existing regular file inside a root: its resolved path. Outside: 403; missing: 404;
    /// not a regular file: 400.
    public func input(_ path: String) throws(KeelError) -> String {
        try requireAbsolute(path)
        guard let real = Self.realPath(path) else {
            guard let ancestor = Self.nearestExistingAncestor(path), contains(ancestor) else { throw outside(path) }
            throw .notFound("input file '\(path.prefix(200))' not found")
        }
        guard contains(real) else { throw outside(path) }
        guard Self.kind(real, follow: false) == .regular else {
            throw .invalidInput("input '\(path.prefix(200))' is not a regular file")
        }
        return real
    }

    /// A file to create: its folder must exist and resolve inside a root; the file itself, if
    /// present, must be neither a symbolic link (403) nor a folder (400). Its resolved path.
    public func output(_ path: String) throws(KeelError) -> String {
        try requireAbsolute(path)
        let (folder, name) = Self.split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw .invalidInput("output '\(path.prefix(200))' must name a file")
        }
        guard let realFolder = Self.realPath(folder) else {
            guard let ancestor = Self.nearestExistingAncestor(folder), contains(ancestor) else { throw outside(path) }
            throw .notFound("output folder of '\(path.prefix(200))' does not exist")
        }
        guard contains(realFolder) else { throw outside(path) }
        let target = realFolder == "/" ? "/" + name : realFolder + "/" + name
        switch Self.kind(target, follow: false) {
        case nil, .regular: return target
        case .symlink: throw KeelError(.forbidden, "output '\(path.prefix(200))' is a symbolic link")
        case .directory: throw .invalidInput("output '\(path.prefix(200))' is a folder")
        case .other: throw .invalidInput("output '\(path.prefix(200))' is not a regular file")
        }
    }

    /// Whether a resolved path is a root or below one.
    func contains(_ resolved: String) -> Bool {
        roots.contains { root in
            resolved == root || root == "/" || resolved.hasPrefix(root + "/")
        }
    }

    private func requireAbsolute(_ path: String) throws(KeelError) {
        guard path.hasPrefix("/") else { throw .invalidInput("path '\(path.prefix(200))' must be absolute") }
        guard !path.utf8.contains(0) else { throw .invalidInput("path must not contain a NUL byte") }
    }

    private func outside(_ path: String) -> KeelError {
        KeelError(.forbidden, "path '\(path.prefix(200))' is outside the allowed folders")
    }

    enum Kind { case regular, directory, symlink, other }

    static func kind(_ path: String, follow: Bool) -> Kind? {
        var st = stat()
        guard (follow ? stat(path, &st) : lstat(path, &st)) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    static func realPath(_ path: String) -> String? {
        guard !path.utf8.contains(0), let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The folder part and the last component (`/a/b` → `/a`, `b`; `/b` → `/`, `b`).
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let name = String(path[path.index(after: slash)...])
        let folder = slash == path.startIndex ? "/" : String(path[..<slash])
        return (folder, name)
    }

    /// The resolved path of the deepest existing folder above `path`, to tell a missing file
    /// inside a root (404) from a path outside (403).
    static func nearestExistingAncestor(_ path: String) -> String? {
        var current = path
        while current != "/" {
            current = split(current).0
            if let real = realPath(current) { return real }
        }
        return realPath("/")
    }
}
