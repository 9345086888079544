import KeelCore

/// One split or leaf of a flattened tree: 16 bytes, stored in pre-order (a split's left child
/// is the next node). Both children are stored so the evaluator picks the next node by
/// indexing with the comparison result instead of branching on it.
///
/// A leaf is a fixed point of traversal: its threshold is NaN (no value compares `<=` to it)
/// and both children are the leaf itself. So walking a tree for its full depth lands every
/// row on its leaf without checking for leaves along the way.
public struct TreeNode: Sendable, Equatable {
    /// Numeric split: a row goes left iff `x <= threshold` (in Float). NaN for leaves.
    public var threshold: Float
    /// Feature index read by this split; 0 for leaves.
    public var feature: Int32
    /// Absolute index of the right child (at byte offset 8: chosen when the test is false).
    public var right: Int32
    /// Absolute index of the left child (at byte offset 12: chosen when the test is true).
    public var left: Int32

    /// Bits of a node's entry in `TreeEnsemble.nodeFlags`.
    public enum Flags {
        /// A missing value (NaN, or a zero under `zeroIsMissing`) goes left.
        public static let missingLeft: UInt32 = 1 << 0
        /// The split tests membership of `Int(x)` in a category set.
        public static let categorical: UInt32 = 1 << 1
        /// |x| <= 1e-35 counts as missing (LightGBM's zero_as_missing).
        public static let zeroIsMissing: UInt32 = 1 << 2
        /// The node is a leaf.
        public static let leaf: UInt32 = 1 << 3
        /// Categorical: members of the set go left (else members go right).
        public static let membersGoLeft: UInt32 = 1 << 4
        /// Categorical: the category is `x` truncated toward zero, so (-1, 0) means category 0
        /// (LightGBM); without it any negative value is an invalid category (XGBoost).
        public static let truncatingCategory: UInt32 = 1 << 5
        /// The split tests membership of the float `x` in a set of values (ONNX BRANCH_EQ,
        /// BRANCH_NEQ, BRANCH_MEMBER); the set index sits in the bits from 8 up.
        public static let floatSet: UInt32 = 1 << 6
        /// Bits that force the general (slower) decision routine.
        static let special: UInt32 = categorical | zeroIsMissing | floatSet
        static let setShift: UInt32 = 8
    }
}

/// How a split sends a row left, in the form every source format lowers onto.
public enum SplitTest: Sendable, Equatable {
    /// Go left iff `x <= threshold` (Float comparison).
    case lessOrEqual(Float)
    /// Go left iff `x` is (or, with `membersGoLeft == false`, is not) in `categories`.
    /// Invalid categories (negative, too large) count as non-members.
    case categories([Int], membersGoLeft: Bool, truncating: Bool)
    /// Go left iff `x` equals (or, with `membersGoLeft == false`, equals none of) `values`,
    /// compared as Float. NaN is never a member; its route is the node's missing flag.
    case floatSet([Float], membersGoLeft: Bool)
}

/// A tree node as a source format describes it: explicit child indices, any order.
public enum SourceNode: Sendable, Equatable {
    /// A leaf adding `value` to its tree's target.
    case leaf(Double)
    /// A leaf adding a weight to each of several targets (ONNX tree ensembles).
    case weightedLeaf([TargetWeight])
    /// A split with explicit children and where missing values go.
    case split(feature: Int, test: SplitTest, missingLeft: Bool, zeroIsMissing: Bool, left: Int, right: Int)
}

/// One contribution of a leaf to an output target.
public struct TargetWeight: Sendable, Equatable {
    public var target: Int
    public var weight: Double
    public init(target: Int, weight: Double) {
        self.target = target
        self.weight = weight
    }
}

/// How the contributions of the trees to one target are combined.
public enum TreeAggregation: Sendable, Equatable {
    case sum
    /// Sum divided by a fixed count (random forests, LightGBM `average_output`).
    case average(divisor: Double)
    /// Smallest leaf value over the trees (ONNX `MIN`); a target no leaf feeds is 0.
    case min
    /// Largest leaf value over the trees (ONNX `MAX`); a target no leaf feeds is 0.
    case max
}

/// A whole forest in one flat, immutable layout, shared by every model format that has trees.
public struct TreeEnsemble: Sendable {
    public let featureCount: Int
    public let targetCount: Int
    /// Added to each target's sum before aggregation is finished (margin space).
    public let baseScores: [Double]
    public let aggregation: TreeAggregation

