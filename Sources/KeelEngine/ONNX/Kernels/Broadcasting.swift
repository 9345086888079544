import KeelCore

/// ONNX (numpy-style) multidirectional broadcasting, written once and shared by every
/// elementwise kernel: shapes align on the right; a dimension of 1 stretches.
enum Broadcast {
    /// The broadcast shape of two shapes, or nil when they are incompatible.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Static broadcast of two possibly partly unknown shapes (-1 = unknown dimension).
    static func staticShape(_ a: [Int]?, _ b: [Int]?) -> [Int]? {
        guard let a, let b else { return nil }
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db { out[i] = da } else if da == 1 { out[i] = db } else if db == 1 { out[i] = da } else { out[i] = -1 }
        }
        return out
    }

    static func shape(_ a: [Int], _ b: [Int], op: String) throws(KeelError) -> [Int] {
        guard let s = shape(a, b) else {
            throw .invalidInput("\(op): shapes \(Tensor.describe(a)) and \(Tensor.describe(b)) cannot be broadcast together")
        }
        // Broadcasting multiplies sizes ([n,1] with [1,n]): bounded before anything is allocated.
        _ = try ShapeMath.count(s, what: "\(op) output")
        return s
    }

    /// Element strides of `shape` inside the broadcast `out` shape (0 where it is stretched).
    static func strides(_ shape: [Int], in out: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: out.count)
        var step = 1
        let offset = out.count - shape.count
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i + offset] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// `op(a[i], b[j])` over the broadcast shape. Equal shapes, a scalar side and the general
    /// case each get their own tight loop.
    @inline(__always)
    static func apply<A, B, R>(
        _ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], op name: String, _ op: (A, B) -> R
    ) throws(KeelError) -> (values: [R], shape: [Int]) {
        if aShape == bShape {
            return (zipMap(a, b, op), aShape)
        }
        let outShape = try shape(aShape, bShape, op: name)
        let count = Tensor.elementCount(outShape)
        if b.count == 1, a.count == count {
            let y = b[0]
            return (a.map { op($0, y) }, outShape)
        }
        if a.count == 1, b.count == count {
            let x = a[0]
            return (b.map { op(x, $0) }, outShape)
        }
        // A row vector added to every row (a bias after MatMul): contiguous inner loops.
        if a.count == count, !b.isEmpty, count % b.count == 0, aShape.count >= 1,
           bShape.drop(while: { $0 == 1 }).elementsEqual(aShape.suffix(bShape.drop(while: { $0 == 1 }).count)) {
            return (rowBroadcast(a, b, op), outShape)
        }
        return (general(a, aShape, b, bShape, outShape, count, op), outShape)
    }

    @inline(__always)
    private static func rowBroadcast<A, B, R>(_ a: [A], _ b: [B], _ op: (A, B) -> R) -> [R] {
        [R](unsafeUninitializedCapacity: a.count) { buf, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let width = pb.count
                    var i = 0
                    while i < pa.count {
                        for j in 0..<width { (buf.baseAddress! + i + j).initialize(to: op(pa[i + j], pb[j])) }
                        i += width
                    }
                }
            }
            n = a.count
        }
    }

    @inline(__always)
    private static func zipMap<A, B, R>(_ a: [A], _ b: [B], _ op: (A, B) -> R) -> [R] {
        [R](unsafeUninitializedCapacity: a.count) { buf, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<pa.count { (buf.baseAddress! + i).initialize(to: op(pa[i], pb[i])) }
                }
            }
            n = a.count
        }
    }

    /// Odometer over every dimension but the last; the last runs as a strided inner loop.
    @inline(__always)
    private static func general<A, B, R>(
        _ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ outShape: [Int], _ count: Int, _ op: (A, B) -> R
    ) -> [R] {
        let rank = outShape.count
        let sa = strides(aShape, in: outShape)
        let sb = strides(bShape, in: outShape)
        let inner = rank == 0 ? 1 : outShape[rank - 1]
        let ia = rank == 0 ? 0 : sa[rank - 1]
        let ib = rank == 0 ? 0 : sb[rank - 1]
        return [R](unsafeUninitializedCapacity: count) { buf, n in
            guard count > 0 else { n = 0; return }
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    var index = [Int](repeating: 0, count: max(rank - 1, 0))
                    var offA = 0, offB = 0, o = 0
                    while o < count {
                        var x = offA, y = offB
                        for _ in 0..<inner {
                            (buf.baseAddress! + o).initialize(to: op(pa[x], pb[y]))
                            o += 1
                            x += ia
                            y += ib
                        }
                        // Advance the odometer over the outer dimensions.
                        var d = rank - 2
                        while d >= 0 {
                            index[d] += 1
                            offA += sa[d]
                            offB += sb[d]
                            if index[d] < outShape[d] { break }
                            offA -= sa[d] * outShape[d]
                            offB -= sb[d] * outShape[d]
                            index[d] = 0
                            d -= 1
                        }
                    }
                }
            }
            n = count
        }
    }

    /// Source element index, per output element, of `shape` broadcast to `out` (used by
    /// ternary and n-ary ops, which are rare enough to afford an index array).
    static func sourceIndices(_ shape: [Int], to out: [Int]) -> [Int] {
        let count = Tensor.elementCount(out)
        if shape == out { return Array(0..<count) }
        return offsets(walking: out, strides: strides(shape, in: out))
    }

    /// For each position of `shape` in row-major order, the offset `Σ index[d] · strides[d]`:
    /// an odometer over the shape (shared by broadcasting and reductions).
    static func offsets(walking shape: [Int], strides s: [Int]) -> [Int] {
        let count = Tensor.elementCount(shape)
        var result = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var offset = 0
        for o in 0..<count {
            result[o] = offset
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                offset += s[d]
                if index[d] < shape[d] { break }
                offset -= s[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return result
    }
}
