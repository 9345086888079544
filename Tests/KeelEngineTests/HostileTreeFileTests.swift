import Foundation
import KeelCore
import Testing
@testable import KeelEngine

/// Tree model files that declare more than their bytes justify are refused with a KeelError
/// (or load within bounds): no trap, no allocation from a declared count.
@Suite struct HostileTreeFileTests {
    func loadError(_ bytes: [UInt8], filename: String) -> KeelError? {
        do {
            _ = try ModelLoader().load(ModelArtifact(bytes: bytes, filename: filename))
            return nil
        } catch {
            return error
        }
    }

    func lgbError(_ trees: [String], header: String = HostileModels.lgbHeader) throws -> KeelError {
        try #require(loadError(HostileModels.lightgbm(header: header, trees: trees), filename: "model.txt"))
    }

    @Test("a categorical LightGBM threshold that is not a set index is refused", arguments: [
        "nan", "inf", "-inf", "1e300", "-1", "9223372036854775807", "0.5", "1",
    ])
    func categoricalThresholdNotASetIndex(_ threshold: String) throws {
        let error = try lgbError([HostileModels.lgbCategoricalTree(threshold: threshold)])
        #expect(error.code == .invalidModel)
        #expect(error.message.contains("categorical split 0"), "\(error)")
    }

    @Test func validCategoricalLightGBMSplitStillLoads() throws {
        let bytes = HostileModels.lightgbm(trees: [HostileModels.lgbCategoricalTree(threshold: "0")])
        let model = try ModelLoader().load(ModelArtifact(bytes: bytes, filename: "model.txt"))
        // Categories 0 and 2 (bits of 5) go left (leaf 1), others right.
        let out = try model.infer(["input": Tensor(shape: [3, 4], data: .fp32([0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]))])
        #expect(out["predictions"]?.floats == [1, 2, 1])
    }

    @Test("a LightGBM num_cat that overflows or exceeds the splits is refused", arguments: [
        "9223372036854775807", "2", "-1",
    ])
    func numCatOutOfRange(_ numCat: String) throws {
        let error = try lgbError([HostileModels.lgbCategoricalTree(threshold: "0", numCat: numCat)])
        #expect(error.message.contains("num_cat"), "\(error)")
    }

    @Test func lightGBMChildAtIntMinIsRefused() throws {
        var tree = HostileModels.lgbTree(leaves: 2)
        tree = tree.replacingOccurrences(of: "left_child=-1", with: "left_child=-9223372036854775808")
        let error = try lgbError([tree])
        #expect(error.message.contains("out-of-range child"), "\(error)")
    }

    @Test func hugeNumLeavesIsRefusedBeforeReserving() throws {
        let tree = HostileModels.lgbTree(leaves: 2).replacingOccurrences(of: "num_leaves=2", with: "num_leaves=4611686018427387903")
        let error = try lgbError([tree])
        #expect(error.message.contains("cannot hold"), "\(error)")
    }

    @Test func averageOutputWithFewerTreesThanPerIterationIsRefused() throws {
        let header = HostileModels.lgbHeader.replacingOccurrences(of: "num_tree_per_iteration=1", with: "num_tree_per_iteration=3")
            .replacingOccurrences(of: "num_class=1", with: "num_class=3")
            .replacingOccurrences(of: "objective=regression", with: "objective=multiclass num_class:3") + "average_output\n"
        let error = try lgbError([HostileModels.lgbTree(leaves: 2)], header: header)
        #expect(error.message.contains("fewer than its 3 trees per iteration"), "\(error)")
    }

    @Test func hugeLightGBMFeatureAndClassCountsAreRefused() throws {
        let features = HostileModels.lgbHeader.replacingOccurrences(of: "max_feature_idx=3", with: "max_feature_idx=9223372036854775806")
        #expect(try lgbError([HostileModels.lgbTree(leaves: 2)], header: features).message.contains("max_feature_idx"))
        let classes = HostileModels.lgbHeader.replacingOccurrences(of: "num_tree_per_iteration=1", with: "num_tree_per_iteration=100000000")
        #expect(try lgbError([HostileModels.lgbTree(leaves: 2)], header: classes).message.contains("num_tree_per_iteration"))
    }

    @Test func lightGBMNewlineFloodLoads() throws {
        let model = try ModelLoader().load(ModelArtifact(bytes: HostileModels.lgbNewlineFlood(1 << 20), filename: "model.txt"))
        #expect(model.metadata.properties["trees"] == "1")
    }

    @Test func xgboostDeclaredCountsAreBoundedAndChecked() throws {
        let features = try #require(loadError(HostileModels.xgboostJSON(trees: 1, numFeature: 1 << 40), filename: "model.json"))
        #expect(features.message.contains("num_feature"), "\(features)")
        let classes = try #require(loadError(HostileModels.xgboostJSON(trees: 2, numClass: 1 << 40), filename: "model.json"))
        #expect(classes.message.contains("num_class"), "\(classes)")
        // 65 536 classes are allowed, but not with only 2 trees to feed them.
        let unfed = try #require(loadError(HostileModels.xgboostJSON(trees: 2, numClass: 1 << 16), filename: "model.json"))
        #expect(unfed.message.contains("only 2 trees"), "\(unfed)")
    }

