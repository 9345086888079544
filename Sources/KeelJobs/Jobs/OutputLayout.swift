import KeelCore
import KeelServing

/// The columns a job writes, fixed by its version and specification: the entity id, the
/// prediction (probability, label and, when the version has risk bands, risk band; or the
/// regressor's value), then the passthrough columns in input order.
struct OutputLayout: Sendable {
    let idName: String
    let classifier: Bool
    let riskBands: Bool
    let predictionWidth: Int
    let passthrough: [String]

    init(_ served: ServedVersion, spec: JobSpec) {
        idName = spec.idColumn ?? "line"
        // A classifier reports an [N, C ≥ 2] probability matrix (as the records API reads it).
        let outputs = served.metadata.outputs
        classifier = outputs.contains { $0.dataType == .fp32 && $0.shape.count == 2 && $0.shape[1] >= 2 }
        riskBands = !served.config.riskBands.isEmpty
        let regression = outputs.first { $0.dataType == .fp32 }
        predictionWidth = max(1, regression.flatMap { $0.shape.count == 2 && $0.shape[1] > 1 ? $0.shape[1] : nil } ?? 1)
        let header = spec.header ?? []
        let asked = Set(spec.passthrough)
        passthrough = spec.input.format == .csv ? header.filter { asked.contains($0) } : spec.passthrough
    }

    /// The CSV header line.
    var csvHeader: [UInt8] {
        var columns = [idName]
        if classifier {
            columns += ["probability", "label"]
            if riskBands { columns.append("risk_band") }
        } else {
            columns += predictionWidth == 1 ? ["prediction"] : (0..<predictionWidth).map { "prediction_\($0)" }
        }
        columns += passthrough
        var out: [UInt8] = []
        for (i, c) in columns.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            CSVWriter.field(c, into: &out)
        }
        out.append(0x0A)
        return out
    }
}
