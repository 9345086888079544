import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KeelCore

/// A closed-loop gRPC load generator for `keel bench-grpc`: `concurrency` callers, spread over
/// `connections` HTTP/2 connections, each sending ModelInfer for one request and waiting for
/// its answer, for `duration` after a `warmup`. Written on grpc-swift-2 like the server, so the
/// client costs about what wrk costs over HTTP (no Python client, which saturates the cores
/// first).
public struct GRPCLoadGenerator: Sendable {
    public struct Result: Sendable {
        public var requests: Int
        public var errors: Int
        public var seconds: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var firstError: String?
        public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }
    }

    public var host: String
    public var port: Int
    public var model: String
    /// Rows of the model's single FP32 input, sent as raw contents.
    public var rows: [[Float]]
    public var inputName: String
    public var connections: Int
    public var concurrency: Int
    public var duration: Duration
    public var warmup: Duration

    public init(
        host: String, port: Int, model: String, inputName: String, rows: [[Float]], connections: Int, concurrency: Int, duration: Duration,
        warmup: Duration
    ) {
        self.host = host
        self.port = port
        self.model = model
        self.inputName = inputName
        self.rows = rows
        self.connections = max(1, connections)
        self.concurrency = max(1, concurrency)
        self.duration = duration
        self.warmup = warmup
    }

    func request() -> Inference_ModelInferRequest {
        var m = Inference_ModelInferRequest()
        m.modelName = model
        var input = Inference_ModelInferRequest.InferInputTensor()
        input.name = inputName
        input.datatype = "FP32"
        input.shape = [Int64(rows.count), Int64(rows.first?.count ?? 0)]
        m.inputs = [input]
        m.rawInputContents = [Data(V2BinaryCodec.encodeData(.fp32(rows.flatMap { $0 })))]
        return m
    }

    public func run() async throws -> Result {
        let message = request()
        var clients: [GRPCClient<HTTP2ClientTransport.Posix>] = []
        for _ in 0..<connections {
            clients.append(GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: host, port: port), transportSecurity: .plaintext)))
        }
        let all = clients
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for c in all { group.addTask { try await c.runConnections() } }
            defer {
                for c in all { c.beginGracefulShutdown() }
            }
            let start = ContinuousClock.now
            let measureFrom = start + warmup
            let end = measureFrom + duration
            let workers = try await withThrowingTaskGroup(of: ([Int64], Int, String?).self) { callers in
                for i in 0..<concurrency {
                    let client = Inference_GRPCInferenceService.Client(wrapping: all[i % all.count])
                    callers.addTask {
                        var latencies: [Int64] = []
                        latencies.reserveCapacity(1 << 16)
                        var errors = 0
                        var firstError: String?
                        while true {
                            let sent = ContinuousClock.now
                            if sent >= end { break }
                            do {
                                _ = try await client.modelInfer(message)
                                let done = ContinuousClock.now
                                if sent >= measureFrom, done <= end {
                                    let (s, atto) = (done - sent).components
                                    latencies.append(s * 1_000_000_000 + atto / 1_000_000_000)
                                }
                            } catch {
                                if sent >= measureFrom { errors += 1 }
                                if firstError == nil { firstError = "\(error)" }
                                try await Task.sleep(for: .milliseconds(1))
                            }
                        }
                        return (latencies, errors, firstError)
                    }
                }
                var out: [([Int64], Int, String?)] = []
                for try await w in callers { out.append(w) }
                return out
            }
            var latencies = workers.flatMap(\.0)
            latencies.sort()
            func quantile(_ q: Double) -> Double {
                guard !latencies.isEmpty else { return 0 }
                return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) / 1e6
            }
            let (s, atto) = duration.components
            return Result(
                requests: latencies.count, errors: workers.map(\.1).reduce(0, +), seconds: Double(s) + Double(atto) / 1e18,
                p50Ms: quantile(0.5), p99Ms: quantile(0.99), firstError: workers.compactMap(\.2).first)
        }
    }
}
