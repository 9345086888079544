import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOChunkBoundaryTests {
    let folder = IOTempFolder()

    /// Rows with quoted newlines at their start and end, CRLF and LF, blank lines between.
    static let text: String = {
        var s = "id,note,n\r\n"
        for i in 0..<23 {
            switch i % 5 {
            case 0: s += "\(i),\"\nstarts with a newline\",\(i)\n"
            case 1: s += "\(i),\"ends with one\n\",\(i)\r\n"
            case 2: s += "\(i),\"a, \"\"quoted\"\"\r\nline\",\(i)\n\n"
            case 3: s += "\(i),plain,\(i)\r\n\r\n"
            default: s += "\(i),short\n"  // a wrong field count
            }
        }
        return s
    }()

    func expectChunksMatchTheWholeFile(_ file: BatchFile) throws {
        let whole = try planAndRead(file, chunkRows: 10_000_000).1
        #expect(whole.count == 23)
        #expect(whole.filter { invalidReason($0) != nil }.count == 4)
        #expect(csvValues(whole)[0] == ["0", "\nstarts with a newline", "0"])
        #expect(csvValues(whole)[2] == ["2", "a, \"quoted\"\r\nline", "2"])
        for chunkRows in [1, 2, 7, 1000] {
            let plan = try ChunkPlanner.plan(file, chunkRows: chunkRows)
            #expect(plan.totalRows == 23)
            #expect(plan.chunks.count == (23 + chunkRows - 1) / chunkRows)
            #expect(plan.chunks.map(\.index) == Array(plan.chunks.indices))
            #expect(plan.chunks.map(\.firstRow) == plan.chunks.indices.map { Int64($0 * chunkRows) })
            #expect(plan.chunks.allSatisfy { ($0.byteStart == nil) == file.gzip && ($0.byteEnd == nil) == file.gzip })
            let rows = try readChunks(file, plan, batch: chunkRows == 1 ? 1 : 4)
            #expect(rows == whole, "chunkRows \(chunkRows)")
        }
    }

    @Test func everyChunkSizeReadsThePlainFileExactlyOnce() throws {
        try expectChunksMatchTheWholeFile(BatchFile(path: folder.write("in.csv", Self.text)))
    }

    @Test func everyChunkSizeReadsTheGzipFileExactlyOnce() throws {
        try expectChunksMatchTheWholeFile(BatchFile(path: folder.gzip("in.csv.gz", Self.text)))
    }

    @Test func plainChunksAreContiguousByteRangesStartingAtARow() throws {
        let file = try BatchFile(path: folder.write("in.csv", Self.text))
        let plan = try ChunkPlanner.plan(file, chunkRows: 2)
        let bytes = folder.bytes("in.csv")
        for chunk in plan.chunks {
            let start = Int(chunk.byteStart!)
            #expect(start == 0 || bytes[start - 1] == UInt8(ascii: "\n"))
            #expect(bytes[start] == "\(chunk.firstRow)".utf8.first!)
        }
        for (a, b) in zip(plan.chunks, plan.chunks.dropFirst()) { #expect(a.byteEnd! <= b.byteStart!) }
        // The last row ends before the file's final blank line.
        #expect(plan.chunks.last!.byteEnd == Int64(bytes.count - 1))
    }

    @Test func aGzipChunkWithoutAByteRangeIsReadBySkippingRows() throws {
        // A plain file's chunk without a byte range is read the gzip way: from the start.
        let file = try BatchFile(path: folder.write("in.csv", Self.text))
        var plan = try ChunkPlanner.plan(file, chunkRows: 5)
        let expected = try readChunks(file, plan)
        for k in plan.chunks.indices {
            plan.chunks[k].byteStart = nil
            plan.chunks[k].byteEnd = nil
        }
        #expect(try readChunks(file, plan) == expected)
    }

    @Test func rowsSpanningTheReadBufferAreReadWhole() throws {
        // Well over the 1 MiB read block, with long quoted fields holding newlines.
        var text = "k,v\n"
        var expected: [[String]] = []
        var rng = SeededGenerator(state: 7)
        for i in 0..<3000 {
            let value = String(repeating: "ab,\"\n", count: Int.random(in: 0...200, using: &rng))
            var line: [UInt8] = []
            CSVWriter.field("\(i)", into: &line)
            line.append(UInt8(ascii: ","))
            CSVWriter.field(value, into: &line)
            text += String(decoding: line, as: UTF8.self) + "\n"
            expected.append(["\(i)", value])
        }
        for file in [try BatchFile(path: folder.write("big.csv", text)), try BatchFile(path: folder.gzip("big.csv.gz", text))] {
            for chunkRows in [1000, 10_000] {
                let (plan, rows) = try planAndRead(file, chunkRows: chunkRows)
                #expect(plan.totalRows == 3000)
                #expect(csvValues(rows) == expected)
            }
        }
    }
}
