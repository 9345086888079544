#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeelCore

/// Streams a whole file's bytes in blocks, for concatenating part files into the final output.
public enum FileCopy {
    /// Appends the bytes of the file at `path` to `sink`. A gzip file (one that starts with
    /// gzip's magic bytes 1f 8b, whatever its name) is decompressed, members concatenated.
    public static func append(_ path: String, to sink: FileSink) throws(KeelError) {
        let name = BatchFile.fileName(path)
        let fd = try POSIXFile.openForReading(path, name: name)
        var magic: [UInt8] = [0, 0]
        let got = try magic.withUnsafeMutableBufferPointer { buf throws(KeelError) in
            try POSIXFile.readSome(fd, buf.baseAddress!, 2)
        }
        close(fd)
        let gzip = got == 2 && magic == [0x1F, 0x8B]
        let file = BatchFile(unchecked: path, gzip: gzip)
        let source = try ByteSource(file)
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 20)
        defer { block.deallocate() }
        while true {
            let n: Int
            do {
                n = try source.read(into: block, capacity: 1 << 20)
            } catch {
                throw KeelError(error.code, "part file '\(name.prefix(200))': \(error.message)", logDetail: error.logDetail)
            }
            if n == 0 { return }
            sink.write(UnsafeRawBufferPointer(start: block, count: n))
        }
    }
}

extension BatchFile {
    /// A file whose name need not say its format (FileCopy reads bytes, not rows).
    init(unchecked path: String, gzip: Bool) {
        self.path = path
        self.format = .jsonl
        self.gzip = gzip
    }
}
