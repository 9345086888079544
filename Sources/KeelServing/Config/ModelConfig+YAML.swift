import KeelCore

extension ModelConfig {
    /// Parses config.yaml text (also a deployer's `schema_yaml`) through `SafeYAML`. Every key
    /// is optional; unknown keys, wrong types and values out of range are refused by name.
    public static func parse(yaml text: String, source: String) throws(KeelError) -> ModelConfig {
        try parse(SafeYAML.load(text, source: source), source: source)
    }

    static let topLevelKeys: Set<String> = [
        "max_batch_size", "max_queue_delay_us", "instance_count", "labels", "positive_class",
        "risk_bands", "features", "layout", "input_name", "id_field", "platform", "name", "monitoring",
        "circuit_breaker", "fallback", "cache",
    ]

    static func parse(_ document: YAMLValue, source: String) throws(KeelError) -> ModelConfig {
        let top = try ConfigFields(document, source: source, known: topLevelKeys)
        var config = ModelConfig()
        config.maxBatchSize = try top.int("max_batch_size", in: 1...maxBatchSizeLimit) ?? config.maxBatchSize
        config.maxQueueDelayMicroseconds = try top.int("max_queue_delay_us", in: 0...maxQueueDelayLimit) ?? 0
        config.instanceCount = try top.int("instance_count", in: 1...maxInstanceCount) ?? 1
        _ = try top.string("platform")
        _ = try top.string("name")
        config.labels = try top.uniqueTexts("labels", maxCount: maxLabels)
        if config.labels?.isEmpty == true { throw top.fail("'labels' must not be empty") }
        config.positiveClass = try positiveClass(top, labels: config.labels)
        config.riskBands = try riskBands(top)
        config.idField = try top.string("id_field")
        config.monitoring = try MonitoringSettings.parse(top.values["monitoring"], source: source)
        config.circuitBreaker = try CircuitBreakerSettings.parse(top.values["circuit_breaker"], source: source)
        config.fallback = try FallbackSettings.parse(top.values["fallback"], source: source)
        config.cache = try PredictionCacheSettings.parse(top.values["cache"], source: source)
        if let features = try top.list("features", maxCount: FeatureSchema.maxFields) {
            var fields: [FeatureSchema.Field] = []
            for (k, f) in features.enumerated() { fields.append(try field(f, index: k, source: source)) }
            let layoutName = try top.string("layout") ?? "vector"
            guard let layout = FeatureSchema.Layout(rawValue: layoutName) else {
                throw top.fail("'layout' must be 'vector' or 'per_field', got '\(layoutName.prefix(40))'")
            }
            do {
                config.featureSchema = try FeatureSchema(
                    fields: fields, layout: layout, inputName: try top.string("input_name") ?? "input",
                    passthrough: config.idField.map { [$0] } ?? [])
            } catch {
                throw KeelError(error.code, "\(source): \(error.message)")
            }
        } else if top.has("layout") || top.has("input_name") {
            throw top.fail("'layout' and 'input_name' describe 'features', which is missing")
        }
        return config
    }

    /// A class index (0 ≤ i, and < the number of labels when labels are given) or a label.
    private static func positiveClass(_ top: ConfigFields, labels: [String]?) throws(KeelError) -> Int? {
        guard let v = top.values["positive_class"] else { return nil }
        switch v {
        case .int(let i):
            let upper = (labels?.count ?? maxLabels) - 1
            guard i >= 0, i <= upper else {
                throw top.fail("'positive_class' must be a class index from 0 to \(upper), got \(i)")
            }
            return i
        case .string(let name):
            guard let labels else { throw top.fail("'positive_class' '\(name.prefix(40))' names a label, but no 'labels' are given") }
            guard let i = labels.firstIndex(of: name) else {
                throw top.fail("'positive_class' '\(name.prefix(40))' is not one of 'labels' (\(labels.prefix(10).joined(separator: ", ")))")
            }
            return i
        default:
            throw top.fail("'positive_class' must be a class index or one of 'labels', got \(top.describe(v))")
        }
    }

    /// Bands with unique names and `below` thresholds that are finite, within [0, 1] and
    /// strictly increasing; only the last band may omit `below`.
    private static func riskBands(_ top: ConfigFields) throws(KeelError) -> [RiskBand] {
        guard let list = try top.list("risk_bands", maxCount: maxRiskBands) else { return [] }
        var bands: [RiskBand] = []
        var names = Set<String>()
        for (k, item) in list.enumerated() {
            let band = try ConfigFields(item, source: top.source, context: "risk band \(k)", known: ["name", "below"])
            guard let name = try band.string("name") else { throw band.fail("needs a 'name'") }
            guard names.insert(name).inserted else { throw band.fail("name '\(name.prefix(40))' is used twice") }
            let upper = try band.number("below", in: 0...1)
            if let upper {
                if let previous = bands.last?.upper, upper <= previous {
                    throw band.fail("'below' \(upper) must be greater than the previous band's \(previous) (bands go in increasing order)")
                }
            } else if k != list.count - 1 {
                throw band.fail("only the last risk band may omit 'below'")
            }
            bands.append(RiskBand(name: name, upper: upper))
        }
        return bands
    }

    static let fieldKeys: Set<String> = ["name", "type", "categories", "positive", "default", "allow_unknown"]

    private static func field(_ item: YAMLValue, index k: Int, source: String) throws(KeelError) -> FeatureSchema.Field {
        let f = try ConfigFields(item, source: source, context: "feature \(k)", known: nil)
        guard let name = try f.string("name") else { throw f.fail("needs a 'name'") }
        let named = try ConfigFields(item, source: source, context: "feature '\(name.prefix(64))'", known: fieldKeys)
        let typeName = try named.string("type") ?? "number"
        guard let kind = FeatureSchema.Kind(rawValue: typeName) else {
            throw named.fail("unknown type '\(typeName.prefix(40))' (expected \(FeatureSchema.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let categories = try named.uniqueTexts("categories", maxCount: FeatureSchema.maxCategories)
        if categories?.isEmpty == true { throw named.fail("'categories' must not be empty (omit it to accept any value)") }
        let positive = try named.values["positive"].map { (v: YAMLValue) throws(KeelError) in try named.text(of: v, "'positive'") }
        if let positive, let categories, !categories.contains(positive) {
            throw named.fail("'positive' '\(positive.prefix(40))' is not one of its categories")
        }
        let defaultValue = try named.values["default"].map { (v: YAMLValue) throws(KeelError) in try jsonValue(v, named) }
        return FeatureSchema.Field(
            name: name, kind: kind, categories: categories, positive: positive, defaultValue: defaultValue,
            allowUnknown: try named.bool("allow_unknown") ?? false)
    }

    /// A feature's default as the JSON value a record would carry: a scalar, not a collection.
    private static func jsonValue(_ v: YAMLValue, _ f: ConfigFields) throws(KeelError) -> JSONValue {
        switch v {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .sequence, .mapping: throw f.fail("'default' must be a scalar, got \(v.kindDescription)")
        }
    }
}