    @Test func xgboostCategorySegmentThatOverflowsIsRefused() throws {
        var text = String(decoding: HostileModels.xgboostJSON(trees: 1, category: 3), as: UTF8.self)
        text = text.replacingOccurrences(of: #""categories_segments":[0]"#, with: #""categories_segments":[4000000000000000]"#)
            .replacingOccurrences(of: #""categories_sizes":[1]"#, with: #""categories_sizes":[4000000000000000]"#)
        let error = try #require(loadError(Array(text.utf8), filename: "model.json"))
        #expect(error.message.contains("segment 0 is out of range"), "\(error)")
    }

    @Test func categoricalBitsetAmplificationIsChargedToTheLoadBudget() throws {
        // ~300 bytes per tree, each asking for a 2 MiB bitset: refused long before 64 MiB + 16×.
        let bytes = HostileModels.xgboostJSON(trees: 200, category: (1 << 24) - 1)
        let error = try #require(loadError(bytes, filename: "model.json"))
        #expect(error.message.contains("load budget"), "\(error)")
        // A handful of such splits fits the budget and still evaluates correctly.
        let few = try ModelLoader().load(ModelArtifact(bytes: HostileModels.xgboostJSON(trees: 2, category: (1 << 24) - 1), filename: "model.json"))
        let out = try few.infer(["input": Tensor(shape: [2, 4], data: .fp32([16_777_215, 0, 0, 0, 5, 0, 0, 0]))])
        // The listed category goes right (leaf 2 per tree), any other left (leaf 1).
        #expect(out["predictions"]?.floats == [4.5, 2.5])
    }

    @Test("UBJSON zero-width and oversized containers are refused", arguments: [1 << 40, 1 << 20])
    func ubjZeroWidthContainer(_ count: Int) throws {
        let error = try #require(loadError(HostileModels.ubjZeroWidth(count: count, padding: 16), filename: "model.ubj"))
        #expect(error.code == .invalidModel)
        #expect(error.message.contains("zero-width"), "\(error)")
    }

    @Test func ubjZeroWidthContainerWithinTheFileIsCharged() throws {
        // As many zero-width elements as padding bytes: within the bytes, so charged, not refused for length.
        let error = try #require(loadError(HostileModels.ubjZeroWidth(count: 1 << 16, padding: 1 << 16), filename: "model.ubj"))
        #expect(error.message.contains("gradient_booster"), "\(error)")
    }

    @Test func ubjCountsLargerThanTheFileAreRefused() throws {
        // An untyped array and a string each declaring 2^40 elements in a few bytes.
        let array: [UInt8] = Array("{U\u{1}a[#L".utf8) + withUnsafeBytes(of: Int64(1 << 40).bigEndian) { Array($0) } + [0x5A, 0x7D]
        #expect(try #require(loadError(array, filename: "model.ubj")).message.contains("runs past the end"))
        let string: [UInt8] = Array("{U\u{1}aSL".utf8) + withUnsafeBytes(of: Int64(1 << 40).bigEndian) { Array($0) } + [0x7D]
        #expect(try #require(loadError(string, filename: "model.ubj")).message.contains("bytes left"))
    }

    @Test func requestWhoseOutputsExceedTheLimitIsRefused() throws {
        // A 65 536-output LightGBM model (one tree each) asked for 2 049 rows: 2^27+ outputs.
        let header = HostileModels.lgbHeader.replacingOccurrences(of: "num_tree_per_iteration=1", with: "num_tree_per_iteration=65536")
            .replacingOccurrences(of: "max_feature_idx=3", with: "max_feature_idx=0")
        let tree = "num_leaves=1\nleaf_value=1\n"
        let model = try ModelLoader().load(ModelArtifact(
            bytes: HostileModels.lightgbm(header: header, trees: Array(repeating: tree, count: 65_536)), filename: "model.txt"))
        let rows = 2_049
        let error = #expect(throws: KeelError.self) {
            try model.infer(["input": Tensor(shape: [rows, 1], data: .fp32([Float](repeating: 0, count: rows)))])
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("output values per request") == true)
    }
}

/// KeelCore's JSON parser may pack all-numeric arrays into `.doubles`; the XGBoost loader
/// reads them through accessors that accept every array form.
@Suite struct XGBoostPackedArrayTests {
    static func packed(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items):
            if !items.isEmpty, items.allSatisfy({ if case .number = $0 { return true }; return false }) {
                return .doubles(items.compactMap(\.doubleValue))
            }
            return .array(items.map(packed))
        case .object(let fields):
            return .object(fields.mapValues(packed))
        default:
            return value
        }
    }

    @Test func documentsWithPackedDoubleArraysLoadAndPredictTheSame() throws {
        let bytes = try Fixtures.bytes(Fixtures.trees.appendingPathComponent("xgb_categorical/model.json"))
        let document = try JSONParser.parse(bytes)
        let plain = try XGBoostLoader.load(document: document, format: .xgboostJSON, budget: LoadBudget(fileSize: bytes.count))
        let packed = try XGBoostLoader.load(document: Self.packed(document), format: .xgboostJSON, budget: LoadBudget(fileSize: bytes.count))
        let features = plain.ensemble.featureCount
        let rows = 8
        let input = (0..<(rows * features)).map { Float(($0 * 7) % 5) }
        #expect(plain.predict(input, rows: rows) == packed.predict(input, rows: rows))
        #expect(packed.metadata == plain.metadata)
    }
}
