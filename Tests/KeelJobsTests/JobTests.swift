import Foundation
import KeelCore
import KeelJobs
import KeelRegistry
import KeelRegistry
import KeelServing
import KeelStore
import KeelTestSupport
import Synchronization
import Testing

/// Batch jobs end to end on each store: chunking, commits, errors, priorities, cancel and
/// retry, leases, replicas, path confinement and compressed files.
@Suite struct JobTests {
    /// The records API's answer for the holdout: customer id → probability text.
    static func expected(_ f: JobFixture) async throws -> [String: Float] {
        let table = try CSVTable.parse(try TestRegistry.churnHoldoutCSV())
        let served = try #require(f.manager.served("churn", version: "1"))
        let schema = try #require(served.config.featureSchema)
        let records = ModelEvaluator.records(table, schema: schema)
        let outputs = try await served.infer(try schema.encode(records))
        let scored = try RecordPredictor.ScoredRows(served, rows: records.count, outputs: outputs)
        let id = try #require(table.column("customer_id"))
        var out: [String: Float] = [:]
        for (i, row) in table.rows.enumerated() { out[row[id]] = scored.probability(i) }
        return out
    }

    @Test(arguments: StoreKind.enabled)
    func aJobScoresEveryRowOnceInInputOrderAsTheRecordsAPIDoes(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind)
        let input = try f.holdout()
        let submitted = try await f.submit(input, chunkRows: 300, passthrough: ["churn"])
        #expect(submitted.state == .queued)
        #expect(submitted.version == "1")
        await f.worker.drain()
        let status = try await f.queue.status(submitted.id)
        #expect(status.state == .done)
        #expect(status.rowsDone == 2000 && status.rowsTotal == 2000 && status.errors == 0)
        #expect(status.chunksTotal == 7 && status.chunksDone == 7)
        let text = try String(contentsOfFile: status.output, encoding: .utf8)
        #expect(text.hasPrefix("customer_id,probability,label,risk_band,churn\n"))
        let lines = try JobFixture.lines(status.output)
        #expect(lines.count == 2000)
        let expected = try await Self.expected(f)
        let table = try CSVTable.parse(try TestRegistry.churnHoldoutCSV())
        for (i, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(cells[0] == table.rows[i][0], "row \(i) out of order")
            #expect(Float(cells[1]) == expected[cells[0]], "row \(i)")
            #expect(cells[4] == table.rows[i][16])
        }
        #expect(!FileManager.default.fileExists(atPath: status.errorsOutput))
        #expect(!FileManager.default.fileExists(atPath: f.queue.folder(of: submitted.id)), "part files are removed")
    }

    @Test(arguments: StoreKind.enabled)
    func rowsThatCannotBeScoredGoToTheErrorsFileAndTheJobGoesOn(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind)
        let input = try f.holdout(replacing: [
            5: "C-bad1,abc,Male,72665.6,21,18.0,376.35,Yes,No,No,No,No,No,month-to-month,Yes,electronic check,0",
            700: "C-bad2,46,Robot,72665.6,21,18.0,376.35,Yes,No,No,No,No,No,month-to-month,Yes,electronic check,0",
            1500: "C-bad3,46,Male",
        ])
        let job = try await f.submit(input, chunkRows: 500, maxErrorRate: 0.01)
        await f.worker.drain()
        let status = try await f.queue.status(job.id)
        #expect(status.state == .done)
        #expect(status.rowsDone == 2000 && status.errors == 3)
        #expect(try JobFixture.lines(status.output).count == 1997)
        let errors = try JobFixture.lines(status.errorsOutput)
        #expect(errors.count == 3)
        #expect(errors[0].hasPrefix("5,") && errors[0].contains("age") && errors[0].contains("must be a number"))
        #expect(errors[1].hasPrefix("700,") && errors[1].contains("Robot"))
        #expect(errors[2].hasPrefix("1500,") && errors[2].contains("fields"))
    }

    @Test(arguments: StoreKind.enabled)
    func tooManyBadRowsFailTheJobWithTheReason(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind)
        var bad: [Int: String] = [:]
        for line in stride(from: 2, through: 2001, by: 20) { bad[line] = "C-x,not-a-number,Male,1,1,1,1,Yes,No,No,No,No,No,month-to-month,Yes,electronic check,0" }
        let input = try f.holdout(replacing: bad)
        let job = try await f.submit(input, chunkRows: 1000)
        await f.worker.drain()
        let status = try await f.queue.status(job.id)
        #expect(status.state == .failed)
        #expect(status.reason?.contains("more than the max error rate of 1%") == true)
        #expect(status.reason?.contains(status.errorsOutput) == true)
        #expect(try JobFixture.lines(status.errorsOutput).count == 50, "the first chunk's 50 errors are written")
        // A higher limit lets a retry finish from where it stopped.
        let retried = try await f.queue.retry(job.id, actor: .test, maxErrorRate: 0.2)
        #expect(retried.state == .running)
        await f.worker.drain()
        let done = try await f.queue.status(job.id)
        #expect(done.state == .done)
        #expect(done.rowsDone == 2000 && done.errors == 100)
        #expect(try JobFixture.lines(done.output).count == 1900)
    }

    @Test(arguments: StoreKind.enabled)
    func higherPriorityJobsRunFirst(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind)
        let input = try f.holdout()
        let low = try await f.submit(input, chunkRows: 1000, priority: .low)
        let normal = try await f.submit(input, chunkRows: 1000, priority: .normal)
        let high = try await f.submit(input, chunkRows: 1000, priority: .high)
        var finished: [Int64] = []
        while await f.worker.step() {
            for id in [low.id, normal.id, high.id] where !finished.contains(id) {
                if try await f.queue.status(id).state == .done { finished.append(id) }
            }
        }
        #expect(finished == [high.id, normal.id, low.id])
    }

    @Test(arguments: StoreKind.enabled)
    func aCancelledJobStopsAndARetryCarriesOnWithoutRescoringCommittedChunks(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind)
        let job = try await f.submit(try f.holdout(), chunkRows: 300)
        #expect(await f.worker.step())  // plan
        #expect(await f.worker.step())  // chunk 0
        #expect(await f.worker.step())  // chunk 1
        let cancelled = try await f.queue.cancel(job.id, actor: .test)
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.rowsDone == 600)
        #expect(await f.worker.step() == false, "a cancelled job's chunks are not taken")
        await #expect(throws: KeelError.self) { _ = try await f.queue.cancel(job.id, actor: .test) }
        _ = try await f.queue.retry(job.id, actor: .test)
        await f.worker.drain()
        let done = try await f.queue.status(job.id)
        #expect(done.state == .done && done.rowsDone == 2000)
        let ids = try JobFixture.lines(done.output).map { $0.split(separator: ",")[0] }
        #expect(ids.count == 2000 && Set(ids).count == 2000)
        let audit = try await f.store.read { snap throws(KeelError) in try await snap.auditEvents(target: "job/\(job.id)", limit: 10) }
        #expect(Set(audit.map(\.action)) == ["job.submit", "job.cancel", "job.retry"])
    }

    @Test(arguments: StoreKind.enabled)
    func aChunkWhoseReplicaDiedIsTakenAgainAfterItsLeaseAndTheDeadAttemptCannotCommit(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind, holder: "a", lease: 1)
        let (queueB, workerB) = try f.replica("b", lease: 1)
        let job = try await f.submit(try f.holdout(), chunkRows: 1000)
        #expect(await workerB.step())  // plan
        // Replica b takes chunk 0 and "dies" holding it.
        let claimDead = try await queueB.store.write { tx throws(KeelError) in
            try await tx.claimChunk(holder: "b", until: Date().addingTimeInterval(1), now: Date())
        }
        let dead = try #require(claimDead)
        #expect(dead.index == 0 && dead.attempt == 1)
        // Replica a scores chunk 1 at once, and chunk 0 only once b's lease has expired.
        #expect(await f.worker.step())
        #expect(try await f.queue.status(job.id).chunksDone == 1)
        try await Task.sleep(for: .milliseconds(1200))
        await f.worker.drain()
        let done = try await f.queue.status(job.id)
        #expect(done.state == .done && done.rowsDone == 2000)
        let chunks = try await f.store.read { snap throws(KeelError) in try await snap.chunks(jobID: job.id) }
        #expect(chunks[0].attempt == 2)
        let ids = try JobFixture.lines(done.output).map { $0.split(separator: ",")[0] }
        #expect(ids.count == 2000 && Set(ids).count == 2000)
    }

    @Test(arguments: StoreKind.enabled)
    func twoReplicasShareOneJobAndScoreEveryRowExactlyOnce(kind: StoreKind) async throws {
        let f = try await JobFixture.make(kind, holder: "a")
        let (_, workerB) = try f.replica("b")
        // 20 000 rows in chunks of 500: the two replicas race for 40 chunks.
        var lines = [try TestRegistry.churnHoldoutCSV().split(separator: "\n")[0]]
        let body = try TestRegistry.churnHoldoutCSV().split(separator: "\n").dropFirst()
        for copy in 0..<10 {
            for row in body { lines.append(Substring("X\(copy)-" + row)) }
        }
        let input = f.data + "/many.csv"
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let job = try await f.submit(input, chunkRows: 500)
        async let a: Void = f.worker.drain()
        async let b: Void = workerB.drain()
        _ = await (a, b)
        await f.worker.drain()
        let done = try await f.queue.status(job.id)
        #expect(done.state == .done && done.rowsDone == 20_000 && done.chunksDone == 40)
        let ids = try JobFixture.lines(done.output).map { String($0.split(separator: ",")[0]) }
        #expect(ids.count == 20_000 && Set(ids).count == 20_000)
        #expect(ids == lines.dropFirst().map { String($0.split(separator: ",")[0]) }, "in input order")
    }

    @Test func inputsAndOutputsAreConfinedToTheAllowedFolders() async throws {
        let outside = TestStores.temporaryDirectory().path
        let allowed = TestStores.temporaryDirectory().path
        let f = try await JobFixture.make(.sqlite, allowed: [allowed])
        let inside = try f.holdout()
        try FileManager.default.copyItem(atPath: inside, toPath: outside + "/customers.csv")
        try FileManager.default.copyItem(atPath: inside, toPath: allowed + "/customers.csv")
        func refused(_ input: String, output: String? = nil) async -> KeelError? {
            await #expect(throws: KeelError.self) { _ = try await f.submit(input, output: output) }
        }
        #expect(await refused(outside + "/customers.csv")?.code == .forbidden)
        #expect(await refused(f.data + "/../" + URL(fileURLWithPath: outside).lastPathComponent + "/customers.csv")?.code == .forbidden)
        try FileManager.default.createSymbolicLink(atPath: f.data + "/link.csv", withDestinationPath: outside + "/customers.csv")
        #expect(await refused(f.data + "/link.csv")?.code == .forbidden)
        #expect(await refused(inside, output: outside + "/scores.csv")?.code == .forbidden)
        #expect(await refused(f.data + "/missing.csv")?.code == .notFound)
        #expect(await refused(f.data + "/customers.txt")?.code != nil)
        // An allowed folder besides the data folder works for both.
        let ok = try await f.submit(allowed + "/customers.csv", output: allowed + "/scores.csv")
        await f.worker.drain()
        #expect(try await f.queue.status(ok.id).state == .done)
        #expect(try JobFixture.lines(allowed + "/scores.csv").count == 2000)
        let none = try await f.store.read { snap throws(KeelError) in try await snap.jobs(model: nil, states: nil, limit: 10) }
        #expect(none.count == 1, "refused submissions leave nothing behind")
    }

    @Test func compressedInputAndJSONLinesOutputRoundTrip() async throws {
        let f = try await JobFixture.make(.sqlite)
        let plain = try f.holdout()
        let gz = f.data + "/customers.csv.gz"
        let sink = try FileSink(path: gz, gzip: true)
        sink.write(Array(try String(contentsOfFile: plain, encoding: .utf8).utf8))
        try sink.finish()
        let job = try await f.submit(gz, output: f.data + "/scores.jsonl.gz", chunkRows: 700, passthrough: ["gender"])
        await f.worker.drain()
        let status = try await f.queue.status(job.id)
        #expect(status.state == .done && status.rowsDone == 2000 && status.chunksTotal == 3)
        let out = try BatchFile(path: status.output)
        #expect(out.gzip && out.format == .jsonl)
        let plan = try ChunkPlanner.plan(out, chunkRows: 10_000)
        #expect(plan.totalRows == 2000)
        let reader = try ChunkReader(out, header: nil, chunk: plan.chunks[0])
        let rows = try reader.next(max: 5000)
        #expect(rows.count == 2000)
        let expected = try await Self.expected(f)
        for row in rows {
            guard case .json(let o) = row.values, let id = o["customer_id"]?.stringValue, let p = o["probability"]?.doubleValue else {
                Issue.record("not a prediction: \(row)")
                continue
            }
            #expect(Float(p) == expected[id])
            #expect(o["gender"]?.stringValue == "Male" || o["gender"]?.stringValue == "Female")
            #expect(o["label"]?.stringValue != nil && o["risk_band"]?.stringValue != nil)
        }
    }

    @Test func aJobKeepsTheVersionResolvedAtSubmitWhenProductionMoves() async throws {
        let f = try await JobFixture.make(.sqlite)
        let asked = AskedVersions()
        let worker = JobWorker(queue: f.queue, service: InferenceService(manager: f.manager), versions: { [manager = f.manager] model, version throws(KeelError) in
            asked.add(version)
            guard let served = manager.served(model, version: version) else { throw KeelError(.unavailable, "no \(model) v\(version)") }
            return served
        })
        let job = try await f.submit(try f.holdout(), chunkRows: 500)
        #expect(await worker.step())
        #expect(await worker.step())
        // Version 2 becomes the default mid-job.
        let v1 = try #require(f.manager.served("churn", version: "1"))
        let v2 = try await f.manager.prepare(name: "churn", version: "2", model: v1.model, config: v1.config)
        f.manager.install(name: "churn", versions: [v1, v2], aliases: [:], defaultVersion: "2")
        #expect(try f.manager.resolve("churn").version == "2")
        await worker.drain()
        #expect(try await f.queue.status(job.id).state == .done)
        #expect(asked.all == Set(["1"]))
    }
}

final class AskedVersions: Sendable {
    private let seen = Mutex<Set<String>>([])
    func add(_ v: String) { seen.withLock { _ = $0.insert(v) } }
    var all: Set<String> { seen.withLock { $0 } }
}
