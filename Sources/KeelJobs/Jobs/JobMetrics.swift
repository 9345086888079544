import CoreMetrics
import Foundation
import Synchronization

/// Batch-job metrics: rows and errors scored per model, chunks by outcome, jobs per state
/// and the rows still to do (refreshed from the shared store, so every replica reports the
/// whole queue).
public final class JobMetrics: Sendable {
    let factory: any MetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let gauges = Mutex<[String: CoreMetrics.Gauge]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private func counter(_ label: String, _ dims: [(String, String)]) -> CoreMetrics.Counter {
        Self.cached(counters, label, dims) { CoreMetrics.Counter(label: label, dimensions: dims, factory: factory) }
    }

    private func gauge(_ label: String, _ dims: [(String, String)]) -> CoreMetrics.Gauge {
        Self.cached(gauges, label, dims) { CoreMetrics.Gauge(label: label, dimensions: dims, factory: factory) }
    }

    /// One handle per label and dimensions, made on first use.
    private static func cached<T>(_ cache: borrowing Mutex<[String: T]>, _ label: String, _ dims: [(String, String)], make: () -> T) -> T {
        let key = label + dims.map { "\u{0}\($0.0)=\($0.1)" }.joined()
        return cache.withLock { c in
            if let m = c[key] { return m }
            let m = make()
            c[key] = m
            return m
        }
    }

    func scored(model: String, rows: Int64, errors: Int64) {
        if rows > 0 { counter("keel_batch_rows_total", [("model", model)]).increment(by: rows) }
        if errors > 0 { counter("keel_batch_row_errors_total", [("model", model)]).increment(by: errors) }
    }

    /// `committed`, `lost` (another replica took it over), `retried` (failed, given back).
    func chunk(model: String, outcome: String) {
        counter("keel_batch_chunks_total", [("model", model), ("outcome", outcome)]).increment()
    }

    func refresh(counts: [String: Int], rowsPending: Int64, rowsPerSecond: Double) {
        for state in JobState.allCases {
            gauge("keel_batch_jobs", [("state", state.rawValue)]).record(counts[state.rawValue] ?? 0)
        }
        gauge("keel_batch_rows_pending", []).record(rowsPending)
        gauge("keel_batch_rows_per_second", []).record(rowsPerSecond)
    }
}
