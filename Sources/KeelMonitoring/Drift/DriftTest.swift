import Foundation

/// Tests one column of the current data against the same column of the reference. Without an
/// override the method is chosen as Evidently 0.7's data-drift preset chooses it:
/// - reference of at most 1000 values: numerical columns with more than 5 distinct values
///   (over both samples) get Kolmogorov–Smirnov; otherwise, and for categorical columns,
///   chi-square with more than 2 distinct values, the two-proportion z-test with 2 or fewer;
/// - larger references: numerical columns with more than 5 distinct values get the normed
///   Wasserstein distance, everything else the Jensen–Shannon distance.
public enum DriftTest {
    /// Fewest values either sample needs for a verdict.
    public static let defaultMinimumRows = 30

    public static func defaultMethod(reference: ColumnSample, current: ColumnSample) -> DriftMethod {
        let distinct = distinctCount(reference, current)
        let numerical: Bool
        if case .numerical = reference { numerical = true } else { numerical = false }
        if reference.count <= 1000 {
            if numerical && distinct > 5 { return .ks }
            return distinct > 2 ? .chisquare : .z
        }
        if numerical && distinct > 5 { return .wasserstein }
        return .jensenshannon
    }

    /// The verdict for one column.
    public static func column(
        name: String, reference: ColumnSample, current: ColumnSample, override: DriftOverride = DriftOverride(),
        minimumRows: Int = defaultMinimumRows
    ) -> ColumnDrift {
        // Sorted once here, every later sort (K-S, Wasserstein, bins) runs over sorted input.
        let reference = reference.sorted, current = current.sorted
        let kind: ColumnKind
        if case .numerical = reference { kind = .numerical } else { kind = .categorical }
        let needed = max(minimumRows, 1)
        guard reference.count >= needed, current.count >= needed else {
            return ColumnDrift(
                name: name, kind: kind, method: nil, score: nil, threshold: nil, drifted: nil,
                referenceRows: reference.count, currentRows: current.count,
                note: "not enough data: \(reference.count) reference and \(current.count) current values, at least \(needed) each needed")
        }
        let method = override.method ?? defaultMethod(reference: reference, current: current)
        let threshold = override.threshold ?? method.defaultThreshold
        guard let score = score(method, reference: reference, current: current), !score.isNaN else {
            return ColumnDrift(
                name: name, kind: kind, method: method, score: nil, threshold: threshold, drifted: nil,
                referenceRows: reference.count, currentRows: current.count,
                note: "\(method.rawValue) cannot be computed for a \(kind.rawValue) column")
        }
        return ColumnDrift(
            name: name, kind: kind, method: method, score: score, threshold: threshold,
            drifted: method.drifted(score: score, threshold: threshold), referenceRows: reference.count, currentRows: current.count)
    }

    /// The method's score, or nil when it does not apply to the column (K-S on categories).
    public static func score(_ method: DriftMethod, reference: ColumnSample, current: ColumnSample) -> Double? {
        switch method {
        case .ks:
            guard case .numerical(let r) = reference, case .numerical(let c) = current else { return nil }
            return KolmogorovSmirnov.test(r, c)?.pValue
        case .wasserstein:
            guard case .numerical(let r) = reference, case .numerical(let c) = current else { return nil }
            guard let d = Wasserstein.distance(r, c) else { return nil }
            return d / max(Wasserstein.standardDeviation(r), 0.001)
        case .chisquare:
            let (keys, r, c) = counts(reference, current)
            guard keys > 0 else { return nil }
            let scale = Double(current.count) / Double(reference.count)
            return ChiSquare.test(observed: c.map(Double.init), expected: r.map { Double($0) * scale }).pValue
        case .z:
            return proportionTest(reference, current)
        case .jensenshannon:
            let (r, c) = shares(reference, current, fillZeroes: false)
            return Divergences.jensenShannon(r, c)
        case .psi:
            let (r, c) = shares(reference, current, fillZeroes: true)
            return Divergences.populationStability(r, c)
        case .klDiv:
            let (r, c) = shares(reference, current, fillZeroes: true)
            return Divergences.kullbackLeibler(r, c)
        }
    }

    // MARK: Categories and bins

    static func distinctCount(_ a: ColumnSample, _ b: ColumnSample) -> Int {
        switch (a, b) {
        case (.numerical(let x), .numerical(let y)):
            // Both sorted (see `column`): count distinct values by merging.
            var i = 0, j = 0, count = 0
            var last: Double?
            while i < x.count || j < y.count {
                let v: Double
                if j >= y.count || (i < x.count && x[i] <= y[j]) { v = x[i]; i += 1 } else { v = y[j]; j += 1 }
                if v != last { count += 1; last = v }
            }
            return count
        case (.categorical(let x), .categorical(let y)): return categoryTally(x, y).keys.count
        default: return Set(labels(a)).union(labels(b)).count
        }
    }

    static func labels(_ s: ColumnSample) -> [String] {
        switch s {
        case .numerical(let v): return v.map { "\($0)" }
        case .categorical(let v): return v
        }
    }

