#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import KeelCore

/// A buffered byte sink to a file, gzip-compressing when asked. It writes to `path` directly
/// (the caller writes to a temporary name and renames). `write` never throws: the first
/// failure is kept, later writes are dropped, and `finish()` reports it.
public final class FileSink {
    private var fd: Int32
    private let path: String
    private var deflater: GzipDeflater?
    private var buffer: [UInt8] = []
    private var failure: KeelError?
    private var closed = false
    public private(set) var bytesWritten: Int64 = 0

    static let bufferBytes = 1 << 20

    /// Creates or truncates `path` (mode 0644).
    public init(path: String, gzip: Bool) throws(KeelError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw KeelError(.internal, "the output file cannot be created", logDetail: "open \(path): \(POSIXFile.errorText())")
        }
        if gzip {
            do {
                deflater = try GzipDeflater()
            } catch {
                close(fd)
                unlink(path)
                throw error
            }
        }
        buffer.reserveCapacity(Self.bufferBytes)
    }

    deinit {
        if !closed { close(fd) }
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, failure == nil, !bytes.isEmpty else { return }
        bytesWritten += Int64(bytes.count)
        if buffer.count + bytes.count > Self.bufferBytes {
            flush()
            if bytes.count >= Self.bufferBytes {
                emit(bytes)
                return
            }
        }
        buffer.append(contentsOf: bytes)
    }

    /// Flushes, ends the gzip stream, fsyncs and closes.
    public func finish() throws(KeelError) {
        guard !closed else {
            if let failure { throw failure }
            return
        }
        flush()
        if failure == nil, let deflater {
            do {
                try deflater.finish { out throws(KeelError) in try POSIXFile.writeAll(fd, out) }
            } catch {
                failure = error
            }
        }
        if failure == nil && fsync(fd) != 0 {
            failure = KeelError(.internal, "the output file cannot be written", logDetail: "fsync \(path): \(POSIXFile.errorText())")
        }
        if close(fd) != 0 && failure == nil {
            failure = KeelError(.internal, "the output file cannot be written", logDetail: "close \(path): \(POSIXFile.errorText())")
        }
        closed = true
        if let failure { throw failure }
    }

    /// Closes and deletes the file.
    public func abandon() {
        if !closed {
            close(fd)
            closed = true
        }
        unlink(path)
    }

    private func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { emit($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Compresses (when gzip) and writes bytes, keeping the first failure.
    private func emit(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        let fd = self.fd
        do {
            if let deflater {
                try deflater.compress(bytes) { out throws(KeelError) in try POSIXFile.writeAll(fd, out) }
            } else {
                try POSIXFile.writeAll(fd, bytes)
            }
        } catch {
            failure = error
        }
    }
}

/// zlib's deflate writing one gzip member.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private static let outputCapacity = 256 << 10

    init(level: Int32 = 6) throws(KeelError) {
        stream = .allocate(capacity: 1)
        // zlib keeps a pointer back to the stream: it must not move, hence the allocation.
        stream.initialize(to: z_stream())
        output = .allocate(capacity: Self.outputCapacity)
        let rc = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw KeelError(.internal, "gzip compression is unavailable", logDetail: "deflateInit2: \(rc)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    func compress(_ bytes: UnsafeRawBufferPointer, write: (UnsafeRawBufferPointer) throws(KeelError) -> Void) throws(KeelError) {
        guard let base = bytes.baseAddress else { return }
        var p = base.assumingMemoryBound(to: UInt8.self)
        var left = bytes.count
        while left > 0 {
            // avail_in is 32 bits: feed large blocks in pieces.
            let piece = min(left, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: p)
            stream.pointee.avail_in = UInt32(piece)
            try run(Z_NO_FLUSH, write: write)
            p += piece
            left -= piece
        }
    }

    func finish(write: (UnsafeRawBufferPointer) throws(KeelError) -> Void) throws(KeelError) {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(Z_FINISH, write: write)
    }

    /// Deflates until the input is consumed (or, finishing, the stream has ended).
    private func run(_ flush: Int32, write: (UnsafeRawBufferPointer) throws(KeelError) -> Void) throws(KeelError) {
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(Self.outputCapacity)
            let rc = deflate(stream, flush)
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw KeelError(.internal, "gzip compression failed", logDetail: "deflate: \(rc)")
            }
            let produced = max(0, Self.outputCapacity - Int(truncatingIfNeeded: stream.pointee.avail_out))  // zlib only lowers avail_out
            if produced > 0 { try write(UnsafeRawBufferPointer(start: output, count: produced)) }
            if flush == Z_FINISH {
                if rc == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                return
            }
        }
    }
}
