import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelJobs
import KeelServer
import KeelServing
import KeelTestSupport
import Testing

/// `/api/v1/jobs` in-process: upload, submit, progress, download, cancel and retry, and every
/// bad input answered with a JSON error and nothing queued.
@Suite struct JobAPITests {
    @Test func uploadSubmitScoreAndDownload() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys, jobs) = try await TestServer.securedWithJobs(manager)
        let csv = try TestRegistry.churnHoldoutCSV()
        try await app.test(.router) { client in
            let up = try await client.execute(
                uri: "/api/v1/jobs/uploads?filename=customers.csv", method: .post, headers: TestServer.bearer(keys.deployer, json: false),
                body: ByteBuffer(string: csv))
            #expect(up.status == .created)
            let path = try #require(try TestServer.json(up)["path"]?.stringValue)
            #expect(path.hasPrefix(jobs.queue.dataFolder + "/uploads/"))
            #expect(try String(contentsOfFile: path, encoding: .utf8) == csv)
            let submit = try await client.execute(
                uri: "/api/v1/jobs", method: .post, headers: TestServer.bearer(keys.deployer),
                body: ByteBuffer(string: #"{"model":"churn","input":"\#(path)","passthrough":["churn"],"chunk_rows":700,"priority":"high"}"#))
            #expect(submit.status == .created)
            let job = try TestServer.json(submit)
            #expect(job["state"]?.stringValue == "queued" && job["version"]?.stringValue == "1" && job["priority"]?.stringValue == "high")
            let id = try #require(job["id"]?.intValue)
            let early = try await client.execute(uri: "/api/v1/jobs/\(id)/output", method: .get, headers: TestServer.bearer(keys.viewer))
            #expect(early.status == .conflict)
            await jobs.worker.drain()
            let status = try TestServer.json(try await client.execute(uri: "/api/v1/jobs/\(id)", method: .get, headers: TestServer.bearer(keys.viewer)))
            #expect(status["state"]?.stringValue == "done")
            #expect(status["rows_done"]?.intValue == 2000 && status["rows_total"]?.intValue == 2000 && status["errors"]?.intValue == 0)
            #expect(status["eta_s"]?.doubleValue == 0 && (status["rows_per_s"]?.doubleValue ?? 0) > 0)
            let output = try await client.execute(uri: "/api/v1/jobs/\(id)/output", method: .get, headers: TestServer.bearer(keys.viewer))
            #expect(output.status == .ok)
            let text = String(buffer: output.body)
            #expect(text.hasPrefix("customer_id,probability,label,risk_band,churn\n"))
            #expect(text.split(separator: "\n").count == 2001)
            let metrics = String(decoding: manager.metrics.exposition(), as: UTF8.self)
            #expect(metrics.contains(#"keel_batch_rows_total{model="churn"} 2000"#))
            #expect(metrics.contains(#"keel_batch_chunks_total{model="churn",outcome="committed"} 3"#))
            let errors = try await client.execute(uri: "/api/v1/jobs/\(id)/errors", method: .get, headers: TestServer.bearer(keys.viewer))
            #expect(errors.status == .notFound)
            let list = try TestServer.json(try await client.execute(uri: "/api/v1/jobs?model=churn&state=done", method: .get, headers: TestServer.bearer(keys.viewer)))
            #expect(list["jobs"]?.arrayValue?.count == 1)
            for action in ["cancel", "retry"] {
                let r = try await client.execute(uri: "/api/v1/jobs/\(id)/\(action)", method: .post, headers: TestServer.bearer(keys.deployer), body: ByteBuffer(string: "{}"))
                #expect(r.status == .conflict, "\(action) of a done job")
            }
        }
    }

    @Test func badRequestsAreRefusedWithAJSONErrorAndQueueNothing() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys, jobs) = try await TestServer.securedWithJobs(manager) { $0.maxUploadBytes = 1000 }
        let input = jobs.queue.dataFolder + "/uploads/customers.csv"
        try TestRegistry.churnHoldoutCSV().write(toFile: input, atomically: true, encoding: .utf8)
        let outside = TestStores.temporaryDirectory().path + "/customers.csv"
        try TestRegistry.churnHoldoutCSV().write(toFile: outside, atomically: true, encoding: .utf8)
        let cases: [(String, HTTPResponse.Status)] = [
            (#"{"model":"churn","input":"\#(input)","surprise":1}"#, .badRequest),
            (#"{"model":"churn"}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","priority":"urgent"}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","chunk_rows":0}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","chunk_rows":99999999999}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","max_error_rate":2}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","version":1,"alias":"staging"}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","version":-3}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","input_kind":"pickles"}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","output_format":"xlsx"}"#, .badRequest),
            (#"{"model":"churn","input":"\#(input)","passthrough":"churn"}"#, .badRequest),
            (#"{"model":"churn","input":"\#(outside)"}"#, .forbidden),
            (#"{"model":"churn","input":"\#(input)","output":"/etc/scores.csv"}"#, .forbidden),
            (#"{"model":"churn","input":"\#(jobs.queue.dataFolder)/nope.csv"}"#, .notFound),
            (#"{"model":"nosuch","input":"\#(input)"}"#, .notFound),
            (#"{"model":"churn","input":"\#(input)","version":9}"#, .notFound),
            ("[1,2", .badRequest),
        ]
        try await app.test(.router) { client in
            for (body, status) in cases {
                let r = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: TestServer.bearer(keys.deployer), body: ByteBuffer(string: body))
                #expect(r.status == status, "\(body) answered \(r.status)")
                #expect(try TestServer.json(r)["error"]?.stringValue != nil, "\(body)")
            }
            let big = try await client.execute(
                uri: "/api/v1/jobs/uploads?filename=big.csv", method: .post, headers: TestServer.bearer(keys.deployer, json: false),
                body: ByteBuffer(string: String(repeating: "x", count: 5000)))
            #expect(big.status == .contentTooLarge)
            let badName = try await client.execute(
                uri: "/api/v1/jobs/uploads?filename=model.exe", method: .post, headers: TestServer.bearer(keys.deployer, json: false), body: ByteBuffer(string: "a"))
            #expect(badName.status == .badRequest)
            let noName = try await client.execute(uri: "/api/v1/jobs/uploads", method: .post, headers: TestServer.bearer(keys.deployer, json: false), body: ByteBuffer(string: "a"))
            #expect(noName.status == .badRequest)
            for (uri, status) in [("/api/v1/jobs/abc", HTTPResponse.Status.badRequest), ("/api/v1/jobs/0", .badRequest), ("/api/v1/jobs/999", .notFound),
                                  ("/api/v1/jobs?state=exploded", .badRequest), ("/api/v1/jobs?limit=0", .badRequest)] {
                let r = try await client.execute(uri: uri, method: .get, headers: TestServer.bearer(keys.viewer))
                #expect(r.status == status, "\(uri) answered \(r.status)")
            }
            // Every per-job route: a malformed id is a 400, an unknown one a 404.
            for (method, suffix, key) in [(HTTPRequest.Method.post, "/cancel", keys.deployer), (.post, "/retry", keys.deployer),
                                          (.get, "/output", keys.viewer), (.get, "/errors", keys.viewer)] {
                for (id, status) in [("abc", HTTPResponse.Status.badRequest), ("-1", .badRequest), ("99999999999999999999", .badRequest), ("999", .notFound)] {
                    let r = try await client.execute(uri: "/api/v1/jobs/\(id)\(suffix)", method: method, headers: TestServer.bearer(key), body: ByteBuffer(string: "{}"))
                    #expect(r.status == status, "\(method) \(id)\(suffix) answered \(r.status)")
                    #expect(try TestServer.json(r)["error"]?.stringValue != nil)
                }
            }
            let retry = try await client.execute(uri: "/api/v1/jobs/999/retry", method: .post, headers: TestServer.bearer(keys.deployer), body: ByteBuffer(string: #"{"max_error_rate":"x"}"#))
            #expect(retry.status == .badRequest)
        }
        #expect(try await jobs.queue.list().isEmpty)
        let uploads = try FileManager.default.contentsOfDirectory(atPath: jobs.queue.dataFolder + "/uploads")
        #expect(uploads == ["customers.csv"], "a refused upload leaves no file")
    }
}
