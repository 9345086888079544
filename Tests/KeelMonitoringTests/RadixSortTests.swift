import Testing
@testable import KeelMonitoring

/// The drift columns' radix sort orders exactly as the standard library does, on the shapes
/// windows hold: wide-ranging reals of both signs, indicators, small integers, one value.
@Suite struct RadixSortTests {
    @Test func ordersLikeTheStandardSort() {
        var rng = SystemRandomNumberGenerator()
        let n = RadixSort.threshold * 3 + 17
        let shapes: [[Double]] = [
            (0..<n).map { _ in Double.random(in: -1e9...1e9, using: &rng) },
            (0..<n).map { _ in Double.random(in: -1...1, using: &rng) * Double(sign: .plus, exponent: Int.random(in: -60...60, using: &rng), significand: 1) },
            (0..<n).map { _ in Double(Int.random(in: 0...1, using: &rng)) },
            (0..<n).map { _ in Double(Int.random(in: -5...300, using: &rng)) },
            [Double](repeating: 42.5, count: n),
            (0..<n).map { i in [Double.leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0][i % 5] },
            (0..<n).map { Double(n - $0) },
            Array((0..<10).map(Double.init).reversed()),
        ]
        for values in shapes {
            #expect(RadixSort.sorted(values) == values.sorted())
        }
        // −0.0 and +0.0 compare equal; the radix sort puts −0.0 first.
        let zeros = (0..<n).map { $0 % 2 == 0 ? -0.0 : 0.0 }
        let sortedZeros = RadixSort.sorted(zeros)
        #expect(sortedZeros == zeros.sorted())
        #expect(sortedZeros.first?.sign == .minus && sortedZeros.last?.sign == .plus)
    }
}

/// Tallying two sorted samples by merging gives what hashing gives.
@Suite struct SortedTallyTests {
    @Test func mergingMatchesHashing() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let r = (0..<Int.random(in: 0...300, using: &rng)).map { _ in Double(Int.random(in: -3...6, using: &rng)) / 2 }.sorted()
            let c = (0..<Int.random(in: 0...300, using: &rng)).map { _ in Double(Int.random(in: -1...9, using: &rng)) / 2 }.sorted()
            let merged = DriftTest.sortedTally(r, c), hashed = DriftTest.tally(r, c)
            #expect(merged.0 == hashed.0 && merged.1 == hashed.1 && merged.2 == hashed.2)
        }
        // Categories: few (compared in place) and many (hashed) give what hashing gives.
        for alphabet in [3, 40, 500] {
            let r = (0..<2_000).map { _ in "cat-\(Int.random(in: 0..<alphabet, using: &rng))" }
            let c = (0..<1_500).map { _ in "cat-\(Int.random(in: 0..<(alphabet + 2), using: &rng))" }
            let fast = DriftTest.categoryTally(r, c), hashed = DriftTest.tally(r, c)
            #expect(fast.keys == hashed.0 && fast.reference == hashed.1 && fast.current == hashed.2)
        }
        // Canonically equivalent spellings are one category, as with hashing.
        let composed = DriftTest.categoryTally(["caf\u{E9}"], ["cafe\u{301}"])
        #expect(composed.keys.count == 1 && composed.reference == [1] && composed.current == [1])
        // NaN (never in a window) cannot stall the merge.
        let odd = DriftTest.sortedTally([.nan], [1, 1])
        #expect(odd.1.reduce(0, +) == 1 && odd.2.reduce(0, +) == 2)
        #expect(!DriftTest.isAscending([2, 1]) && DriftTest.isAscending([1, 1, 2]))
    }
}
