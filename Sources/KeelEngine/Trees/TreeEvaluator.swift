import KeelCore

/// Rows walked through a tree together: large enough to hide memory latency, small enough
/// that the rows and their node indices stay in L1.
let treeBlockRows = 64

/// Decides which way a row goes at a split; specialised so the common all-numeric forest
/// runs a loop without the categorical and zero-missing checks.
protocol SplitDecision {
    static func goesLeft(_ node: TreeNode, _ x: Float, _ sets: CategoryTable) -> Bool
}

/// Read-only view of an ensemble's category bitsets during evaluation.
struct CategoryTable {
    let words: UnsafeBufferPointer<UInt32>
    let sets: UnsafeBufferPointer<Range<Int>>
    let floats: UnsafeBufferPointer<Float>
    let floatSets: UnsafeBufferPointer<Range<Int>>

    @inline(__always)
    func contains(set: Int, category c: Int) -> Bool {
        let range = sets[set]
        let word = c >> 5
        guard word < range.count else { return false }
        return (words[range.lowerBound + word] >> UInt32(c & 31)) & 1 != 0
    }

    @inline(__always)
    func contains(floatSet set: Int, value x: Float) -> Bool {
        for i in floatSets[set] where floats[i] == x { return true }
        return false
    }
}

/// Numeric `x <= t` splits with NaN routed by the node's missing flag.
enum NumericSplits: SplitDecision {
    @inline(__always)
    static func goesLeft(_ node: TreeNode, _ x: Float, _ sets: CategoryTable) -> Bool {
        x <= node.threshold || (x.isNaN && node.flags & TreeNode.Flags.missingLeft != 0)
    }
}

/// Every split kind: numeric, zero-as-missing, categorical bitsets.
enum GeneralSplits: SplitDecision {
    @inline(__always)
    static func goesLeft(_ node: TreeNode, _ x: Float, _ sets: CategoryTable) -> Bool {
        let flags = node.flags
        if flags & TreeNode.Flags.special == 0 {
            return NumericSplits.goesLeft(node, x, sets)
        }
        let missingLeft = flags & TreeNode.Flags.missingLeft != 0
        if x.isNaN { return missingLeft }
        if flags & TreeNode.Flags.floatSet != 0 {
            let member = sets.contains(floatSet: Int(flags >> TreeNode.Flags.setShift), value: x)
            return member == (flags & TreeNode.Flags.membersGoLeft != 0)
        }
        if flags & TreeNode.Flags.categorical != 0 {
            let lowest: Float = flags & TreeNode.Flags.truncatingCategory != 0 ? -1 : 0
            var member = false
            let validLow = flags & TreeNode.Flags.truncatingCategory != 0 ? x > lowest : x >= lowest
            if validLow && x < 16_777_216 {
                member = sets.contains(set: Int(flags >> TreeNode.Flags.setShift), category: Int(x))
            }
            return member == (flags & TreeNode.Flags.membersGoLeft != 0)
        }
        // Zero-as-missing numeric split (LightGBM kZeroThreshold).
        if abs(x) <= 1.0e-35 as Float { return missingLeft }
        return x <= node.threshold
    }
}

extension TreeEnsemble {
    /// Computes the margins (aggregated tree sums plus base scores) of `rows` rows of
    /// `featureCount` floats each into `out`, which holds `rows * targetCount` values.
    public func margins(
        _ input: UnsafeBufferPointer<Float>, rows: Int, into out: UnsafeMutableBufferPointer<Double>
    ) {
        precondition(input.count >= rows * featureCount && out.count >= rows * targetCount)
        if hasSpecialSplits {
            run(GeneralSplits.self, input, rows, out)
        } else {
            run(NumericSplits.self, input, rows, out)
        }
    }

