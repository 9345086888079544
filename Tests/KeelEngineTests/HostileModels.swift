import Foundation
import KeelCore
@testable import KeelEngine

/// Generators of hostile and of big-but-valid model files, shared by the bad-input tests and
/// the memory-bound test. Each is built in code so the worst cases stay reviewable.
enum HostileModels {
    /// One generated file: what it attacks, its file name (the extension picks the format)
    /// and its bytes.
    struct File {
        let name: String
        let filename: String
        let bytes: [UInt8]
    }

    // MARK: Protobuf wire helpers

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    static func field(_ number: UInt64, _ payload: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(payload.count)) + payload
    }

    static func intField(_ number: UInt64, _ value: UInt64) -> [UInt8] {
        varint(number << 3) + varint(value)
    }

    /// A ModelProto with ir_version 8, opset 17 and the given raw GraphProto bytes.
    static func onnxModel(graph: [UInt8]) -> [UInt8] {
        let opset = field(1, []) + intField(2, 17)
        return intField(1, 8) + field(8, opset) + field(7, graph)
    }

    // MARK: XGBoost

    /// An XGBoost JSON model of `trees` small trees; `categorical` gives each a categorical
    /// split on `category` (the bitset amplification attack when the category is large).
    static func xgboostJSON(trees: Int, numFeature: Int = 4, numClass: Int = 0, category: Int? = nil) -> [UInt8] {
        var tree: String
        if let category {
            tree = #"{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[0,1,2],"default_left":[1,0,0],"split_type":[1,0,0],"categories_nodes":[0],"categories_segments":[0],"categories_sizes":[1],"categories":[\#(category)],"tree_param":{"num_nodes":"3","size_leaf_vector":"1"}}"#
        } else {
            tree = #"{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[1,0,0],"split_conditions":[0.5,-1.25,2.5],"default_left":[1,0,0],"split_type":[0,0,0],"tree_param":{"num_nodes":"3","size_leaf_vector":"1"}}"#
        }
        let list = Array(repeating: tree, count: trees).joined(separator: ",")
        let info = Array(repeating: "0", count: trees).joined(separator: ",")
        let doc = #"{"learner":{"learner_model_param":{"num_feature":"\#(numFeature)","num_class":"\#(numClass)","base_score":"5E-1"},"objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gbtree","model":{"trees":[\#(list)],"tree_info":[\#(info)]}}},"version":[2,1,0]}"#
        return Array(doc.utf8)
    }

    /// Both attacks in one file: a tree of `floodNodes` dense numbers (an uncharged parse would
    /// leave the whole budget to what follows) and `bitsetTrees` trees asking for 2 MiB bitsets.
    static func xgboostJSONFloodAndBitsets(floodNodes: Int, bitsetTrees: Int) -> [UInt8] {
        func array(_ v: String) -> String { "[" + Array(repeating: v, count: floodNodes).joined(separator: ",") + "]" }
        let flood = #"{"left_children":\#(array("-1")),"right_children":\#(array("-1")),"split_indices":\#(array("0")),"split_conditions":\#(array("0")),"default_left":\#(array("0")),"split_type":\#(array("0"))}"#
        let bitset = #"{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[0,1,2],"default_left":[1,0,0],"split_type":[1,0,0],"categories_nodes":[0],"categories_segments":[0],"categories_sizes":[1],"categories":[16777215]}"#
        let trees = ([flood] + Array(repeating: bitset, count: bitsetTrees)).joined(separator: ",")
        let info = Array(repeating: "0", count: bitsetTrees + 1).joined(separator: ",")
        let doc = #"{"learner":{"learner_model_param":{"num_feature":"4","base_score":"5E-1"},"objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gbtree","model":{"trees":[\#(trees)],"tree_info":[\#(info)]}}}}"#
        return Array(doc.utf8)
    }

    /// An XGBoost JSON tree whose node arrays hold `nodes` two- and three-byte numbers
    /// ("0," and "-1,"): the densest JSON numbers, each a full value once parsed.
    static func xgboostJSONNumberFlood(nodes: Int) -> [UInt8] {
        func array(_ v: String) -> String { "[" + Array(repeating: v, count: nodes).joined(separator: ",") + "]" }
        let tree = #"{"left_children":\#(array("-1")),"right_children":\#(array("-1")),"split_indices":\#(array("0")),"split_conditions":\#(array("0")),"default_left":\#(array("0")),"split_type":\#(array("0"))}"#
        let doc = #"{"learner":{"learner_model_param":{"num_feature":"4","base_score":"5E-1"},"objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gbtree","model":{"trees":[\#(tree)],"tree_info":[0]}}}}"#
        return Array(doc.utf8)
    }

    /// UBJSON: `{"learner": [$Z#L<count>] , "pad": "<padding>"}`: zero-width elements
    /// declared by a header, padded so the count is within the file's bytes.
    static func ubjZeroWidth(count: Int, padding: Int) -> [UInt8] {
        func key(_ s: String) -> [UInt8] { [UInt8(ascii: "U"), UInt8(s.utf8.count)] + Array(s.utf8) }
        func int64(_ v: Int) -> [UInt8] { [UInt8(ascii: "L")] + withUnsafeBytes(of: Int64(v).bigEndian) { Array($0) } }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out += key("learner") + Array("[$Z#".utf8) + int64(count)
        out += key("pad") + [UInt8(ascii: "S")] + int64(padding) + [UInt8](repeating: 0x61, count: padding)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A big valid XGBoost UBJ model: `trees` trees of `depth` levels, int8 child arrays.
    static func xgboostUBJ(trees: Int, leaves: Int) -> [UInt8] {
        func key(_ s: String) -> [UInt8] { [UInt8(ascii: "U"), UInt8(s.utf8.count)] + Array(s.utf8) }
        func string(_ s: String) -> [UInt8] { [UInt8(ascii: "S"), UInt8(ascii: "U"), UInt8(s.utf8.count)] + Array(s.utf8) }
        func count(_ n: Int) -> [UInt8] { [UInt8(ascii: "l")] + withUnsafeBytes(of: Int32(n).bigEndian) { Array($0) } }
        func ints(_ values: [Int32]) -> [UInt8] {
            Array("[$l#".utf8) + count(values.count) + values.flatMap { v in withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        }
        func floats(_ values: [Float]) -> [UInt8] {
            Array("[$d#".utf8) + count(values.count) + values.flatMap { v in withUnsafeBytes(of: v.bitPattern.bigEndian) { Array($0) } }
        }
        // A caterpillar tree: split i has a leaf on the left and split i+1 on the right.
        let n = 2 * leaves - 1
        var left = [Int32](repeating: -1, count: n), right = [Int32](repeating: -1, count: n)
        var features = [Int32](repeating: 0, count: n), conditions = [Float](repeating: 0.25, count: n)
        for s in 0..<(leaves - 1) {
            left[2 * s] = Int32(2 * s + 1)
            right[2 * s] = Int32(2 * s + 2)
            features[2 * s] = Int32(s % 8)
            conditions[2 * s] = Float(s) / Float(leaves)
        }
        var tree: [UInt8] = [UInt8(ascii: "{")]
        tree += key("left_children") + ints(left) + key("right_children") + ints(right)
        tree += key("split_indices") + ints(features) + key("split_conditions") + floats(conditions)
        tree += key("default_left") + ints([Int32](repeating: 1, count: n)) + [UInt8(ascii: "}")]
        var out: [UInt8] = [UInt8(ascii: "{")] + key("learner") + [UInt8(ascii: "{")]
        out += key("learner_model_param") + [UInt8(ascii: "{")] + key("num_feature") + string("8") + key("base_score") + string("5E-1") + [UInt8(ascii: "}")]
        out += key("objective") + [UInt8(ascii: "{")] + key("name") + string("reg:squarederror") + [UInt8(ascii: "}")]
        out += key("gradient_booster") + [UInt8(ascii: "{")] + key("name") + string("gbtree") + key("model") + [UInt8(ascii: "{")]
        out += key("trees") + [UInt8(ascii: "[")]
        for _ in 0..<trees { out += tree }
        out += [UInt8(ascii: "]")] + key("tree_info") + ints([Int32](repeating: 0, count: trees))
        out += [UInt8(ascii: "}"), UInt8(ascii: "}"), UInt8(ascii: "}"), UInt8(ascii: "}")]
        return out
    }

    // MARK: LightGBM

    static let lgbHeader = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=3\nobjective=regression\n"

    /// A LightGBM text model with the given tree blocks.
    static func lightgbm(header: String = lgbHeader, trees: [String]) -> [UInt8] {
        let blocks = trees.enumerated().map { "Tree=\($0.offset)\n\($0.element)\n" }.joined()
        return Array((header + "\n" + blocks + "end of trees\n").utf8)
    }

    /// One numeric tree of `leaves` leaves (a caterpillar).
    static func lgbTree(leaves: Int) -> String {
        let splits = leaves - 1
        let feature = (0..<splits).map { String($0 % 4) }.joined(separator: " ")
        let threshold = (0..<splits).map { String(Double($0) * 0.5) }.joined(separator: " ")
        let decision = Array(repeating: "2", count: splits).joined(separator: " ")
        let left = (0..<splits).map { String(~$0) }.joined(separator: " ")
        let right = (0..<splits).map { $0 + 1 < splits ? String($0 + 1) : String(~splits) }.joined(separator: " ")
        let values = (0..<leaves).map { String(Double($0) * 0.01) }.joined(separator: " ")
        return "num_leaves=\(leaves)\nnum_cat=0\nsplit_feature=\(feature)\nthreshold=\(threshold)\ndecision_type=\(decision)\nleft_child=\(left)\nright_child=\(right)\nleaf_value=\(values)\nshrinkage=1\n"
    }

    /// A two-leaf tree whose one split is categorical with the given threshold text and sets.
    static func lgbCategoricalTree(threshold: String, numCat: String = "1", boundaries: String = "0 1", words: String = "5") -> String {
        "num_leaves=2\nnum_cat=\(numCat)\nsplit_feature=0\nthreshold=\(threshold)\ndecision_type=1\nleft_child=-1\nright_child=-2\nleaf_value=1 2\ncat_boundaries=\(boundaries)\ncat_threshold=\(words)\nshrinkage=1\n"
    }

    /// A valid model whose header is followed by `newlines` empty lines.
    static func lgbNewlineFlood(_ newlines: Int) -> [UInt8] {
        lightgbm(header: lgbHeader + String(repeating: "\n", count: newlines), trees: [lgbTree(leaves: 3)])
    }

    // MARK: ONNX

    static func onnxValueInfo(_ name: String, elemType: UInt64 = 1, dims: [Int64?]) -> [UInt8] {
        var shape: [UInt8] = []
        for d in dims {
            shape += field(1, d.map { intField(1, UInt64(bitPattern: $0)) } ?? field(2, Array("N".utf8)))
        }
        let tensorType = intField(1, elemType) + field(2, shape)
        return field(1, Array(name.utf8)) + field(2, field(1, tensorType))
    }

    static func onnxNode(_ op: String, inputs: [String], outputs: [String], attributes: [[UInt8]] = []) -> [UInt8] {
        var out: [UInt8] = []
        for i in inputs { out += field(1, Array(i.utf8)) }
        for o in outputs { out += field(2, Array(o.utf8)) }
        out += field(3, Array(op.lowercased().utf8)) + field(4, Array(op.utf8))
        for a in attributes { out += field(5, a) }
        return out
    }

    /// An INT64 initializer.
    static func onnxInt64s(_ name: String, _ values: [Int64], dims: [Int64]? = nil) -> [UInt8] {
        var out: [UInt8] = []
        for d in dims ?? [Int64(values.count)] { out += intField(1, UInt64(bitPattern: d)) }
        out += intField(2, 7)
        out += field(7, values.flatMap { varint(UInt64(bitPattern: $0)) })
        out += field(8, Array(name.utf8))
        return out
    }

    /// A float graph input `x` [N, 3] with output `y`, around the given nodes and initializers.
    static func onnxGraph(nodes: [[UInt8]], initializers: [[UInt8]] = [], outputDims: [Int64?] = [nil, nil], extra: [UInt8] = []) -> [UInt8] {
        var g: [UInt8] = []
        for n in nodes { g += field(1, n) }
        g += field(2, Array("g".utf8))
        for i in initializers { g += field(5, i) }
        g += field(11, onnxValueInfo("x", dims: [nil, 3]))
        g += field(12, onnxValueInfo("y", dims: outputDims))
        return onnxModel(graph: g + extra)
    }

    /// ConstantOfShape of a constant shape: folded at load.
    static func onnxConstantOfShape(_ shape: [Int64]) -> [UInt8] {
        onnxGraph(
            nodes: [onnxNode("ConstantOfShape", inputs: ["s"], outputs: ["c"]), onnxNode("Add", inputs: ["x", "c"], outputs: ["y"])],
            initializers: [onnxInt64s("s", shape)])
    }

    /// Expand of a constant scalar to a constant shape: folded at load.
    static func onnxExpand(_ shape: [Int64]) -> [UInt8] {
        onnxGraph(
            nodes: [onnxNode("Expand", inputs: ["v", "s"], outputs: ["c"]), onnxNode("Add", inputs: ["x", "c"], outputs: ["y"])],
            initializers: [onnxInt64s("v", [1], dims: []), onnxInt64s("s", shape)])
    }

    /// A graph of `count` empty nodes (two bytes each in the file).
    static func onnxEmptyNodes(_ count: Int) -> [UInt8] {
        var flood: [UInt8] = []
        flood.reserveCapacity(2 * count)
        for _ in 0..<count { flood += [0x0A, 0x00] }
        return onnxGraph(nodes: [onnxNode("Identity", inputs: ["x"], outputs: ["y"])], extra: flood)
    }

    /// One node with `count` empty attributes.
    static func onnxEmptyAttributes(_ count: Int) -> [UInt8] {
        var node = onnxNode("Identity", inputs: ["x"], outputs: ["y"])
        node.reserveCapacity(node.count + 2 * count)
        for _ in 0..<count { node += [0x2A, 0x00] }
        return onnxGraph(nodes: [node])
    }

    /// An initializer whose float_data is split into `chunks` packed chunks of one float.
    static func onnxSplitPacked(_ chunks: Int) -> [UInt8] {
        var tensor = intField(1, UInt64(chunks)) + intField(2, 1)
        for _ in 0..<chunks { tensor += field(4, [0, 0, 0x80, 0x3F]) }
        tensor += field(8, Array("w".utf8))
        return onnxGraph(nodes: [onnxNode("Identity", inputs: ["x"], outputs: ["y"])], initializers: [tensor])
    }

    /// y = x + w with a [count/3, 3] FP32 initializer `w` stored as raw_data: a big valid file.
    static func onnxBigInitializer(rows: Int) -> [UInt8] {
        var tensor = intField(1, UInt64(rows)) + intField(1, 3) + intField(2, 1)
        tensor += field(8, Array("w".utf8))
        tensor += field(9, [UInt8](repeating: 0, count: rows * 3 * 4))
        return onnxGraph(nodes: [onnxNode("Add", inputs: ["x", "w"], outputs: ["y"])], initializers: [tensor])
    }

    /// A one-leaf TreeEnsembleRegressor with `weights` target weights on distinct (tree, node)
    /// keys: about 10 bytes of file per dictionary entry built at load.
    static func onnxTreeWeightsFlood(_ weights: Int) -> [UInt8] {
        func ints(_ name: String, _ v: [Int64]) -> [UInt8] {
            field(1, Array(name.utf8)) + field(8, v.flatMap { varint(UInt64(bitPattern: $0)) }) + intField(20, 7)
        }
        let keys = (0..<weights).map { Int64($0) }
        let attributes = [
            ints("nodes_treeids", [0]), ints("nodes_nodeids", [0]), ints("nodes_featureids", [0]),
            ints("nodes_truenodeids", [0]), ints("nodes_falsenodeids", [0]),
            field(1, Array("nodes_modes".utf8)) + field(9, Array("LEAF".utf8)) + intField(20, 8),
            ints("target_treeids", keys), ints("target_nodeids", keys), ints("target_ids", [Int64](repeating: 0, count: weights)),
            field(1, Array("target_weights".utf8)) + field(7, [UInt8](repeating: 0, count: 4 * weights)) + intField(20, 6),
            field(1, Array("n_targets".utf8)) + intField(3, 1) + intField(20, 2),
        ]
        var g = field(1, onnxNode("TreeEnsembleRegressor", inputs: ["x"], outputs: ["y"], attributes: attributes) + field(7, Array("ai.onnx.ml".utf8)))
        g += field(2, Array("g".utf8))
        g += field(11, onnxValueInfo("x", dims: [nil, 3]))
        g += field(12, onnxValueInfo("y", dims: [nil, 1]))
        let opsets = field(8, field(1, []) + intField(2, 17)) + field(8, field(1, Array("ai.onnx.ml".utf8)) + intField(2, 3))
        return intField(1, 8) + opsets + field(7, g)
    }

    /// A valid TreeEnsembleRegressor of `trees` caterpillar trees of `leaves` leaves.
    static func onnxTreeEnsemble(trees: Int, leaves: Int) -> [UInt8] {
        let nodesPerTree = 2 * leaves - 1
        var treeIds: [Int64] = [], nodeIds: [Int64] = [], features: [Int64] = [], trueIds: [Int64] = [], falseIds: [Int64] = []
        var values: [Float] = [], modes: [[UInt8]] = []
        var wTrees: [Int64] = [], wNodes: [Int64] = [], wIds: [Int64] = [], weights: [Float] = []
        for t in 0..<trees {
            for i in 0..<nodesPerTree {
                treeIds.append(Int64(t)); nodeIds.append(Int64(i))
                let isSplit = i % 2 == 0 && i < nodesPerTree - 1
                features.append(isSplit ? Int64((i / 2) % 3) : 0)
                trueIds.append(isSplit ? Int64(i + 1) : 0)
                falseIds.append(isSplit ? Int64(i + 2) : 0)
                values.append(isSplit ? Float(i) * 0.1 : 0)
                modes.append(Array((isSplit ? "BRANCH_LEQ" : "LEAF").utf8))
                if !isSplit { wTrees.append(Int64(t)); wNodes.append(Int64(i)); wIds.append(0); weights.append(Float(i) * 0.01) }
            }
        }
        func ints(_ name: String, _ v: [Int64]) -> [UInt8] {
            field(1, Array(name.utf8)) + field(8, v.flatMap { varint(UInt64(bitPattern: $0)) }) + intField(20, 7)
        }
        func floats(_ name: String, _ v: [Float]) -> [UInt8] {
            field(1, Array(name.utf8)) + field(7, v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } }) + intField(20, 6)
        }
        var strings = field(1, Array("nodes_modes".utf8))
        for m in modes { strings += field(9, m) }
        strings += intField(20, 8)
        let attributes = [
            ints("nodes_treeids", treeIds), ints("nodes_nodeids", nodeIds), ints("nodes_featureids", features),
            ints("nodes_truenodeids", trueIds), ints("nodes_falsenodeids", falseIds), floats("nodes_values", values), strings,
            ints("target_treeids", wTrees), ints("target_nodeids", wNodes), ints("target_ids", wIds), floats("target_weights", weights),
            field(1, Array("n_targets".utf8)) + intField(3, 1) + intField(20, 2),
        ]
        var g = field(1, onnxNode("TreeEnsembleRegressor", inputs: ["x"], outputs: ["y"], attributes: attributes) + field(7, Array("ai.onnx.ml".utf8)))
        g += field(2, Array("g".utf8))
        g += field(11, onnxValueInfo("x", dims: [nil, 3]))
        g += field(12, onnxValueInfo("y", dims: [nil, 1]))
        let opsets = field(8, field(1, []) + intField(2, 17)) + field(8, field(1, Array("ai.onnx.ml".utf8)) + intField(2, 3))
        return intField(1, 8) + opsets + field(7, g)
    }
}
