/// The single-precision multiply microkernel on packed panels of 8 columns: 4 rows × 8
/// columns per block, accumulators in SIMD registers.
///
/// This file is compiled twice: into `KeelKernels` for the baseline CPU, and (through a
/// symbolic link) into `KeelKernelsAVX2` with `-target-cpu haswell` and `KEEL_FMA`, where the
/// same loop becomes 256-bit fused multiply-adds. The engine picks one at run time.
public enum PanelKernel {
    /// out[m, n] = A[m, k] · B (+ out's prior contents when `accumulate`); A rows are `lda`
    /// apart; B is `panels`, column panels of 8 (`panel[p][k][0..<8]`, zero padded).
    public static func multiply(
        _ a: UnsafePointer<Float>, m: Int, lda: Int, panels base: UnsafePointer<Float>, k: Int, n: Int,
        into out: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let w = 8
        let panelCount = (n + w - 1) / w
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
                    madd(&c0, a0[kk], bv)
                    madd(&c1, a1[kk], bv)
                    madd(&c2, a2[kk], bv)
                    madd(&c3, a3[kk], bv)
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
                    madd(&c0, a0[kk], bp.loadUnaligned(fromByteOffset: kk * w * 4, as: SIMD8<Float>.self))
                }
                store(c0, out + i * n + col, cols, accumulate)
                i += 1
            }
        }
    }

    @inline(__always)
    static func madd(_ c: inout SIMD8<Float>, _ a: Float, _ b: SIMD8<Float>) {
        #if KEEL_FMA
        c.addProduct(SIMD8(repeating: a), b)
        #else
        c += SIMD8(repeating: a) * b
        #endif
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ dst: UnsafeMutablePointer<Float>, _ cols: Int, _ accumulate: Bool) {
        if cols == 8 {
            let raw = UnsafeMutableRawPointer(dst)
            if accumulate {
                raw.storeBytes(of: raw.loadUnaligned(as: SIMD8<Float>.self) + v, as: SIMD8<Float>.self)
            } else {
                raw.storeBytes(of: v, as: SIMD8<Float>.self)
            }
        } else if accumulate {
            for j in 0..<cols { dst[j] += v[j] }
        } else {
            for j in 0..<cols { dst[j] = v[j] }
        }
    }
}
