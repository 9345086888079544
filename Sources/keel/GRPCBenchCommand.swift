import ArgumentParser
import Foundation
import KeelCore
import KeelServer

/// `keel bench-grpc`: closed-loop ModelInfer load on a running Keel's gRPC port, for
/// scripts/bench/http.sh's gRPC row. Prints one JSON line.
struct GRPCBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-grpc", abstract: "Drive ModelInfer at a gRPC server and print requests/s and latency (one JSON line).")

    @Option(help: "host:port of the gRPC server.") var target = "127.0.0.1:8001"
    @Option(help: "Model to call.") var model = "churn"
    @Option(help: "v2 JSON request whose first input (FP32, [N, F]) is sent, as raw contents.") var request = "models/churn/sample_request.json"
    @Option(help: "HTTP/2 connections.") var connections = 4
    @Option(help: "Callers in flight (like wrk's -c).") var concurrency = 64
    @Option(help: "Seconds measured.") var duration = 12
    @Option(help: "Seconds of warm-up before measuring.") var warmup = 2
    @Option(help: "Rows per request (the request's first row repeated).") var rows = 1

    func run() async throws {
        let parts = target.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else { throw ValidationError("--target must be host:port") }
        guard (1...1024).contains(connections), (1...4096).contains(concurrency), (1...3600).contains(duration), (0...600).contains(warmup),
            (1...10_000).contains(rows)
        else { throw ValidationError("--connections 1...1024, --concurrency 1...4096, --duration 1...3600, --warmup 0...600, --rows 1...10000") }
        guard let text = SmallFile.text(request, limit: 64 << 20) else { throw ValidationError("cannot read \(request)") }
        let parsed = try V2JSONCodec.decodeRequest(Array(text.utf8))
        guard let input = parsed.inputs.first, case .fp32(let values) = input.tensor.data, input.tensor.shape.count == 2, input.tensor.shape[1] > 0
        else { throw ValidationError("\(request): the first input must be FP32 with shape [N, F]") }
        let width = input.tensor.shape[1]
        let row = Array(values.prefix(width))
        let generator = GRPCLoadGenerator(
            host: String(parts[0]), port: port, model: model, inputName: input.name, rows: Array(repeating: row, count: rows),
            connections: connections, concurrency: concurrency, duration: .seconds(duration), warmup: .seconds(warmup))
        let r = try await generator.run()
        var w = JSONWriter()
        w.value(.object([
            "target": .string(target), "connections": .number(Double(connections)), "concurrency": .number(Double(concurrency)),
            "requests": .number(Double(r.requests)), "errors": .number(Double(r.errors)),
            "requests_per_second": .number((r.requestsPerSecond * 10).rounded() / 10),
            "p50_ms": .number((r.p50Ms * 1000).rounded() / 1000), "p99_ms": .number((r.p99Ms * 1000).rounded() / 1000),
            "first_error": r.firstError.map { .string(String($0.prefix(300))) } ?? .null,
        ]))
        print(String(decoding: w.bytes, as: UTF8.self))
    }
}
