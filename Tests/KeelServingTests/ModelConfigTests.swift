import Foundation
import KeelCore
import KeelServing
import Testing

/// config.yaml validation: every value typed, ranged and named in its error.
@Suite struct ModelConfigTests {
    func message(_ yaml: String) -> String? {
        do {
            _ = try ModelConfig.parse(yaml: yaml, source: "m/config.yaml")
            return nil
        } catch {
            return error.message
        }
    }

    @Test func theChurnConfigParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/churn/config.yaml")
        let config = try ModelConfig.parse(yaml: String(contentsOf: url, encoding: .utf8), source: "churn")
        #expect(config.labels == ["stay", "churn"])
        #expect(config.positiveClass == 1)
        #expect(config.riskBands.map(\.name) == ["low", "medium", "high"])
        #expect(config.featureSchema?.width == 22)
        #expect(config.featureSchema?.fields.first { $0.name == "phone_service" }?.categories == ["Yes", "No"])
        #expect(config.idField == "customer_id")
    }

    @Test("sizes are typed and bounded", arguments: [
        ("max_batch_size: \"8\"", "'max_batch_size' must be an integer from 1 to 65536, got the string '8'"),
        ("max_batch_size: 1e99", "'max_batch_size' must be an integer from 1 to 65536, got 1e+99"),
        ("max_batch_size: 0", "'max_batch_size' must be an integer from 1 to 65536, got 0"),
        ("max_batch_size: 65537", "'max_batch_size' must be an integer from 1 to 65536, got 65537"),
        ("instance_count: 65", "'instance_count' must be an integer from 1 to 64, got 65"),
        ("max_queue_delay_us: 1000001", "'max_queue_delay_us' must be an integer from 0 to 1000000, got 1000001"),
        ("max_queue_delay_us: -1", "'max_queue_delay_us' must be an integer from 0 to 1000000, got -1"),
        ("max_batch_size: 4.0", "'max_batch_size' must be an integer from 1 to 65536, got 4.0"),
    ])
    func sizesAreValidatedByName(_ yaml: String, _ expected: String) {
        #expect(message(yaml) == "m/config.yaml: " + expected)
    }

    @Test func labelsAndPositiveClassAreChecked() {
        #expect(message("labels: [a, a]")?.contains("'labels' lists 'a' twice") == true)
        #expect(message("labels: [a, '']")?.contains("must not be empty") == true)
        #expect(message("labels: []")?.contains("'labels' must not be empty") == true)
        #expect(message("labels: [a, b]\npositive_class: 2")?.contains("'positive_class' must be a class index from 0 to 1, got 2") == true)
        #expect(message("positive_class: -1")?.contains("from 0 to") == true)
        #expect(message("labels: [a, b]\npositive_class: c")?.contains("'positive_class' 'c' is not one of 'labels'") == true)
        #expect(message("positive_class: c")?.contains("no 'labels' are given") == true)
        #expect(message("labels: [a, b]\npositive_class: 1") == nil)
    }

    @Test func riskBandsAreFiniteIncreasingAndWithinZeroAndOne() {
        #expect(message("risk_bands: [{name: a, below: .nan}, {name: b}]")?.contains("risk band 0: 'below' must be a finite number") == true)
        #expect(message("risk_bands: [{name: a, below: .inf}, {name: b}]")?.contains("finite") == true)
        #expect(message("risk_bands: [{name: a, below: 1.5}, {name: b}]")?.contains("from 0.0 to 1.0") == true)
        #expect(message("risk_bands: [{name: a, below: 0.6}, {name: b, below: 0.3}, {name: c}]")?.contains("risk band 1: 'below' 0.3 must be greater than the previous band's 0.6") == true)
        #expect(message("risk_bands: [{name: a, below: 0.5}, {name: a}]")?.contains("name 'a' is used twice") == true)
        #expect(message("risk_bands: [{name: a}, {name: b, below: 0.5}]")?.contains("only the last risk band may omit 'below'") == true)
        #expect(message("risk_bands: [{name: a, below: '0.5'}]")?.contains("must be a number") == true)
        #expect(message("risk_bands: [{name: a, upper: 0.5}]")?.contains("risk band 0: unknown key 'upper'") == true)
    }

    @Test func featuresAreChecked() {
        #expect(message("features: [{name: a}, {name: a}]")?.contains("lists field 'a' twice") == true)
        #expect(message("features: [{name: ''}]")?.contains("feature 0: 'name' must be a non-empty string") == true)
        #expect(message("features: [{type: number}]")?.contains("feature 0: needs a 'name'") == true)
        #expect(message("features: [{name: p, type: one_hot, categories: [x, x]}]")?.contains("feature 'p': 'categories' lists 'x' twice") == true)
        #expect(message("features: [{name: p, type: one_hot, categories: []}]")?.contains("feature 'p': 'categories' must not be empty") == true)
        #expect(message("features: [{name: p, type: indicator, positive: z, categories: [x, y]}]")?.contains("'positive' 'z' is not one of its categories") == true)
        #expect(message("features: [{name: p, default: [1]}]")?.contains("'default' must be a scalar") == true)
        #expect(message("features: [{name: p, allow_unknown: yes}]")?.contains("'allow_unknown' must be true or false") == true)
        #expect(message("features: [{name: p, kind: number}]")?.contains("feature 'p': unknown key 'kind'") == true)
        let wide = "features: [{name: p, type: one_hot, categories: [" + (0...FeatureSchema.maxCategories).map { "c\($0)" }.joined(separator: ", ") + "]}]"
        #expect(message(wide)?.contains("at most \(FeatureSchema.maxCategories)") == true)
        #expect(message("id_field: 7")?.contains("'id_field' must be a non-empty string") == true)
        #expect(message("layout: per_field")?.contains("'features', which is missing") == true)
    }

    @Test func aliasBombsInASchemaAreRefused() {
        var text = "labels: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...8 { text += "l\(k): &a\(k) [" + Array(repeating: k == 1 ? "*a" : "*a\(k - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect(message(text)?.contains("nodes") == true)
    }
}
