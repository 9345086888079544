import Foundation
import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOFileSinkTests {
    let folder = IOTempFolder()

    /// Bytes in every size class: small writes, one across the buffer, one larger than it.
    static let pieces: [[UInt8]] = {
        var rng = SeededGenerator(state: 11)
        return [1, 100, 70_000, 1 << 20, 3 << 20, 5].map { n in (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }
    }()

    @Test func aPlainSinkWritesEveryByteInOrder() throws {
        let sink = try FileSink(path: folder.path + "/out.bin", gzip: false)
        for piece in Self.pieces { sink.write(piece) }
        piece(sink, Array("tail".utf8))
        try sink.finish()
        let expected = Self.pieces.flatMap { $0 } + Array("tail".utf8)
        #expect(sink.bytesWritten == Int64(expected.count))
        #expect(folder.bytes("out.bin") == expected)
        let mode = try FileManager.default.attributesOfItem(atPath: folder.path + "/out.bin")[.posixPermissions] as? Int
        // 0644 less the umask: never executable, never writable by others.
        #expect(mode.map { $0 & 0o133 == 0 && $0 & 0o600 == 0o600 } == true)
    }

    private func piece(_ sink: FileSink, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { sink.write($0) }
    }

    @Test func gzipPartsCopyBackIntoOnePlainFile() throws {
        var expected: [UInt8] = []
        for (k, piece) in Self.pieces.enumerated() {
            let sink = try FileSink(path: folder.path + "/part-\(k)", gzip: k % 2 == 0)
            sink.write(piece)
            try sink.finish()
            #expect(sink.bytesWritten == Int64(piece.count))
            expected += piece
        }
        #expect(folder.bytes("part-2").count < Self.pieces[2].count + 100)
        let out = try FileSink(path: folder.path + "/all.bin", gzip: false)
        for k in Self.pieces.indices { try FileCopy.append(folder.path + "/part-\(k)", to: out) }
        try out.finish()
        #expect(folder.bytes("all.bin") == expected)
    }

    @Test func aGzipSinkRoundTripsThroughFileCopyWithSeveralMembers() throws {
        let a = try FileSink(path: folder.path + "/a.gz", gzip: true)
        a.write(Array("first member\n".utf8))
        try a.finish()
        let b = try FileSink(path: folder.path + "/b.gz", gzip: true)
        b.write(Array("second member\n".utf8))
        try b.finish()
        folder.write("ab.gz", bytes: folder.bytes("a.gz") + folder.bytes("b.gz"))
        let out = try FileSink(path: folder.path + "/ab.txt.gz", gzip: true)
        try FileCopy.append(folder.path + "/ab.gz", to: out)
        try out.finish()
        #expect(out.bytesWritten == 27)
        let back = try FileSink(path: folder.path + "/back.txt", gzip: false)
        try FileCopy.append(folder.path + "/ab.txt.gz", to: back)
        try back.finish()
        #expect(String(decoding: folder.bytes("back.txt"), as: UTF8.self) == "first member\nsecond member\n")
    }

    @Test func anEmptyGzipSinkIsAValidEmptyMember() throws {
        let sink = try FileSink(path: folder.path + "/empty.jsonl.gz", gzip: true)
        try sink.finish()
        let out = try FileSink(path: folder.path + "/copy", gzip: false)
        try FileCopy.append(folder.path + "/empty.jsonl.gz", to: out)
        try out.finish()
        #expect(folder.bytes("copy").isEmpty)
    }

    @Test func abandonDeletesTheFile() throws {
        let path = folder.path + "/tmp.csv"
        let sink = try FileSink(path: path, gzip: true)
        sink.write(Array("x".utf8))
        sink.abandon()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aSinkInAMissingFolderCannotBeCreated() {
        #expect(throws: KeelError.self) { _ = try FileSink(path: folder.path + "/no/such/file", gzip: false) }
    }

    @Test func copyingAMissingPartIsNotFound() throws {
        let out = try FileSink(path: folder.path + "/o", gzip: false)
        expectKeelError(.notFound, "'part-9' not found") { try FileCopy.append(folder.path + "/part-9", to: out) }
        out.abandon()
    }

    @Test func csvFieldsAreQuotedOnlyWhenNeeded() {
        func quoted(_ s: String) -> String {
            var out: [UInt8] = []
            CSVWriter.field(s, into: &out)
            var viaBytes: [UInt8] = []
            CSVWriter.field(Array(s.utf8)[...], into: &viaBytes)
            #expect(viaBytes == out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(quoted("plain") == "plain")
        #expect(quoted("") == "")
        #expect(quoted("a,b") == "\"a,b\"")
        #expect(quoted("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(quoted("two\nlines") == "\"two\nlines\"")
        #expect(quoted("cr\r") == "\"cr\r\"")
        #expect(quoted("é ü") == "é ü")
    }
}
