import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelJobs
import KeelRegistry
import KeelServer
import KeelServing
import KeelTestSupport
import Logging
import Testing

@testable import keel

/// `keel batch` against a live in-process server with a running job worker, and offline.
@Suite struct BatchCommandTests {
    @Test func submitWaitDownloadStatusListAndAFailingJob() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        let admin = try #require(try await registry.keys.bootstrapAdmin(environmentKey: nil))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let models = TestRegistry.root.appendingPathComponent("models")
        let manager = ModelManager(repository: ModelRepository(directory: models), metrics: ServingMetrics(), logger: logger)
        await manager.loadAll()
        var configuration = ServerConfiguration()
        configuration.dataDirectory = TestStores.temporaryDirectory()
        let jobs = try JobsRuntime(
            registry: registry, manager: manager, follower: nil, monitoring: nil, configuration: configuration, logger: logger, poll: .milliseconds(50))
        let app = Application(
            router: KeelApplication.build(manager: manager, configuration: configuration, registry: registry, jobs: jobs).router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        let worker = Task { await jobs.worker.run() }
        defer { worker.cancel() }
        let local = TestStores.temporaryDirectory().path
        let input = local + "/customers.csv"
        try TestRegistry.churnHoldoutCSV().write(toFile: input, atomically: true, encoding: .utf8)
        try await app.test(.live) { client in
            let common = ["--server", "http://127.0.0.1:\(client.port!)", "--api-key", admin]
            try await CLIClientTests.run(["batch", "submit", "churn", "--input", input, "--output", local + "/scores.csv.gz", "--passthrough", "churn",
                                          "--chunk-rows", "400", "--wait"] + common)
            let out = try BatchFile(path: local + "/scores.csv.gz")
            let plan = try ChunkPlanner.plan(out, chunkRows: 100_000)
            #expect(plan.header == ["customer_id", "probability", "label", "risk_band", "churn"])
            #expect(plan.totalRows == 2000)
            try await CLIClientTests.run(["batch", "status", "1", "--json"] + common)
            try await CLIClientTests.run(["batch", "list"] + common)
            try await CLIClientTests.run(["batch", "download", "1", "--output", local + "/again.csv.gz"] + common)
            #expect(FileManager.default.contentsEqual(atPath: local + "/again.csv.gz", andPath: local + "/scores.csv.gz"))
            // Every row bad: the job fails and --wait exits 1; its errors file comes down too.
            let bad = local + "/bad.csv"
            try "customer_id,age\nA,x\nB,y\n".write(toFile: bad, atomically: true, encoding: .utf8)
            await #expect(throws: ExitCode.self) {
                try await CLIClientTests.run(["batch", "submit", "churn", "--input", bad, "--output", local + "/bad-scores.csv", "--wait"] + common)
            }
            let failed = try await jobs.queue.status(2)
            #expect(failed.state == .failed && failed.errors == 2)
            // A server path outside the allowed folders is refused by the server.
            await #expect(throws: (any Error).self) {
                try await CLIClientTests.run(["batch", "submit", "churn", "--server-path", "--input", input] + common)
            }
        }
    }

    @Test func anOfflineRunScoresAFileWithNoServer() async throws {
        let dir = TestStores.temporaryDirectory().path
        let input = dir + "/customers.csv"
        try TestRegistry.churnHoldoutCSV().write(toFile: input, atomically: true, encoding: .utf8)
        let model = TestRegistry.churnFolder.appendingPathComponent("1/model.json").path
        try await CLIClientTests.run(["batch", "run", "--model", model, "--input", input, "--output", dir + "/scores.jsonl", "--chunk-rows", "333", "--threads", "2"])
        let lines = try String(contentsOfFile: dir + "/scores.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2000)
        #expect(lines[0].hasPrefix(#"{"customer_id":"C-008001","probability":"#))
        await #expect(throws: (any Error).self) {
            try await CLIClientTests.run(["batch", "run", "--model", model, "--input", dir + "/none.csv", "--output", dir + "/x.csv"])
        }
    }
}
