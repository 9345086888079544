import KeelCore

/// The trees of an ONNX-ML tree op in one attribute-set-independent form: the v1–v3
/// TreeEnsembleClassifier/Regressor attributes and the opset-5 TreeEnsemble attributes both
/// parse into this, and it lowers onto the shared `TreeEnsembleBuilder`.
struct ONNXTreeSpec {
    /// A node's comparison; `leaf` nodes carry weights instead.
    enum Mode: Equatable {
        case leq, lt, gte, gt, eq, neq, member([Double]), leaf
    }

    struct Node {
        var treeId: Int
        var nodeId: Int
        var feature: Int
        var mode: Mode
        var value: Double
        var trueId: Int
        var falseId: Int
        var missingTracksTrue: Bool
    }

    /// A leaf's (tree id, node id): a plain struct, so a key costs no allocation of its own.
    struct LeafKey: Hashable {
        let tree: Int
        let node: Int
    }

    var nodes: [Node] = []
    /// Leaf contributions keyed by (tree id, node id), in attribute order.
    var weights: [LeafKey: [TargetWeight]] = [:]
    var targetCount: Int
    var label: String

    /// Parses the v1–v3 attribute set; `prefix` is "class" (classifier) or "target" (regressor).
    static func v3(
        _ a: NodeAttributes, prefix: String, targetCount: Int, label: String, budget: LoadBudget
    ) throws(KeelError) -> ONNXTreeSpec {
        func ints(_ name: String) throws(KeelError) -> [Int] { try a.ints(name) ?? [] }
        let treeIds = try ints("nodes_treeids"), nodeIds = try ints("nodes_nodeids")
        let features = try ints("nodes_featureids"), trueIds = try ints("nodes_truenodeids")
        let falseIds = try ints("nodes_falsenodeids")
        let modes = (try a.strings("nodes_modes") ?? []).map { String(decoding: $0, as: UTF8.self) }
        let values = try a.reals("nodes_values") ?? []
        let tracks = try ints("nodes_missing_value_tracks_true")
        let n = treeIds.count
        guard n > 0 else { throw .invalidModel("\(label) has no tree nodes") }
        guard nodeIds.count == n, features.count == n, trueIds.count == n, falseIds.count == n, modes.count == n,
              values.count == n || values.isEmpty, tracks.isEmpty || tracks.count == n else {
            throw .invalidModel("\(label): the nodes_* attributes have different lengths (\(n) tree ids)")
        }
        var spec = ONNXTreeSpec(targetCount: targetCount, label: label)
        try budget.charge(n, of: Self.bytesPerExpandedNode, for: "\(label)'s \(n) tree nodes")
        for i in 0..<n {
            let mode: Mode
            switch modes[i] {
            case "BRANCH_LEQ": mode = .leq
            case "BRANCH_LT": mode = .lt
            case "BRANCH_GTE": mode = .gte
            case "BRANCH_GT": mode = .gt
            case "BRANCH_EQ": mode = .eq
            case "BRANCH_NEQ": mode = .neq
            case "LEAF": mode = .leaf
            default: throw .invalidModel("\(label): unknown node mode '\(modes[i])'")
            }
            spec.nodes.append(Node(
                treeId: treeIds[i], nodeId: nodeIds[i], feature: features[i], mode: mode,
                value: values.isEmpty ? 0 : values[i], trueId: trueIds[i], falseId: falseIds[i],
                missingTracksTrue: tracks.isEmpty ? false : tracks[i] == 1))
        }
        let wTrees = try ints("\(prefix)_treeids"), wNodes = try ints("\(prefix)_nodeids"), wIds = try ints("\(prefix)_ids")
        let wValues = try a.reals("\(prefix)_weights") ?? []
        guard wNodes.count == wTrees.count, wIds.count == wTrees.count, wValues.count == wTrees.count else {
            throw .invalidModel("\(label): the \(prefix)_* attributes have different lengths")
        }
        for k in 0..<wTrees.count {
            guard (0..<targetCount).contains(wIds[k]) else {
                throw .invalidModel("\(label): \(prefix)_ids has \(wIds[k]), but the model has \(targetCount) \(prefix == "class" ? "classes" : "targets")")
            }
            let key = LeafKey(tree: wTrees[k], node: wNodes[k])
            // A new leaf costs a dictionary entry and an array; every weight its slot.
            try budget.charge(1, of: spec.weights[key] == nil ? Self.bytesPerLeafEntry : 2 * MemoryLayout<TargetWeight>.stride,
                              for: "\(label)'s leaf weights")
            spec.weights[key, default: []].append(TargetWeight(target: wIds[k], weight: wValues[k]))
        }
        return spec
    }

