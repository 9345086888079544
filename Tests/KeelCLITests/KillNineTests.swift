import ArgumentParser
import Foundation
import KeelCore
import KeelTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import keel

/// A real `keel serve` process killed with SIGKILL in the middle of a canary: a new process on
/// the same data folder resumes the rollout at its stored step and finishes it.
@Suite(.serialized) struct KillNineTests {
    /// The `keel` executable `swift build --build-tests` put beside the test bundle.
    static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("keel"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("keel"),
            TestRegistry.root.appendingPathComponent(".build/debug/keel"),
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw TestFailure("no built keel executable next to the tests (\(candidates.map(\.path)))")
        }
        return found
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static let adminKey = "kill-nine-admin-key-0123456789abcdef0123"

    static func serve(_ port: Int, repo: URL, data: URL, log: URL) throws -> Process {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = ["serve", "--host", "127.0.0.1", "--port", String(port), "--model-repository", repo.path, "--data-dir", data.path]
        var env = ProcessInfo.processInfo.environment
        env["KEEL_ADMIN_KEY"] = adminKey
        p.environment = env
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    static func request(_ port: Int, _ method: String, _ path: String, body: Data? = nil) async throws -> (Int, JSONValue) {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = method
        r.setValue("Bearer \(adminKey)", forHTTPHeaderField: "Authorization")
        r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        r.httpBody = body
        r.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: r)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let doc = (try? JSONParser.parse([UInt8](data), errorCode: .invalidInput)) ?? .null
        return (status, doc)
    }

    /// Polls until `ok` holds (or fails after `seconds`).
    static func waitFor(_ what: String, seconds: Double = 60, _ ok: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await ok() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    static func freePort() -> Int {
        Int.random(in: 30_000...60_000)
    }

    @Test func aRolloutResumesAtItsStepAfterTheServerIsKilledWithSIGKILL() async throws {
        let tmp = TestStores.temporaryDirectory()
        let repo = tmp.appendingPathComponent("repo"), data = tmp.appendingPathComponent("data"), log = tmp.appendingPathComponent("keel.log")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        let port = Self.freePort()
        var server = try Self.serve(port, repo: repo, data: data, log: log)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await Self.waitFor("the server to start") { (try? await Self.request(port, "GET", "/v2/health/live").0) == 200 }
        let common = ["--server", "http://127.0.0.1:\(port)", "--api-key", Self.adminKey]
        let model = TestRegistry.churnFolder.appendingPathComponent("1/model.json").path
        let schema = TestRegistry.churnFolder.appendingPathComponent("config.yaml").path
        for _ in 0..<2 { try await CLIClientTests.run(["models", "register", "churn", model, "--schema", schema] + common) }
        try await CLIClientTests.run(["models", "promote", "churn", "1"] + common)
        try await Self.waitFor("churn to be ready") { (try? await Self.request(port, "GET", "/v2/models/churn/ready").0) == 200 }
        try await CLIClientTests.run([
            "rollout", "start", "churn", "2", "--steps", "20,60,100", "--interval", "2s", "--check", "p95_latency_ms < 60000", "--min-samples", "5",
        ] + common)
        // The sample records with new customer ids on every request, so both versions get customers.
        let sample = try JSONParser.parse([UInt8](Data(contentsOf: TestRegistry.churnFolder.appendingPathComponent("sample_records.json"))), errorCode: .invalidInput)
        guard case .array(let instances)? = sample["instances"] else { throw TestFailure("sample_records.json has no instances") }
        var sent = 0
        func body() -> Data {
            sent += 1
            var w = JSONWriter()
            w.value(.object(["instances": .array(instances.enumerated().map { i, r in
                guard case .object(var o) = r else { return r }
                o["customer_id"] = .string("K-\(sent)-\(i)")
                return .object(o)
            })]))
            return Data(w.bytes)
        }
        func traffic() async throws {
            for _ in 0..<10 { #expect(try await Self.request(port, "POST", "/v1/models/churn:predict", body: body()).0 == 200) }
        }
        func rollout() async -> JSONValue { (try? await Self.request(port, "GET", "/api/v1/models/churn/rollouts/current").1) ?? .null }
        try await Self.waitFor("the second step") {
            try? await traffic()
            return await rollout()["weight"] == 60
        }
        // SIGKILL: no shutdown, no lease release, whatever was in flight is lost.
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        #expect(server.terminationReason == .uncaughtSignal)
        server = try Self.serve(port, repo: repo, data: data, log: log)
        // Ready (both versions loaded from the registry) before traffic, as a readiness probe would gate it.
        try await Self.waitFor("the restarted server") { (try? await Self.request(port, "GET", "/v2/models/churn/versions/candidate/ready").0) == 200 }
        let resumed = await rollout()
        #expect(resumed["state"] == "running" && resumed["weight"] == 60, "resumed at its stored step: \(resumed)")
        // The new process takes the controller's lease once the dead one's lapses, and finishes.
        try await Self.waitFor("the promotion", seconds: 90) {
            try? await traffic()
            return await rollout()["state"] == "promoted"
        }
        let aliases = try await Self.request(port, "GET", "/api/v1/models/churn").1
        #expect("\(aliases)".contains("production"), "\(aliases)")
        // Within a follower poll the promoted version serves everything.
        try await Self.waitFor("v2 to serve production", seconds: 10) {
            (try? await Self.request(port, "POST", "/v1/models/churn:predict", body: body()).1["model_version"]) == "2"
        }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
    }
}
