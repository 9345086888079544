import Foundation
import KeelCore

/// Reads LightGBM's text model format into a `TreeModel`.
enum LightGBMLoader {
    /// LightGBM treats |x| <= kZeroThreshold as zero (1e-35 as a float, widened to double).
    static let zeroThreshold = Float(1.0e-35)

    static func load(text bytes: [UInt8]) throws(KeelError) -> TreeModel {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" })
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard lines.first == "tree" else {
            throw .invalidModel("not a LightGBM text model: the first line is not 'tree'")
        }
        guard lines.contains("end of trees") else {
            throw .invalidModel("LightGBM model is truncated: no 'end of trees' line")
        }
        if lines.contains("parameters:"), !lines.contains("end of parameters") {
            throw .invalidModel("LightGBM model is truncated: its parameters section has no 'end of parameters' line")
        }
        // Header: key=value lines up to the first "Tree=" block.
        var header: [Substring: Substring] = [:]
        var flags: Set<Substring> = []
        var i = 1
        while i < lines.count, !lines[i].hasPrefix("Tree=") {
            let line = lines[i]
            if line == "end of trees" { break }
            if let eq = line.firstIndex(of: "=") {
                header[line[..<eq]] = line[line.index(after: eq)...]
            } else if !line.isEmpty {
                flags.insert(line)
            }
            i += 1
        }
        guard let maxFeature = header["max_feature_idx"].flatMap({ Int($0) }), maxFeature >= 0 else {
            throw .invalidModel("LightGBM model has no valid max_feature_idx")
        }
        let featureCount = maxFeature + 1
        let numClass = header["num_class"].flatMap { Int($0) } ?? 1
        let perIteration = header["num_tree_per_iteration"].flatMap { Int($0) } ?? numClass
        guard numClass >= 1, perIteration >= 1 else { throw .invalidModel("LightGBM model has invalid num_class") }
        let objective = String(header["objective"] ?? "regression")
        let (task, transform) = try objectiveSpec(objective)

        var builder = TreeEnsembleBuilder(featureCount: featureCount, targetCount: perIteration)
        var treeCount = 0
        while i < lines.count, lines[i] != "end of trees" {
            guard lines[i].hasPrefix("Tree=") else { i += 1; continue }
            var fields: [Substring: Substring] = [:]
            i += 1
            while i < lines.count, !lines[i].isEmpty, !lines[i].hasPrefix("Tree="), lines[i] != "end of trees" {
                if let eq = lines[i].firstIndex(of: "=") {
                    fields[lines[i][..<eq]] = lines[i][lines[i].index(after: eq)...]
                }
                i += 1
            }
            let nodes = try sourceNodes(fields, tree: treeCount, featureCount: featureCount)
            try builder.addTree(nodes, target: treeCount % perIteration)
            treeCount += 1
        }
        guard treeCount > 0 else { throw .invalidModel("LightGBM model has no trees") }
        let aggregation: TreeAggregation =
            flags.contains("average_output") ? .average(divisor: Double(treeCount / perIteration)) : .sum
        let ensemble = try builder.build(
            baseScores: [Double](repeating: 0, count: perIteration), aggregation: aggregation)
        var names = header["feature_names"].map { $0.split(separator: " ").map(String.init) }
        if names?.count != featureCount { names = nil }
        var properties = ["objective": objective]
        if let version = header["version"] { properties["format_version"] = String(version) }
        return try TreeModel(
            ensemble: ensemble, task: task, transform: transform, format: .lightgbmText,
            featureNames: names, properties: properties)
    }

    private static func objectiveSpec(_ objective: String) throws(KeelError) -> (TreeTask, OutputTransform) {
        let parts = objective.split(separator: " ")
        let name = parts.first.map(String.init) ?? "regression"
        var sigmoid = 1.0
        for part in parts.dropFirst() where part.hasPrefix("sigmoid:") {
            guard let s = Double(part.dropFirst("sigmoid:".count)) else {
                throw .invalidModel("LightGBM objective '\(objective)' has an invalid sigmoid")
            }
            sigmoid = s
        }
        switch name {
        case "binary":
            return (.binaryClassifier, .sigmoid(scale: sigmoid))
        case "multiclass", "softmax":
            return (.multiclassClassifier, .softmax)
        case "multiclassova", "multiclass_ova", "ova", "ovr":
            return (.multiclassClassifier, .sigmoid(scale: sigmoid))
        case "cross_entropy", "xentropy":
            return (.regression, .sigmoid(scale: 1))
        case "cross_entropy_lambda", "xentlambda":
            return (.regression, .softplus)
        case "poisson", "gamma", "tweedie":
            return (.regression, .exp)
        case "regression", "regression_l2", "l2", "mean_squared_error", "mse", "l2_root", "root_mean_squared_error", "rmse":
            return (.regression, parts.contains("sqrt") ? .signedSquare : .identity)
        case "regression_l1", "l1", "mean_absolute_error", "mae", "huber", "fair", "quantile", "mape",
            "mean_absolute_percentage_error", "lambdarank", "rank_xendcg", "xendcg", "custom":
            return (.regression, parts.contains("sqrt") ? .signedSquare : .identity)
        default:
            throw .unsupported("LightGBM objective '\(objective)' is not supported")
        }
    }

