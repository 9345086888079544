import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOCSVReaderTests {
    let folder = IOTempFolder()

    func csv(_ text: String, name: String = "in.csv") throws -> BatchFile {
        try BatchFile(path: folder.write(name, text))
    }

    @Test func quotedCommasAndDoubledQuotesAreUnquoted() throws {
        let (plan, rows) = try planAndRead(csv("id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"\"\n"))
        #expect(plan.header == ["id", "text"])
        #expect(csvValues(rows) == [["1", "a,b"], ["2", "say \"hi\""], ["3", ""]])
        #expect(rows.map(\.line) == [2, 3, 4])
    }

    @Test func quotedNewlinesKeepTheLineNumbersOfLaterRows() throws {
        let (plan, rows) = try planAndRead(csv("id,text\n1,\"two\nlines\"\n2,x\n3,\"a\n\nb\"\n4,y\n"))
        #expect(plan.totalRows == 4)
        #expect(csvValues(rows) == [["1", "two\nlines"], ["2", "x"], ["3", "a\n\nb"], ["4", "y"]])
        #expect(rows.map(\.line) == [2, 4, 5, 8])
    }

    @Test func crlfLineEndsAreNotPartOfTheLastField() throws {
        let (plan, rows) = try planAndRead(csv("a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n4,\"q\"\r\n"))
        #expect(plan.header == ["a", "b"])
        #expect(csvValues(rows) == [["1", "2"], ["3", "x\r\ny"], ["4", "q"]])
        #expect(rows.map(\.line) == [2, 3, 5])
    }

    @Test func aByteOrderMarkAtTheStartIsSkipped() throws {
        let file = try BatchFile(path: folder.write("bom.csv", bytes: [0xEF, 0xBB, 0xBF] + Array("id,v\n1,2\n".utf8)))
        let (plan, rows) = try planAndRead(file)
        #expect(plan.header == ["id", "v"])
        #expect(csvValues(rows) == [["1", "2"]])
    }

    @Test func blankLinesAreSkippedAndAreNotRows() throws {
        let (plan, rows) = try planAndRead(csv("\n\r\na\n\n1\n\r\n\r\r\n2\n\n"), chunkRows: 1)
        #expect(plan.header == ["a"])
        #expect(plan.totalRows == 2)
        #expect(plan.chunks.count == 2)
        #expect(csvValues(rows) == [["1"], ["2"]])
        #expect(rows.map(\.line) == [5, 8])
    }

    @Test func aQuotedEmptyFieldIsARowNotABlankLine() throws {
        let (plan, rows) = try planAndRead(csv("a\n\"\"\n"))
        #expect(plan.totalRows == 1)
        #expect(csvValues(rows) == [[""]])
    }

    @Test func wrongFieldCountsAreInvalidRowsAndReadingGoesOn() throws {
        let (plan, rows) = try planAndRead(csv("a,b\n1,2\n3\n4,5,6\n7,8\n9,\"x,\"y\n"))
        #expect(plan.totalRows == 5)
        #expect(rows.map(invalidReason) == [nil, "expected 2 fields, found 1", "expected 2 fields, found 3", nil, "text after the closing quote of field 2"])
        #expect(csvValues(rows)[3] == ["7", "8"])
        #expect(rows.map(\.line) == [2, 3, 4, 5, 6])
    }

    @Test func aQuoteInsideAnUnquotedFieldIsLiteral() throws {
        let (_, rows) = try planAndRead(csv("a,b\nsay \"hi,x\n"))
        #expect(csvValues(rows) == [["say \"hi", "x"]])
    }

    @Test func theLastRowNeedsNoLineEnd() throws {
        let (_, rows) = try planAndRead(csv("a,b\n1,2\n3,\"x\ny\""))
        #expect(csvValues(rows) == [["1", "2"], ["3", "x\ny"]])
    }

    @Test func anUnterminatedQuoteFailsThePlanNamingItsLine() throws {
        let file = try csv("a,b\n1,2\n3,\"never closed\n4,5\n")
        expectKeelError(.invalidInput, "CSV line 3: a quoted field is not closed") {
            _ = try ChunkPlanner.plan(file, chunkRows: 10)
        }
    }

    @Test func aRowLongerThanTheLimitFailsThePlanNamingItsLine() throws {
        var limits = BatchLimits()
        limits.maxRowBytes = 16
        let file = try csv("a,b\n1,2\n\(String(repeating: "x", count: 17)),3\n")
        expectKeelError(.invalidInput, "CSV line 3: row is longer than 16 bytes") {
            _ = try ChunkPlanner.plan(file, chunkRows: 10, limits: limits)
        }
        let exact = try csv("a,b\n\(String(repeating: "x", count: 14)),3\n", name: "exact.csv")
        #expect(try ChunkPlanner.plan(exact, chunkRows: 10, limits: limits).totalRows == 1)
    }

    @Test func anUnclosedQuoteInALargeFileStopsAtTheRowLimit() throws {
        var limits = BatchLimits()
        limits.maxRowBytes = 1000
        let file = try csv("a\n\"" + String(repeating: "y\n", count: 5000))
        expectKeelError(.invalidInput, "CSV line 2: row is longer than 1000 bytes") {
            _ = try ChunkPlanner.plan(file, chunkRows: 10, limits: limits)
        }
    }

    @Test func duplicateEmptyOrTooManyHeaderNamesAreRejected() throws {
        expectKeelError(.invalidInput, "names column 'a' twice") {
            _ = try ChunkPlanner.plan(try csv("a,b,a\n1,2,3\n"), chunkRows: 10)
        }
        expectKeelError(.invalidInput, "CSV line 2: header column 2 has no name") {
            _ = try ChunkPlanner.plan(try csv("\na,,c\n1,2,3\n"), chunkRows: 10)
        }
        var limits = BatchLimits()
        limits.maxColumns = 2
        expectKeelError(.invalidInput, "the header has 3 columns, at most 2") {
            _ = try ChunkPlanner.plan(try csv("a,b,c\n"), chunkRows: 10, limits: limits)
        }
    }

    @Test func anEmptyFileIsRejectedAndAHeaderAloneHasNoChunks() throws {
        expectKeelError(.invalidInput, "is empty: expected a header row") {
            _ = try ChunkPlanner.plan(try csv(""), chunkRows: 10)
        }
        expectKeelError(.invalidInput, "is empty") {
            _ = try ChunkPlanner.plan(try csv("\n\r\n\n"), chunkRows: 10)
        }
        let plan = try ChunkPlanner.plan(try csv("a,b\n\n"), chunkRows: 10)
        #expect(plan == ChunkPlan(header: ["a", "b"], totalRows: 0, chunks: []))
    }

    @Test func chunkSizesOutsideTheRangeAreRejected() throws {
        let file = try csv("a\n1\n")
        for bad in [0, -1, 10_000_001] {
            expectKeelError(.invalidInput, "chunk size must be between 1 and 10000000") {
                _ = try ChunkPlanner.plan(file, chunkRows: bad)
            }
        }
    }

    @Test func fileNamesDecideFormatAndCompression() throws {
        let upper = try BatchFile(path: "/x/a.CSV")
        #expect(upper.path == "/x/a.CSV" && upper.format == .csv && !upper.gzip)
        let cases: [(String, BatchFileFormat, Bool)] = [
            ("/d/a.csv", .csv, false), ("/d/a.csv.gz", .csv, true), ("/d/a.JSONL", .jsonl, false),
            ("/d/a.ndjson", .jsonl, false), ("/d/a.jsonl.GZ", .jsonl, true), ("/d/a.ndjson.gz", .jsonl, true),
        ]
        for (path, format, gzip) in cases {
            let file = try BatchFile(path: path)
            #expect(file.format == format && file.gzip == gzip, "\(path)")
        }
        for bad in ["/d/a.txt", "/d/a.gz", "/d/a.json", "/d/csv", "/d/a.csv.zip"] {
            expectKeelError(.invalidInput, "must end in .csv, .jsonl or .ndjson, optionally .gz") {
                _ = try BatchFile(path: bad)
            }
        }
    }

    @Test func aMissingInputIsNotFound() throws {
        let file = try BatchFile(path: folder.path + "/missing.csv")
        expectKeelError(.notFound, "'missing.csv' not found") { _ = try ChunkPlanner.plan(file, chunkRows: 1) }
    }

    @Test func aReaderNoticesAFileThatShrankAfterPlanning() throws {
        let file = try csv("a\n1\n2\n3\n4\n")
        let plan = try ChunkPlanner.plan(file, chunkRows: 10)
        folder.write("in.csv", "a\n1\n2\n")
        let reader = try ChunkReader(file, header: plan.header, chunk: plan.chunks[0])
        expectKeelError(.conflict, "changed after it was planned: chunk 0 ends after 2 of its 4 rows") {
            _ = try reader.next(max: 10)
        }
    }
}
