import KeelCore

/// Rows walked through a tree together: large enough to hide memory latency, small enough
/// that the rows and their node indices stay in L1.
let treeBlockRows = 64
/// Trees walked together for a single row, so independent node chains overlap.
let treeGroupSize = 16

/// Decides which way a row goes at a split. Specialised three ways so the common case — all
/// numeric splits, no NaN in the rows at hand — runs a loop of one compare and one select.
protocol SplitDecision {
    static func goesLeft(_ node: TreeNode, _ flags: @autoclosure () -> UInt32, _ x: Float, _ sets: CategoryTable) -> Bool
}

/// Read-only view of an ensemble's category bitsets during evaluation.
struct CategoryTable {
    let words: UnsafeBufferPointer<UInt32>
    let sets: UnsafeBufferPointer<Range<Int>>
    let floats: UnsafeBufferPointer<Float>
    let floatSets: UnsafeBufferPointer<Range<Int>>

    @inline(__always)
    func contains(floatSet set: Int, value x: Float) -> Bool {
        for i in floatSets[set] where floats[i] == x { return true }
        return false
    }

    @inline(__always)
    func contains(set: Int, category c: Int) -> Bool {
        let range = sets[set]
        let word = c >> 5
        guard word < range.count else { return false }
        return (words[range.lowerBound + word] >> UInt32(c & 31)) & 1 != 0
    }
}

/// Numeric splits on rows known to hold no NaN.
enum PlainSplits: SplitDecision {
    @inline(__always)
    static func goesLeft(_ node: TreeNode, _ flags: @autoclosure () -> UInt32, _ x: Float, _ sets: CategoryTable) -> Bool {
        x <= node.threshold
    }
}

/// Numeric `x <= t` splits with NaN routed by the node's missing flag.
enum NumericSplits: SplitDecision {
    @inline(__always)
    static func goesLeft(_ node: TreeNode, _ flags: @autoclosure () -> UInt32, _ x: Float, _ sets: CategoryTable) -> Bool {
        (x <= node.threshold) || (x.isNaN && flags() & TreeNode.Flags.missingLeft != 0)
    }
}

/// Every split kind: numeric, zero-as-missing, categorical bitsets.
enum GeneralSplits: SplitDecision {
    @inline(__always)
    static func goesLeft(_ node: TreeNode, _ nodeFlags: @autoclosure () -> UInt32, _ x: Float, _ sets: CategoryTable) -> Bool {
        let flags = nodeFlags()
        if flags & TreeNode.Flags.special == 0 {
            return NumericSplits.goesLeft(node, flags, x, sets)
        }
        let missingLeft = flags & TreeNode.Flags.missingLeft != 0
        if x.isNaN { return missingLeft }
        if flags & TreeNode.Flags.floatSet != 0 {
            let member = sets.contains(floatSet: Int(flags >> TreeNode.Flags.setShift), value: x)
            return member == (flags & TreeNode.Flags.membersGoLeft != 0)
        }
        if flags & TreeNode.Flags.categorical != 0 {
            // XGBoost: negative values are invalid categories. LightGBM: the category is
            // x truncated toward zero, invalid only when that is negative.
            let truncating = flags & TreeNode.Flags.truncatingCategory != 0
            var member = false
            if (truncating ? x > -1 : x >= 0) && x < 16_777_216 {
                member = sets.contains(set: Int(flags >> TreeNode.Flags.setShift), category: Int(x))
            }
            return member == (flags & TreeNode.Flags.membersGoLeft != 0)
        }
        // Zero-as-missing numeric split (LightGBM kZeroThreshold).
        if abs(x) <= 1.0e-35 as Float { return missingLeft }
        return x <= node.threshold
    }
}

/// The child of node `i` a row moves to, read by indexing with the test result rather than
/// by branching on it: split directions are data-dependent coin flips, and a mispredicted
/// branch costs more than the whole step. (A select gets turned back into a branch by the
/// compiler because only one side is loaded.)
@inline(__always)
func child(_ nodes: UnsafePointer<TreeNode>, _ i: Int32, left: Bool) -> Int32 {
    UnsafeRawPointer(nodes + Int(i)).load(
        fromByteOffset: 8 &+ 4 &* Int(unsafeBitCast(left, to: UInt8.self)), as: Int32.self)
}

