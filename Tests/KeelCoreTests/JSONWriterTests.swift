import KeelCore
import Testing

/// The response writer: numbers, strings and non-finite values.
@Suite struct JSONWriterTests {
    func text(_ write: (inout JSONWriter) -> Void, nonFinite: JSONWriter.NonFinite = .tokens) -> String {
        var w = JSONWriter(nonFinite: nonFinite)
        write(&w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test func nonFiniteNumbersAreWrittenAsPythonTokens() {
        #expect(text { $0.list(3) { w, i in w.number([Double.nan, .infinity, -.infinity][i]) } } == "[NaN,Infinity,-Infinity]")
        #expect(text { $0.list(3) { w, i in w.number([Float.nan, .infinity, -.infinity][i]) } } == "[NaN,Infinity,-Infinity]")
    }

    @Test func strictConsumersCanAskForNull() {
        #expect(text({ $0.number(Double.nan) }, nonFinite: .null) == "null")
        #expect(text({ $0.number(-Float.infinity) }, nonFinite: .null) == "null")
    }

    @Test func writtenNonFiniteValuesParseBack() throws {
        let bytes = Array(text { $0.value(.doubles([.nan, -.infinity, 0.5])) }.utf8)
        let back = try #require(try JSONParser.parse(bytes, errorCode: .invalidInput).doublesValue)
        #expect(back[0].isNaN && back[1] == -.infinity && back[2] == 0.5)
    }

    @Test func finiteNumbersUseTheShortestForm() {
        #expect(text { $0.number(3.0) } == "3")
        #expect(text { $0.number(0.1) } == "0.1")
        #expect(text { $0.number(Float(0.1)) } == "0.1")
        #expect(text { $0.string("a\"\u{1}") } == #""a\"\u0001""#)
    }
}
