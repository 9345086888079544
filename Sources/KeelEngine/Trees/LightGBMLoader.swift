import Foundation
import KeelCore

/// Reads LightGBM's text model format into a `TreeModel`.
enum LightGBMLoader {
    /// LightGBM treats |x| <= kZeroThreshold as zero (1e-35 as a float, widened to double).
    static let zeroThreshold = Float(1.0e-35)

    /// Header keys the loader reads; other header lines are skipped, not stored.
    private static let headerKeys: Set<Substring> = [
        "max_feature_idx", "num_class", "num_tree_per_iteration", "objective", "feature_names", "version",
    ]
    /// Tree block keys the loader reads.
    private static let treeKeys: Set<Substring> = [
        "num_leaves", "leaf_value", "split_feature", "threshold", "decision_type", "left_child", "right_child",
        "num_cat", "cat_boundaries", "cat_threshold", "is_linear",
    ]

    static func load(text bytes: [UInt8], budget: LoadBudget) throws(KeelError) -> TreeModel {
        let text = String(decoding: bytes, as: UTF8.self)
        try checkComplete(text)
        var lines = TextLines(text)
        guard lines.next() == "tree" else {
            throw .invalidModel("not a LightGBM text model: the first line is not 'tree'")
        }
        // Header: key=value lines up to the first "Tree=" block.
        var header: [Substring: Substring] = [:]
        var averageOutput = false
        var line = lines.next()
        while let current = line, !current.hasPrefix("Tree="), current != "end of trees" {
            if let eq = current.firstIndex(of: "=") {
                let key = current[..<eq]
                if headerKeys.contains(key) { header[key] = current[current.index(after: eq)...] }
            } else if current == "average_output" {
                averageOutput = true
            }
            line = lines.next()
        }
        guard let maxFeature = header["max_feature_idx"].flatMap({ Int($0) }), maxFeature >= 0 else {
            throw .invalidModel("LightGBM model has no valid max_feature_idx")
        }
        guard maxFeature < TreeLimits.maxFeatures else {
            throw .invalidModel("LightGBM max_feature_idx is \(maxFeature); Keel supports at most \(TreeLimits.maxFeatures) features")
        }
        let featureCount = maxFeature + 1
        let numClass = header["num_class"].flatMap { Int($0) } ?? 1
        let perIteration = header["num_tree_per_iteration"].flatMap { Int($0) } ?? numClass
        guard (1...TreeLimits.maxOutputs).contains(numClass), (1...TreeLimits.maxOutputs).contains(perIteration) else {
            throw .invalidModel("LightGBM model has invalid num_class or num_tree_per_iteration; expected 1 to \(TreeLimits.maxOutputs)")
        }
        let objective = String(header["objective"] ?? "regression")
        let (task, transform) = try objectiveSpec(objective)

        var builder = try TreeEnsembleBuilder(featureCount: featureCount, targetCount: perIteration, budget: budget)
        var treeCount = 0
        while let current = line, current != "end of trees" {
            guard current.hasPrefix("Tree=") else { line = lines.next(); continue }
            var fields: [Substring: Substring] = [:]
            line = lines.next()
            while let field = line, !field.isEmpty, !field.hasPrefix("Tree="), field != "end of trees" {
                if let eq = field.firstIndex(of: "=") {
                    let key = field[..<eq]
                    if treeKeys.contains(key) { fields[key] = field[field.index(after: eq)...] }
                }
                line = lines.next()
            }
            let nodes = try sourceNodes(fields, tree: treeCount, budget: budget)
            try builder.addTree(nodes, target: treeCount % perIteration)
            treeCount += 1
        }
        guard treeCount > 0 else { throw .invalidModel("LightGBM model has no trees") }
        guard treeCount >= perIteration else {
            throw .invalidModel("LightGBM model has \(treeCount) trees, fewer than its \(perIteration) trees per iteration")
        }
        let aggregation: TreeAggregation =
            averageOutput ? .average(divisor: Double(treeCount / perIteration)) : .sum
        let ensemble = try builder.build(
            baseScores: [Double](repeating: 0, count: perIteration), aggregation: aggregation)
        var names: [String]?
        if let list = header["feature_names"], Tokens.maxCount(in: list) >= featureCount {
            var parsed: [String] = []
            try Tokens.forEach(in: list) { token throws(KeelError) in
                guard parsed.count <= featureCount else { return }
                parsed.append(String(token))
            }
            names = parsed.count == featureCount ? parsed : nil
        }
        var properties = ["objective": objective]
        if let version = header["version"] { properties["format_version"] = String(version) }
        return try TreeModel(
            ensemble: ensemble, task: task, transform: transform, format: .lightgbmText,
            featureNames: names, properties: properties)
    }

