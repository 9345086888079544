import ArgumentParser
import Foundation
import KeelCore
import KeelEngine
import KeelMonitoring
import KeelRegistry
import KeelServing
import KeelStore

/// `keel bench-monitoring`: how fast the prediction log writes and how long drift and quality
/// take over large windows, on a real store. Prints one JSON line per measurement.
struct MonitoringBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-monitoring",
        abstract: "Measure prediction-log write throughput and drift/quality time over large windows (JSON lines).")

    @Option(help: "Model folder with config.yaml, 1/model.* and holdout.csv (default models/churn).") var model = "models/churn"
    @Option(help: "Rows for the drift and quality windows.") var rows = 1_000_000
    @Option(name: .customLong("writer-rows"), help: "Predictions pushed through the log writer for the throughput figure.") var writerRows = 200_000
    @Option(name: .customLong("database-url"), help: "postgres://… to measure PostgreSQL (default: SQLite in a temporary folder).") var databaseURL: String?

    func run() async throws {
        let folder = URL(fileURLWithPath: model)
        let config = try ModelConfig.parse(yaml: String(contentsOf: folder.appendingPathComponent("config.yaml"), encoding: .utf8), source: "config.yaml")
        guard let schema = config.featureSchema else { throw ValidationError("the model needs a feature schema") }
        guard let file = ["model.json", "model.ubj", "model.txt", "model.onnx"].map({ folder.appendingPathComponent("1/\($0)") })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else { throw ValidationError("no 1/model.* in \(model)") }
        let loaded = try ModelLoader().load(ModelArtifact(bytes: [UInt8](try Data(contentsOf: file)), filename: file.lastPathComponent))
        let profile = OutputProfile.of(metadata: loaded.metadata, config: config, classLabels: config.labels ?? loaded.metadata.classLabels)
        let table = try CSVTable.parse(String(contentsOf: folder.appendingPathComponent("holdout.csv"), encoding: .utf8))
        let records = ModelEvaluator.records(table, schema: schema)
        let labelColumn = table.column("churn")
        let folderTemp = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-\(UUID().uuidString)")
        let store: any Store
        if let databaseURL {
            store = try await PostgresStore(url: databaseURL)
        } else {
            store = try await SQLiteStore(dataDirectory: folderTemp)
        }
        defer { try? FileManager.default.removeItem(at: folderTemp) }

        // One scored request per holdout row, reused round-robin.
        var events: [PredictionEvent] = []
        for (i, r) in records.enumerated() {
            let inputs = try schema.encode([r])
            let outputs = try loaded.infer(inputs)
            events.append(PredictionEvent(
                model: "bench", version: "1", requestID: "req-\(i)", entityIDs: ["E-\(i)"], records: [r], inputs: inputs, outputs: outputs,
                latencyMs: 0.1, profile: profile))
        }

        // 1. Writer throughput: rows/s from submit to committed.
        let writer = PredictionLogWriter(store: store, capacity: max(writerRows, 1))
        let task = Task { await writer.run() }
        var t0 = ContinuousClock.now
        var submitted = 0
        while submitted < writerRows {
            var e = events[submitted % events.count]
            e.entityIDs = ["E-\(submitted)"]
            if writer.submit(e) { submitted += 1 } else { await Task.yield() }
        }
        await writer.flush()
        var elapsed = Self.seconds(ContinuousClock.now - t0)
        emit(["measure": "prediction_log_write", "store": .string(databaseURL == nil ? "sqlite" : "postgres"), "rows": .number(Double(writerRows)),
              "seconds": .number(elapsed), "rows_per_s": .number(Double(writerRows) / elapsed), "dropped": .number(Double(writer.counts.dropped))])

        // 2. Fill the log to `rows` predictions (bulk, same row shapes) and label them all.
        let logRows = events.flatMap(PredictionRows.records)
        var have = writerRows
        while have < rows {
            let n = min(20_000, rows - have)
            let batch = (0..<n).map { k -> PredictionLogRecord in
                var r = logRows[(have + k) % logRows.count]
                r.entityID = "E-\(have + k)"
                return r
            }
            try await store.write { tx throws(KeelError) in try await tx.appendPredictions(batch) }
            have += n
        }
        var before: Int64?
        var labelled = 0
        while labelled < rows {
            let page = try await store.read { db throws(KeelError) in
                try await db.predictions(PredictionQuery(model: "bench", beforeID: before, limit: 20_000))
            }
            guard let last = page.last else { break }
            let feedback = page.map { p -> FeedbackRecord in
                let i = Int(p.entityID.dropFirst(2)) ?? 0
                let label = labelColumn.map { table.rows[i % table.rows.count][$0] } ?? "0"
                return FeedbackRecord(
                    predictionID: p.id, model: "bench", version: "1", arm: p.arm, entityID: p.entityID, predictedAt: p.at, score: p.score,
                    predictedLabel: p.label, outputs: p.outputs, label: label, labelValue: Double(label), labelAt: Date(), receivedAt: Date())
            }
            try await store.write { tx throws(KeelError) in try await tx.saveFeedback(feedback) }
            labelled += page.count
            before = last.id
        }

        // 3. Reference profile of the holdout, then drift over the whole window.
        let scores = ModelEvaluator.scores([try loaded.infer(try schema.encode(records))], profile: profile)
        let reference = ReferenceProfile.build(records: records, schema: schema, predictions: scores)
        t0 = ContinuousClock.now
        let (current, read) = try await LiveDrift.currentColumns(
            store: store, model: "bench", version: "1", window: .rows(rows), schema: schema, encodedNames: reference.columns.encoded.map(\.name))
        let readSeconds = Self.seconds(ContinuousClock.now - t0)
        let report = DriftAnalyzer().report(reference: reference.columns, current: current)
        elapsed = Self.seconds(ContinuousClock.now - t0)
        emit(["measure": "drift", "rows": .number(Double(read)), "seconds": .number(elapsed), "read_seconds": .number(readSeconds),
              "columns": .number(Double(report.columns.count + report.encodedColumns.count + 1)), "dataset_drift": .bool(report.datasetDrift)])

        // 4. Quality over every label.
        t0 = ContinuousClock.now
        let quality = try await LiveQuality.compute(store: store, model: "bench", version: "1", window: .rows(rows), profile: profile)
        elapsed = Self.seconds(ContinuousClock.now - t0)
        emit(["measure": "quality", "rows": .number(Double(quality.labelled)), "seconds": .number(elapsed),
              "roc_auc": (quality.report.metrics["roc_auc"] ?? nil).map { JSONValue.number($0) } ?? .null])
        task.cancel()
        _ = await task.value
        await store.close()
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }

    func emit(_ o: [String: JSONValue]) {
        var w = JSONWriter(nonFinite: .null)
        w.value(.object(o))
        print(String(decoding: w.bytes, as: UTF8.self))
    }
}
