import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOJSONLinesTests {
    let folder = IOTempFolder()

    @Test func objectsAreReadAndOtherLinesAreInvalidRows() throws {
        let text = "{\"a\": 1, \"b\": \"x\"}\n\n[1, 2]\n{\"a\": \n\r\n{\"nested\": {\"v\": [1.5, true, null]}}\r\n\"text\"\n{\"last\": 1}"
        let file = try BatchFile(path: folder.write("in.jsonl", text))
        let (plan, rows) = try planAndRead(file, chunkRows: 2)
        #expect(plan.header == nil)
        #expect(plan.totalRows == 6)
        #expect(plan.chunks.count == 3)
        #expect(rows.map(\.line) == [1, 3, 4, 6, 7, 8])
        #expect(rows[0].values == .json(["a": .number(1), "b": .string("x")]))
        #expect(invalidReason(rows[1]) == "not a JSON object")
        #expect(invalidReason(rows[2])?.hasPrefix("invalid JSON: malformed JSON at byte") == true)
        #expect(rows[3].values == .json(["nested": .object(["v": .array([.number(1.5), .bool(true), .null])])]))
        #expect(invalidReason(rows[4]) == "not a JSON object")
        #expect(rows[5].values == .json(["last": .number(1)]))
    }

    @Test func ndjsonAndGzipNamesReadTheSame() throws {
        let text = "{\"i\": 0}\n{\"i\": 1}\n{\"i\": 2}\n"
        let plain = try planAndRead(BatchFile(path: folder.write("a.ndjson", text)), chunkRows: 2).1
        let gzip = try planAndRead(BatchFile(path: folder.gzip("a.jsonl.gz", text)), chunkRows: 2).1
        #expect(plain == gzip)
        #expect(plain.map(\.values) == (0..<3).map { .json(["i": .number(Double($0))]) })
    }

    @Test func anEmptyFileIsRejected() throws {
        let file = try BatchFile(path: folder.write("empty.jsonl", "\n\r\n"))
        expectKeelError(.invalidInput, "JSONL file 'empty.jsonl' is empty") { _ = try ChunkPlanner.plan(file, chunkRows: 1) }
    }

    @Test func aLineLongerThanTheLimitFailsThePlan() throws {
        var limits = BatchLimits()
        limits.maxRowBytes = 10
        let file = try BatchFile(path: folder.write("long.jsonl", "{}\n{\"a\": \"long value\"}\n"))
        expectKeelError(.invalidInput, "JSONL line 2: row is longer than 10 bytes") {
            _ = try ChunkPlanner.plan(file, chunkRows: 1, limits: limits)
        }
    }

    @Test func quotesDoNotJoinJSONLines() throws {
        // An unbalanced quote in one line stays in that line.
        let file = try BatchFile(path: folder.write("q.jsonl", "{\"a\n{\"b\": 1}\n"))
        let (_, rows) = try planAndRead(file)
        #expect(rows.count == 2)
        #expect(invalidReason(rows[0])?.hasPrefix("invalid JSON") == true)
        #expect(rows[1].values == .json(["b": .number(1)]))
    }
}
