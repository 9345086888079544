import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServing
import Testing
@testable import KeelServer

/// POST /v1/models/{m}:predict on the demo churn model.
@Suite struct RecordsTests {
    static let records = TestServer.models.appendingPathComponent("churn/sample_records.json")

    @Test func churnRecordsGetLabelsProbabilitiesAndRiskBands() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: try TestServer.bytes(Self.records))
            #expect(r.status == .ok)
            let out = try TestServer.json(r)
            #expect(out["model_name"] == "churn")
            #expect(out["model_version"] == "1")
            let predictions = try #require(out["predictions"]?.arrayValue)
            #expect(predictions.map { $0["customer_id"] } == ["C-008001", "C-008003", "C-008015"])
            #expect(predictions.map { $0["label"] } == ["stay", "stay", "churn"])
            #expect(predictions.map { $0["risk_band"] } == ["low", "medium", "high"])
            let p = try #require(predictions[2]["probability"]?.doubleValue)
            #expect(abs(p - 0.75094116) < 1e-6)
            #expect(predictions[2]["scores"]?["churn"]?.doubleValue.map { abs($0 - p) < 1e-9 } == true)
            let ready = try TestServer.json(try await client.execute(uri: "/v1/models/churn", method: .get))
            #expect(ready["ready"] == .bool(true))
            #expect(try await client.execute(uri: "/v1/models/ghost", method: .get).status == .notFound)
            // The same through the versioned path.
            let v = try await client.execute(uri: "/v1/models/churn/versions/1:predict", method: .post, body: try TestServer.bytes(Self.records))
            #expect(v.status == .ok)
        }
    }

    @Test func defaultsFillOptionalFields() async throws {
        let manager = try await TestServer.manager()
        let record = #"{"instances":[{"customer_id":"C-1","age":42,"gender":"Female","income":50000,"tenure_months":3,"monthly_charges":95.5,"total_charges":280,"internet_service":"Fiber optic","contract_type":"month-to-month","payment_method":"electronic check"}]}"#
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: TestServer.body(record))
            #expect(r.status == .ok)
            #expect(try TestServer.json(r)["predictions"]?.arrayValue?.first?["customer_id"] == "C-1")
        }
    }

    @Test func everyProblemIsNamed() async throws {
        let manager = try await TestServer.manager()
        let record = #"{"instances":[{"customer_id":"C-1","age":"old","gender":"Male","income":50000,"tenure_months":3,"monthly_charges":95.5,"total_charges":280,"internet_service":"Satellite","contract_type":"month-to-month","payment_methd":"electronic check"}]}"#
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: TestServer.body(record))
            #expect(r.status == .badRequest)
            let message = try TestServer.json(r)["error"]?.stringValue ?? ""
            #expect(message.contains("instance 0: unknown field 'payment_methd'"), "\(message)")
            #expect(message.contains("field 'age' must be a number, got \"old\""), "\(message)")
            #expect(message.contains("field 'internet_service' has unknown category 'Satellite'"), "\(message)")
            #expect(message.contains("missing field 'payment_method'"), "\(message)")
        }
    }

    @Test func malformedBodiesAreRefused() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            for (body, fragment) in [("{", "malformed JSON"), (#"{"rows":[]}"#, "instances"), (#"{"instances":[]}"#, "empty"), (#"{"instances":[1]}"#, "instance 0 must be an object")] {
                let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: TestServer.body(body))
                #expect(r.status == .badRequest)
                #expect(try TestServer.json(r)["error"]?.stringValue?.contains(fragment) == true, "\(body)")
            }
            let unknown = try await client.execute(uri: "/v1/models/ghost:predict", method: .post, body: TestServer.body("{}"))
            #expect(unknown.status == .notFound)
        }
    }

    @Test func modelWithoutSchemaExplainsWhy() async throws {
        let manager = try await TestServer.manager(repository: nil)
        try await manager.add(name: "double", version: "1", model: SlowDoubler(delay: 0))
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v1/models/double:predict", method: .post, body: TestServer.body(#"{"instances":[{"x":1}]}"#))
            #expect(r.status == .badRequest)
            #expect(try TestServer.json(r)["error"]?.stringValue?.contains("no feature schema") == true)
        }
    }

    @Test func perFieldLayoutMakesOneInputPerField() throws {
        let schema = try FeatureSchema(
            fields: [.init(name: "city", kind: .string), .init(name: "n", kind: .integer), .init(name: "x", kind: .number)],
            layout: .perField)
        let t = try schema.encode([["city": "Oslo", "n": 3, "x": 0.5], ["city": "Rome", "n": 4, "x": .null]])
        #expect(t["city"]?.data == .bytes([Array("Oslo".utf8), Array("Rome".utf8)]))
        #expect(t["n"]?.data == .int64([3, 4]))
        #expect(t["n"]?.shape == [2, 1])
        #expect(t["x"]?.floats?.last?.isNaN == true)
    }

    @Test func configParsingRefusesMistakes() {
        #expect(throws: KeelError.self) { try ModelConfig.parse(yaml: "max_batch_size: 0", source: "t") }
        #expect(throws: KeelError.self) { try ModelConfig.parse(yaml: "max_batchsize: 4", source: "t") }
        #expect(throws: KeelError.self) { try ModelConfig.parse(yaml: "features: [{name: a, type: weird}]", source: "t") }
        #expect(throws: KeelError.self) { try ModelConfig.parse(yaml: "risk_bands: [{name: a}, {name: b, below: 0.5}]", source: "t") }
        #expect(throws: KeelError.self) { try ModelConfig.parse(yaml: "features: [{name: a, type: one_hot}]", source: "t") }
    }
}
