import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

/// The monitoring tables behave the same on SQLite and PostgreSQL: the log pages newest
/// first, a label joins the latest prediction at or before its time and replaces an earlier
/// one, retention prunes by age and rows, and a lease has exactly one holder at a time.
@Suite struct MonitoringStoreTests {
    static func prediction(_ entity: String, at: Double, version: String = "1", score: Double = 0.5) -> PredictionLogRecord {
        PredictionLogRecord(
            at: Date(timeIntervalSince1970: at), model: "churn", version: version, arm: "stable", requestID: "r", entityID: entity,
            record: #"{"age":1}"#, outputs: #"{"label":"stay"}"#, score: score, label: "stay", latencyMs: 0.5)
    }

    @Test(arguments: StoreKind.enabled) func theLogPagesNewestFirstAndFilters(_ kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        let rows = (0..<150).map { Self.prediction("e\($0 % 10)", at: Double(1000 + $0), version: $0 < 100 ? "1" : "2") }
        try await store.write { tx throws(KeelError) in try await tx.appendPredictions(rows) }
        let newest = try await store.read { db throws(KeelError) in try await db.predictions(PredictionQuery(model: "churn", limit: 5)) }
        #expect(newest.map(\.at.timeIntervalSince1970) == [1149, 1148, 1147, 1146, 1145])
        let older = try await store.read { db throws(KeelError) in
            try await db.predictions(PredictionQuery(model: "churn", beforeID: newest.last?.id, limit: 3))
        }
        #expect(older.map(\.at.timeIntervalSince1970) == [1144, 1143, 1142])
        let v1 = try await store.read { db throws(KeelError) in try await db.predictions(PredictionQuery(model: "churn", version: "1", entityID: "e3", limit: 100)) }
        #expect(v1.count == 10 && v1.allSatisfy { $0.version == "1" && $0.entityID == "e3" })
        let signals = try await store.read { db throws(KeelError) in try await db.predictionSignals(model: "churn", version: "2", since: nil, beforeID: nil, limit: 1000) }
        #expect(signals.count == 50)
    }

    /// Paging a version's signals gives exactly its rows, newest first, with `since` applied,
    /// whether the version holds most of the log (SQLite walks the table in id order) or a
    /// small share of it (read through the index).
    @Test(arguments: StoreKind.enabled) func signalsPageExactlyOverMixedVersions(_ kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        // Version "a" holds 9 rows in 10, "b" one in 10, then a stretch of "b" alone.
        let versions = (0..<400).map { $0 < 300 ? ($0 % 10 == 3 ? "b" : "a") : "b" }
        let rows = versions.enumerated().map { Self.prediction("e\($0.offset)", at: Double(1000 + $0.offset), version: $0.element, score: Double($0.offset)) }
        try await store.write { tx throws(KeelError) in try await tx.appendPredictions(rows) }
        for version in ["a", "b"] {
            for since in [nil, 1150.0] {
                for pageSize in [7, 40, 1000] {
                    var got: [Double] = []
                    var before: Int64?
                    while true {
                        let page = try await store.read { db throws(KeelError) in
                            try await db.predictionSignals(
                                model: "churn", version: version, since: since.map { Date(timeIntervalSince1970: $0) }, beforeID: before, limit: pageSize)
                        }
                        #expect(page.count <= pageSize)
                        got += page.compactMap(\.score)
                        guard page.count == pageSize, let last = page.last else { break }
                        before = last.id
                    }
                    let want = versions.enumerated().filter { $0.element == version && Double(1000 + $0.offset) >= (since ?? 0) }.map { Double($0.offset) }.reversed()
                    #expect(got == Array(want), "version \(version) since \(since.map { "\($0)" } ?? "-") page \(pageSize)")
                }
            }
        }
    }

    @Test(arguments: StoreKind.enabled) func feedbackJoinsAndReplaces(_ kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        try await store.write { tx throws(KeelError) in
            try await tx.appendPredictions([Self.prediction("A", at: 100, score: 0.1), Self.prediction("A", at: 200, score: 0.9)])
        }
        let early = try await store.read { db throws(KeelError) in try await db.latestPrediction(model: "churn", entityID: "A", atOrBefore: Date(timeIntervalSince1970: 150)) }
        #expect(early?.score == 0.1)
        let none = try await store.read { db throws(KeelError) in try await db.latestPrediction(model: "churn", entityID: "A", atOrBefore: Date(timeIntervalSince1970: 50)) }
        #expect(none == nil)
        let p = try #require(early)
        func label(_ text: String) -> FeedbackRecord {
            FeedbackRecord(
                predictionID: p.id, model: "churn", version: "1", arm: "stable", entityID: "A", predictedAt: p.at, score: p.score,
                predictedLabel: p.label, outputs: p.outputs, label: text, labelValue: nil, labelAt: Date(timeIntervalSince1970: 150), receivedAt: Date())
        }
        try await store.write { tx throws(KeelError) in try await tx.saveFeedback([label("stay"), label("churn")]) }
        try await store.write { tx throws(KeelError) in try await tx.saveFeedback([label("churn")]) }
        let labelled = try await store.read { db throws(KeelError) in
            try await db.labelledPredictions(model: "churn", version: "1", since: nil, beforeID: nil, limit: 10, withOutputs: true)
        }
        #expect(labelled.map(\.label) == ["churn"])
        #expect(labelled.first?.outputs == #"{"label":"stay"}"#)
    }

    @Test(arguments: StoreKind.enabled) func retentionPrunesByAgeAndRows(_ kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        try await store.write { tx throws(KeelError) in try await tx.appendPredictions((0..<100).map { Self.prediction("e", at: Double($0)) }) }
        let byAge = try await store.write { tx throws(KeelError) in try await tx.pruneMonitoring(olderThan: Date(timeIntervalSince1970: 30), keepNewest: nil) }
        #expect(byAge == 30)
        let byRows = try await store.write { tx throws(KeelError) in try await tx.pruneMonitoring(olderThan: nil, keepNewest: 20) }
        #expect(byRows == 50)
        let left = try await store.read { db throws(KeelError) in try await db.predictions(PredictionQuery(model: "churn", limit: 1000)) }
        #expect(left.count == 20 && left.last?.at.timeIntervalSince1970 == 80)
    }

    @Test(arguments: StoreKind.enabled) func aLeaseHasOneHolderUntilItExpires(_ kind: StoreKind) async throws {
        let database = TestDatabase.fresh(kind)
        let a = try await database.open(), b = try await database.open()
        let now = Date(timeIntervalSince1970: 1_000_000)
        func take(_ store: any Store, _ who: String, at t: Date) async throws -> Bool {
            try await store.write { tx throws(KeelError) in try await tx.acquireLease(named: "monitoring", holder: who, until: t.addingTimeInterval(10), now: t) }
        }
        #expect(try await take(a, "a", at: now))
        #expect(try await !take(b, "b", at: now.addingTimeInterval(5)))
        #expect(try await take(a, "a", at: now.addingTimeInterval(6)))  // renewal
        #expect(try await !take(b, "b", at: now.addingTimeInterval(12)))
        #expect(try await take(b, "b", at: now.addingTimeInterval(17)))  // a's lease ran out
        // Racing for a free lease: exactly one wins.
        try await b.write { tx throws(KeelError) in try await tx.releaseLease(named: "monitoring", holder: "b") }
        let t = now.addingTimeInterval(100)
        async let first = take(a, "a", at: t)
        async let second = take(b, "b", at: t)
        let (x, y) = try await (first, second)
        #expect(x != y)
        await a.close()
        await b.close()
    }

    @Test(arguments: StoreKind.enabled) func resultsAndEventsRoundTrip(_ kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        let r = MonitoringResultRecord(model: "churn", version: "1", kind: "drift", computedAt: Date(), window: "500", report: "{}")
        try await store.write { tx throws(KeelError) in
            try await tx.saveMonitoringResult(r)
            var again = r
            again.report = #"{"x":1}"#
            try await tx.saveMonitoringResult(again)
            _ = try await tx.appendMonitoringEvent(MonitoringEventRecord(model: "churn", version: "1", kind: "drift_started", severity: "warning", message: "m"))
        }
        let stored = try await store.read { db throws(KeelError) in try await db.monitoringResult(model: "churn", version: "1", kind: "drift") }
        #expect(stored?.report == #"{"x":1}"#)
        let events = try await store.read { db throws(KeelError) in try await db.monitoringEvents(model: "churn", since: nil, limit: 10) }
        #expect(events.map(\.kind) == ["drift_started"])
    }
}
