import KeelCore

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

/// Single-precision matrix multiply on packed panels: 4 rows × 8 columns per inner block,
/// accumulators held in SIMD registers.
enum SGEMM {
    /// out[m, n] = A[m, k] · B (+ out's prior contents when `accumulate`). A rows are `lda` apart.
    static func multiply(
        _ a: UnsafePointer<Float>, m: Int, lda: Int, _ b: PackedMatrix,
        into out: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let k = b.k, n = b.n, w = PackedMatrix.width
        let panelCount = (n + w - 1) / w
        b.panels.withUnsafeBufferPointer { panels in
            let base = panels.baseAddress!
            for p in 0..<panelCount {
                let bp = UnsafeRawPointer(base + p * k * w)
                let col = p * w
                let cols = min(w, n - col)
                var i = 0
                while i + 4 <= m {
                    var c0 = SIMD8<Float>(repeating: 0), c1 = c0, c2 = c0, c3 = c0
                    let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
                    for kk in 0..<k {
                        let bv = bp.loadUnaligned(fromByteOffset: kk * w * 4, as: SIMD8<Float>.self)
                        c0 += SIMD8(repeating: a0[kk]) * bv
                        c1 += SIMD8(repeating: a1[kk]) * bv
                        c2 += SIMD8(repeating: a2[kk]) * bv
                        c3 += SIMD8(repeating: a3[kk]) * bv
                    }
                    store(c0, out + i * n + col, cols, accumulate)
                    store(c1, out + (i + 1) * n + col, cols, accumulate)
                    store(c2, out + (i + 2) * n + col, cols, accumulate)
                    store(c3, out + (i + 3) * n + col, cols, accumulate)
                    i += 4
                }
                while i < m {
                    var c0 = SIMD8<Float>(repeating: 0)
                    let a0 = a + i * lda
                    for kk in 0..<k {
                        c0 += SIMD8(repeating: a0[kk]) * bp.loadUnaligned(fromByteOffset: kk * w * 4, as: SIMD8<Float>.self)
                    }
                    store(c0, out + i * n + col, cols, accumulate)
                    i += 1
                }
            }
        }
    }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ dst: UnsafeMutablePointer<Float>, _ cols: Int, _ accumulate: Bool) {
        if accumulate {
            for j in 0..<cols { dst[j] += v[j] }
        } else {
            for j in 0..<cols { dst[j] = v[j] }
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
