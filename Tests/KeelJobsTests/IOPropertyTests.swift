import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOPropertyTests {
    let folder = IOTempFolder()

    static let alphabet: [String] = ["a", "b", "z", ",", "\"", "\n", "\r", " ", "é", "\"\"", "\r\n", "x,y"]

    static func randomTable(_ rng: inout SeededGenerator) -> (header: [String], rows: [[String]]) {
        let columns = Int.random(in: 1...5, using: &rng)
        let header = (0..<columns).map { "c\($0)" }
        let rows = (0..<Int.random(in: 0...60, using: &rng)).map { _ in
            (0..<columns).map { _ in
                var s = (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
                // A one-column row holding "" is an empty line, which CSV cannot tell from a blank one.
                if columns == 1 && s.isEmpty { s = "e" }
                return s
            }
        }
        return (header, rows)
    }

    static func encode(_ header: [String], _ rows: [[String]], crlf: Bool, bom: Bool) -> [UInt8] {
        var out: [UInt8] = bom ? [0xEF, 0xBB, 0xBF] : []
        for row in [header] + rows {
            for (k, value) in row.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                CSVWriter.field(value, into: &out)
            }
            out += crlf ? [13, 10] : [10]
        }
        return out
    }

    @Test func randomTablesWrittenWithCSVWriterReadBackEqualAtAnyChunkSize() throws {
        var rng = SeededGenerator(state: 2024)
        for round in 0..<60 {
            let (header, rows) = Self.randomTable(&rng)
            let bytes = Self.encode(header, rows, crlf: Bool.random(using: &rng), bom: round % 7 == 0)
            let gzip = round % 3 == 0
            let name = "t\(round).csv" + (gzip ? ".gz" : "")
            let path: String
            if gzip {
                path = try folder.gzip(name, String(decoding: bytes, as: UTF8.self))
            } else {
                path = folder.write(name, bytes: bytes)
            }
            let file = try BatchFile(path: path)
            let chunkRows = Int.random(in: 1...12, using: &rng)
            // Every other round reads a few bytes at a time: rows cross many buffer refills.
            var limits = BatchLimits()
            if round % 2 == 1 { limits.readBlockBytes = Int.random(in: 1...16, using: &rng) }
            let plan = try ChunkPlanner.plan(file, chunkRows: chunkRows, limits: limits)
            #expect(plan.header == header)
            #expect(plan.totalRows == Int64(rows.count))
            let read = try readChunks(file, plan, batch: Int.random(in: 1...5, using: &rng), limits: limits)
            #expect(csvValues(read) == rows.map { Optional($0) }, "round \(round), chunkRows \(chunkRows)")
            // Lines grow by one plus the newlines the previous row held.
            var line: Int64 = 2
            for (k, row) in rows.enumerated() {
                #expect(read[k].line == line)
                line += 1 + Int64(row.reduce(0) { $0 + $1.utf8.filter { $0 == 10 }.count })
            }
        }
    }
}
