import KeelCore
@testable import KeelServing
import Testing

/// The prediction cache: canonical keys, LRU order, TTL and the entry and byte bounds.
@Suite struct PredictionCacheTests {
    static func inputs(_ values: [Float], name: String = "x") -> [String: Tensor] {
        [name: Tensor(unchecked: [1, values.count], data: .fp32(values))]
    }

    static func cache(_ configure: (inout PredictionCacheSettings) -> Void = { _ in }) -> PredictionCache {
        var s = PredictionCacheSettings()
        configure(&s)
        return PredictionCache(settings: s)
    }

    static let answer = ["y": Tensor(unchecked: [1, 1], data: .fp32([0.5]))]

    @Test func theKeyIsTheTensorsBitForBitWhateverTheirOrder() throws {
        let a = Tensor(unchecked: [1, 2], data: .fp32([1, 2]))
        let b = Tensor(unchecked: [1], data: .int64([7]))
        let one = try #require(CacheKey(["a": a, "b": b], limit: 1 << 20))
        let other = try #require(CacheKey(["b": b, "a": a], limit: 1 << 20))
        #expect(one == other)
        // The same numbers in another datatype, shape or name are another request.
        #expect(CacheKey(["a": Tensor(unchecked: [1, 2], data: .fp64([1, 2])), "b": b], limit: 1 << 20) != one)
        #expect(CacheKey(["a": Tensor(unchecked: [2, 1], data: .fp32([1, 2])), "b": b], limit: 1 << 20) != one)
        #expect(CacheKey(["c": a, "b": b], limit: 1 << 20) != one)
        #expect(CacheKey(["a": a, "b": b], limit: 8) == nil)
    }

    @Test func aStoredAnswerIsFoundUntilItsTTLEnds() throws {
        let cache = Self.cache { $0.ttl = .seconds(60) }
        let t0 = ContinuousClock.now
        let key = try #require(cache.key(Self.inputs([1, 2])))
        #expect(cache.lookup(key, now: t0) == nil)
        cache.store(key, Self.answer, now: t0)
        #expect(cache.lookup(key, now: t0 + .seconds(59)) == Self.answer)
        #expect(cache.lookup(key, now: t0 + .seconds(60)) == nil)
        #expect(cache.count == 0)  // an expired entry is dropped when found
    }

    @Test func theLeastRecentlyUsedEntryGoesFirst() throws {
        let cache = Self.cache { $0.maxEntries = 3 }
        let keys = try (0..<4).map { try #require(cache.key(Self.inputs([Float($0)]))) }
        for key in keys.prefix(3) { cache.store(key, Self.answer) }
        _ = cache.lookup(keys[0])  // 0 is now the most recent; 1 the least
        cache.store(keys[3], Self.answer)
        #expect(cache.count == 3)
        #expect(cache.lookup(keys[1]) == nil)
        #expect(cache.lookup(keys[0]) != nil)
        #expect(cache.lookup(keys[2]) != nil)
        #expect(cache.lookup(keys[3]) != nil)
    }

    @Test func theByteCapBoundsMemoryAndOversizedEntriesAreNotStored() throws {
        let cache = Self.cache {
            $0.maxEntries = 1_000_000
            $0.maxBytes = 64 * 1024
        }
        for k in 0..<5_000 {
            if let key = cache.key(Self.inputs([Float(k), 1, 2, 3])) { cache.store(key, Self.answer) }
        }
        #expect(cache.bytes <= 64 * 1024)
        #expect(cache.count > 50 && cache.count < 5_000)
        // A request larger than a sixteenth of the budget gets no key at all.
        #expect(cache.key(Self.inputs([Float](repeating: 1, count: 2_000))) == nil)
        let big = ["y": Tensor(unchecked: [1, 2_000], data: .fp32([Float](repeating: 0, count: 2_000)))]
        let key = try #require(cache.key(Self.inputs([42])))
        cache.store(key, big)
        #expect(cache.lookup(key) == nil)
    }

    @Test func removeAllEmptiesIt() throws {
        let cache = Self.cache()
        let key = try #require(cache.key(Self.inputs([1])))
        cache.store(key, Self.answer)
        cache.removeAll()
        #expect(cache.count == 0 && cache.bytes == 0)
        #expect(cache.lookup(key) == nil)
    }
}