    private static func numbers<T>(
        _ fields: [Substring: Substring], _ key: Substring, count: Int, tree: Int, _ parse: (Substring) -> T?
    ) throws(KeelError) -> [T] {
        guard let line = fields[key] else {
            throw .invalidModel("LightGBM tree \(tree) has no '\(key)' line")
        }
        var out = [T]()
        out.reserveCapacity(count)
        for token in line.split(separator: " ") {
            guard let v = parse(token) else {
                throw .invalidModel("LightGBM tree \(tree) has an invalid value '\(token)' in '\(key)'")
            }
            out.append(v)
        }
        guard count < 0 || out.count == count else {
            throw .invalidModel("LightGBM tree \(tree) '\(key)' has \(out.count) values, expected \(count)")
        }
        return out
    }

    /// Converts one tree. Internal nodes come first (0..<leaves-1), then leaves; a negative
    /// child `c` names leaf `~c`.
    private static func sourceNodes(
        _ fields: [Substring: Substring], tree: Int, featureCount: Int
    ) throws(KeelError) -> [SourceNode] {
        if fields["is_linear"].map({ $0 != "0" }) ?? false {
            throw .unsupported("LightGBM linear trees (linear_tree=true) are not supported")
        }
        guard let leaves = fields["num_leaves"].flatMap({ Int($0) }), leaves >= 1 else {
            throw .invalidModel("LightGBM tree \(tree) has no valid num_leaves")
        }
        let leafValues = try numbers(fields, "leaf_value", count: leaves, tree: tree) { Double($0) }
        if leaves == 1 { return [.leaf(leafValues[0])] }
        let splits = leaves - 1
        let features = try numbers(fields, "split_feature", count: splits, tree: tree) { Int($0) }
        let thresholds = try numbers(fields, "threshold", count: splits, tree: tree) { Double($0) }
        let decisions = try numbers(fields, "decision_type", count: splits, tree: tree) { Int($0) }
        let lefts = try numbers(fields, "left_child", count: splits, tree: tree) { Int($0) }
        let rights = try numbers(fields, "right_child", count: splits, tree: tree) { Int($0) }
        let numCat = fields["num_cat"].flatMap { Int($0) } ?? 0
        var boundaries: [Int] = []
        var catWords: [UInt32] = []
        if numCat > 0 {
            boundaries = try numbers(fields, "cat_boundaries", count: numCat + 1, tree: tree) { Int($0) }
            catWords = try numbers(fields, "cat_threshold", count: -1, tree: tree) { UInt32($0) }
        }
        // Source index: splits keep their index, leaf k becomes splits + k.
        func child(_ c: Int) throws(KeelError) -> Int {
            let index = c >= 0 ? c : splits + ~c
            guard (0..<(splits + leaves)).contains(index) else {
                throw .invalidModel("LightGBM tree \(tree) has an out-of-range child \(c)")
            }
            return index
        }
        var nodes = [SourceNode]()
        nodes.reserveCapacity(splits + leaves)
        for s in 0..<splits {
            let decision = decisions[s]
            let defaultLeft = decision & 2 != 0
            let missingType = (decision >> 2) & 3  // 0 None, 1 Zero, 2 NaN
            let test: SplitTest
            var missingLeft = defaultLeft
            if decision & 1 != 0 {
                let setIndex = Int(thresholds[s])
                guard setIndex >= 0, setIndex + 1 < boundaries.count,
                      boundaries[setIndex] >= 0, boundaries[setIndex] <= boundaries[setIndex + 1],
                      boundaries[setIndex + 1] <= catWords.count else {
                    throw .invalidModel("LightGBM tree \(tree) has an invalid categorical split \(s)")
                }
                var categories: [Int] = []
                for (w, word) in catWords[boundaries[setIndex]..<boundaries[setIndex + 1]].enumerated() {
                    for bit in 0..<32 where word & (1 << UInt32(bit)) != 0 {
                        categories.append(w * 32 + bit)
                    }
                }
                // In LightGBM, NaN and negative categories always go right.
                test = .categories(categories, membersGoLeft: true, truncating: true)
                missingLeft = false
            } else {
                let t = floatThreshold(thresholds[s])
                test = .lessOrEqual(t)
                // Missing type None: NaN is read as 0.0 and compared like any value.
                if missingType == 0 { missingLeft = 0 <= t }
            }
            nodes.append(.split(
                feature: features[s], test: test, missingLeft: missingLeft, zeroIsMissing: missingType == 1,
                left: try child(lefts[s]), right: try child(rights[s])))
        }
        for v in leafValues { nodes.append(.leaf(v)) }
        return nodes
    }

    /// The Float threshold `T` with `x <= T` ⇔ `Double(x) <= t` for every float `x`, where
    /// LightGBM reads |x| <= 1e-35 as exactly 0 (its dense-row conversion drops such values).
    static func floatThreshold(_ t: Double) -> Float {
        let z = zeroThreshold
        if t >= Double(z) || t < -Double(z) {
            return roundedDown(t)
        }
        // t in [-z, z): inputs in [-z, z] all read as 0, so they go left iff 0 <= t.
        return t >= 0 ? z : (-z).nextDown
    }

    /// The largest Float that is <= t.
    static func roundedDown(_ t: Double) -> Float {
        if t.isNaN { return .nan }
        let f = Float(t)
        return Double(f) > t ? f.nextDown : f
    }
}
