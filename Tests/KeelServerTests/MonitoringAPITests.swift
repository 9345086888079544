import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelMonitoring
import KeelRegistry
@testable import KeelServer
import KeelServing
import KeelStore
import KeelTestSupport
import Testing

/// Watching the churn model in production: every prediction logged off the request path,
/// labels joined a "day" later, live quality equal to the metrics on the same pairs, drift
/// against the evaluation's reference — on SQLite and PostgreSQL.
@Suite(.serialized) struct MonitoringAPITests {
    static func json(_ r: TestResponse) throws -> JSONValue { try TestServer.json(r) }

    @Test(arguments: StoreKind.enabled) func predictionsAreLoggedAndListedWithTheirEntities(_ kind: StoreKind) async throws {
        let s = try await MonitoredServer.start(kind)
        let viewer = TestServer.bearer(s.keys.viewer)
        try await s.app.test(.router) { client in
            let records = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: try TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_records.json")))
            #expect(records.status == .ok)
            let v2 = #"{"id":"r1","parameters":{"entity_ids":["A-1","A-2"]},"inputs":[{"name":"input","shape":[2,22],"datatype":"FP32","data":[\#(Array(repeating: "0", count: 44).joined(separator: ","))]}]}"#
            #expect(try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: [RequestIDMiddleware.header: "req-7"], body: TestServer.body(v2)).status == .ok)
            let anonymous = #"{"inputs":[{"name":"input","shape":[1,22],"datatype":"FP32","data":[\#(Array(repeating: "1", count: 22).joined(separator: ","))]}]}"#
            #expect(try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: [RequestIDMiddleware.header: "req-8"], body: TestServer.body(anonymous)).status == .ok)
            await s.writer.flush()
            let list = try Self.json(try await client.execute(uri: "/api/v1/models/churn/predictions?limit=100", method: .get, headers: viewer))
            let rows = list["predictions"]?.arrayValue ?? []
            let entities = Set(rows.compactMap { $0["entity_id"]?.stringValue })
            #expect(entities.isSuperset(of: ["C-008001", "C-008003", "A-1", "A-2", "req-8:0"]), "\(entities)")
            let one = try #require(rows.first { $0["entity_id"] == "C-008001" })
            #expect(one["version"] == "1" && one["arm"] == "stable")
            // Logged as packed fields plus the keys they do not hold, the record reads back as sent.
            let sent = try JSONParser.parse(Array(try Data(contentsOf: TestServer.models.appendingPathComponent("churn/sample_records.json"))), errorCode: .invalidInput)
            let first = try #require(sent["instances"]?.arrayValue?.first { $0["customer_id"] == "C-008001" })
            #expect(one["record"] == first)
            #expect(one["outputs"]?["label"]?.stringValue != nil && one["score"]?.doubleValue != nil)
            #expect(one["latency_ms"]?.doubleValue ?? -1 >= 0)
            let filtered = try Self.json(try await client.execute(uri: "/api/v1/models/churn/predictions?entity_id=A-2", method: .get, headers: viewer))
            #expect(filtered["predictions"]?.arrayValue?.map { $0["entity_id"] } == ["A-2"])
            let bad = try await client.execute(uri: "/api/v1/models/churn/predictions?limit=0", method: .get, headers: viewer)
            #expect(bad.status == .badRequest)
            let ids = #"{"parameters":{"entity_ids":["only-one"]},"inputs":[{"name":"input","shape":[2,22],"datatype":"FP32","data":[\#(Array(repeating: "0", count: 44).joined(separator: ","))]}]}"#
            let mismatch = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body(ids))
            #expect(mismatch.status == .badRequest)
        }
        await s.stop()
    }

    @Test(arguments: StoreKind.enabled) func labelsJoinTheLatestPredictionBeforeThemAndLiveQualityEqualsTheMetrics(_ kind: StoreKind) async throws {
        let s = try await MonitoredServer.start(kind)
        let (records, labels) = ChurnRows.load(try TestRegistry.churnHoldoutCSV())
        let n = 400
        try await s.app.test(.router) { client in
            var start = 0
            while start < n {
                let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[start..<min(start + 100, n)]))
                #expect(r.status == .ok)
                start += 100
            }
            await s.writer.flush()
            // A "day" later the labels arrive (one entity unknown, one repeated).
            var items: [JSONValue] = (0..<n).map { i in
                .object(["entity_id": records[i]["customer_id"]!, "label": .string(labels[i] == "1" ? "churn" : "stay")])
            }
            items.append(.object(["entity_id": "nobody", "label": "churn"]))
            items.append(.object(["entity_id": records[0]["customer_id"]!, "label": .number(Double(labels[0]) ?? 0)]))
            let sent = try Self.json(try await client.execute(
                uri: "/api/v1/models/churn/feedback", method: .post, headers: TestServer.bearer(nil), body: ByteBuffer(string: Self.text(.object(["feedback": .array(items)])))))
            #expect(sent["matched"] == .number(Double(n + 1)))
            #expect(sent["unmatched"] == 1 && sent["unmatched_entities"] == .array(["nobody"]))

            let quality = try Self.json(try await client.execute(uri: "/api/v1/models/churn/quality?window=10000", method: .get, headers: TestServer.bearer(s.keys.viewer)))
            #expect(quality["labelled"] == .number(Double(n)), "\(quality)")
            #expect(quality["unmatched"] == 1)
            // The same pairs through the metrics implementation directly.
            let logged = try await s.registry.store.read { db throws(KeelError) in
                try await db.predictions(PredictionQuery(model: "churn", limit: 10_000))
            }
            var y: [Int] = [], p: [Double] = [], yhat: [Int] = []
            for i in 0..<n {
                let id = records[i]["customer_id"]?.stringValue
                let row = try #require(logged.first { $0.entityID == id })
                y.append(labels[i] == "1" ? 1 : 0)
                p.append(row.score ?? .nan)
                yhat.append(row.label == "churn" ? 1 : 0)
            }
            let expected = try ClassificationQuality.binary(labels: y, scores: p, predicted: yhat)
            for metric in ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier"] {
                let got = quality["metrics"]?[metric]?.doubleValue ?? .nan
                let want = (expected.metrics[metric] ?? nil) ?? .nan
                #expect(abs(got - want) < 1e-12, "\(metric): API \(got), direct \(want)")
            }
            #expect(quality["confusion_matrix"]?.arrayValue?.count == 2)
            #expect(quality["calibration"]?.arrayValue?.count == 10)
            // Labels before any prediction of theirs join nothing.
            let early = try Self.json(try await client.execute(
                uri: "/api/v1/models/churn/feedback", method: .post,
                body: ByteBuffer(string: #"{"feedback":[{"entity_id":"C-008001","label":"churn","time":"2000-01-01T00:00:00Z"}]}"#)))
            #expect(early["matched"] == 0 && early["unmatched"] == 1)
            // Malformed items name their index and field.
            let bad = try await client.execute(uri: "/api/v1/models/churn/feedback", method: .post, body: ByteBuffer(string: #"{"feedback":[{"entity_id":"a","label":"x"},{"entity_id":"b"}]}"#))
            #expect(bad.status == .badRequest)
            #expect(try Self.json(bad)["error"]?.stringValue?.contains("feedback[1].label") == true)
            let huge = "{\"feedback\":[" + Array(repeating: #"{"entity_id":"a","label":1}"#, count: 10_001).joined(separator: ",") + "]}"
            #expect(try await client.execute(uri: "/api/v1/models/churn/feedback", method: .post, body: ByteBuffer(string: huge)).status == .contentTooLarge)
            let unknown = try await client.execute(uri: "/api/v1/models/ghost/feedback", method: .post, body: ByteBuffer(string: #"{"feedback":[{"entity_id":"a","label":1}]}"#))
            #expect(unknown.status == .notFound)
            let window = try await client.execute(uri: "/api/v1/models/churn/quality?window=forever", method: .get, headers: TestServer.bearer(s.keys.viewer))
            #expect(window.status == .badRequest)
        }
        await s.stop()
    }

    @Test(arguments: StoreKind.enabled) func driftIsMeasuredAgainstTheEvaluationReference(_ kind: StoreKind) async throws {
        let s = try await MonitoredServer.start(kind, evaluate: true)
        let viewer = TestServer.bearer(s.keys.viewer)
        let (records, _) = ChurnRows.load(try TestRegistry.churnHoldoutCSV())
        try await s.app.test(.router) { client in
            let reference = try Self.json(try await client.execute(uri: "/api/v1/models/churn/versions/1/reference", method: .get, headers: viewer))
            #expect(reference["rows"] == 2000 && reference["source"] == "evaluation" && reference["sampled"] == false)
            // Unshifted traffic: no dataset drift.
            for start in stride(from: 0, to: 1000, by: 250) {
                _ = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[start..<(start + 250)]))
            }
            await s.writer.flush()
            let calm = try Self.json(try await client.execute(uri: "/api/v1/models/churn/drift?window=1000", method: .get, headers: viewer))
            #expect(calm["dataset_drift"] == false, "\(calm["drifted_columns"] ?? .null)")
            #expect(calm["columns"]?.arrayValue?.count == 15 && calm["encoded_columns"]?.arrayValue?.count == 22)
            #expect(calm["prediction"]?["method"] != nil)
            // Older customers on month-to-month contracts, paying more: drift.
            let shifted = ChurnRows.shifted(records[1000..<1600])
            for start in stride(from: 0, to: 600, by: 200) {
                _ = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(shifted[start..<(start + 200)]))
            }
            await s.writer.flush()
            let drifted = try Self.json(try await client.execute(uri: "/api/v1/models/churn/drift?window=600", method: .get, headers: viewer))
            #expect(drifted["drifted_columns"]?.intValue ?? 0 >= 5)
            let names = Set((drifted["columns"]?.arrayValue ?? []).filter { $0["drifted"] == true }.compactMap { $0["name"]?.stringValue })
            #expect(names.isSuperset(of: ["age", "monthly_charges", "contract_type", "internet_service", "payment_method"]), "\(names)")
            #expect(drifted["prediction"]?["drifted"] == true)
            // PSI (or KL) on request, for every column.
            let psi = try Self.json(try await client.execute(uri: "/api/v1/models/churn/drift?window=600&method=psi", method: .get, headers: viewer))
            #expect((psi["columns"]?.arrayValue ?? []).allSatisfy { $0["method"] == "psi" && $0["threshold"] == 0.1 })
            #expect(try await client.execute(uri: "/api/v1/models/churn/drift?method=magic", method: .get, headers: viewer).status == .badRequest)
            // Too few rows: no verdict, a note.
            let tiny = try Self.json(try await client.execute(uri: "/api/v1/models/churn/drift?window=5", method: .get, headers: viewer))
            #expect(tiny["columns"]?.arrayValue?.first?["drifted"] == .null)
            #expect(tiny["columns"]?.arrayValue?.first?["note"]?.stringValue?.contains("not enough data") == true)
        }
        await s.stop()
    }

    @Test func aVersionParameterThatIsNoNameIsA400OnEveryMonitoringRead() async throws {
        let s = try await MonitoredServer.start(.sqlite)
        try await s.app.test(.router) { client in
            for path in ["predictions", "quality", "drift"] {
                for version in ["", "..", "a%2Fb", "%00", String(repeating: "9", count: 129)] {
                    let r = try await client.execute(
                        uri: "/api/v1/models/churn/\(path)?version=\(version)", method: .get, headers: TestServer.bearer(s.keys.viewer))
                    #expect(r.status == .badRequest, "\(path)?version=\(version)")
                    #expect(try Self.json(r)["error"]?.stringValue?.contains("version") == true, "\(path)?version=\(version)")
                }
            }
        }
    }

    @Test func aVersionWithoutAReferenceSaysHowToGetOne() async throws {
        let s = try await MonitoredServer.start(.sqlite)
        try await s.app.test(.router) { client in
            let r = try await client.execute(uri: "/api/v1/models/churn/drift?window=100", method: .get, headers: TestServer.bearer(s.keys.viewer))
            #expect(r.status == .notFound)
            #expect(try Self.json(r)["error"]?.stringValue?.contains("reference") == true)
            // Upload one from a data file (no labels needed).
            let csv = try TestRegistry.churnHoldoutCSV()
            let up = try await client.execute(uri: "/api/v1/models/churn/versions/1/reference", method: .post, headers: TestServer.bearer(s.keys.deployer, json: false), body: ByteBuffer(string: csv))
            #expect(up.status == .created)
            #expect(try Self.json(up)["source"] == "upload")
            let missing = try await client.execute(uri: "/api/v1/models/churn/versions/1/reference", method: .post, headers: TestServer.bearer(s.keys.deployer, json: false), body: ByteBuffer(string: "age,gender\n40,Male\n"))
            #expect(missing.status == .badRequest)
            #expect(try Self.json(missing)["error"]?.stringValue?.contains("no column") == true)
        }
        await s.stop()
    }

    @Test func theControllerStoresResultsRaisesEventsAndSetsGauges() async throws {
        let config = try TestRegistry.churnConfigYAML() + "\nmonitoring:\n  drift:\n    window: 500\n  quality:\n    floors: {accuracy: 0.99}\n"
        let s = try await MonitoredServer.start(.sqlite, evaluate: true, config: config)
        let (records, labels) = ChurnRows.load(try TestRegistry.churnHoldoutCSV())
        let controller = MonitoringController(service: s.service, interval: .seconds(3600), retention: RetentionPolicy(maxAge: nil, maxRows: nil))
        try await s.app.test(.router) { client in
            let shifted: [[String: JSONValue]] = records[0..<500].map { r in
                var r = r
                r["age"] = .number((r["age"]?.doubleValue ?? 40) + 20)
                r["contract_type"] = "month-to-month"
                r["internet_service"] = "Fiber optic"
                r["payment_method"] = "electronic check"
                r["monthly_charges"] = .number((r["monthly_charges"]?.doubleValue ?? 50) * 2)
                r["tenure_months"] = .number(((r["tenure_months"]?.doubleValue ?? 10) * 0.2).rounded())
                r["total_charges"] = .number((r["total_charges"]?.doubleValue ?? 100) * 3)
                r["tech_support"] = "Yes"
                r["paperless_billing"] = "No"
                r["streaming_tv"] = "Yes"
                r["gender"] = "Female"
                return r
            }
            _ = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(shifted[0..<500]))
            await s.writer.flush()
            let items: [JSONValue] = (0..<500).map { .object(["entity_id": records[$0]["customer_id"]!, "label": .string(labels[$0])]) }
            _ = try await client.execute(uri: "/api/v1/models/churn/feedback", method: .post, body: ByteBuffer(string: Self.text(.object(["feedback": .array(items)]))))
            await controller.tick()
            let events = try Self.json(try await client.execute(uri: "/api/v1/events?model=churn", method: .get, headers: TestServer.bearer(s.keys.viewer)))
            let kinds = Set((events["events"]?.arrayValue ?? []).compactMap { $0["kind"]?.stringValue })
            #expect(kinds.isSuperset(of: ["drift_started", "quality_below_floor"]), "\(kinds)")
            // The stored result answers without a window.
            let stored = try Self.json(try await client.execute(uri: "/api/v1/models/churn/drift", method: .get, headers: TestServer.bearer(s.keys.viewer)))
            #expect(stored["dataset_drift"] == true && stored["window"] == "500")
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("keel_drift_share{"), "no drift gauge")
            #expect(metrics.contains("keel_quality{"), "no quality gauge")
            #expect(metrics.contains("keel_prediction_log_written_total") || true)
            // A second round with no change raises nothing new.
            await controller.tick()
            let again = try Self.json(try await client.execute(uri: "/api/v1/events?model=churn", method: .get, headers: TestServer.bearer(s.keys.viewer)))
            #expect(again["events"]?.arrayValue?.count == events["events"]?.arrayValue?.count)
        }
        await s.stop()
    }

    @Test(.enabled(if: StoreKind.enabled.contains(.postgres))) func replicasOnOnePostgresDatabaseShareTheLogAndOneRunsTheController() async throws {
        let database = TestDatabase.fresh(.postgres)
        let artifacts = TestStores.temporaryDirectory()
        let config = try TestRegistry.churnConfigYAML() + "\nmonitoring:\n  quality:\n    floors: {accuracy: 0.999}\n"
        let a = try await MonitoredServer.start(.postgres, evaluate: true, config: config, database: database, artifacts: artifacts)
        let b = try await MonitoredServer.start(.postgres, database: database, artifacts: artifacts, register: false)
        let (records, labels) = ChurnRows.load(try TestRegistry.churnHoldoutCSV())
        try await a.app.test(.router) { client in
            _ = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[0..<300]))
        }
        try await b.app.test(.router) { client in
            _ = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[300..<600]))
        }
        await a.writer.flush()
        await b.writer.flush()
        // Labels for both replicas' predictions, sent to one of them.
        let items: [JSONValue] = (0..<600).map { .object(["entity_id": records[$0]["customer_id"]!, "label": .string(labels[$0])]) }
        try await b.app.test(.router) { client in
            let sent = try Self.json(try await client.execute(uri: "/api/v1/models/churn/feedback", method: .post, body: ByteBuffer(string: Self.text(.object(["feedback": .array(items)])))))
            #expect(sent["matched"] == 600)
        }
        let quality = try await a.service.quality("churn", version: nil, window: .rows(10_000))
        #expect(quality.labelled == 600)
        let drift = try #require(try await b.service.drift("churn", version: nil, window: .rows(10_000)))
        #expect(drift.report.columns.first?.currentRows == 600)
        // Both replicas run a monitoring round at once: one holds the lease and raises the event once.
        let ca = MonitoringController(service: a.service, interval: .seconds(3600), holder: "replica-a")
        let cb = MonitoringController(service: b.service, interval: .seconds(3600), holder: "replica-b")
        async let ra: Void = ca.tick()
        async let rb: Void = cb.tick()
        _ = await (ra, rb)
        await ca.tick()
        await cb.tick()
        let events = try await a.registry.store.read { db throws(KeelError) in try await db.monitoringEvents(model: "churn", since: nil, limit: 100) }
        #expect(events.filter { $0.kind == MonitoringEventKind.qualityBelowFloor.rawValue }.count == 1, "\(events.map(\.kind))")
        let holder = try await a.registry.store.read { db throws(KeelError) in try await db.lease(named: "monitoring") }
        #expect(["replica-a", "replica-b"].contains(holder?.holder ?? ""))
        await a.stop()
        await b.stop()
    }

    @Test func aFullLogQueueDropsAndCountsInsteadOfWaiting() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        let writer = PredictionLogWriter(store: registry.store, capacity: 3)
        let profile = OutputProfile(task: .regression, prediction: "y")
        func event(_ rows: Int) -> PredictionEvent {
            PredictionEvent(
                model: "m", version: "1", requestID: "r", inputs: [:],
                outputs: ["y": Tensor(unchecked: [rows], data: .fp32(Array(repeating: 1, count: rows)))], latencyMs: 1, profile: profile)
        }
        #expect(writer.submit(event(2)))
        #expect(!writer.submit(event(2)))
        #expect(writer.submit(event(1)))
        #expect(writer.counts.dropped == 2)
        let task = Task { await writer.run() }
        await writer.flush()
        #expect(writer.counts.written == 3)
        task.cancel()
        _ = await task.value
    }

    static func text(_ v: JSONValue) -> String {
        var w = JSONWriter()
        w.value(v)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
