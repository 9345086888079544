#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import KeelCore

/// The bytes of a batch file in order: read from an open file, optionally only a byte range
/// of it, or decompressed on the fly from gzip (concatenated members are one stream).
/// Errors carry no line number; `RecordScanner` adds it.
final class ByteSource {
    private let fd: Int32
    /// Plain files: bytes left before the range's end (nil: read to the end of the file).
    private var remaining: Int64?
    private let inflater: GzipInflater?

    /// Opens `file` for reading from `offset` (plain files only), at most `length` bytes.
    init(_ file: BatchFile, offset: Int64 = 0, length: Int64? = nil) throws(KeelError) {
        fd = try POSIXFile.openForReading(file.path, name: file.name)
        remaining = length
        if file.gzip {
            do {
                inflater = try GzipInflater()
            } catch {
                close(fd)
                throw error
            }
        } else {
            inflater = nil
            if offset > 0, lseek(fd, off_t(offset), SEEK_SET) < 0 {
                let text = POSIXFile.errorText()
                close(fd)
                throw KeelError(.internal, "the batch file cannot be read", logDetail: "lseek: \(text)")
            }
        }
    }

    deinit { close(fd) }

    /// Fills up to `capacity` bytes at `buffer`: how many, 0 only at the end of the data.
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws(KeelError) -> Int {
        guard capacity > 0 else { return 0 }
        if let inflater { return try inflater.inflate(from: fd, into: buffer, capacity: capacity) }
        var want = capacity
        if let remaining {
            guard remaining > 0 else { return 0 }
            if remaining < Int64(want) { want = Int(remaining) }
        }
        let n = try POSIXFile.readSome(fd, buffer, want)
        if let remaining { self.remaining = remaining - Int64(n) }
        return n
    }
}

/// zlib's inflate over a file descriptor, for gzip input (one member or several concatenated).
final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutablePointer<UInt8>
    private static let inputCapacity = 256 << 10
    private var inputEnded = false
    /// The last member's end was reached: the next input byte must start a new member.
    private var memberEnded = false
    private var sawInput = false

    init() throws(KeelError) {
        stream = .allocate(capacity: 1)
        // zlib keeps a pointer back to the stream: it must not move, hence the allocation.
        stream.initialize(to: z_stream())
        input = .allocate(capacity: Self.inputCapacity)
        // 15 + 16: a gzip wrapper (not zlib or raw deflate), the largest window.
        let rc = inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            input.deallocate()
            throw KeelError(.internal, "gzip decompression is unavailable", logDetail: "inflateInit2: \(rc)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Up to `capacity` decompressed bytes; 0 once the last member has ended with the file.
    func inflate(from fd: Int32, into out: UnsafeMutablePointer<UInt8>, capacity: Int) throws(KeelError) -> Int {
        let want = min(capacity, Int(UInt32.max))
        stream.pointee.next_out = out
        stream.pointee.avail_out = UInt32(want)
        while stream.pointee.avail_out == UInt32(want) {
            if stream.pointee.avail_in == 0 && !inputEnded {
                let n = try POSIXFile.readSome(fd, input, Self.inputCapacity)
                if n == 0 {
                    inputEnded = true
                } else {
                    sawInput = true
                    stream.pointee.next_in = input
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            if memberEnded {
                if stream.pointee.avail_in == 0 {
                    if inputEnded { return 0 }
                    continue
                }
                inflateReset(stream)
                memberEnded = false
            }
            if stream.pointee.avail_in == 0 && inputEnded {
                throw .invalidInput(sawInput ? "the gzip stream is truncated" : "the gzip file is empty")
            }
            let rc = CZlib.inflate(stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                memberEnded = true
            case Z_BUF_ERROR:
                // No progress was possible: only more input can help.
                if stream.pointee.avail_in > 0 { throw .invalidInput("the gzip stream is corrupt") }
            case Z_MEM_ERROR:
                throw KeelError(.internal, "gzip decompression ran out of memory")
            default:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw .invalidInput("the gzip stream is corrupt (\(detail))")
            }
        }
        return max(0, want - Int(truncatingIfNeeded: stream.pointee.avail_out))  // zlib only lowers avail_out from want
    }
}
