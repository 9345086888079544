import Foundation
import KeelCore
import Testing
@testable import KeelEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loading any model file costs at most 64 MiB + 16 × its size: the worst files we can build
/// are loaded by the real `keel inspect` in a child process, whose peak RSS, less that of
/// inspecting the tiny churn model in the same run, must stay within the bound.
@Suite(.serialized) struct LoadMemoryBoundTests {
    /// The built `keel` binary: beside the test bundle, or found by walking up to `.build`.
    static func keelBinary() -> String? {
        var candidates: [URL] = []
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        var dir = bundle.deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("keel"))
            candidates.append(dir.appendingPathComponent(".build/debug/keel"))
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(Fixtures.repositoryRoot.appendingPathComponent(".build/debug/keel"))
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `keel inspect --model path` under `/usr/bin/time -f %M` and returns its exit
    /// status and peak RSS in bytes. (The child's own `ru_maxrss` from `wait4` cannot be used:
    /// on Linux a process spawned from this large test process inherits its high-water mark.)
    static func inspect(_ keel: String, _ path: String, timeOutput: String) throws -> (status: Int32, peakRSS: Int) {
        var pid: pid_t = 0
        let args = ["/usr/bin/time", "-f", "%M", "-o", timeOutput, keel, "inspect", "--model", path]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let spawned = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw KeelError(.internal, "cannot start \(args[0]): error \(spawned)") }
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { throw KeelError(.internal, "waitpid failed") }
        let text = (try? String(contentsOfFile: timeOutput, encoding: .utf8)) ?? ""
        // GNU time prints "Command exited with non-zero status N" before the figure.
        guard let kib = text.split(whereSeparator: \.isNewline).last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw KeelError(.internal, "/usr/bin/time printed no peak RSS: '\(text)'")
        }
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : -1, kib * 1024)
    }

    /// The worst files per format, each a few MiB.
    static func worstFiles() -> [HostileModels.File] {
        typealias F = HostileModels.File
        let lgbTrees = (0..<400).map { _ in HostileModels.lgbTree(leaves: 255) }
        return [
            F(name: "xgb-json-big-valid", filename: "model.json", bytes: HostileModels.xgboostJSON(trees: 12_000)),
            F(name: "xgb-json-number-flood", filename: "model.json", bytes: HostileModels.xgboostJSONNumberFlood(nodes: 300_000)),
            F(name: "xgb-json-bitset-amplification", filename: "model.json", bytes: HostileModels.xgboostJSON(trees: 4_000, category: (1 << 24) - 1)),
            F(name: "xgb-json-flood-and-bitsets", filename: "model.json", bytes: HostileModels.xgboostJSONFloodAndBitsets(floodNodes: 300_000, bitsetTrees: 2_000)),
            F(name: "xgb-json-declared-counts", filename: "model.json", bytes: HostileModels.xgboostJSON(trees: 2_000, numFeature: 1 << 24, numClass: 1 << 16)),
            F(name: "xgb-ubj-big-valid", filename: "model.ubj", bytes: HostileModels.xgboostUBJ(trees: 200, leaves: 512)),
            F(name: "xgb-ubj-zero-width", filename: "model.ubj", bytes: HostileModels.ubjZeroWidth(count: 4 << 20, padding: 4 << 20)),
            F(name: "lgb-big-valid", filename: "model.txt", bytes: HostileModels.lightgbm(trees: lgbTrees)),
            F(name: "lgb-newline-flood", filename: "model.txt", bytes: HostileModels.lgbNewlineFlood(4 << 20)),
            F(name: "lgb-categorical-words", filename: "model.txt", bytes: HostileModels.lightgbm(trees: (0..<200).map { _ in
                HostileModels.lgbCategoricalTree(threshold: "0", boundaries: "0 2048", words: Array(repeating: "4294967295", count: 2048).joined(separator: " "))
            })),
            F(name: "onnx-constant-of-shape", filename: "model.onnx", bytes: HostileModels.onnxConstantOfShape([1 << 26])),
            F(name: "onnx-expand", filename: "model.onnx", bytes: HostileModels.onnxExpand([8192, 8192])),
            F(name: "onnx-empty-nodes", filename: "model.onnx", bytes: HostileModels.onnxEmptyNodes(2 << 20)),
            F(name: "onnx-empty-attributes", filename: "model.onnx", bytes: HostileModels.onnxEmptyAttributes(2 << 20)),
            F(name: "onnx-big-initializer", filename: "model.onnx", bytes: HostileModels.onnxBigInitializer(rows: 1 << 18)),
            F(name: "onnx-tree-weights-flood", filename: "model.onnx", bytes: HostileModels.onnxTreeWeightsFlood(300_000)),
            F(name: "onnx-tree-ensemble-big-valid", filename: "model.onnx", bytes: HostileModels.onnxTreeEnsemble(trees: 300, leaves: 256)),
        ]
    }

    @Test func loadingTheWorstFilesStaysWithin64MiBPlus16TimesTheFileSize() throws {
        guard let keel = Self.keelBinary() else {
            Issue.record("the keel binary was not found beside the test bundle; build with `swift build --build-tests`")
            return
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            Issue.record("/usr/bin/time is needed to measure a child's peak RSS (Debian package 'time')")
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keel-hostile-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let churn = Fixtures.repositoryRoot.appendingPathComponent("models/churn/1/model.json").path
        let timeOutput = folder.appendingPathComponent("time.txt").path
        let baselineRun = try Self.inspect(keel, churn, timeOutput: timeOutput)
        #expect(baselineRun.status == 0, "keel inspect failed on the churn model")
        let baseline = baselineRun.peakRSS
        var report: [String] = ["baseline (churn model): \(baseline >> 10) KiB"]
        for file in Self.worstFiles() {
            let dir = folder.appendingPathComponent(file.name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let path = dir.appendingPathComponent(file.filename).path
            try Data(file.bytes).write(to: URL(fileURLWithPath: path))
            let run = try Self.inspect(keel, path, timeOutput: timeOutput)
            let extra = run.peakRSS - baseline
            let bound = LoadBudget.baseBytes + LoadBudget.bytesPerFileByte * file.bytes.count
            report.append("\(file.name): file \(file.bytes.count >> 10) KiB, exit \(run.status), peak \(run.peakRSS >> 10) KiB, extra \(extra >> 10) KiB, bound \(bound >> 10) KiB")
            #expect(run.status == 0 || run.status == 1, "\(file.name): keel inspect ended with status \(run.status) (a crash)")
            #expect(extra <= bound, "\(file.name): \(extra >> 10) KiB over the baseline, bound \(bound >> 10) KiB")
        }
        print(report.joined(separator: "\n"))
    }
}
