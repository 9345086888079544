import Foundation

/// The binary form of a reference sample, base64 in the store: raw numerical columns as
/// Float64, categorical ones as a dictionary and UInt32 codes, encoded inputs and the
/// prediction as Float32 (what the model sees). Decoding checks every length it reads.
public enum ReferenceSampleCodec {
    static let magic: [UInt8] = Array("KRS1".utf8)

    public static func encode(_ c: DriftColumns) -> String {
        var w = ByteWriter()
        w.bytes(magic)
        w.u32(c.raw.count)
        for (name, sample) in c.raw {
            w.string(name)
            switch sample {
            case .numerical(let v):
                w.u8(0)
                w.u32(v.count)
                for x in v { w.u64(x.bitPattern) }
            case .categorical(let v):
                w.u8(1)
                var codes: [String: UInt32] = [:]
                var dictionary: [String] = []
                for x in v where codes[x] == nil {
                    codes[x] = UInt32(dictionary.count)
                    dictionary.append(x)
                }
                w.u32(dictionary.count)
                for d in dictionary { w.string(d) }
                w.u32(v.count)
                for x in v { w.u32(Int(codes[x] ?? 0)) }
            }
        }
        w.u32(c.encoded.count)
        for (name, sample) in c.encoded {
            w.string(name)
            let v: [Double]
            if case .numerical(let x) = sample { v = x } else { v = [] }
            w.u32(v.count)
            for x in v { w.u32(Int(Float(x).bitPattern)) }
        }
        if case .numerical(let p)? = c.prediction {
            w.u8(1)
            w.u32(p.count)
            for x in p { w.u32(Int(Float(x).bitPattern)) }
        } else {
            w.u8(0)
        }
        return Data(w.out).base64EncodedString()
    }

    public static func decode(_ text: String) -> DriftColumns? {
        guard let data = Data(base64Encoded: text) else { return nil }
        var r = ByteReader(bytes: [UInt8](data))
        guard r.take(4) == magic, let rawCount = r.u32(), rawCount <= 100_000 else { return nil }
        var raw: [(name: String, sample: ColumnSample)] = []
        for _ in 0..<rawCount {
            guard let name = r.string(), let kind = r.u8() else { return nil }
            if kind == 0 {
                guard let n = r.u32(), r.remaining >= n * 8 else { return nil }
                var v: [Double] = []
                v.reserveCapacity(n)
                for _ in 0..<n { guard let x = r.u64() else { return nil }; v.append(Double(bitPattern: x)) }
                raw.append((name, .numerical(v)))
            } else {
                guard let d = r.u32(), r.remaining >= d * 4 else { return nil }
                var dictionary: [String] = []
                for _ in 0..<d { guard let s = r.string() else { return nil }; dictionary.append(s) }
                guard let n = r.u32(), r.remaining >= n * 4 else { return nil }
                var v: [String] = []
                v.reserveCapacity(n)
                for _ in 0..<n { guard let k = r.u32(), k < dictionary.count else { return nil }; v.append(dictionary[k]) }
                raw.append((name, .categorical(v)))
            }
        }
        guard let encodedCount = r.u32(), encodedCount <= 100_000 else { return nil }
        var encoded: [(name: String, sample: ColumnSample)] = []
        for _ in 0..<encodedCount {
            guard let name = r.string(), let v = r.floats() else { return nil }
            encoded.append((name, .numerical(v)))
        }
        guard let flag = r.u8() else { return nil }
        var prediction: ColumnSample?
        if flag == 1 {
            guard let v = r.floats() else { return nil }
            prediction = .numerical(v)
        }
        return DriftColumns(raw: raw, encoded: encoded, prediction: prediction)
    }
}

struct ByteWriter {
    var out: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { out += b }
    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let b = Array(s.utf8.prefix(1 << 20))
        u32(b.count)
        out += b
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var pos = 0
    var remaining: Int { bytes.count - pos }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, remaining >= n else { return nil }
        defer { pos += n }
        return Array(bytes[pos..<(pos + n)])
    }
    mutating func u8() -> UInt8? { take(1)?.first }
    mutating func u32() -> Int? {
        guard let b = take(4) else { return nil }
        return Int(UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
    }
    mutating func u64() -> UInt64? {
        guard let b = take(8) else { return nil }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(b[k]) << (8 * UInt64(k)) }
        return v
    }
    mutating func string() -> String? {
        guard let n = u32(), let b = take(n) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }
    mutating func floats() -> [Double]? {
        guard let n = u32(), remaining >= n * 4 else { return nil }
        var v: [Double] = []
        v.reserveCapacity(n)
        for _ in 0..<n {
            guard let x = u32() else { return nil }
            v.append(Double(Float(bitPattern: UInt32(x))))
        }
        return v
    }
}