    /// Parses the ai.onnx.ml opset-5 TreeEnsemble attributes, giving leaves their own node
    /// ids after the branch nodes (as ONNX Runtime's conversion to the v3 form does).
    static func v5(_ a: NodeAttributes, label: String, budget: LoadBudget) throws(KeelError) -> ONNXTreeSpec {
        func ints(_ name: String) throws(KeelError) -> [Int] { try a.ints(name) ?? [] }
        func reals(_ name: String) throws(KeelError) -> [Double] {
            guard let t = try a.tensor(name) else { return [] }
            guard let d = t.data.doubles, t.dataType != .bytes else { throw .invalidModel("\(label): '\(name)' must be numeric") }
            return d
        }
        guard let targets = try a.int("n_targets"), (1...TreeLimits.maxOutputs).contains(targets) else {
            throw .invalidModel("\(label) needs n_targets from 1 to \(TreeLimits.maxOutputs)")
        }
        let roots = try ints("tree_roots"), features = try ints("nodes_featureids")
        let trueIds = try ints("nodes_truenodeids"), falseIds = try ints("nodes_falsenodeids")
        let trueLeafs = try ints("nodes_trueleafs"), falseLeafs = try ints("nodes_falseleafs")
        let tracks = try ints("nodes_missing_value_tracks_true")
        let splits = try reals("nodes_splits"), membership = try reals("membership_values")
        let leafTargets = try ints("leaf_targetids"), leafWeights = try reals("leaf_weights")
        guard let modeTensor = try a.tensor("nodes_modes"), let modes = modeTensor.data.ints else {
            throw .invalidModel("\(label) needs the nodes_modes tensor")
        }
        let n = modes.count
        guard features.count == n, trueIds.count == n, falseIds.count == n, trueLeafs.count == n, falseLeafs.count == n,
              splits.count == n, tracks.isEmpty || tracks.count == n, leafTargets.count == leafWeights.count else {
            throw .invalidModel("\(label): the nodes_* / leaf_* attributes have inconsistent lengths")
        }
        // membership_values: one NaN-terminated list per BRANCH_MEMBER node, in node order.
        var memberLists: [Int: [Double]] = [:]
        var cursor = 0
        for i in 0..<n where modes[i] == 6 {
            var list: [Double] = []
            while cursor < membership.count, !membership[cursor].isNaN { list.append(membership[cursor]); cursor += 1 }
            cursor += 1
            memberLists[i] = list
        }
        var spec = ONNXTreeSpec(targetCount: targets, label: label)
        let leafBase = n  // leaf k becomes node id n + k
        func addLeaf(tree: Int, leaf: Int) throws(KeelError) {
            guard leaf >= 0, leaf < leafTargets.count else { throw .invalidModel("\(label): leaf index \(leaf) is out of range") }
            guard (0..<targets).contains(leafTargets[leaf]) else {
                throw .invalidModel("\(label): leaf \(leaf) feeds target \(leafTargets[leaf]), the model has \(targets)")
            }
            // Trees may share nodes, so what is expanded is paid for.
            try budget.charge(1, of: Self.bytesPerExpandedNode, for: "\(label)'s expanded tree nodes")
            spec.nodes.append(Node(treeId: tree, nodeId: leafBase + leaf, feature: 0, mode: .leaf, value: 0, trueId: 0, falseId: 0, missingTracksTrue: false))
            spec.weights[LeafKey(tree: tree, node: leafBase + leaf)] = [TargetWeight(target: leafTargets[leaf], weight: leafWeights[leaf])]
        }
        for (t, root) in roots.enumerated() {
            guard root >= 0, root < max(n, leafTargets.count) else { throw .invalidModel("\(label): tree root \(root) is out of range") }
            // ONNX Runtime treats a root whose two children are equal as a single leaf.
            if root >= n || falseIds[root] == trueIds[root] {
                try addLeaf(tree: t, leaf: root)
                continue
            }
            var stack = [root], seen = Set<Int>()
            while let i = stack.popLast() {
                guard i >= 0, i < n, seen.insert(i).inserted else { throw .invalidModel("\(label): tree \(t) has an invalid or cyclic node reference") }
                let mode: Mode
                switch modes[i] {
                case 0: mode = .leq
                case 1: mode = .lt
                case 2: mode = .gte
                case 3: mode = .gt
                case 4: mode = .eq
                case 5: mode = .neq
                case 6: mode = .member(memberLists[i] ?? [])
                default: throw .invalidModel("\(label): unknown node mode \(modes[i])")
                }
                // Leaf ids out of range wrap here and are refused by addLeaf.
                let trueId = trueLeafs[i] != 0 ? leafBase &+ trueIds[i] : trueIds[i]
                let falseId = falseLeafs[i] != 0 ? leafBase &+ falseIds[i] : falseIds[i]
                try budget.charge(1, of: Self.bytesPerExpandedNode, for: "\(label)'s expanded tree nodes")
                spec.nodes.append(Node(
                    treeId: t, nodeId: i, feature: features[i], mode: mode, value: splits[i], trueId: trueId,
                    falseId: falseId, missingTracksTrue: tracks.isEmpty ? false : tracks[i] == 1))
                if trueLeafs[i] != 0 { try addLeaf(tree: t, leaf: trueIds[i]) } else { stack.append(trueIds[i]) }
                if falseLeafs[i] != 0 { try addLeaf(tree: t, leaf: falseIds[i]) } else { stack.append(falseIds[i]) }
            }
        }
        return spec
    }

