import ArgumentParser
import Foundation
import KeelCore
import KeelEngine

/// `keel bench`: measure a model's latency and throughput in-process.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a model's per-call latency and row throughput; prints one JSON line."
    )

    @Option(name: .long, help: "Model file.")
    var model: String

    @Option(name: .long, help: "v2 request body whose rows are cycled into batches (default: generated rows).")
    var input: String?

    @Option(name: .long, help: "Rows per call.")
    var batch: Int = 1

    @Option(name: .long, help: "Calls per thread (after a warm-up of a tenth as many).")
    var iterations: Int = 10_000

    @Option(name: .long, help: "Threads calling the model concurrently.")
    var threads: Int = 1

    func validate() throws {
        guard batch >= 1, iterations >= 1, threads >= 1 else {
            throw ValidationError("--batch, --iterations and --threads must be at least 1")
        }
    }

    func run() throws {
        let loaded = try CommandSupport.loadModel(model)
        let source = try input.map { try V2JSONCodec.decodeRequest(CommandSupport.readInput($0)).tensorsByName }
            ?? BenchRows.generate(for: loaded.metadata, rows: 256)
        let rowCount = source.values.first?.shape.first ?? 1
        // Enough distinct batches to cover every row once, so repeated rows do not train the
        // branch predictor into flattering numbers.
        let batches = try BenchRows.batches(from: source, batch: batch, count: min(1024, max(16, (rowCount + batch - 1) / batch)))
        for i in 0..<max(1, iterations / 10) { _ = try loaded.infer(batches[i % batches.count]) }

        let result = try BenchRun.measure(loaded, batches: batches, iterations: iterations, threads: threads)
        let sorted = result.latencies.sorted()
        func percentile(_ p: Double) -> Double {
            sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let rowsPerSecond = Double(batch * iterations * threads) / result.seconds
        var w = JSONWriter()
        w.raw("{\"model\":")
        w.string(CommandSupport.modelName(model))
        w.raw(",\"format\":")
        w.string(loaded.metadata.format.rawValue)
        w.raw(",\"batch\":")
        w.integer(batch)
        w.raw(",\"threads\":")
        w.integer(threads)
        w.raw(",\"iterations\":")
        w.integer(iterations)
        w.raw(",\"p50_us\":")
        w.number((percentile(0.5) * 100).rounded() / 100)
        w.raw(",\"p99_us\":")
        w.number((percentile(0.99) * 100).rounded() / 100)
        w.raw(",\"rows_per_s\":")
        w.number(rowsPerSecond.rounded())
        w.raw("}\n")
        FileHandle.standardOutput.write(Data(w.bytes))
    }
}

/// Builds benchmark inputs.
enum BenchRows {
    /// Seeded normal-ish rows for every FP32 [-1, n] input of the model.
    static func generate(for metadata: ModelMetadata, rows: Int) throws -> [String: Tensor] {
        var rng = SplitMix64(seed: 42)
        var out: [String: Tensor] = [:]
        for input in metadata.inputs {
            guard input.dataType == .fp32, input.shape.count == 2, input.shape[1] > 0 else {
                throw KeelError.invalidInput("cannot generate rows for input '\(input.name)' (\(input.dataType.rawValue) \(Tensor.describe(input.shape))); pass --input")
            }
            let width = input.shape[1]
            let values = (0..<(rows * width)).map { _ in Float(rng.normal() * 2) }
            out[input.name] = Tensor(unchecked: [rows, width], data: .fp32(values))
        }
        return out
    }

    /// `count` batches of `batch` rows each, cycling through the source rows.
    static func batches(from source: [String: Tensor], batch: Int, count: Int) throws -> [[String: Tensor]] {
        guard let rows = source.values.first?.shape.first, rows > 0 else {
            throw KeelError.invalidInput("the bench input has no rows")
        }
        var out: [[String: Tensor]] = []
        for b in 0..<count {
            var tensors: [String: Tensor] = [:]
            for (name, tensor) in source {
                guard tensor.shape.first == rows else {
                    throw KeelError.invalidInput("bench inputs must all have \(rows) rows; '\(name)' has shape \(Tensor.describe(tensor.shape))")
                }
                let picks = (0..<batch).map { (b * batch + $0) % rows }
                tensors[name] = try TensorRows.gather(tensor, rows: picks)
            }
            out.append(tensors)
        }
        return out
    }
}

/// Runs the timed loop on several threads and collects per-call latencies.
enum BenchRun {
    struct Result {
        var latencies: [Double]
        var seconds: Double
    }

    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var latencies: [Double] = []
        private(set) var firstError: (any Error)?

        func add(_ values: [Double]) {
            lock.lock(); latencies += values; lock.unlock()
        }

        func fail(_ error: any Error) {
            lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
        }
    }

    static func measure(_ model: any LoadedModel, batches: [[String: Tensor]], iterations: Int, threads: Int) throws -> Result {
        let collector = Collector()
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            var local = [Double]()
            local.reserveCapacity(iterations)
            do {
                for i in 0..<iterations {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try model.infer(batches[(i + worker) % batches.count])
                    local.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
                }
            } catch {
                collector.fail(error)
            }
            collector.add(local)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let error = collector.firstError { throw error }
        return Result(latencies: collector.latencies, seconds: seconds)
    }
}

/// A small deterministic generator so benchmark rows are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func normal() -> Double {
        let u1 = max(Double.leastNonzeroMagnitude, Double.random(in: 0..<1, using: &self))
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
