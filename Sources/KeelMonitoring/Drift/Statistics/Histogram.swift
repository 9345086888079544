import Foundation

/// Equal-width histograms computed the way NumPy does (`histogram_bin_edges(..., 'sturges')`,
/// `linspace` edges, left-closed bins with the last one closed on both sides), so binned drift
/// scores agree with tools built on NumPy.
public enum Histogram {
    /// Sturges' rule over the values' range: ⌈range / (range / (log2 n + 1))⌉ bins.
    public static func sturgesEdges(_ values: [Double]) -> [Double] {
        guard var first = values.min(), var last = values.max() else { return [0, 1] }
        if first == last {
            first -= 0.5
            last += 0.5
        }
        let range = (values.max() ?? 0) - (values.min() ?? 0)
        let width = range / (log2(Double(values.count)) + 1)
        var bins = 1
        if width > 0 {
            let b = ((last - first) / width).rounded(.up)
            bins = b.isFinite && b >= 1 && b < 1e6 ? Int(b) : 1
        }
        return linspace(first, last, count: bins + 1)
    }

    /// `count` evenly spaced values from `start` to `stop` inclusive (NumPy's arithmetic:
    /// i·step + start, the last exactly `stop`).
    public static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        guard count > 1 else { return [start] }
        let step = (stop - start) / Double(count - 1)
        var out = (0..<count).map { Double($0) * step + start }
        out[count - 1] = stop
        return out
    }

    /// Counts per bin: [e_i, e_{i+1}) and the last bin [e_{n−1}, e_n]; values outside are not counted.
    public static func counts(_ values: [Double], edges: [Double]) -> [Int] {
        guard edges.count >= 2 else { return [] }
        let sorted = values.sorted()
        func lowerBound(_ v: Double) -> Int {
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] < v { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        func upperBound(_ v: Double) -> Int {
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] <= v { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        var cumulative = edges.dropLast().map(lowerBound)
        cumulative.append(upperBound(edges[edges.count - 1]))
        return (0..<(cumulative.count - 1)).map { cumulative[$0 + 1] - cumulative[$0] }
    }
}
