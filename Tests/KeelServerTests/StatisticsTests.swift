import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServing
import Testing
@testable import KeelServer

/// Triton's statistics and model-config extensions over REST, filled from what was served.
@Suite struct StatisticsTests {
    static let oneRow = EdgeSecurityTests.infer
    static let twoRows = #"{"inputs":[{"name":"input","shape":[2,22],"datatype":"FP32","data":[40,1,50000,12,70,840,1,0,1,0,0,0,0,0,1,0,0,1,1,0,0,0,30,0,20000,2,50,100,0,1,0,1,0,0,0,0,0,1,0,0,1,0,0,0]}]}"#

    @Test func statisticsCountWhatWasServed() async throws {
        let manager = try await TestServer.manager()
        let app = TestServer.app(manager)
        try await app.test(.router) { client in
            let before = try await client.execute(uri: "/v2/models/churn/stats", method: .get) { r in try TestServer.json(r) }
            let first = try #require(before["model_stats"]?.arrayValue?.first)
            let baseline = first["execution_count"]?.doubleValue ?? 0  // the warm-up call at load
            #expect(first["inference_count"]?.doubleValue == 0)
            #expect(first["last_inference"]?.doubleValue == 0)

            for body in [Self.oneRow, Self.oneRow, Self.twoRows] {
                try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body(body)) { r in #expect(r.status == .ok) }
            }
            let bad = #"{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#
            try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body(bad)) { r in #expect(r.status == .badRequest) }

            let stats = try await client.execute(uri: "/v2/models/churn/versions/1/stats", method: .get) { r in
                #expect(r.status == .ok)
                return try TestServer.json(r)
            }
            let s = try #require(stats["model_stats"]?.arrayValue?.first)
            #expect(s["name"]?.stringValue == "churn" && s["version"]?.stringValue == "1")
            #expect(s["inference_count"]?.doubleValue == 4)
            #expect(s["execution_count"]?.doubleValue == baseline + 3)
            let now = Date().timeIntervalSince1970 * 1000
            #expect(abs((s["last_inference"]?.doubleValue ?? 0) - now) < 60_000)
            let inference = try #require(s["inference_stats"])
            #expect(inference["success"]?["count"]?.doubleValue == 3)
            #expect((inference["success"]?["ns"]?.doubleValue ?? 0) > 0)
            #expect(inference["fail"]?["count"]?.doubleValue == 1)
            for phase in ["queue", "compute_input", "compute_infer", "compute_output"] {
                #expect(inference[phase]?["count"]?.doubleValue == baseline + 3, "\(phase)")
            }
            #expect(inference["cache_hit"]?["count"]?.doubleValue == 0)
            let sizes = (s["batch_stats"]?.arrayValue ?? []).map { ($0["batch_size"]?.doubleValue ?? 0, $0["compute_infer"]?["count"]?.doubleValue ?? 0) }
            #expect(sizes.contains { $0.0 == 2 && $0.1 == 1 })
            #expect(sizes.contains { $0.0 == 1 && $0.1 >= 2 })

            let all = try await client.execute(uri: "/v2/models/stats", method: .get) { r in try TestServer.json(r) }
            #expect(all["model_stats"]?.arrayValue?.contains { $0["name"]?.stringValue == "churn" } == true)
            try await client.execute(uri: "/v2/models/nope/stats", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/v2/models/churn/versions/9/stats", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    @Test func configurationUsesTritonsFields() async throws {
        let manager = try await TestServer.manager()
        let served = try manager.resolve("churn")
        try await TestServer.app(manager).test(.router) { client in
            for uri in ["/v2/models/churn/config", "/v2/models/churn/versions/1/config"] {
                let config = try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .ok)
                    return try TestServer.json(r)
                }
                #expect(config["name"]?.stringValue == "churn")
                #expect(config["platform"]?.stringValue == "keel")
                #expect(config["backend"]?.stringValue == "xgboost")
                #expect(config["max_batch_size"]?.doubleValue == Double(served.config.maxBatchSize))
                let input = try #require(config["input"]?.arrayValue?.first)
                #expect(input["name"]?.stringValue == "input")
                #expect(input["data_type"]?.stringValue == "TYPE_FP32")
                #expect(input["dims"]?.arrayValue?.compactMap(\.doubleValue) == [22])
                #expect(config["output"]?.arrayValue?.isEmpty == false)
                #expect(config["version_policy"]?["specific"]?["versions"]?.arrayValue?.compactMap(\.doubleValue) == [1])
                #expect(config["instance_group"]?.arrayValue?.first?["kind"]?.stringValue == "KIND_CPU")
                #expect(config["dynamic_batching"]?["max_queue_delay_microseconds"]?.doubleValue == Double(served.config.maxQueueDelayMicroseconds))
            }
            try await client.execute(uri: "/v2/models/nope/config", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/v2/models/churn/versions/7/config", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    @Test func malformedNamesAreRefusedOnEveryNewRoute() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            let long = String(repeating: "m", count: 200)
            for uri in ["/v2/models/\(long)/stats", "/v2/models/\(long)/config", "/v2/models/churn/versions/\(long)/stats",
                        "/v2/models/churn/versions/\(long)/config", "/v2/models/%2E%2E/stats", "/v2/models/churn/versions/.x/config"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .badRequest || r.status == .notFound, "\(uri): \(r.status)")
                    #expect(r.status != .ok)
                    #expect(String(buffer: r.body).contains("\"error\""), "\(uri)")
                }
            }
            try await client.execute(uri: "/v2/models/stats", method: .post) { r in #expect(r.status == .methodNotAllowed) }
        }
    }

    @Test func tritonTypeNames() {
        #expect(StatisticsRoutes.tritonType(.fp32) == "TYPE_FP32")
        #expect(StatisticsRoutes.tritonType(.bytes) == "TYPE_STRING")
        #expect(StatisticsRoutes.tritonType(.uint64) == "TYPE_UINT64")
        #expect(StatisticsRoutes.tritonType(.bool) == "TYPE_BOOL")
    }
}
