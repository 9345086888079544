import Foundation
import GRPCCore
import KeelCore
import KeelRegistry
import KeelServing
import SwiftProtobuf

/// `inference.GRPCInferenceService` on the same `InferenceService`, access guard, rate limits,
/// router, batcher, rollouts and monitoring as the REST routes. Each call declares its access
/// like a route does (probes and server metadata open; metadata, readiness, statistics, config,
/// the index and inference `inference`; load and unload `deployer`), and the key or token
/// travels in the `authorization` metadata (`Bearer …`) or `x-api-key`. Keel's errors map to
/// gRPC status codes the way Triton maps its own (see `status(_:)`).
struct GRPCInference: Inference_GRPCInferenceService.ServiceProtocol {
    let manager: ModelManager
    let service: InferenceService
    let guardian: AccessGuard
    let ids = RequestIDSource()

    /// Server metadata's extensions: those of the REST server.
    static var extensions: [String] { HealthRoutes.extensions.compactMap(\.stringValue) }

    // MARK: - Health and metadata

    func serverLive(request: ServerRequest<Inference_ServerLiveRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ServerLiveResponse> {
        try await call(.open, request.metadata, context) { _ in
            var r = Inference_ServerLiveResponse()
            r.live = true
            return r
        }
    }

    func serverReady(request: ServerRequest<Inference_ServerReadyRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ServerReadyResponse> {
        try await call(.open, request.metadata, context) { _ in
            var r = Inference_ServerReadyResponse()
            r.ready = manager.isReady
            return r
        }
    }

    /// Ready is false for a model that is unknown, loading, failed or unloaded (as Triton
    /// answers); a malformed name is INVALID_ARGUMENT.
    func modelReady(request: ServerRequest<Inference_ModelReadyRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ModelReadyResponse> {
        let m = request.message
        return try await call(.inference, request.metadata, context, model: m.name) { _ throws(KeelError) in
            let name = try ResourceName.validate(m.name, what: "model name")
            var r = Inference_ModelReadyResponse()
            r.ready = (try? manager.resolve(name, version: m.version.isEmpty ? nil : m.version)) != nil
            return r
        }
    }

    func serverMetadata(request: ServerRequest<Inference_ServerMetadataRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ServerMetadataResponse> {
        try await call(.open, request.metadata, context) { _ in
            var r = Inference_ServerMetadataResponse()
            r.name = "keel"
            r.version = KeelVersion.current
            r.extensions = Self.extensions
            return r
        }
    }

    func modelMetadata(request: ServerRequest<Inference_ModelMetadataRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ModelMetadataResponse> {
        let m = request.message
        return try await call(.inference, request.metadata, context, model: m.name) { _ throws(KeelError) in
            let name = try ResourceName.validate(m.name, what: "model name")
            let version = m.version.isEmpty ? nil : m.version
            let served = try manager.resolve(name, version: version)
            func tensor(_ s: TensorSignature) -> Inference_ModelMetadataResponse.TensorMetadata {
                var t = Inference_ModelMetadataResponse.TensorMetadata()
                t.name = s.name
                t.datatype = s.dataType.rawValue
                t.shape = s.shape.map { Int64($0) }
                return t
            }
            var r = Inference_ModelMetadataResponse()
            r.name = name
            r.versions = version.map { [$0] } ?? manager.versions(of: name)
            r.platform = served.metadata.format.platform
            r.inputs = served.metadata.inputs.map(tensor)
            r.outputs = served.metadata.outputs.map(tensor)
            return r
        }
    }

    // MARK: - Inference

    func modelInfer(request: ServerRequest<Inference_ModelInferRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ModelInferResponse> {
        let m = request.message
        return try await call(.inference, request.metadata, context, model: m.modelName) { requestID throws(KeelError) in
            try await infer(m, requestID: requestID)
        }
    }

    /// One answer per request, in order. A request that fails is answered on the stream with
    /// its `error_message` and the stream goes on (as Triton does); a refused key or an
    /// exhausted rate limit ends the stream with its status.
    func modelStreamInfer(
        request: StreamingServerRequest<Inference_ModelInferRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Inference_ModelStreamInferResponse> {
        let metadata = request.metadata
        return StreamingServerResponse { writer in
            for try await m in request.messages {
                let requestID = try await admit(.inference, metadata, context, model: m.modelName)
                var out = Inference_ModelStreamInferResponse()
                do throws(KeelError) {
                    out.inferResponse = try await infer(m, requestID: requestID)
                    count(context, "OK")
                } catch {
                    out.errorMessage = error.message
                    count(context, "\(Self.status(error.code))")
                }
                try await writer.write(out)
            }
            return [:]
        }
    }

    private func infer(_ m: Inference_ModelInferRequest, requestID: String) async throws(KeelError) -> Inference_ModelInferResponse {
        let started = ContinuousClock.now
        let name = try ResourceName.validate(m.modelName, what: "model name")
        let version = m.modelVersion.isEmpty ? nil : m.modelVersion
        _ = try manager.resolve(name, version: version)
        let decoded = try GRPCCodec.request(m)
        let (response, _) = try await service.infer(
            model: name, version: version, request: decoded, origin: RequestOrigin(requestID: requestID, started: started))
        return GRPCCodec.response(response)
    }

    // MARK: - Statistics and configuration (the REST answers, in protobuf)

    func modelConfig(request: ServerRequest<Inference_ModelConfigRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ModelConfigResponse> {
        let m = request.message
        return try await call(.inference, request.metadata, context, model: m.name) { _ throws(KeelError) in
            let name = try ResourceName.validate(m.name, what: "model name")
            let served = try manager.resolve(name, version: m.version.isEmpty ? nil : m.version)
            var r = Inference_ModelConfigResponse()
            r.config = try Self.message(StatisticsRoutes.config(served, versions: m.version.isEmpty ? manager.versions(of: name) : [served.version]))
            return r
        }
    }

    /// No name: every loaded version of every model; a name: its loaded versions; a name and
    /// a version: that one.
    func modelStatistics(request: ServerRequest<Inference_ModelStatisticsRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ModelStatisticsResponse> {
        let m = request.message
        return try await call(.inference, request.metadata, context, model: m.name.isEmpty ? nil : m.name) { _ throws(KeelError) in
            let versions: [ServedVersion]
            if m.name.isEmpty {
                guard m.version.isEmpty else { throw .invalidInput("a version needs a model name") }
                versions = manager.servedVersions()
            } else {
                let name = try ResourceName.validate(m.name, what: "model name")
                if m.version.isEmpty {
                    _ = try manager.resolve(name)
                    versions = manager.servedVersions(of: name)
                } else {
                    versions = [try manager.resolve(name, version: m.version)]
                }
            }
            return try Self.message(StatisticsRoutes.response(versions))
        }
    }

    /// A REST answer's JSON read as the protobuf message of the same fields (the field names
    /// are Triton's in both), so REST and gRPC cannot drift apart.
    static func message<M: SwiftProtobuf.Message>(_ value: JSONValue) throws(KeelError) -> M {
        var w = JSONWriter(nonFinite: .null)
        w.value(value)
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        do {
            return try M(jsonUTF8Data: Data(w.bytes), options: options)
        } catch {
            throw KeelError(.internal, "could not encode \(M.protoMessageName): \(error)")
        }
    }

    // MARK: - Model repository

    func repositoryIndex(request: ServerRequest<Inference_RepositoryIndexRequest>, context: ServerContext) async throws -> ServerResponse<Inference_RepositoryIndexResponse> {
        let m = request.message
        return try await call(.inference, request.metadata, context) { _ in
            var r = Inference_RepositoryIndexResponse()
            r.models = manager.index().filter { !m.ready || $0.state == .ready }.map { status in
                var e = Inference_RepositoryIndexResponse.ModelIndex()
                e.name = status.name
                e.state = status.state.rawValue.uppercased()
                e.version = status.versions.last ?? ""
                e.reason = status.reason ?? ""
                return e
            }
            return r
        }
    }

    func repositoryModelLoad(
        request: ServerRequest<Inference_RepositoryModelLoadRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryModelLoadResponse> {
        let m = request.message
        return try await call(.deployer, request.metadata, context, model: m.modelName) { _ throws(KeelError) in
            guard m.parameters.isEmpty else { throw .unsupported("load parameters (a config or model files in the request) are not supported") }
            try await manager.load(try ResourceName.validate(m.modelName, what: "model name"))
            return Inference_RepositoryModelLoadResponse()
        }
    }

    func repositoryModelUnload(
        request: ServerRequest<Inference_RepositoryModelUnloadRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryModelUnloadResponse> {
        let m = request.message
        return try await call(.deployer, request.metadata, context, model: m.modelName) { _ throws(KeelError) in
            try manager.unload(try ResourceName.validate(m.modelName, what: "model name"))
            return Inference_RepositoryModelUnloadResponse()
        }
    }

    // MARK: - Access, errors and counting

    /// Admits the call (access and rate limit), runs `body` with the call's request id, and
    /// turns a `KeelError` into its gRPC status.
    private func call<Output: Sendable>(
        _ access: Access, _ metadata: Metadata, _ context: ServerContext, model: String? = nil,
        _ body: (String) async throws(KeelError) -> Output
    ) async throws -> ServerResponse<Output> {
        let requestID = try await admit(access, metadata, context, model: model)
        do throws(KeelError) {
            let output = try await body(requestID)
            count(context, "OK")
            return ServerResponse(message: output, metadata: ["x-request-id": .string(requestID)])
        } catch {
            count(context, "\(Self.status(error.code))")
            throw Self.rpcError(error, requestID: requestID)
        }
    }

    /// The call's request id (`x-request-id` when the client sent a usable one), once its key
    /// and rate limit allow it; else the refusal as an `RPCError`.
    private func admit(_ access: Access, _ metadata: Metadata, _ context: ServerContext, model: String?) async throws -> String {
        let given = metadata[stringValues: "x-request-id"].first { !$0.isEmpty && $0.utf8.count <= 200 }
        let requestID = given ?? ids.next()
        let limiter: RateLimiter?
        switch access {
        case .open: limiter = nil
        case .inference: limiter = guardian.inferenceLimiter
        case .role: limiter = guardian.managementLimiter
        }
        // The peer's address is parsed only when a limit is set.
        func limit(_ key: @autoclosure () -> String) throws {
            guard let limiter else { return }
            let decision = limiter.take(key())
            guard decision.allowed else {
                guardian.metrics.rateLimited(class: access == .inference ? "inference" : "management")
                count(context, "RESOURCE_EXHAUSTED")
                throw RPCError(
                    code: .resourceExhausted,
                    message: "too many requests: the limit is \(RateLimitHeaders.number(limiter.limit.rate)) a second (bursts of \(limiter.limit.burst)); retry after \(decision.retryAfterSeconds) s",
                    metadata: ["retry-after": .string(String(decision.retryAfterSeconds)), "x-request-id": .string(requestID)])
            }
        }
        guard let role = access.requiredRole(inferenceRequiresKey: guardian.inferenceRequiresKey) else {
            try limit("a:" + Self.address(context.remotePeer))
            return requestID
        }
        let principal: Principal
        do throws(KeelError) {
            principal = try await guardian.authorize(role, secret: Self.secret(metadata), call: AccessGuard.Call(
                method: "gRPC", route: context.descriptor.fullyQualifiedMethod, model: model, requestID: requestID))
        } catch {
            try limit("a:" + Self.address(context.remotePeer))
            count(context, "\(Self.status(error.code))")
            throw Self.rpcError(error, requestID: requestID)
        }
        try limit("k:" + principal.keyID)
        return requestID
    }

    private func count(_ context: ServerContext, _ code: String) {
        guardian.metrics.counter("keel_grpc_requests_total", ("method", context.descriptor.method), ("code", code)).increment()
    }

    /// The key or token from the `authorization` metadata (`Bearer …`) or `x-api-key`.
    static func secret(_ metadata: Metadata) -> String? {
        AccessGuard.secret(authorization: metadata[stringValues: "authorization"].first { _ in true },
                           apiKey: metadata[stringValues: "x-api-key"].first { _ in true })
    }

    /// The peer's address without its port (`ipv4:127.0.0.1:5000` → `ipv4:127.0.0.1`), for
    /// the per-address rate limit.
    static func address(_ peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":"), peer[peer.index(after: colon)...].allSatisfy(\.isNumber) else { return peer }
        return String(peer[..<colon])
    }

    /// Keel's error codes as gRPC status codes, as Triton maps its own: invalid input and
    /// models INVALID_ARGUMENT, unsupported UNIMPLEMENTED, not found NOT_FOUND, conflict
    /// FAILED_PRECONDITION, too large RESOURCE_EXHAUSTED, unavailable UNAVAILABLE, no key
    /// UNAUTHENTICATED, a role that may not PERMISSION_DENIED, timeout DEADLINE_EXCEEDED.
    static func status(_ code: KeelError.Code) -> RPCError.Code {
        switch code {
        case .invalidInput, .invalidModel: return .invalidArgument
        case .unsupported: return .unimplemented
        case .notFound: return .notFound
        case .conflict: return .failedPrecondition
        case .payloadTooLarge: return .resourceExhausted
        case .unavailable: return .unavailable
        case .unauthorized: return .unauthenticated
        case .forbidden: return .permissionDenied
        case .timeout: return .deadlineExceeded
        case .internal: return .internalError
        }
    }

    static func rpcError(_ error: KeelError, requestID: String) -> RPCError {
        RPCError(code: status(error.code), message: error.message, metadata: ["x-request-id": .string(requestID)])
    }
}