    /// The union of values (sorted) and each sample's count per value.
    static func counts(_ reference: ColumnSample, _ current: ColumnSample) -> (keys: Int, reference: [Int], current: [Int]) {
        switch (reference, current) {
        case (.numerical(let r), .numerical(let c)):
            let (_, rc, cc) = isAscending(r) && isAscending(c) ? sortedTally(r, c) : tally(r, c)
            return (rc.count, rc, cc)
        case (.categorical(let r), .categorical(let c)):
            let t = categoryTally(r, c)
            return (t.keys.count, t.reference, t.current)
        default:
            let (_, rc, cc) = tally(labels(reference), labels(current))
            return (rc.count, rc, cc)
        }
    }

    /// `tally` of two ascending samples by merging their runs of equal values (no hashing:
    /// windows are sorted in `column`, and a million-row column is tallied per test).
    static func sortedTally(_ r: [Double], _ c: [Double]) -> ([Double], [Int], [Int]) {
        var keys: [Double] = [], rc: [Int] = [], cc: [Int] = []
        var i = 0, j = 0
        while i < r.count || j < c.count {
            let fromR = j >= c.count || (i < r.count && r[i] <= c[j])
            let v = fromR ? r[i] : c[j]
            var a = 0, b = 0
            while i < r.count, r[i] == v { a += 1; i += 1 }
            while j < c.count, c[j] == v { b += 1; j += 1 }
            // A value equal to nothing (NaN) still moves the merge on, as its own key.
            if a == 0, b == 0 {
                if fromR { a = 1; i += 1 } else { b = 1; j += 1 }
            }
            keys.append(v)
            rc.append(a)
            cc.append(b)
        }
        return (keys, rc, cc)
    }

    /// `tally` for categories, which repeat heavily: each value is first compared with the
    /// last one seen and the few distinct ones so far (equal small strings compare in a word or
    /// two), and only a column with many categories falls back to hashing.
    static func categoryTally(_ r: [String], _ c: [String]) -> (keys: [String], reference: [Int], current: [Int]) {
        var keys: [String] = []
        var counts: [(r: Int, c: Int)] = []
        var index: [String: Int]?
        var last = -1
        func slot(_ v: String) -> Int {
            if last >= 0, keys[last] == v { return last }
            if let index {
                if let k = index[v] { last = k; return k }
            } else if let k = keys.firstIndex(of: v) {
                last = k
                return k
            }
            keys.append(v)
            counts.append((0, 0))
            last = keys.count - 1
            if index != nil {
                index?[v] = last
            } else if keys.count > 32 {
                index = Dictionary(keys.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
            }
            return last
        }
        for v in r { counts[slot(v)].r += 1 }
        for v in c { counts[slot(v)].c += 1 }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        return (order.map { keys[$0] }, order.map { counts[$0].r }, order.map { counts[$0].c })
    }

    static func isAscending(_ v: [Double]) -> Bool {
        var k = 1
        while k < v.count {
            if !(v[k - 1] <= v[k]) { return false }
            k += 1
        }
        return true
    }

    static func tally<T: Hashable & Comparable>(_ r: [T], _ c: [T]) -> ([T], [Int], [Int]) {
        var rc: [T: Int] = [:], cc: [T: Int] = [:]
        for v in r { rc[v, default: 0] += 1 }
        for v in c { cc[v, default: 0] += 1 }
        let keys = Set(rc.keys).union(cc.keys).sorted()
        return (keys, keys.map { rc[$0] ?? 0 }, keys.map { cc[$0] ?? 0 })
    }

    /// Shares per bin (numerical columns with more than 20 distinct reference values: Sturges
    /// bins over both samples) or per value, as Evidently bins for its distance measures.
    static func shares(_ reference: ColumnSample, _ current: ColumnSample, fillZeroes: Bool) -> ([Double], [Double]) {
        var r: [Double], c: [Double]
        if case .numerical(let rv) = reference, case .numerical(let cv) = current, Set(rv).count > 20 {
            let edges = Histogram.sturgesEdges(rv + cv)
            r = Histogram.counts(rv, edges: edges).map { Double($0) / Double(rv.count) }
            c = Histogram.counts(cv, edges: edges).map { Double($0) / Double(cv.count) }
        } else {
            let (_, rc, cc) = counts(reference, current)
            r = rc.map { Double($0) / Double(max(reference.count, 1)) }
            c = cc.map { Double($0) / Double(max(current.count, 1)) }
        }
        if fillZeroes {
            r = Divergences.fillZeroes(r)
            c = Divergences.fillZeroes(c)
        }
        return (r, c)
    }

    /// Two-sided p-value of the pooled two-proportion z-test on "is the first value"; 1 when
    /// both samples hold the same single value.
    static func proportionTest(_ reference: ColumnSample, _ current: ColumnSample) -> Double? {
        let (keys, rc, cc) = counts(reference, current)
        guard keys >= 1 else { return nil }
        let rDistinct = rc.filter { $0 > 0 }.count, cDistinct = cc.filter { $0 > 0 }.count
        if rDistinct == 1, cDistinct == 1, rc.firstIndex(where: { $0 > 0 }) == cc.firstIndex(where: { $0 > 0 }) { return 1 }
        let n1 = Double(reference.count), n2 = Double(current.count)
        // Ones are the values other than the first (sorted) one.
        let p1 = (n1 - Double(rc[0])) / n1, p2 = (n2 - Double(cc[0])) / n2
        let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        let z = (p1 - p2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
        return 2 * (1 - Normal.cdf(abs(z)))
    }
}
