import KeelCore
import Testing

/// The byte-level JSON parser used for model files and request bodies.
@Suite struct JSONParserTests {
    func parse(_ text: String) throws(KeelError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), errorCode: .invalidInput)
    }

    func failure(_ bytes: [UInt8]) -> KeelError? {
        do {
            _ = try JSONParser.parse(bytes, errorCode: .invalidInput)
            return nil
        } catch {
            return error
        }
    }

    func failure(_ text: String) -> KeelError? { failure(Array(text.utf8)) }

    @Test func parsesNestedDocumentsExactly() throws {
        let v = try JSONParser.parse(Array(#" {"a": [1, -2.5e-3, true, null, "x\"\u00e9\n"], "b": {}} "#.utf8))
        #expect(v["a"]?.arrayValue?.count == 5)
        #expect(v["a"]?.arrayValue?[1] == .number(-0.0025))
        #expect(v["a"]?.arrayValue?[4] == .string("x\"é\n"))
        #expect(v["b"] == .object([:]))
        #expect(try JSONParser.parse(Array("0.1".utf8)) == .number(0.1))
    }

    @Test("malformed documents are refused", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "[1] 2", "{\"a\":01x}", "[\"\u{01}\"]",
    ])
    func malformed(_ text: String) {
        #expect(throws: KeelError.self) { try JSONParser.parse(Array(text.utf8), errorCode: .invalidInput) }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: KeelError.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test func pythonNonFiniteTokensAreNumbers() throws {
        let v = try parse("[NaN, Infinity, -Infinity, 1]")
        let a = try #require(v.arrayValue)
        guard case .number(let nan) = a[0] else { Issue.record("NaN is not a number"); return }
        #expect(nan.isNaN)
        #expect(a[1] == .number(.infinity))
        #expect(a[2] == .number(-.infinity))
        #expect(try parse(#"{"x": NaN}"#)["x"]?.doubleValue?.isNaN == true)
    }

    @Test("other spellings of non-finite values are refused", arguments: ["nan", "-NaN", "inf", "+Infinity", "Infinit", "NaNa", "infinity"])
    func otherNonFiniteSpellingsAreRefused(_ text: String) {
        #expect(failure("[\(text)]") != nil)
    }

    @Test("malformed numbers are refused with their offset", arguments: [
        ("[01]", 1), ("[1.]", 3), ("[.5]", 1), ("[+1]", 1), ("[-]", 2), ("[1e]", 3), ("[1e+]", 4), ("[-01]", 1), ("[1.e5]", 3),
    ])
    func malformedNumbersNameTheirOffset(_ text: String, _ offset: Int) throws {
        let e = try #require(failure(text))
        #expect(e.code == .invalidInput)
        #expect(e.message.hasPrefix("malformed JSON at byte \(offset):"), "\(e.message)")
    }

    @Test func numbersAreReadExactly() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("72665.6", 72665.6), ("0.30000000000000004", 0.30000000000000004),
            ("1e22", 1e22), ("1.7976931348623157e308", .greatestFiniteMagnitude), ("5e-324", 5e-324),
            ("123456789012345678901234567890", 123456789012345678901234567890.0), ("0.000001", 0.000001),
            ("9007199254740993", 9007199254740993.0), ("1E+2", 100), ("2.5e-3", 0.0025),
        ]
        for (text, expected) in cases {
            #expect(try parse(text) == .number(expected), "\(text)")
        }
        #expect(try parse("-0").doubleValue?.sign == .minus)
        #expect(try parse("1e-400") == .number(0))  // underflow rounds to zero
    }

    @Test func digitsThatOverflowToInfinityAreRefused() throws {
        let e = try #require(failure("[1e400]"))
        #expect(e.message.contains("at byte 1") && e.message.contains("out of range"))
        #expect(failure("-1.8e308") != nil)
    }

    @Test func invalidUTF8InAStringIsRefusedWithItsOffset() throws {
        // "ab<0xFF>" inside a string: the bad byte is at offset 4.
        let bad: [[UInt8]: Int] = [
            Array(#"["ab"#.utf8) + [0xFF] + Array(#""]"#.utf8): 4,
            Array(#"[""#.utf8) + [0xC0, 0xAF] + Array(#""]"#.utf8): 2,  // overlong '/'
            Array(#"[""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""]"#.utf8): 3,  // encoded surrogate
            Array(#"[""#.utf8) + [0xE2, 0x82] + Array(#""]"#.utf8): 4,  // truncated sequence
            Array(#"[""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#""]"#.utf8): 3,  // above U+10FFFF
        ]
        for (bytes, offset) in bad {
            let e = try #require(failure(bytes), "\(bytes)")
            #expect(e.message.hasPrefix("malformed JSON at byte \(offset):") && e.message.contains("UTF-8"), "\(e.message)")
        }
        #expect(try JSONParser.parse(Array(#"["é€😀"]"#.utf8)) == .array([.string("é€😀")]))
    }

    @Test("lone and mismatched surrogate escapes are refused", arguments: [#"["\ud800"]"#, #"["\udc00"]"#, #"["\ud800\u0041"]"#, #"["x\ud83d"]"#])
    func loneSurrogatesAreRefused(_ text: String) throws {
        let e = try #require(failure(text))
        #expect(e.message.contains("surrogate"), "\(e.message)")
        #expect(e.message.contains("at byte 2") || e.message.contains("at byte 3"), "\(e.message)")
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""\u00e9\u0000""#) == .string("é\u{0}"))
    }

    @Test func controlCharactersAndBadEscapesNameTheirOffset() throws {
        let control = try #require(failure("[\"ab\u{09}\"]"))
        #expect(control.message.hasPrefix("malformed JSON at byte 4:") && control.message.contains("control character"))
        let escape = try #require(failure(#"["a\x"]"#))
        #expect(escape.message.hasPrefix("malformed JSON at byte 3:") && escape.message.contains("invalid escape"))
        let hex = try #require(failure(#"["\u12G4"]"#))
        #expect(hex.message.contains("hex digit"))
    }

    @Test func duplicateKeysAreRefused() throws {
        let e = try #require(failure(#"{"inputs": 1, "inputs": 2}"#))
        #expect(e.message.contains("duplicate key 'inputs'") && e.message.contains("at byte 14"))
    }

    @Test func modelFilesPackNumericArrays() throws {
        let bytes = Array(#"{"a": [1, 2.5, -3], "b": [1, "x"], "c": [], "d": [[1, 2], [3]]}"#.utf8)
        let packed = try JSONParser.parse(bytes)  // model-file error code: packed by default
        guard case .doubles(let a)? = packed["a"] else { Issue.record("'a' is not packed: \(String(describing: packed["a"]))"); return }
        #expect(a == [1, 2.5, -3])
        guard case .array(let b)? = packed["b"] else { Issue.record("mixed arrays stay arrays"); return }
        #expect(b == [.number(1), .string("x")])
        #expect(packed["c"] == .array([]))
        #expect(packed["d"]?.arrayValue?.first?.doublesValue == [1, 2])
        // Request decoding keeps one value per element, and both forms compare equal.
        let values = try JSONParser.parse(bytes, errorCode: .invalidInput)
        guard case .array? = values["a"] else { Issue.record("request parsing must not pack"); return }
        #expect(values == packed)
        #expect(try JSONParser.parse(bytes, errorCode: .invalidInput, numericArrays: .packed) == packed)
    }

    @Test func errorsCarryTheRequestedCode() throws {
        do {
            _ = try JSONParser.parse(Array("[".utf8))
            Issue.record("no error")
        } catch {
            #expect(error.code == .invalidModel)
        }
        #expect(failure("[")?.code == .invalidInput)
    }
}
