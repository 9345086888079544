import Foundation
import KeelCore

/// Reads XGBoost's JSON / UBJSON model schema (gbtree and dart boosters) into a `TreeModel`.
enum XGBoostLoader {
    static func load(document: JSONValue, format: ModelFormat, budget: LoadBudget) throws(KeelError) -> TreeModel {
        guard let learner = document["learner"] else {
            throw .invalidModel("not an XGBoost model: the document has no 'learner' object")
        }
        guard let booster = learner["gradient_booster"], let boosterName = booster["name"]?.stringValue else {
            throw .invalidModel("XGBoost model has no 'gradient_booster'")
        }
        let treeModel: JSONValue?
        var weightDrop: [Double]?
        switch boosterName {
        case "gbtree":
            treeModel = booster["model"]
        case "dart":
            treeModel = booster["gbtree"]?["model"]
            weightDrop = booster["weight_drop"]?.doublesValue
        default:
            throw .unsupported("XGBoost booster '\(boosterName)' is not supported; expected gbtree or dart")
        }
        guard let treeModel, let trees = treeModel["trees"]?.arrayValue else {
            throw .invalidModel("XGBoost model has no trees array")
        }
        let params = learner["learner_model_param"]
        let objective = learner["objective"]?["name"]?.stringValue ?? "reg:squarederror"
        guard let featureCount = params?["num_feature"]?.intValue, featureCount > 0 else {
            throw .invalidModel("XGBoost model has no valid learner_model_param.num_feature")
        }
        guard featureCount <= TreeLimits.maxFeatures else {
            throw .invalidModel("XGBoost num_feature is \(featureCount); Keel supports at most \(TreeLimits.maxFeatures) features")
        }
        let numClass = params?["num_class"]?.intValue ?? 0
        let numTarget = params?["num_target"]?.intValue ?? 1
        for (name, value) in [("num_class", numClass), ("num_target", numTarget)] where !(0...TreeLimits.maxOutputs).contains(value) {
            throw .invalidModel("XGBoost \(name) is \(value); expected 0 to \(TreeLimits.maxOutputs)")
        }
        let outputs = max(numClass, numTarget, 1)
        // Every output is fed by at least one tree per round, so a file cannot declare more
        // outputs than it has trees.
        guard outputs <= max(trees.count, 1) else {
            throw .invalidModel("XGBoost model declares \(outputs) outputs but has only \(trees.count) trees")
        }
        let treeInfo = treeModel["tree_info"]?.intsValue ?? [Int](repeating: 0, count: trees.count)
        guard treeInfo.count == trees.count else {
            throw .invalidModel("XGBoost tree_info lists \(treeInfo.count) trees, the model has \(trees.count)")
        }
        if let weightDrop, weightDrop.count != trees.count {
            throw .invalidModel("XGBoost dart weight_drop has \(weightDrop.count) weights for \(trees.count) trees")
        }

        let (task, transform, link) = try objectiveSpec(objective, learner: learner)
        let storedBase = try baseScores(params?["base_score"], outputs: outputs)
        let base = storedBase.map(link)

        var builder = try TreeEnsembleBuilder(featureCount: featureCount, targetCount: outputs, budget: budget)
        for (t, tree) in trees.enumerated() {
            let nodes = try sourceNodes(tree, index: t, budget: budget)
            try builder.addTree(nodes, target: treeInfo[t], scale: weightDrop?[t] ?? 1)
        }
        let ensemble = try builder.build(baseScores: base)

        var names = learner["feature_names"].flatMap(featureNames)
        if names?.isEmpty ?? true { names = nil }
        var properties = ["objective": objective, "booster": boosterName]
        if let version = document["version"]?.intsValue {
            properties["library_version"] = version.map(String.init).joined(separator: ".")
        }
        properties["base_score"] = storedBase.map { String($0) }.joined(separator: ",")
        return try TreeModel(
            ensemble: ensemble, task: task, transform: transform, format: format,
            featureNames: names, properties: properties)
    }

    /// Feature names as strings; nil (no names) unless every entry is a string.
    private static func featureNames(_ value: JSONValue) -> [String]? {
        guard let list = value.arrayValue else { return nil }
        var names: [String] = []
        for entry in list {
            guard let name = entry.stringValue else { return nil }
            names.append(name)
        }
        return names
    }

    /// Task, output transform and the link turning a stored base_score into a margin.
    private static func objectiveSpec(
        _ name: String, learner: JSONValue
    ) throws(KeelError) -> (TreeTask, OutputTransform, @Sendable (Double) -> Double) {
        let logit: @Sendable (Double) -> Double = { p in -Foundation.log(1 / p - 1) }
        let log: @Sendable (Double) -> Double = { Foundation.log($0) }
        let identity: @Sendable (Double) -> Double = { $0 }
        switch name {
        case "binary:logistic":
            return (.binaryClassifier, .sigmoid(scale: 1), logit)
        case "binary:logitraw":
            // Raw margins: XGBoost adds the stored base_score as is, without a logit.
            return (.regression, .identity, identity)
        case "reg:logistic":
            return (.regression, .sigmoid(scale: 1), logit)
        case "multi:softprob", "multi:softmax":
            return (.multiclassClassifier, .softmax, identity)
        case "reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:pseudohubererror",
            "reg:absoluteerror", "reg:quantileerror", "rank:pairwise", "rank:ndcg", "rank:map":
            return (.regression, .identity, identity)
        case "count:poisson", "reg:gamma", "reg:tweedie":
            return (.regression, .exp, log)
        default:
            throw .unsupported("XGBoost objective '\(name)' is not supported")
        }
    }

