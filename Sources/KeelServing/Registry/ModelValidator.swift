import Foundation
import KeelCore
import KeelEngine
import KeelMonitoring
import KeelRegistry

/// Checks a model file before it is registered, offline and without a server, the way a CI
/// pipeline's validation step needs it: it loads, its configuration (feature schema, labels)
/// fits its signature, it survives a warm-up inference, it scores a labelled holdout (with the
/// same quality metrics as evaluation and live monitoring), its single-row latency is within a
/// budget, and its holdout metrics pass the given gates. Every check is reported, passed or not;
/// a check that cannot run because an earlier one failed is reported as skipped.
public struct ModelValidator: Sendable {
    public var loader: ModelLoader
    /// Rows timed one at a time for the latency percentiles.
    public var latencySamples: Int

    public init(loader: ModelLoader = ModelLoader(), latencySamples: Int = 200) {
        self.loader = loader
        self.latencySamples = max(1, min(latencySamples, 100_000))
    }

    public enum Outcome: String, Sendable {
        case passed, failed, skipped
    }

    public struct Check: Sendable, Equatable {
        public var name: String
        public var outcome: Outcome
        public var detail: String
    }

    public struct Report: Sendable {
        public var checks: [Check] = []
        /// Holdout metrics, p50/p95 latency (ms) and the file size (MB).
        public var metrics: [String: Double] = [:]
        public var passed: Bool { checks.allSatisfy { $0.outcome != .failed } }

        public var json: JSONValue {
            .object([
                "passed": .bool(passed),
                "checks": .array(checks.map { .object(["name": .string($0.name), "outcome": .string($0.outcome.rawValue), "detail": .string($0.detail)]) }),
                "metrics": .object(metrics.mapValues { .number($0) }),
            ])
        }

        mutating func add(_ name: String, _ outcome: Outcome, _ detail: String) {
            checks.append(Check(name: name, outcome: outcome, detail: detail))
        }
    }

    /// What to validate besides the file itself.
    public struct Inputs: Sendable {
        public var config: ModelConfig
        /// A labelled holdout table and its label column.
        public var holdout: CSVTable?
        public var label: String?
        /// Largest p95 single-row latency allowed, in milliseconds.
        public var latencyBudgetMs: Double?
        public var gates: [Gate]

        public init(config: ModelConfig = ModelConfig(), holdout: CSVTable? = nil, label: String? = nil, latencyBudgetMs: Double? = nil, gates: [Gate] = []) {
            self.config = config
            self.holdout = holdout
            self.label = label
            self.latencyBudgetMs = latencyBudgetMs
            self.gates = gates
        }
    }

