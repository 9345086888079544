import KeelCore
import KeelKernels
import KeelKernelsAVX2

/// A right-hand matrix [K, N] packed into column panels of 8 (`panel[p][k][0..<8]`, zero
/// padded) so the multiply kernel streams it with one contiguous SIMD load per step.
/// Constant weights are packed once at load.
struct PackedMatrix: Sendable {
    static let width = 8
    let k: Int
    let n: Int
    let panels: [Float]

    /// Packs B given row-major as [K, N], or as [N, K] when `transposed`.
    init(_ b: UnsafeBufferPointer<Float>, k: Int, n: Int, transposed: Bool) {
        self.k = k
        self.n = n
        let count = (n + Self.width - 1) / Self.width
        var panels = [Float](repeating: 0, count: count * k * Self.width)
        panels.withUnsafeMutableBufferPointer { out in
            for p in 0..<count {
                for kk in 0..<k {
                    for j in 0..<Self.width {
                        let col = p * Self.width + j
                        guard col < n else { break }
                        out[(p * k + kk) * Self.width + j] = transposed ? b[col * k + kk] : b[kk * n + col]
                    }
                }
            }
        }
        self.panels = panels
    }

    init(_ b: [Float], k: Int, n: Int, transposed: Bool) {
        self = b.withUnsafeBufferPointer { PackedMatrix($0, k: k, n: n, transposed: transposed) }
    }
}

/// Single-precision matrix multiply on packed panels, dispatched to the AVX2+FMA build of the
/// microkernel when the CPU has those features, else to the baseline build.
enum SGEMM {
    /// out[m, n] = A[m, k] · B (+ out's prior contents when `accumulate`). A rows are `lda` apart.
    static func multiply(
        _ a: UnsafePointer<Float>, m: Int, lda: Int, _ b: PackedMatrix,
        into out: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        b.panels.withUnsafeBufferPointer { panels in
            if CPUFeatures.hasAVX2FMA {
                KeelKernelsAVX2.PanelKernel.multiply(
                    a, m: m, lda: lda, panels: panels.baseAddress!, k: b.k, n: b.n, into: out, accumulate: accumulate)
            } else {
                KeelKernels.PanelKernel.multiply(
                    a, m: m, lda: lda, panels: panels.baseAddress!, k: b.k, n: b.n, into: out, accumulate: accumulate)
            }
        }
    }
}

/// Double-precision and odd-type fallback: a plain triple loop (rare in tabular models).
enum DGEMM {
    static func multiply(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int, aOffset: Int, bOffset: Int, into out: inout [Double], outOffset: Int) {
        for i in 0..<m {
            for kk in 0..<k {
                let x = a[aOffset + i * k + kk]
                for j in 0..<n { out[outOffset + i * n + j] += x * b[bOffset + kk * n + j] }
            }
        }
    }
}