    let nodes: [TreeNode]
    /// `TreeNode.Flags` per node; for categorical splits the bits from 8 up hold the set index.
    let nodeFlags: [UInt32]
    /// Leaf value per node index (0 for splits); used when each leaf feeds one target.
    let leafValues: [Double]
    let treeRoots: [Int32]
    /// Edges on each tree's longest root-to-leaf path: that many steps bring any row to a
    /// leaf, since leaves are fixed points.
    let treeDepths: [Int32]
    /// Edges on each tree's shortest root-to-leaf path: every row is still on a split
    /// before that many steps, so they need no check for having reached a leaf.
    let treeMinDepths: [Int32]
    /// Target each tree's leaves add to (single-target leaves).
    let treeTargets: [Int32]
    /// Bitsets of the category sets: set k occupies `categoryWords[categorySets[k]]`.
    let categoryWords: [UInt32]
    let categorySets: [Range<Int>]
    /// Float sets: set k is `floatValues[floatSets[k]]`.
    let floatValues: [Float]
    let floatSets: [Range<Int>]
    /// Multi-target leaves: per node, its range in `leafEntries`; both empty when unused.
    let leafEntryRanges: [Range<Int32>]
    let leafEntries: [TargetWeight]
    /// Whether any node needs the general decision routine.
    let hasSpecialSplits: Bool

    public var treeCount: Int { treeRoots.count }
    public var nodeCount: Int { nodes.count }
    var usesWeightedLeaves: Bool { !leafEntries.isEmpty }
}

/// Collects trees in source form and flattens them into a `TreeEnsemble`.
public struct TreeEnsembleBuilder {
    public let featureCount: Int
    public let targetCount: Int
    private var nodes: [TreeNode] = []
    private var flagsOf: [UInt32] = []
    private var leafValues: [Double] = []
    private var roots: [Int32] = []
    private var depths: [Int32] = []
    private var minDepths: [Int32] = []
    private var targets: [Int32] = []
    private var words: [UInt32] = []
    private var sets: [Range<Int>] = []
    private var floatValues: [Float] = []
    private var floatSets: [Range<Int>] = []
    private var entryRanges: [Range<Int32>] = []
    private var entries: [TargetWeight] = []
    private var special = false

    private let budget: LoadBudget

    /// A builder for `featureCount` input features and `targetCount` outputs, both within
    /// `TreeLimits`; every node, set and leaf it stores is charged to `budget`.
    public init(featureCount: Int, targetCount: Int, budget: LoadBudget) throws(KeelError) {
        guard (1...TreeLimits.maxFeatures).contains(featureCount) else {
            throw .invalidModel("tree model declares \(featureCount) features; expected 1 to \(TreeLimits.maxFeatures)")
        }
        guard (1...TreeLimits.maxOutputs).contains(targetCount) else {
            throw .invalidModel("tree model declares \(targetCount) outputs; expected 1 to \(TreeLimits.maxOutputs)")
        }
        self.featureCount = featureCount
        self.targetCount = targetCount
        self.budget = budget
    }

    /// Adds one tree. `nodes[root]` is its root; `scale` multiplies every leaf value (DART).
    public mutating func addTree(
        _ source: [SourceNode], root: Int = 0, target: Int, scale: Double = 1
    ) throws(KeelError) {
        let treeNo = roots.count
        guard !source.isEmpty, source.indices.contains(root) else {
            throw .invalidModel("tree \(treeNo) has no nodes")
        }
        guard (0..<targetCount).contains(target) else {
            throw .invalidModel("tree \(treeNo) feeds output \(target), but the model has \(targetCount)")
        }
        guard source.count <= TreeLimits.maxNodes - nodes.count else {
            throw .invalidModel("tree \(treeNo) would bring the model past \(TreeLimits.maxNodes) nodes")
        }
        // Every stored node costs its TreeNode, flags, leaf value and entry range, twice:
        // the flat arrays grow by doubling, and a growing array is briefly copied.
        try budget.charge(source.count, of: 2 * Self.bytesPerNode, for: "tree \(treeNo) (\(source.count) nodes)")
        try budget.charge(1, of: Self.bytesPerTree, for: "tree \(treeNo)")
        try budget.check(transient: source.count, of: MemoryLayout<(Int, Int?, Int32)>.stride, for: "tree \(treeNo)'s traversal stack")
        roots.append(Int32(nodes.count))
        targets.append(Int32(target))
        // Depth-first, left subtree first: the left child lands right after its parent. The
        // task carries the index of the parent whose right pointer it must patch.
        var stack: [(src: Int, patch: Int?, depth: Int32)] = [(root, nil, 0)]
        var visited = 0
        var maxDepth: Int32 = 0
        var minDepth = Int32.max
        while let (src, patch, depth) = stack.popLast() {
            visited += 1
            maxDepth = max(maxDepth, depth)
            guard source.indices.contains(src), visited <= source.count else {
                throw .invalidModel("tree \(treeNo) has an invalid or cyclic child reference (\(src))")
            }
            let me = nodes.count
            if let patch { nodes[patch].right = Int32(me) }
            if case .split = source[src] {} else { minDepth = min(minDepth, depth) }
            switch source[src] {
            case .leaf(let value):
                appendLeaf(at: me, value: value * scale)
            case .weightedLeaf(let contributions):
                for c in contributions where !(0..<targetCount).contains(c.target) {
                    throw .invalidModel("tree \(treeNo) has a leaf for output \(c.target), but the model has \(targetCount)")
                }
                guard contributions.count <= Int(Int32.max) - entries.count else {
                    throw .invalidModel("tree \(treeNo) has more leaf weights than \(Int32.max)")
                }
                try budget.charge(contributions.count, TargetWeight.self, for: "tree \(treeNo)'s leaf weights")
                appendLeaf(at: me, value: 0)
                entryRanges[me] = Int32(entries.count)..<Int32(entries.count + contributions.count)
                entries.append(contentsOf: contributions.map { TargetWeight(target: $0.target, weight: $0.weight * scale) })
            case .split(let feature, let test, let missingLeft, let zeroIsMissing, let left, let right):
                guard (0..<featureCount).contains(feature) else {
                    throw .invalidModel("tree \(treeNo) splits on feature \(feature), but the model has \(featureCount) features")
                }
                var flags: UInt32 = missingLeft ? TreeNode.Flags.missingLeft : 0
                var threshold: Float = 0
                if zeroIsMissing { flags |= TreeNode.Flags.zeroIsMissing }
                switch test {
                case .lessOrEqual(let t):
                    threshold = t
                case .categories(let categories, let membersGoLeft, let truncating):
                    flags |= TreeNode.Flags.categorical
                    if membersGoLeft { flags |= TreeNode.Flags.membersGoLeft }
                    if truncating { flags |= TreeNode.Flags.truncatingCategory }
                    flags |= UInt32(try addCategorySet(categories, tree: treeNo)) << TreeNode.Flags.setShift
                case .floatSet(let values, let membersGoLeft):
                    flags |= TreeNode.Flags.floatSet
                    if membersGoLeft { flags |= TreeNode.Flags.membersGoLeft }
                    guard floatSets.count < (1 << 23) else { throw .invalidModel("too many set-membership splits") }
                    try budget.charge(values.count, Float.self, for: "tree \(treeNo)'s set-membership split")
                    floatSets.append(floatValues.count..<(floatValues.count + values.count))
                    floatValues.append(contentsOf: values)
                    flags |= UInt32(floatSets.count - 1) << TreeNode.Flags.setShift
                }
                if flags & TreeNode.Flags.special != 0 { special = true }
                nodes.append(TreeNode(threshold: threshold, feature: Int32(feature), right: -1, left: Int32(me + 1)))
                flagsOf.append(flags)
                leafValues.append(0)
                entryRanges.append(0..<0)
                stack.append((right, me, depth + 1))
                stack.append((left, nil, depth + 1))
            }
        }
        depths.append(maxDepth)
        minDepths.append(minDepth)
    }