    /// Refuses a file cut short: no "end of trees" line, or a parameters section without its end.
    private static func checkComplete(_ text: String) throws(KeelError) {
        var lines = TextLines(text)
        var endOfTrees = false, parameters = false, endOfParameters = false
        while let line = lines.next() {
            switch line {
            case "end of trees": endOfTrees = true
            case "parameters:": parameters = true
            case "end of parameters": endOfParameters = true
            default: continue
            }
        }
        guard endOfTrees else {
            throw .invalidModel("LightGBM model is truncated: no 'end of trees' line")
        }
        if parameters, !endOfParameters {
            throw .invalidModel("LightGBM model is truncated: its parameters section has no 'end of parameters' line")
        }
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

    /// The values of a tree's `key` line; `count` (when >= 0) is how many there must be. The
    /// array is reserved only up to what the line can hold and charged to the budget.
    private static func numbers<T>(
        _ fields: [Substring: Substring], _ key: Substring, count: Int, tree: Int, budget: LoadBudget,
        _ parse: (Substring) -> T?
    ) throws(KeelError) -> [T] {
        guard let line = fields[key] else {
            throw .invalidModel("LightGBM tree \(tree) has no '\(key)' line")
        }
        let capacity = Tokens.maxCount(in: line)
        guard count <= capacity else {
            throw .invalidModel("LightGBM tree \(tree) '\(key)' cannot hold the \(count) values it needs")
        }
        try budget.check(transient: capacity, of: MemoryLayout<T>.stride, for: "LightGBM tree \(tree) '\(key)'")
        var out = [T]()
        out.reserveCapacity(count >= 0 ? count : capacity)
        try Tokens.forEach(in: line) { token throws(KeelError) in
            guard let v = parse(token) else {
                throw .invalidModel("LightGBM tree \(tree) has an invalid value '\(token.prefix(40))' in '\(key)'")
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
        _ fields: [Substring: Substring], tree: Int, budget: LoadBudget
    ) throws(KeelError) -> [SourceNode] {
        if fields["is_linear"].map({ $0 != "0" }) ?? false {
            throw .unsupported("LightGBM linear trees (linear_tree=true) are not supported")
        }
        guard let leaves = fields["num_leaves"].flatMap({ Int($0) }), leaves >= 1 else {
            throw .invalidModel("LightGBM tree \(tree) has no valid num_leaves")
        }
        let leafValues = try numbers(fields, "leaf_value", count: leaves, tree: tree, budget: budget) { Double($0) }
        if leaves == 1 { return [.leaf(leafValues[0])] }
        let splits = leaves - 1
        let features = try numbers(fields, "split_feature", count: splits, tree: tree, budget: budget) { Int($0) }
        let thresholds = try numbers(fields, "threshold", count: splits, tree: tree, budget: budget) { Double($0) }
        let decisions = try numbers(fields, "decision_type", count: splits, tree: tree, budget: budget) { Int($0) }
        let lefts = try numbers(fields, "left_child", count: splits, tree: tree, budget: budget) { Int($0) }
        let rights = try numbers(fields, "right_child", count: splits, tree: tree, budget: budget) { Int($0) }
        let numCat = fields["num_cat"].flatMap { Int($0) } ?? 0
        // Each categorical split has its own set, so a tree has at most one per split.
        guard (0...splits).contains(numCat) else {
            throw .invalidModel("LightGBM tree \(tree) has num_cat \(numCat); expected 0 to its \(splits) splits")
        }
        var boundaries: [Int] = []
        var catWords: [UInt32] = []
        if numCat > 0 {
            boundaries = try numbers(fields, "cat_boundaries", count: numCat + 1, tree: tree, budget: budget) { Int($0) }
            catWords = try numbers(fields, "cat_threshold", count: -1, tree: tree, budget: budget) { UInt32($0) }
        }
        // Source index: splits keep their index, leaf k (child ~k) becomes splits + k.
        func child(_ c: Int) throws(KeelError) -> Int {
            let leaf = ~c
            guard c >= 0 ? c < splits : leaf < leaves else {
                throw .invalidModel("LightGBM tree \(tree) has an out-of-range child \(c)")
            }
            return c >= 0 ? c : splits + leaf
        }
        try budget.check(transient: splits + leaves, of: MemoryLayout<SourceNode>.stride, for: "LightGBM tree \(tree) (\(leaves) leaves)")
        var nodes = [SourceNode]()
        nodes.reserveCapacity(splits + leaves)
        for s in 0..<splits {
            let decision = decisions[s]
            let defaultLeft = decision & 2 != 0
            let missingType = (decision >> 2) & 3  // 0 None, 1 Zero, 2 NaN
            let test: SplitTest
            var missingLeft = defaultLeft
            if decision & 1 != 0 {
                // The threshold of a categorical split indexes its category set.
                let t = thresholds[s]
                guard t >= 0, t < Double(boundaries.count - 1), t.rounded(.towardZero) == t else {
                    throw .invalidModel("LightGBM tree \(tree) categorical split \(s) names set \(t); the tree has \(max(boundaries.count - 1, 0)) sets")
                }
                let setIndex = Int(t)
                guard boundaries[setIndex] >= 0, boundaries[setIndex] <= boundaries[setIndex + 1],
                      boundaries[setIndex + 1] <= catWords.count else {
                    throw .invalidModel("LightGBM tree \(tree) has an invalid categorical split \(s)")
                }
                let words = catWords[boundaries[setIndex]..<boundaries[setIndex + 1]]
                guard words.count <= TreeLimits.maxCategory / 32 else {
                    throw .invalidModel("LightGBM tree \(tree) categorical split \(s) spans \(words.count * 32) categories; at most \(TreeLimits.maxCategory)")
                }
                let members = words.reduce(0) { $0 + $1.nonzeroBitCount }
                try budget.check(transient: members, of: MemoryLayout<Int>.stride, for: "LightGBM tree \(tree) categorical split \(s)")
                var categories: [Int] = []
                categories.reserveCapacity(members)
                for (w, word) in words.enumerated() {
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
