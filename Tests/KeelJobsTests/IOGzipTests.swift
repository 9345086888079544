import Foundation
import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOGzipTests {
    let folder = IOTempFolder()

    @Test func concatenatedGzipMembersReadAsOneFile() throws {
        try folder.gzip("one.gz", "a,b\n1,2\n3,\"x\ny\"\n")
        try folder.gzip("two.gz", "5,6\n7,8\n")
        let path = folder.write("both.csv.gz", bytes: folder.bytes("one.gz") + folder.bytes("two.gz"))
        let (plan, rows) = try planAndRead(BatchFile(path: path), chunkRows: 3)
        #expect(plan.totalRows == 4)
        #expect(plan.chunks.map(\.rows) == [3, 1])
        #expect(csvValues(rows) == [["1", "2"], ["3", "x\ny"], ["5", "6"], ["7", "8"]])
        #expect(rows.map(\.line) == [2, 3, 5, 6])
    }

    @Test func aTruncatedGzipStreamFailsThePlan() throws {
        var text = "a,b\n"
        for i in 0..<2000 { text += "\(i),value \(i)\n" }
        try folder.gzip("full.gz", text)
        let full = folder.bytes("full.gz")
        let path = folder.write("cut.csv.gz", bytes: Array(full[0..<(full.count - 10)]))
        expectKeelError(.invalidInput, "the gzip stream is truncated") {
            _ = try ChunkPlanner.plan(try BatchFile(path: path), chunkRows: 100)
        }
    }

    @Test func corruptOrNonGzipBytesFailThePlanNamingTheLine() throws {
        let notGzip = folder.write("plain.csv.gz", "a,b\n1,2\n")
        expectKeelError(.invalidInput, "CSV line 1: the gzip stream is corrupt") {
            _ = try ChunkPlanner.plan(try BatchFile(path: notGzip), chunkRows: 1)
        }
        try folder.gzip("good.gz", "a,b\n1,2\n")
        var bytes = folder.bytes("good.gz")
        bytes[bytes.count - 6] ^= 0xFF  // the CRC of the member
        let corrupt = folder.write("crc.csv.gz", bytes: bytes)
        expectKeelError(.invalidInput, "the gzip stream is corrupt") {
            _ = try ChunkPlanner.plan(try BatchFile(path: corrupt), chunkRows: 1)
        }
        let empty = folder.write("empty.csv.gz", "")
        expectKeelError(.invalidInput, "the gzip file is empty") {
            _ = try ChunkPlanner.plan(try BatchFile(path: empty), chunkRows: 1)
        }
        let garbage = folder.write("tail.csv.gz", bytes: folder.bytes("good.gz") + [1, 2, 3])
        expectKeelError(.invalidInput, "CSV line 3: the gzip stream is corrupt") {
            _ = try ChunkPlanner.plan(try BatchFile(path: garbage), chunkRows: 1)
        }
    }

    @Test func gzipOutputIsReadableByTheSystemGzip() throws {
        let path = try folder.gzip("out.jsonl.gz", "{\"a\": 1}\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -dc '\(path)'"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: out, as: UTF8.self) == "{\"a\": 1}\n")
    }
}