    /// base_score is stored as a number string ("5E-1") or, since XGBoost 3.1, a vector ("[5E-1,2E-1]").
    private static func baseScores(_ value: JSONValue?, outputs: Int) throws(KeelError) -> [Double] {
        guard let value else { return [Double](repeating: 0.5, count: outputs) }
        var numbers: [Double]
        if let text = value.stringValue {
            let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            var parsed: [Double] = []
            for part in trimmed.split(separator: ",") {
                guard let d = Double(part.trimmingCharacters(in: .whitespaces)) else {
                    throw .invalidModel("XGBoost base_score '\(text)' is not a number or list of numbers")
                }
                parsed.append(d)
            }
            numbers = parsed
        } else if let d = value.doubleValue {
            numbers = [d]
        } else if let ds = value.doublesValue {
            numbers = ds
        } else {
            throw .invalidModel("XGBoost base_score has an unexpected form")
        }
        if numbers.count == 1 { numbers = [Double](repeating: numbers[0], count: outputs) }
        guard numbers.count == outputs else {
            throw .invalidModel("XGBoost base_score has \(numbers.count) values for \(outputs) outputs")
        }
        return numbers
    }

    /// One tree's arrays as explicit-child source nodes. XGBoost goes left when `x < t` in
    /// float; for floats that is exactly `x <= nextDown(t)`.
    private static func sourceNodes(_ tree: JSONValue, index t: Int, budget: LoadBudget) throws(KeelError) -> [SourceNode] {
        func array<T>(_ key: String, _ get: (JSONValue) -> [T]?) throws(KeelError) -> [T] {
            guard let v = tree[key], let a = get(v) else {
                throw .invalidModel("XGBoost tree \(t) has no valid '\(key)' array")
            }
            return a
        }
        if let leafSize = tree["tree_param"]?["size_leaf_vector"]?.intValue, leafSize > 1 {
            throw .unsupported("XGBoost multi-output trees (size_leaf_vector \(leafSize)) are not supported")
        }
        // The node arrays as Ints plus the source nodes live only while this tree is added.
        let declared = tree["left_children"]?.arrayCount ?? 0
        try budget.check(transient: declared, of: 5 * MemoryLayout<Int>.stride + MemoryLayout<Float>.stride + MemoryLayout<SourceNode>.stride,
                         for: "XGBoost tree \(t) (\(declared) nodes)")
        let left = try array("left_children", \.intsValue)
        let right = try array("right_children", \.intsValue)
        let features = try array("split_indices", \.intsValue)
        let conditions = try array("split_conditions", \.floatsValue)
        let defaultLeft = try array("default_left", \.intsValue)
        let n = left.count
        guard n > 0, right.count == n, features.count == n, conditions.count == n, defaultLeft.count == n else {
            throw .invalidModel("XGBoost tree \(t) has node arrays of different lengths (\(n) nodes)")
        }
        let splitType = tree["split_type"]?.intsValue ?? [Int](repeating: 0, count: n)
        guard splitType.count == n else { throw .invalidModel("XGBoost tree \(t) split_type has the wrong length") }

        // Categorical splits: categories_nodes[k] uses categories[segments[k] ..< segments[k]+sizes[k]].
        var categoriesOf: [Int: [Int]] = [:]
        if splitType.contains(1) {
            let catNodes = try array("categories_nodes", \.intsValue)
            let segments = try array("categories_segments", \.intsValue)
            let sizes = try array("categories_sizes", \.intsValue)
            let categories = try array("categories", \.intsValue)
            guard segments.count == catNodes.count, sizes.count == catNodes.count else {
                throw .invalidModel("XGBoost tree \(t) has inconsistent categorical split arrays")
            }
            for (k, node) in catNodes.enumerated() {
                let lo = segments[k]
                let (hi, overflow) = lo.addingReportingOverflow(sizes[k])
                guard !overflow, lo >= 0, hi <= categories.count, lo <= hi else {
                    throw .invalidModel("XGBoost tree \(t) categorical segment \(k) is out of range")
                }
                guard (0..<n).contains(node), categoriesOf[node] == nil else {
                    throw .invalidModel("XGBoost tree \(t) categories_nodes[\(k)] = \(node) is not a distinct node of the tree's \(n)")
                }
                // Segments may overlap, so each copy is paid for.
                try budget.charge(hi - lo, Int.self, for: "XGBoost tree \(t) categorical segment \(k)")
                categoriesOf[node] = Array(categories[lo..<hi])
            }
        }

        var nodes = [SourceNode]()
        nodes.reserveCapacity(n)
        for i in 0..<n {
            if left[i] == -1 {
                nodes.append(.leaf(Double(conditions[i])))
                continue
            }
            let test: SplitTest
            if splitType[i] == 1 {
                guard let cats = categoriesOf[i] else {
                    throw .invalidModel("XGBoost tree \(t) node \(i) is categorical but lists no categories")
                }
                // Listed categories go right; anything else (and invalid values) goes left.
                test = .categories(cats, membersGoLeft: false, truncating: false)
            } else {
                test = .lessOrEqual(conditions[i].nextDown)
            }
            nodes.append(.split(
                feature: features[i], test: test, missingLeft: defaultLeft[i] != 0, zeroIsMissing: false,
                left: left[i], right: right[i]))
        }
        return nodes
    }
}
