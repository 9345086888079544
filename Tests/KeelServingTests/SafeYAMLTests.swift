import KeelCore
import KeelServing
import Testing

/// The bounded YAML loader used for config.yaml and uploaded schemas.
@Suite struct SafeYAMLTests {
    func load(_ text: String, limits: SafeYAML.Limits = .init()) throws(KeelError) -> YAMLValue {
        try SafeYAML.load(text, source: "t.yaml", limits: limits)
    }

    func failure(_ text: String, limits: SafeYAML.Limits = .init()) -> KeelError? {
        do {
            _ = try load(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func scalarsResolveByTheCoreSchema() throws {
        let v = try load("a: 8\nb: 1.5\nc: true\nd: ~\ne: Yes\nf: '8'\ng: 0x1F\nh: .inf\ni: 1e99\nj: [x, 2]\nk: {l: m}\n")
        #expect(v == .mapping([
            "a": .int(8), "b": .double(1.5), "c": .bool(true), "d": .null, "e": .string("Yes"), "f": .string("8"),
            "g": .int(31), "h": .double(.infinity), "i": .double(1e99), "j": .sequence([.string("x"), .int(2)]),
            "k": .mapping(["l": .string("m")]),
        ]))
        #expect(try load("") == .null)
        #expect(try load("!!str 12") == .string("12"))
    }

    @Test func billionLaughsIsRefusedQuickly() throws {
        var text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for (k, name) in ["b", "c", "d", "e", "f", "g", "h", "i", "j"].enumerated() {
            let previous = ["a", "b", "c", "d", "e", "f", "g", "h", "i"][k]
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        let clock = ContinuousClock()
        let start = clock.now
        let e = try #require(failure(text))
        #expect(e.message.contains("more than 100000 nodes"))
        #expect(clock.now - start < .seconds(2))
        // An alias as a mapping key (which a composer would hash in full) is refused outright.
        #expect(failure(text.replacingOccurrences(of: "j: &j", with: "? *i\n: x\nj: &j"))?.message.contains("nodes") == true)
        #expect(failure("a: &a x\n? *a\n: y\n")?.message.contains("mapping keys must be plain scalars") == true)
    }

    @Test func smallAliasesStillWork() throws {
        #expect(try load("a: &x [1, 2]\nb: *x\n") == .mapping(["a": .sequence([.int(1), .int(2)]), "b": .sequence([.int(1), .int(2)])]))
    }

    @Test func sizeAndDepthAreBounded() throws {
        let big = failure(String(repeating: "#", count: (1 << 20) + 1))
        #expect(big?.code == .payloadTooLarge)
        #expect(failure(String(repeating: "[", count: 70) + String(repeating: "]", count: 70))?.message.contains("deeper than 64") == true)
        let dashes = try #require(failure(String(repeating: "- ", count: 5000) + "x")?.message)
        #expect(dashes.contains("deeper") || dashes.contains("nesting"), "\(dashes)")
        #expect(failure("[1, 2, 3]", limits: .init(maxNodes: 3))?.message.contains("more than 3 nodes") == true)
    }

    @Test func keysMustBeUniqueScalarsAndTagsStandard() throws {
        #expect(failure("a: 1\na: 2\n")?.message.contains("duplicate key 'a'") == true)
        #expect(failure("[a]: 1\n")?.message.contains("mapping keys must be scalars") == true)
        #expect(failure("<<: {a: 1}\n")?.message.contains("merge keys") == true)
        #expect(failure("a: !!binary aGk=\n")?.message.contains("unsupported YAML tag") == true)
        #expect(failure("a: !!int x\n")?.message.contains("not a valid int") == true)
        #expect(failure("a: 1\n---\nb: 2\n")?.message.contains("single YAML document") == true)
        #expect(failure("a: [1, 2\n")?.message.contains("invalid YAML at line") == true)
        #expect(failure("a: *nothing\n")?.message.contains("names no anchor") == true)
    }
}
