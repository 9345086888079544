import ArgumentParser
import Foundation
import KeelCore
import KeelRegistry
import KeelServing

extension ModelsCommand {
    /// `keel models validate FILE`: the offline checks a pipeline runs before registering a
    /// file (no server needed). Exit 0 when every check passes, 1 with the reasons otherwise.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a model file before registering it: it loads, fits its schema, warms up, scores a holdout, meets a latency budget and gates.",
            discussion: "Offline: no server is needed. Exits 0 when every check passes, 1 when one fails (the reasons are printed), 64 on bad arguments.")
        @Argument(help: "Model file (.json, .ubj, .txt, .onnx).") var file: String
        @Option(help: "Serving config / feature schema YAML (the config.yaml format).") var schema: String?
        @Option(help: "Labelled holdout CSV to score.") var data: String?
        @Option(help: "The holdout's label column.") var label: String?
        @Option(name: .customLong("latency-budget-ms"), help: "Largest p95 single-row latency allowed, in ms.") var latencyBudgetMs: Double?
        @Option(name: .customLong("gate"), help: "A condition on the holdout metrics, e.g. 'roc_auc >= 0.85' (repeatable).") var gates: [String] = []
        @Option(name: .customLong("latency-samples"), help: "Single-row calls timed (1…100000).") var latencySamples = 200
        @Flag(help: "Print the report as JSON.") var json = false

        static let maxModelBytes = 2 << 30
        static let maxHoldoutBytes = 1 << 30

        func validate() throws {
            if data != nil, label == nil { throw ValidationError("--data needs --label, the holdout's label column") }
            if label != nil, data == nil { throw ValidationError("--label needs --data") }
            if let b = latencyBudgetMs, !(b.isFinite && b > 0 && b <= 3_600_000) { throw ValidationError("--latency-budget-ms must be in (0, 3600000]") }
            guard (1...100_000).contains(latencySamples) else { throw ValidationError("--latency-samples must be in 1…100000") }
        }

        func run() throws {
            var inputs = ModelValidator.Inputs(latencyBudgetMs: latencyBudgetMs)
            let bytes: [UInt8]
            do throws(KeelError) {
                for g in gates { inputs.gates.append(try Gate.parse(g)) }
                bytes = try Self.read(file, limit: Self.maxModelBytes, what: "model file")
                if let schema {
                    let text = try Self.text(schema, limit: 16 << 20, what: "schema")
                    inputs.config = try ModelConfig.parse(yaml: text, source: schema)
                }
                if let data {
                    inputs.holdout = try CSVTable.parse(try Self.text(data, limit: Self.maxHoldoutBytes, what: "holdout"))
                    inputs.label = label
                }
            } catch {
                FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
                throw ExitCode(1)
            }
            let report = ModelValidator(latencySamples: latencySamples).validate(
                bytes: bytes, filename: URL(fileURLWithPath: file).lastPathComponent, inputs)
            if json {
                var w = JSONWriter(nonFinite: .null)
                w.value(report.json)
                FileHandle.standardOutput.write(Data(w.bytes + [0x0A]))
            } else {
                for c in report.checks {
                    let mark = switch c.outcome { case .passed: "ok  "; case .failed: "FAIL"; case .skipped: "skip" }
                    print("\(mark) \(c.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(c.detail)")
                }
                print(report.passed ? "\(file): valid" : "\(file): NOT valid (\(report.checks.filter { $0.outcome == .failed }.map(\.name).joined(separator: ", ")))")
            }
            if !report.passed { throw ExitCode(1) }
        }

        static func read(_ path: String, limit: Int, what: String) throws(KeelError) -> [UInt8] {
            guard let bytes = SmallFile.bytes(path, limit: limit) else {
                throw KeelError.invalidInput("cannot read \(what) '\(path)' (missing, unreadable or over \(limit >> 20) MiB)")
            }
            return bytes
        }

        static func text(_ path: String, limit: Int, what: String) throws(KeelError) -> String {
            guard let s = String(validating: try read(path, limit: limit, what: what), as: UTF8.self) else {
                throw KeelError.invalidInput("\(what) '\(path)' is not UTF-8 text")
            }
            return s
        }
    }
}
