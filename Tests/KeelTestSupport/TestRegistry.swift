import Foundation
import KeelCore
import KeelRegistry
import KeelStore

/// A registry over a fresh store and artifact folder, plus the bundled churn model.
public enum TestRegistry {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let churnFolder = root.appendingPathComponent("models/churn")

    public static func make(_ kind: StoreKind, schema: String? = nil, dataDirectory: URL? = nil) async throws -> Registry {
        let store = try await TestStores.make(kind, schema: schema)
        return Registry(store: store, artifacts: ArtifactStore(dataDirectory: dataDirectory ?? TestStores.temporaryDirectory()))
    }

    public static func churnModelBytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: churnFolder.appendingPathComponent("1/model.json")))
    }

    public static func churnConfigYAML() throws -> String {
        try String(contentsOf: churnFolder.appendingPathComponent("config.yaml"), encoding: .utf8)
    }

    public static func churnHoldoutCSV() throws -> String {
        try String(contentsOf: churnFolder.appendingPathComponent("holdout.csv"), encoding: .utf8)
    }
}