    @inline(__always)
    private func run<D: SplitDecision>(
        _: D.Type, _ input: UnsafeBufferPointer<Float>, _ rows: Int, _ out: UnsafeMutableBufferPointer<Double>
    ) {
        let targets = targetCount
        // Min/max start from NaN, meaning "no tree has contributed yet".
        let combine = Combine(aggregation)
        let start: Double = combine == .add ? 0 : .nan
        for i in 0..<(rows * targets) { out[i] = start }
        nodes.withUnsafeBufferPointer { nodes in
        leafValues.withUnsafeBufferPointer { leafValues in
        categoryWords.withUnsafeBufferPointer { words in
        categorySets.withUnsafeBufferPointer { sets in
        floatValues.withUnsafeBufferPointer { floats in
        floatSets.withUnsafeBufferPointer { floatSets in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: treeBlockRows) { idx in
            let table = CategoryTable(words: words, sets: sets, floats: floats, floatSets: floatSets)
            var start = 0
            while start < rows {
                let count = min(treeBlockRows, rows - start)
                let block = input.baseAddress! + start * featureCount
                let acc = out.baseAddress! + start * targets
                for tree in 0..<treeRoots.count {
                    walk(D.self, nodes, table, treeRoots[tree], block, count, idx)
                    if usesWeightedLeaves {
                        addWeightedLeaves(idx, count, acc, combine)
                    } else if combine == .add {
                        let target = Int(treeTargets[tree])
                        for r in 0..<count {
                            acc[r * targets + target] += leafValues[Int(idx[r])]
                        }
                    } else {
                        let target = Int(treeTargets[tree])
                        for r in 0..<count {
                            combine.merge(&acc[r * targets + target], leafValues[Int(idx[r])])
                        }
                    }
                }
                start += count
            }
        }
        }
        }
        }
        }
        }
        }
        finish(out, rows)
    }

    /// Walks `count` rows through one tree in lockstep until every row rests on a leaf.
    @inline(__always)
    private func walk<D: SplitDecision>(
        _: D.Type, _ nodes: UnsafeBufferPointer<TreeNode>, _ table: CategoryTable, _ root: Int32,
        _ block: UnsafePointer<Float>, _ count: Int, _ idx: UnsafeMutableBufferPointer<Int32>
    ) {
        let stride = featureCount
        if count == 1 {
            var i = root
            while true {
                let node = nodes[Int(i)]
                let next = D.goesLeft(node, block[Int(node.feature)], table) ? i + 1 : node.right
                if next == i { break }
                i = next
            }
            idx[0] = i
            return
        }
        for r in 0..<count { idx[r] = root }
        var moved = true
        while moved {
            moved = false
            var row = block
            for r in 0..<count {
                let i = idx[r]
                let node = nodes[Int(i)]
                let next = D.goesLeft(node, row[Int(node.feature)], table) ? i + 1 : node.right
                moved = moved || next != i
                idx[r] = next
                row += stride
            }
        }
    }

    private func addWeightedLeaves(
        _ idx: UnsafeMutableBufferPointer<Int32>, _ count: Int, _ acc: UnsafeMutablePointer<Double>, _ combine: Combine
    ) {
        for r in 0..<count {
            let range = leafEntryRanges[Int(idx[r])]
            for e in range {
                let entry = leafEntries[Int(e)]
                combine.merge(&acc[r * targetCount + entry.target], entry.weight)
            }
        }
    }

    private func finish(_ out: UnsafeMutableBufferPointer<Double>, _ rows: Int) {
        let divisor: Double
        switch aggregation {
        case .sum: divisor = 1
        case .average(let d): divisor = d
        case .min, .max:
            for i in 0..<(rows * targetCount) {
                out[i] = (out[i].isNaN ? 0 : out[i]) + baseScores[i % targetCount]
            }
            return
        }
        for r in 0..<rows {
            for k in 0..<targetCount {
                let i = r * targetCount + k
                out[i] = (divisor == 1 ? out[i] : out[i] / divisor) + baseScores[k]
            }
        }
    }
}

/// How one tree's leaf value joins a target's running value.
enum Combine: Equatable {
    case add, min, max

    init(_ aggregation: TreeAggregation) {
        switch aggregation {
        case .sum, .average: self = .add
        case .min: self = .min
        case .max: self = .max
        }
    }

    /// NaN in `acc` means no contribution yet (min/max only).
    @inline(__always)
    func merge(_ acc: inout Double, _ value: Double) {
        switch self {
        case .add: acc += value
        case .min: if acc.isNaN || value < acc { acc = value }
        case .max: if acc.isNaN || value > acc { acc = value }
        }
    }
}
