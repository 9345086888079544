#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeelCore

/// Thin, typed-throws wrappers over the POSIX calls the file layer uses.
enum POSIXFile {
    /// The error text for the current `errno`.
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Opens a batch file for reading: 404 when missing, 400 when not a regular file.
    static func openForReading(_ path: String, name: String) throws(KeelError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .notFound("batch file '\(name.prefix(200))' not found") }
            if code == EACCES { throw KeelError(.forbidden, "batch file '\(name.prefix(200))' cannot be read", logDetail: "open \(path): \(errorText(code))") }
            throw KeelError(.internal, "batch file '\(name.prefix(200))' cannot be opened", logDetail: "open \(path): \(errorText(code))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .invalidInput("batch file '\(name.prefix(200))' is not a regular file")
        }
        return fd
    }

    /// `read` retried on EINTR: bytes read, 0 at the end of the file.
    static func readSome(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) throws(KeelError) -> Int {
        while true {
            let n = read(fd, buffer, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw KeelError(.internal, "the batch file cannot be read", logDetail: "read: \(errorText())")
        }
    }

    /// Writes every byte, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(KeelError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw KeelError(.internal, "the output file cannot be written", logDetail: "write: \(errorText())")
            }
            p += n
            left -= n
        }
    }
}