/// Unsafe views of an ensemble's arrays for the duration of one evaluation.
struct EnsembleView {
    let nodes: UnsafePointer<TreeNode>
    let flags: UnsafePointer<UInt32>
    let leafValues: UnsafePointer<Double>
    let roots: UnsafePointer<Int32>
    let depths: UnsafePointer<Int32>
    let minDepths: UnsafePointer<Int32>
    let targets: UnsafePointer<Int32>
    let table: CategoryTable
    let featureCount: Int
    let targetCount: Int
    let treeCount: Int
    let combine: Combine
}

extension TreeEnsemble {
    /// Computes the margins (aggregated tree sums plus base scores) of `rows` rows of
    /// `featureCount` floats each into `out`, which holds `rows * targetCount` values.
    public func margins(
        _ input: UnsafeBufferPointer<Float>, rows: Int, into out: UnsafeMutableBufferPointer<Double>
    ) {
        precondition(input.count >= rows * featureCount && out.count >= rows * targetCount)
        // Min/max start from NaN, meaning "no tree has contributed yet".
        let combine = Combine(aggregation)
        let initial: Double = combine == .add ? 0 : .nan
        for i in 0..<(rows * targetCount) { out[i] = initial }
        guard rows > 0 else { finish(out, rows); return }
        nodes.withUnsafeBufferPointer { nodes in
        nodeFlags.withUnsafeBufferPointer { flags in
        leafValues.withUnsafeBufferPointer { leafValues in
        treeRoots.withUnsafeBufferPointer { roots in
        treeDepths.withUnsafeBufferPointer { depths in
        treeMinDepths.withUnsafeBufferPointer { minDepths in
        treeTargets.withUnsafeBufferPointer { targets in
        categoryWords.withUnsafeBufferPointer { words in
        categorySets.withUnsafeBufferPointer { sets in
        floatValues.withUnsafeBufferPointer { floats in
        floatSets.withUnsafeBufferPointer { floatSets in
            guard let nodeBase = nodes.baseAddress, let flagBase = flags.baseAddress, let leafBase = leafValues.baseAddress,
                  let rootBase = roots.baseAddress, let depthBase = depths.baseAddress,
                  let minDepthBase = minDepths.baseAddress,
                  let targetBase = targets.baseAddress else { return }
            let view = EnsembleView(
                nodes: nodeBase, flags: flagBase, leafValues: leafBase, roots: rootBase, depths: depthBase, minDepths: minDepthBase,
                targets: targetBase, table: CategoryTable(words: words, sets: sets, floats: floats, floatSets: floatSets),
                featureCount: featureCount, targetCount: targetCount, treeCount: treeRoots.count, combine: combine)
            var start = 0
            while start < rows {
                let count = min(treeBlockRows, rows - start)
                let block = input.baseAddress! + start * featureCount
                let acc = out.baseAddress! + start * targetCount
                if hasSpecialSplits {
                    evaluate(GeneralSplits.self, view, block, count, acc)
                } else if containsNaN(block, count * featureCount) {
                    evaluate(NumericSplits.self, view, block, count, acc)
                } else {
                    evaluate(PlainSplits.self, view, block, count, acc)
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
        }
        }
        }
        }
        finish(out, rows)
    }

    private func containsNaN(_ values: UnsafePointer<Float>, _ count: Int) -> Bool {
        var nan = false
        for i in 0..<count { nan = nan || values[i].isNaN }
        return nan
    }

    @inline(__always)
    private func evaluate<D: SplitDecision>(
        _: D.Type, _ view: EnsembleView, _ block: UnsafePointer<Float>, _ count: Int,
        _ acc: UnsafeMutablePointer<Double>
    ) {
        if count == 1 {
            evaluateRow(D.self, view, block, acc)
        } else {
            evaluateBlock(D.self, view, block, count, acc)
        }
    }

    /// Moves each lane (a row in a tree) down until every lane rests on its leaf. Lane `k`
    /// reads its features at `rows + k * rowStride`. The first `minDepth` steps cannot reach a
    /// leaf and run unchecked; after that a step that moves no lane ends the walk early,
    /// which matters for unbalanced trees (LightGBM), and `maxDepth` steps always suffice.
    @inline(__always)
    private func walk<D: SplitDecision>(
        _: D.Type, _ v: EnsembleView, _ idx: UnsafeMutablePointer<Int32>, lanes: Int,
        rows: UnsafePointer<Float>, rowStride: Int, minDepth: Int32, maxDepth: Int32
    ) {
        @inline(__always)
        func step(_ lane: Int) -> (Int32, Int32) {
            let i = idx[lane]
            let node = v.nodes[Int(i)]
            let x = rows[lane &* rowStride &+ Int(node.feature)]
            return (i, child(v.nodes, i, left: D.goesLeft(node, v.flags[Int(i)], x, v.table)))
        }
        for _ in 0..<minDepth {
            for lane in 0..<lanes { idx[lane] = step(lane).1 }
        }
        var level = minDepth
        while level < maxDepth {
            var changed: Int32 = 0
            for lane in 0..<lanes {
                let (i, next) = step(lane)
                changed |= i ^ next
                idx[lane] = next
            }
            if changed == 0 { break }
            level += 1
        }
    }

    /// One row: walks groups of trees in lockstep, so their independent chains overlap.
    @inline(__always)
    private func evaluateRow<D: SplitDecision>(
        _: D.Type, _ v: EnsembleView, _ row: UnsafePointer<Float>, _ acc: UnsafeMutablePointer<Double>
    ) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: treeGroupSize) { idx in
            let lanesBase = idx.baseAddress!
            var first = 0
            while first < v.treeCount {
                let lanes = min(treeGroupSize, v.treeCount - first)
                var maxDepth: Int32 = 0
                var minDepth = Int32.max
                for g in 0..<lanes {
                    idx[g] = v.roots[first + g]
                    maxDepth = max(maxDepth, v.depths[first + g])
                    minDepth = min(minDepth, v.minDepths[first + g])
                }
                walk(D.self, v, lanesBase, lanes: lanes, rows: row, rowStride: 0, minDepth: minDepth, maxDepth: maxDepth)
                if usesWeightedLeaves {
                    addWeightedLeaves(idx, lanes, acc, rowStride: 0, v.combine)
                } else if v.combine == .add {
                    for g in 0..<lanes {
                        acc[Int(v.targets[first + g])] += v.leafValues[Int(idx[g])]
                    }
                } else {
                    for g in 0..<lanes {
                        v.combine.merge(&acc[Int(v.targets[first + g])], v.leafValues[Int(idx[g])])
                    }
                }
                first += lanes
            }
        }
    }

    /// A block of rows: for each tree, walks all rows in lockstep.
    @inline(__always)
    private func evaluateBlock<D: SplitDecision>(
        _: D.Type, _ v: EnsembleView, _ block: UnsafePointer<Float>, _ count: Int,
        _ acc: UnsafeMutablePointer<Double>
    ) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: treeBlockRows) { idx in
            let lanesBase = idx.baseAddress!
            for tree in 0..<v.treeCount {
                let root = v.roots[tree]
                for r in 0..<count { idx[r] = root }
                walk(D.self, v, lanesBase, lanes: count, rows: block, rowStride: v.featureCount,
                     minDepth: v.minDepths[tree], maxDepth: v.depths[tree])
                let target = Int(v.targets[tree])
                if usesWeightedLeaves {
                    addWeightedLeaves(idx, count, acc, rowStride: v.targetCount, v.combine)
                } else if v.combine == .add {
                    for r in 0..<count {
                        acc[r * v.targetCount + target] += v.leafValues[Int(idx[r])]
                    }
                } else {
                    for r in 0..<count {
                        v.combine.merge(&acc[r * v.targetCount + target], v.leafValues[Int(idx[r])])
                    }
                }
            }
        }
    }

    /// Adds multi-target leaf contributions; `rowStride` 0 means every lane is the same row.
    private func addWeightedLeaves(
        _ idx: UnsafeMutableBufferPointer<Int32>, _ count: Int, _ acc: UnsafeMutablePointer<Double>, rowStride: Int,
        _ combine: Combine
    ) {
        for r in 0..<count {
            for e in leafEntryRanges[Int(idx[r])] {
                let entry = leafEntries[Int(e)]
                combine.merge(&acc[r * rowStride + entry.target], entry.weight)
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