    public func validate(bytes: [UInt8], filename: String, _ inputs: Inputs) -> Report {
        var report = Report()
        report.metrics["size_mb"] = Double(bytes.count) / 1_000_000
        let later = ["signature", "warm_up", "holdout", "latency"] + (inputs.gates.isEmpty ? [] : ["gates"])
        func skipRest(from name: String) {
            for n in later.drop(while: { $0 != name }) { report.add(n, .skipped, "an earlier check failed") }
        }

        let model: any LoadedModel
        do {
            model = try loader.load(ModelArtifact(bytes: bytes, filename: filename))
            let m = model.metadata
            report.add("load", .passed, "\(m.format.rawValue): inputs \(Self.describe(m.inputs)), outputs \(Self.describe(m.outputs))")
        } catch {
            report.add("load", .failed, error.message)
            skipRest(from: "signature")
            return report
        }
        do {
            try ModelVetting.check(model: model, config: inputs.config, what: filename)
            report.add("signature", .passed, inputs.config.featureSchema.map { "the feature schema's \($0.fields.count) fields fit the model's inputs" }
                ?? "no feature schema given: the model's own signature is used")
        } catch {
            report.add("signature", .failed, error.message)
            skipRest(from: "warm_up")
            return report
        }
        let warmUp: [String: Tensor]
        do {
            warmUp = try ModelVetting.warmUpInputs(model.metadata)
            _ = try model.infer(warmUp)
            report.add("warm_up", .passed, "one zero-filled row scored")
        } catch {
            report.add("warm_up", .failed, error.message)
            skipRest(from: "holdout")
            return report
        }

        // Holdout: encoded rows, scores, quality metrics.
        var encode: ((Range<Int>) throws(KeelError) -> [String: Tensor])?
        var rows = 0
        if let table = inputs.holdout {
            do throws(KeelError) {
                guard let label = inputs.label else { throw KeelError.invalidInput("a holdout needs --label, its label column") }
                guard let labelColumn = table.column(label) else {
                    throw KeelError.invalidInput("the holdout has no label column '\(label)' (columns: \(table.header.prefix(50).joined(separator: ", ")))")
                }
                guard !table.rows.isEmpty else { throw KeelError.invalidInput("the holdout has no rows") }
                let e = try ModelEvaluator.encoder(table: table, skipping: labelColumn, config: inputs.config, model: model)
                let outputs = try ModelEvaluator.score(model, rows: table.rows.count, e)
                let profile = OutputProfile.of(metadata: model.metadata, config: inputs.config, classLabels: inputs.config.labels ?? model.metadata.classLabels)
                let metrics = try ModelEvaluator.quality(outputs: outputs, labels: table.rows.map { labelColumn < $0.count ? $0[labelColumn] : "" }, profile: profile)
                report.metrics.merge(metrics) { $1 }
                report.metrics["holdout_rows"] = Double(table.rows.count)
                encode = e
                rows = table.rows.count
                let shown = ["roc_auc", "accuracy", "f1", "log_loss", "rmse", "r2"].compactMap { k in metrics[k].map { "\(k) \(Self.short($0))" } }
                report.add("holdout", .passed, "\(table.rows.count) rows scored" + (shown.isEmpty ? "" : ": " + shown.joined(separator: ", ")))
            } catch {
                report.add("holdout", .failed, error.message)
            }
        } else {
            report.add("holdout", .skipped, "no --data given")
        }

        // Latency: single rows (from the holdout, else the warm-up row), timed one at a time.
        var latencies: [Double] = []
        latencies.reserveCapacity(latencySamples)
        do throws(KeelError) {
            for i in 0..<latencySamples {
                let input = try encode.map { (e) throws(KeelError) -> [String: Tensor] in try e((i % rows)..<(i % rows + 1)) } ?? warmUp
                let t0 = ContinuousClock.now
                _ = try model.infer(input)
                let (sec, atto) = (ContinuousClock.now - t0).components
                latencies.append((Double(sec) + Double(atto) / 1e18) * 1000)
            }
            let p50 = Percentile.nearestRank(latencies, 0.5)
            let p95 = Percentile.nearestRank(latencies, 0.95)
            report.metrics["p50_latency_ms"] = p50
            report.metrics["p95_latency_ms"] = p95
            let measured = "p50 \(Self.short(p50)) ms, p95 \(Self.short(p95)) ms over \(latencySamples) single-row calls"
            if let budget = inputs.latencyBudgetMs {
                report.add("latency", p95 <= budget ? .passed : .failed, measured + (p95 <= budget ? " (budget \(Self.short(budget)) ms)" : ": over the budget of \(Self.short(budget)) ms"))
            } else {
                report.add("latency", .passed, measured + " (no budget given)")
            }
        } catch {
            report.add("latency", .failed, error.message)
        }

        if !inputs.gates.isEmpty {
            let results = inputs.gates.map { $0.check(measured: report.metrics) }
            let failing = results.filter { !$0.passed }
            func list(_ rs: [GateResult]) -> String { rs.map { "\($0.gate) (\($0.value.map(Self.short) ?? "no value"))" }.joined(separator: "; ") }
            report.add("gates", failing.isEmpty ? .passed : .failed, failing.isEmpty ? list(results) : "failing: " + list(failing))
        }
        return report
    }

    /// Four significant digits, for the report's text (the metrics keep full precision).
    static func short(_ d: Double) -> String { String(format: "%.4g", d) }

    static func describe(_ list: [TensorSignature]) -> String {
        list.prefix(10).map { "\($0.name) \($0.dataType.rawValue)\(Tensor.describe($0.shape))" }.joined(separator: ", ")
    }
}
