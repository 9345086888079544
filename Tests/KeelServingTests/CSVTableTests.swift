import KeelCore
import KeelRegistry
import Testing

/// The holdout CSV reader: RFC 4180 quoting, ragged rows and limits.
@Suite struct CSVTableTests {
    func message(_ text: String) -> KeelError? {
        do {
            _ = try CSVTable.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func quotedFieldsHoldCommasNewlinesAndQuotes() throws {
        let t = try CSVTable.parse("a,b\r\n\"x, y\",\"say \"\"hi\"\"\nbye\"\r\n\n1,\n")
        #expect(t.header == ["a", "b"])
        #expect(t.rows == [["x, y", "say \"hi\"\nbye"], ["1", ""]])
        #expect(try CSVTable.parse("\u{FEFF}id\n7").rows == [["7"]])
        #expect(try CSVTable.parse("a,b\n\"\",x").rows == [["", "x"]])
    }

    @Test func raggedRowsNameTheirLine() {
        #expect(message("a,b\n1,2\n\"multi\nline\",2\n3\n")?.message == "CSV line 5 has 1 fields, the header has 2")
        #expect(message("a,b\n1,2,3\n")?.message == "CSV line 2 has more than 2 fields, the header has 2")
    }

    @Test func malformedQuotingIsRefused() {
        #expect(message("a\n\"open\n")?.message == "CSV line 2: quoted field is not closed")
        #expect(message("a\n\"x\"y\n")?.message.contains("text after the closing quote") == true)
        #expect(message("")?.message.contains("CSV is empty") == true)
        #expect(message("a,a\n1,2")?.message.contains("column 'a' twice") == true)
    }

    @Test func limitsAreEnforced() {
        var small = CSVTable.Limits()
        small.maxColumns = 3
        small.maxRows = 2
        small.maxCells = 5
        small.maxFieldBytes = 4
        func code(_ text: String) -> KeelError.Code? {
            do {
                _ = try CSVTable.parse(text, limits: small)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code("a,b,c\n1,2,3") == nil)
        #expect(code("a,b,c,d") == .payloadTooLarge)
        #expect(code("a\nxxxxx") == .payloadTooLarge)
        #expect(code("a\n\"xxxxx\"") == .payloadTooLarge)
        #expect(code("a,b,c\n1,2,3\n4,5,6") == .payloadTooLarge)  // 9 cells
        #expect(code("a\n1\n2\n3") == .payloadTooLarge)  // 3 rows
        // The defaults are documented numbers.
        #expect(CSVTable.Limits().maxColumns == 1024 && CSVTable.Limits().maxRows == 1_000_000)
    }

    @Test func aLargeFileParsesInLinearTime() throws {
        let row = "1,2.5,hello,\"q,uoted\"\n"
        let text = "a,b,c,d\n" + String(repeating: row, count: 200_000)
        let clock = ContinuousClock()
        let start = clock.now
        let t = try CSVTable.parse(text)
        #expect(t.rows.count == 200_000)
        #expect(clock.now - start < .seconds(10))
    }
}
