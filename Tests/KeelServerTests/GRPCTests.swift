import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import KeelCore
import KeelServing
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Testing
@testable import KeelServer

/// `inference.GRPCInferenceService` served for real on a loopback port and called with
/// grpc-swift's client: the same answers, keys, errors and statistics as REST.
@Suite struct GRPCTests {
    typealias Client = Inference_GRPCInferenceService.Client<HTTP2ClientTransport.Posix>
    static let row: [Float] = [40, 1, 50000, 12, 70, 840, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0]

    /// A gRPC server on a free port beside a secured router (keys of every role), and a client.
    static func withGRPC(
        configure: (inout ServerConfiguration) -> Void = { _ in }, certificate: ServerCertificate? = nil,
        security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
        _ body: @Sendable (Client, KeelRouter, TestKeys) async throws -> Void
    ) async throws {
        let manager = try await TestServer.manager()
        var config = ServerConfiguration()
        let (_, built, _, keys) = try await TestServer.secured(manager) { c in
            c.grpcPort = 0
            configure(&c)
            config = c
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let grpc = try built.grpc(config, certificate: certificate, logger: logger)
        let server = Task { try await grpc.run() }
        defer { server.cancel() }
        let deadline = ContinuousClock.now + .seconds(30)
        var port: Int?
        while port == nil, ContinuousClock.now < deadline {
            port = await grpc.listeningPort
            if port == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let bound = try #require(port)
        try await withGRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: bound), transportSecurity: security)
        ) { client in
            try await body(Client(wrapping: client), built, keys)
        }
        server.cancel()
        grpc.server.beginGracefulShutdown()
        _ = await server.result
    }

    static func auth(_ key: String?) -> Metadata {
        guard let key else { return [:] }
        return ["authorization": .string("Bearer \(key)")]
    }

    static func inferRequest(rows: [[Float]] = [row], raw: Bool = false, outputs: [String] = []) -> Inference_ModelInferRequest {
        var m = Inference_ModelInferRequest()
        m.modelName = "churn"
        m.id = "req-1"
        var input = Inference_ModelInferRequest.InferInputTensor()
        input.name = "input"
        input.datatype = "FP32"
        input.shape = [Int64(rows.count), 22]
        let flat = rows.flatMap { $0 }
        if raw {
            m.rawInputContents = [Data(V2BinaryCodec.encodeData(.fp32(flat)))]
        } else {
            input.contents.fp32Contents = flat
        }
        m.inputs = [input]
        m.outputs = outputs.map { name in
            var o = Inference_ModelInferRequest.InferRequestedOutputTensor()
            o.name = name
            return o
        }
        return m
    }

    /// The raw outputs of a gRPC answer, decoded by the REST codec.
    static func outputs(_ r: Inference_ModelInferResponse) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, o) in r.outputs.enumerated() {
            let type = try #require(DataType(v2Name: o.datatype))
            let shape = o.shape.map { Int($0) }
            let count = shape.reduce(1, *)
            let data = try V2BinaryCodec.decodeData(ArraySlice([UInt8](r.rawOutputContents[i])), type: type, count: count, name: o.name)
            out[o.name] = try Tensor(shape: shape, data: data)
        }
        return out
    }

    static func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test func healthMetadataAndInferenceMatchTheService() async throws {
        try await Self.withGRPC { client, built, _ in
            #expect(try await client.serverLive(Inference_ServerLiveRequest()).live)
            #expect(try await client.serverReady(Inference_ServerReadyRequest()).ready)
            let server = try await client.serverMetadata(Inference_ServerMetadataRequest())
            #expect(server.name == "keel")
            #expect(server.extensions.contains("statistics") && server.extensions.contains("model_configuration"))

            var ready = Inference_ModelReadyRequest()
            ready.name = "churn"
            #expect(try await client.modelReady(ready).ready)
            ready.name = "nosuchmodel"
            #expect(try await client.modelReady(ready).ready == false)

            var meta = Inference_ModelMetadataRequest()
            meta.name = "churn"
            let m = try await client.modelMetadata(meta)
            #expect(m.inputs.map(\.name) == ["input"])
            #expect(m.inputs.first?.shape == [-1, 22])
            #expect(m.inputs.first?.datatype == "FP32")
            #expect(!m.versions.isEmpty)

            // The same row through the service directly: the answers are identical, typed or raw.
            let direct = try await built.service.infer(
                model: "churn", version: nil,
                request: InferenceRequest(inputs: [NamedTensor(name: "input", tensor: try Tensor(shape: [1, 22], data: .fp32(Self.row)))]),
                origin: RequestOrigin(requestID: "direct"))
            let expected = Dictionary(uniqueKeysWithValues: direct.response.outputs.map { ($0.name, $0.tensor) })
            let typed = try await client.modelInfer(Self.inferRequest())
            #expect(typed.modelName == "churn")
            #expect(typed.id == "req-1")
            #expect(typed.modelVersion == direct.response.modelVersion)
            #expect(try Self.outputs(typed) == expected)
            let raw = try await client.modelInfer(Self.inferRequest(raw: true))
            #expect(try Self.outputs(raw) == expected)

            // Requested outputs: only those come back.
            let first = try #require(direct.response.outputs.first?.name)
            let one = try await client.modelInfer(Self.inferRequest(outputs: [first]))
            #expect(one.outputs.map(\.name) == [first])

            // Two rows in one request.
            let two = try await client.modelInfer(Self.inferRequest(rows: [Self.row, Self.row]))
            #expect(two.outputs.allSatisfy { $0.shape.first == 2 })
        }
    }

    @Test func badRequestsGetTritonsStatusCodes() async throws {
        try await Self.withGRPC { client, _, _ in
            func infer(_ change: (inout Inference_ModelInferRequest) -> Void) async -> RPCError.Code? {
                var m = Self.inferRequest()
                change(&m)
                return await Self.code { _ = try await client.modelInfer(m) }
            }
            #expect(await infer { $0.modelName = "nosuchmodel" } == .notFound)
            #expect(await infer { $0.modelName = "../etc" } == .invalidArgument)
            #expect(await infer { $0.modelName = "" } == .invalidArgument)
            #expect(await infer { $0.inputs[0].datatype = "FLOAT99" } == .invalidArgument)
            #expect(await infer { $0.inputs[0].shape = [1, 21] } == .invalidArgument)
            #expect(await infer { $0.inputs[0].shape = [1 << 40, 1 << 40] } == .invalidArgument)
            #expect(await infer { $0.inputs[0].shape = [-1, 22] } == .invalidArgument)
            #expect(await infer { $0.inputs[0].shape = Array(repeating: 1, count: 1000) } == .invalidArgument)
            #expect(await infer { $0.inputs[0].contents.fp32Contents.removeLast() } == .invalidArgument)
            #expect(await infer { $0.inputs[0].contents.int64Contents = [1] } == .invalidArgument)
            #expect(await infer { $0.rawInputContents = [Data([1, 2, 3])] } == .invalidArgument)
            #expect(await infer { $0.rawInputContents = [Data(), Data()] } == .invalidArgument)
            #expect(await infer { $0.inputs.append($0.inputs[0]) } == .invalidArgument)
            #expect(await infer { $0.inputs[0].name = "nosuchinput" } == .invalidArgument)
            #expect(await infer { $0.outputs = [.with { $0.name = "nosuchoutput" }] } == .invalidArgument)
            #expect(await infer { $0.parameters["entity_ids"] = .with { $0.stringParam = "not json" } } == .invalidArgument)
            #expect(await infer { m in
                for i in 0..<100 { m.parameters["p\(i)"] = .with { $0.boolParam = true } }
            } == .invalidArgument)
            #expect(await infer { $0.modelVersion = "99" } == .notFound)
            // The server is still serving.
            let live = try await client.serverLive(Inference_ServerLiveRequest()).live
            #expect(live)
        }
    }

    @Test func keysAndRolesTravelInMetadata() async throws {
        try await Self.withGRPC(configure: { $0.inferenceRequiresKey = true }) { client, _, keys in
            #expect(await Self.code { _ = try await client.modelInfer(Self.inferRequest()) } == .unauthenticated)
            #expect(await Self.code { _ = try await client.modelInfer(Self.inferRequest(), metadata: Self.auth("keel_nosuchkey")) } == .unauthenticated)
            #expect(await Self.code { _ = try await client.modelInfer(Self.inferRequest(), metadata: Self.auth(keys.viewer)) } == .permissionDenied)
            _ = try await client.modelInfer(Self.inferRequest(), metadata: Self.auth(keys.predictor))
            _ = try await client.modelInfer(Self.inferRequest(), metadata: ["x-api-key": .string(keys.predictor)])
            // Probes stay open.
            #expect(try await client.serverLive(Inference_ServerLiveRequest()).live)
            // Unload needs a deployer.
            var unload = Inference_RepositoryModelUnloadRequest()
            unload.modelName = "churn"
            #expect(await Self.code { _ = try await client.repositoryModelUnload(unload, metadata: Self.auth(keys.predictor)) } == .permissionDenied)
            _ = try await client.repositoryModelUnload(unload, metadata: Self.auth(keys.deployer))
            #expect(await Self.code { _ = try await client.modelInfer(Self.inferRequest(), metadata: Self.auth(keys.predictor)) } == .unavailable)
            var load = Inference_RepositoryModelLoadRequest()
            load.modelName = "churn"
            _ = try await client.repositoryModelLoad(load, metadata: Self.auth(keys.deployer))
            _ = try await client.modelInfer(Self.inferRequest(), metadata: Self.auth(keys.predictor))
            let index = try await client.repositoryIndex(.with { $0.ready = true }, metadata: Self.auth(keys.predictor))
            #expect(index.models.contains { $0.name == "churn" && $0.state == "READY" })
        }
    }

    @Test func rateLimitedCallsGetResourceExhausted() async throws {
        try await Self.withGRPC(configure: { $0.inferenceRateLimit = RateLimit(rate: 0.001, burst: 2) }) { client, _, _ in
            _ = try await client.modelInfer(Self.inferRequest())
            _ = try await client.modelInfer(Self.inferRequest())
            #expect(await Self.code { _ = try await client.modelInfer(Self.inferRequest()) } == .resourceExhausted)
            #expect(try await client.serverLive(Inference_ServerLiveRequest()).live)
        }
    }

    @Test func streamAnswersEveryRequestInOrderAndCarriesErrorsOn() async throws {
        try await Self.withGRPC { client, _, _ in
            var bad = Self.inferRequest()
            bad.inputs[0].shape = [1, 5]
            let requests = [Self.inferRequest(), bad, Self.inferRequest(rows: [Self.row, Self.row])]
            let answers = try await client.modelStreamInfer(
                request: StreamingClientRequest { writer in
                    for r in requests { try await writer.write(r) }
                }
            ) { response in
                var out: [Inference_ModelStreamInferResponse] = []
                for try await m in response.messages { out.append(m) }
                return out
            }
            #expect(answers.count == 3)
            #expect(answers[0].errorMessage.isEmpty && answers[0].inferResponse.outputs.first?.shape.first == 1)
            #expect(answers[1].errorMessage.contains("input"))
            #expect(answers[2].errorMessage.isEmpty && answers[2].inferResponse.outputs.first?.shape.first == 2)
        }
    }

    @Test func statisticsAndConfigMatchREST() async throws {
        try await Self.withGRPC { client, built, _ in
            _ = try await client.modelInfer(Self.inferRequest())
            _ = try await client.modelInfer(Self.inferRequest(rows: [Self.row, Self.row]))
            var failing = Self.inferRequest()
            failing.inputs[0].shape = [1, 5]
            _ = await Self.code { _ = try await client.modelInfer(failing) }

            let exposition = String(decoding: built.service.manager.metrics.exposition(), as: UTF8.self)
            #expect(exposition.contains(#"keel_grpc_requests_total{method="ModelInfer",code="OK"} 2"#)
                || exposition.contains(#"keel_grpc_requests_total{code="OK",method="ModelInfer"} 2"#), "\(exposition.split(separator: "\n").filter { $0.contains("grpc") })")
            #expect(exposition.contains("INVALID_ARGUMENT") || exposition.contains("invalidArgument"))
            let all = try await client.modelStatistics(Inference_ModelStatisticsRequest())
            let churn = try #require(all.modelStats.first { $0.name == "churn" })
            #expect(churn.inferenceCount == 3)
            #expect(churn.inferenceStats.success.count == 2)
            #expect(churn.inferenceStats.success.ns > 0)
            #expect(churn.executionCount >= 1)
            #expect(churn.lastInference > 0)
            #expect(!churn.batchStats.isEmpty)
            let one = try await client.modelStatistics(.with { $0.name = "churn"; $0.version = churn.version })
            #expect(one.modelStats.count == 1)
            #expect(await Self.code { _ = try await client.modelStatistics(.with { $0.name = "nosuchmodel" }) } == .notFound)
            #expect(await Self.code { _ = try await client.modelStatistics(.with { $0.version = "1" }) } == .invalidArgument)

            let config = try await client.modelConfig(.with { $0.name = "churn" }).config
            let served = try built.service.manager.resolve("churn")
            #expect(config.name == "churn")
            #expect(config.backend == served.metadata.format.platform)
            #expect(config.maxBatchSize == Int32(served.config.maxBatchSize))
            #expect(config.input.first?.dims == [22])
            #expect(config.input.first?.dataType == .typeFp32)
            #expect(config.instanceGroup.first?.kind == .cpu)
            #expect(config.dynamicBatching.maxQueueDelayMicroseconds == UInt64(served.config.maxQueueDelayMicroseconds))
            // The same fields as the REST answer.
            let rest: Inference_ModelConfig = try GRPCInference.message(StatisticsRoutes.config(served, versions: built.service.manager.versions(of: "churn")))
            #expect(rest == config)
        }
    }

    @Test func tlsServesTheSameCertificateAndRefusesPlaintext() async throws {
        let pki = try TLSTests.pki()
        let settings = TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path)
        let certificate = try ServerCertificate(settings)
        let trusting = HTTP2ClientTransport.Posix.TransportSecurity.tls { tls in
            tls.trustRoots = .certificates([.file(path: pki.caFile.path, format: .pem)])
        }
        try await Self.withGRPC(configure: { $0.tls = settings }, certificate: certificate, security: trusting) { client, _, _ in
            let live = try await client.serverLive(Inference_ServerLiveRequest()).live
            #expect(live)
            _ = try await client.modelInfer(Self.inferRequest())
        }
        // A client that does not trust the CA gets no answer.
        let stranger = HTTP2ClientTransport.Posix.TransportSecurity.tls { tls in
            tls.trustRoots = .certificates([.file(path: pki.strangerCert.path, format: .pem)])
        }
        try await Self.withGRPC(configure: { $0.tls = settings }, certificate: certificate, security: stranger) { client, _, _ in
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            let code = await Self.code { _ = try await client.serverLive(Inference_ServerLiveRequest(), options: options) }
            #expect(code == .unavailable || code == .deadlineExceeded)
        }
    }

    /// Mutated protobuf bytes of a valid request never crash the decoder: each is refused with
    /// a `KeelError` or decodes to a request whose tensors match their shapes.
    @Test func mutatedRequestsNeverCrashTheDecoder() throws {
        var rng = SystemRandomNumberGenerator()
        let seeds = [Self.inferRequest(), Self.inferRequest(raw: true), Self.inferRequest(rows: [Self.row, Self.row], outputs: ["x"])]
        for i in 0..<3000 {
            var bytes: [UInt8] = try seeds[i % seeds.count].serializedBytes()
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: at)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                }
            }
            guard let message = try? Inference_ModelInferRequest(serializedBytes: bytes) else { continue }
            if let request = try? GRPCCodec.request(message) {
                for input in request.inputs { #expect(input.tensor.data.count == input.tensor.shape.reduce(1, *)) }
            }
        }
    }

    @Test func typedContentsMustFitTheirDatatype() throws {
        var m = Inference_ModelInferRequest()
        var input = Inference_ModelInferRequest.InferInputTensor()
        input.name = "x"
        input.datatype = "INT8"
        input.shape = [2]
        input.contents.intContents = [1, 300]
        m.inputs = [input]
        #expect(throws: KeelError.self) { try GRPCCodec.request(m) }
        m.inputs[0].contents.intContents = [1, -128]
        #expect(try GRPCCodec.request(m).inputs[0].tensor.data == .int8([1, -128]))
        m.inputs[0].datatype = "UINT16"
        m.inputs[0].contents = .with { $0.uintContents = [65535, 65536] }
        #expect(throws: KeelError.self) { try GRPCCodec.request(m) }
        m.inputs[0].datatype = "FP16"
        m.inputs[0].contents = .with { $0.fp32Contents = [1, 2] }
        #expect(throws: KeelError.self) { try GRPCCodec.request(m) }
        m.inputs[0].contents = .init()
        m.rawInputContents = [Data([0, 0x3C, 0, 0x40])]
        #expect(try GRPCCodec.request(m).inputs[0].tensor.data == .fp16([0x3C00, 0x4000]))
        m.inputs[0].datatype = "BYTES"
        m.rawInputContents = [Data([3, 0, 0, 0, 97, 98, 99, 0, 0, 0, 0])]
        #expect(try GRPCCodec.request(m).inputs[0].tensor.data == .bytes([[97, 98, 99], []]))
        m.rawInputContents = [Data([255, 255, 255, 255, 97])]
        #expect(throws: KeelError.self) { try GRPCCodec.request(m) }
        // entity ids as the text of a JSON array.
        m.rawInputContents = []
        m.inputs[0].contents = .with { $0.bytesContents = [Data("a".utf8), Data("b".utf8)] }
        m.parameters["entity_ids"] = .with { $0.stringParam = #"["c1", 42]"# }
        #expect(try GRPCCodec.request(m).parameters["entity_ids"] == .array([.string("c1"), .number(42)]))
    }
}
