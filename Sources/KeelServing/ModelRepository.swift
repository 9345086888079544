import Foundation
import KeelCore
import KeelEngine

/// A Triton-style folder of models: `<dir>/<model>/<version>/model.{onnx,json,ubj,txt}` and
/// an optional `<dir>/<model>/config.yaml`.
public struct ModelRepository: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// One model folder: its versions' files and its configuration.
    public struct Entry: Sendable {
        public var name: String
        public var versions: [(version: Int, file: URL)]
        public var configFile: URL?
    }

    static let modelFiles = ["model.onnx", "model.json", "model.ubj", "model.txt"]

    /// Lists model folders (names sorted); folders without numeric version folders holding a
    /// model file are skipped.
    public func index() throws(KeelError) -> [Entry] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw .notFound("model repository '\(directory.path)' does not exist or is not a folder")
        }
        let names = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        return names.compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            return entry(named: name)
        }
    }

    /// The entry for one model, or nil when the folder holds no versions.
    public func entry(named name: String) -> Entry? {
        let fm = FileManager.default
        let folder = directory.appendingPathComponent(name)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else { return nil }
        var versions: [(Int, URL)] = []
        for item in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] {
            guard let v = Int(item), v >= 0 else { continue }
            let versionDir = folder.appendingPathComponent(item)
            if let file = Self.modelFiles.map({ versionDir.appendingPathComponent($0) }).first(where: { fm.fileExists(atPath: $0.path) }) {
                versions.append((v, file))
            }
        }
        guard !versions.isEmpty else { return nil }
        let config = folder.appendingPathComponent("config.yaml")
        return Entry(
            name: name, versions: versions.sorted { $0.0 < $1.0 },
            configFile: fm.fileExists(atPath: config.path) ? config : nil)
    }

    /// Reads an entry's config.yaml (defaults when absent).
    public func config(for entry: Entry) throws(KeelError) -> ModelConfig {
        guard let file = entry.configFile else { return ModelConfig() }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw .invalidModel("cannot read \(file.path)")
        }
        return try ModelConfig.parse(yaml: String(decoding: data, as: UTF8.self), source: "\(entry.name)/config.yaml")
    }
}