    private mutating func appendLeaf(at index: Int, value: Double) {
        nodes.append(TreeNode(threshold: .nan, feature: 0, right: Int32(index), left: Int32(index)))
        flagsOf.append(TreeNode.Flags.leaf)
        leafValues.append(value)
        entryRanges.append(0..<0)
    }

    private mutating func addCategorySet(_ categories: [Int], tree: Int) throws(KeelError) -> Int {
        let maxCategory = categories.max() ?? -1
        guard categories.allSatisfy({ $0 >= 0 }), maxCategory < TreeLimits.maxCategory else {
            throw .invalidModel("tree \(tree) has a categorical split with an invalid category (must be in 0..<\(TreeLimits.maxCategory))")
        }
        guard sets.count < (1 << 23) else { throw .invalidModel("too many categorical splits") }
        // The bitset spans every category up to the largest: charged, since a few bytes of
        // file naming a large category would otherwise cost up to 2 MiB per split.
        try budget.charge(maxCategory / 32 + 1, of: 2 * MemoryLayout<UInt32>.stride,
                          for: "tree \(tree)'s categorical split up to category \(maxCategory)")
        var bits = [UInt32](repeating: 0, count: maxCategory / 32 + 1)
        for c in categories { bits[c / 32] |= 1 << UInt32(c % 32) }
        let start = words.count
        words.append(contentsOf: bits)
        sets.append(start..<words.count)
        return sets.count - 1
    }

    /// TreeNode, flags, leaf value and multi-target entry range of one node.
    static let bytesPerNode = MemoryLayout<TreeNode>.stride + MemoryLayout<UInt32>.stride
        + MemoryLayout<Double>.stride + MemoryLayout<Range<Int32>>.stride
    /// Root, depth, minimum depth and target of one tree.
    static let bytesPerTree = 4 * MemoryLayout<Int32>.stride

    public func build(baseScores: [Double], aggregation: TreeAggregation = .sum) throws(KeelError) -> TreeEnsemble {
        guard baseScores.count == targetCount else {
            throw .invalidModel("model has \(targetCount) outputs but \(baseScores.count) base scores")
        }
        return TreeEnsemble(
            featureCount: featureCount, targetCount: targetCount, baseScores: baseScores,
            aggregation: aggregation, nodes: nodes, nodeFlags: flagsOf, leafValues: leafValues, treeRoots: roots,
            treeDepths: depths, treeMinDepths: minDepths, treeTargets: targets, categoryWords: words, categorySets: sets,
            floatValues: floatValues, floatSets: floatSets,
            leafEntryRanges: entries.isEmpty ? [] : entryRanges, leafEntries: entries, hasSpecialSplits: special)
    }
}