    /// A node, its leaf weight and its share of the lookup tables built from it.
    static let bytesPerExpandedNode = MemoryLayout<Node>.stride + 128
    /// A leaf's dictionary entry (key, array reference, hash-table slack), its weight array
    /// (header and slot) and the Int copies of the three id attributes it came from.
    static let bytesPerLeafEntry = 2 * (MemoryLayout<LeafKey>.stride + 8) + 64 + 2 * MemoryLayout<TargetWeight>.stride
        + 3 * MemoryLayout<Int>.stride

    var maxFeature: Int { nodes.filter { $0.mode != .leaf }.map(\.feature).max() ?? -1 }

    /// Per target: whether every row gets a contribution (some tree feeds it from every
    /// leaf), and whether any leaf feeds it at all. ONNX Runtime adds base values and picks
    /// labels only for targets a row actually received (`has_score`); targets that are
    /// neither always nor never fed need that tracked per row.
    var scoreCoverage: (always: [Bool], ever: [Bool]) {
        var ever = [Bool](repeating: false, count: targetCount)
        for list in weights.values { for w in list { ever[w.target] = true } }
        var always = [Bool](repeating: false, count: targetCount)
        var perTree: [Int: Set<Int>?] = [:]
        for node in nodes where node.mode == .leaf {
            let fed = Set((weights[LeafKey(tree: node.treeId, node: node.nodeId)] ?? []).map(\.target))
            if let current = perTree[node.treeId] {
                perTree[node.treeId] = current.map { $0.intersection(fed) }
            } else {
                perTree[node.treeId] = fed
            }
        }
        for case let targets? in perTree.values { for t in targets { always[t] = true } }
        return (always, ever)
    }

    /// Lowers onto the shared evaluator. Trees are grouped as ONNX Runtime does: a new tree
    /// starts wherever the tree id changes. Returns the ensemble and the number of trees.
    /// With `trackScores`, targets `targetCount + k` count the contributions to target k.
    func build(
        featureCount: Int, aggregation: TreeAggregation, firstWeightOnly: Bool, trackScores: Bool = false,
        budget: LoadBudget
    ) throws(KeelError) -> (TreeEnsemble, Int) {
        var rootsAt: [Int] = []
        var previous: Int?
        for (i, node) in nodes.enumerated() where node.treeId != previous {
            rootsAt.append(i)
            previous = node.treeId
        }
        var byTree: [Int: [Int]] = [:]
        for (i, node) in nodes.enumerated() { byTree[node.treeId, default: []].append(i) }

        // One weight per leaf and one target per tree allows the faster single-value leaves.
        func leafWeights(_ node: Node) -> [TargetWeight] {
            let list = weights[LeafKey(tree: node.treeId, node: node.nodeId)] ?? []
            return firstWeightOnly ? Array(list.prefix(1)) : list
        }
        var simpleTargets: [Int: Int] = [:]
        var simple = !trackScores
        for node in nodes where node.mode == .leaf {
            let w = leafWeights(node)
            if w.count != 1 { simple = false; break }
            if let t = simpleTargets[node.treeId], t != w[0].target { simple = false; break }
            simpleTargets[node.treeId] = w[0].target
        }

        var builder = try TreeEnsembleBuilder(
            featureCount: featureCount, targetCount: trackScores ? 2 * targetCount : targetCount, budget: budget)
        for start in rootsAt {
            let treeId = nodes[start].treeId
            let members = byTree[treeId] ?? []
            var local: [Int: Int] = [:]
            for (k, i) in members.enumerated() where local[nodes[i].nodeId] == nil { local[nodes[i].nodeId] = k }
            var source: [SourceNode] = []
            source.reserveCapacity(members.count)
            for i in members {
                let node = nodes[i]
                if node.mode == .leaf {
                    let w = leafWeights(node)
                    let counted = trackScores ? w + w.map { TargetWeight(target: targetCount + $0.target, weight: 1) } : w
                    source.append(simple ? .leaf(w.first?.weight ?? 0) : .weightedLeaf(counted))
                    continue
                }
                guard let t = local[node.trueId], let f = local[node.falseId] else {
                    throw .invalidModel("\(label): tree \(treeId) node \(node.nodeId) points to a missing node")
                }
                guard node.feature >= 0, node.feature < featureCount else {
                    throw .invalidModel("\(label): tree \(treeId) splits on feature \(node.feature), the input has \(featureCount)")
                }
                source.append(Self.lower(node, trueChild: t, falseChild: f))
            }
            guard let root = local[nodes[start].nodeId] else { throw .invalidModel("\(label): tree \(treeId) has no root") }
            let target = simple ? (simpleTargets[treeId] ?? 0) : 0
            try builder.addTree(source, root: root, target: target)
        }
        let outputs = trackScores ? 2 * targetCount : targetCount
        return (try builder.build(baseScores: Array(repeating: 0, count: outputs), aggregation: aggregation), rootsAt.count)
    }

    /// One ONNX comparison as a Keel split. The IR goes left iff `x <= t` (Float) or on set
    /// membership; "true" children go left except for GT/GTE, which flip the test. NaN goes
    /// where ONNX Runtime sends it: the false branch (NaN compares false) unless the node's
    /// missing value tracks true — except NEQ, where NaN != t is true.
    static func lower(_ node: Node, trueChild t: Int, falseChild f: Int) -> SourceNode {
        let threshold = Float(node.value)
        let tracks = node.missingTracksTrue
        switch node.mode {
        case .leq:
            return .split(feature: node.feature, test: .lessOrEqual(threshold), missingLeft: tracks, zeroIsMissing: false, left: t, right: f)
        case .lt:
            return .split(feature: node.feature, test: lessThan(threshold), missingLeft: tracks, zeroIsMissing: false, left: t, right: f)
        case .gte:
            return .split(feature: node.feature, test: lessThan(threshold), missingLeft: !tracks, zeroIsMissing: false, left: f, right: t)
        case .gt:
            return .split(feature: node.feature, test: .lessOrEqual(threshold), missingLeft: !tracks, zeroIsMissing: false, left: f, right: t)
        case .eq:
            return .split(feature: node.feature, test: .floatSet([threshold], membersGoLeft: true), missingLeft: tracks, zeroIsMissing: false, left: t, right: f)
        case .neq:
            return .split(feature: node.feature, test: .floatSet([threshold], membersGoLeft: false), missingLeft: true, zeroIsMissing: false, left: t, right: f)
        case .member(let values):
            return .split(feature: node.feature, test: .floatSet(values.map { Float($0) }, membersGoLeft: true), missingLeft: tracks, zeroIsMissing: false, left: t, right: f)
        case .leaf:
            return .leaf(0)
        }
    }

    /// `x < t` for Float x: `x <= nextDown(t)`; nothing is below -inf.
    private static func lessThan(_ t: Float) -> SplitTest {
        t == -.infinity ? .floatSet([], membersGoLeft: true) : .lessOrEqual(t.nextDown)
    }
}
