import KeelCore

/// OneHotEncoder: each element becomes a one-hot row over the categories (FP32, shape
/// X.shape + [categories]); numbers are matched as truncated INT64. Unknown categories give
/// a zero row, or an error when `zeros` is 0.
struct OneHotEncoderKernel: ONNXKernel {
    let ints: [Int64: Int]
    let strings: [[UInt8]: Int]
    let count: Int
    let zeros: Bool

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "OneHotEncoder")
        _ = try ShapeMath.count(x.shape + [count], what: "OneHotEncoder output")
        var out = [Float](repeating: 0, count: x.count * count)
        func place(_ i: Int, _ k: Int?, _ describe: @autoclosure () -> String) throws(KeelError) {
            if let k { out[i * count + k] = 1 } else if !zeros {
                throw .invalidInput("OneHotEncoder: unknown category \(describe()) (the model was exported with handle_unknown='error')")
            }
        }
        switch x.data {
        case .bytes(let v):
            for (i, s) in v.enumerated() { try place(i, strings[s], "'\(String(decoding: s, as: UTF8.self))'") }
        case .int64(let v):
            for (i, n) in v.enumerated() { try place(i, ints[n], "\(n)") }
        case .int32(let v):
            for (i, n) in v.enumerated() { try place(i, ints[Int64(n)], "\(n)") }
        case .fp32(let v):
            for (i, f) in v.enumerated() { try place(i, Self.key(Double(f)).flatMap { ints[$0] }, "\(f)") }
        case .fp64(let v):
            for (i, f) in v.enumerated() { try place(i, Self.key(f).flatMap { ints[$0] }, "\(f)") }
        default:
            throw .invalidInput("OneHotEncoder does not accept \(x.dataType.rawValue) input")
        }
        return [Tensor(unchecked: x.shape + [count], data: .fp32(out))]
    }

    private static func key(_ d: Double) -> Int64? {
        guard d.isFinite, abs(d) < 9.2e18 else { return nil }
        return Int64(d.rounded(.towardZero))
    }
}

/// A key → value table for LabelEncoder / CategoryMapper over the key and value types ONNX
/// allows (strings, INT64, FP32, FP64; INT16 values).
struct LabelTable: Sendable {
    enum Keys: Sendable { case strings([[UInt8]: Int]), ints([Int64: Int]), floats([UInt64: Int], nan: Int?) }
    let keys: Keys
    let values: TensorData
    let defaultValue: TensorData

    static func floatKeys(_ list: [Double]) -> Keys {
        var map: [UInt64: Int] = [:]
        var nan: Int?
        for (i, k) in list.enumerated() {
            if k.isNaN { if nan == nil { nan = i } } else if map[(k == 0 ? 0 : k).bitPattern] == nil { map[(k == 0 ? 0 : k).bitPattern] = i }
        }
        return .floats(map, nan: nan)
    }

    func map(_ x: Tensor, op: String) throws(KeelError) -> Tensor {
        var indices: [Int] = []
        indices.reserveCapacity(x.count)
        switch (keys, x.data) {
        case (.strings(let m), .bytes(let v)): for s in v { indices.append(m[s] ?? -1) }
        case (.ints(let m), .int64(let v)): for n in v { indices.append(m[n] ?? -1) }
        case (.ints(let m), .int32(let v)): for n in v { indices.append(m[Int64(n)] ?? -1) }
        case (.floats(let m, let nan), .fp32(let v)):
            for f in v { indices.append(f.isNaN ? nan ?? -1 : m[(f == 0 ? 0 : Double(f)).bitPattern] ?? -1) }
        case (.floats(let m, let nan), .fp64(let v)):
            for f in v { indices.append(f.isNaN ? nan ?? -1 : m[(f == 0 ? 0 : f).bitPattern] ?? -1) }
        default:
            throw .invalidInput("\(op): input type \(x.dataType.rawValue) does not match the model's keys")
        }
        // Index -1 reads the default, stored after the values.
        let extended = try Self.append(values, defaultValue)
        let n = values.count
        return Tensor(unchecked: x.shape, data: extended.gathered(indices.map { $0 < 0 ? n : $0 }))
    }

    private static func append(_ a: TensorData, _ b: TensorData) throws(KeelError) -> TensorData {
        switch (a, b) {
        case (.bytes(let x), .bytes(let y)): return .bytes(x + y)
        case (.int64(let x), .int64(let y)): return .int64(x + y)
        case (.fp32(let x), .fp32(let y)): return .fp32(x + y)
        case (.fp64(let x), .fp64(let y)): return .fp64(x + y)
        case (.int16(let x), .int16(let y)): return .int16(x + y)
        default: throw .invalidModel("label table default has another type than its values")
        }
    }
}

/// LabelEncoder (ai.onnx.ml 1–4) and CategoryMapper.
struct LabelEncoderKernel: ONNXKernel {
    let table: LabelTable
    let op: String
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        [try table.map(try KernelInput.require(inputs, 0, op), op: op)]
    }
}

enum EncodingOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.mlDomain, "OneHotEncoder", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let a = ctx.attributes
            var ints: [Int64: Int] = [:], strings: [[UInt8]: Int] = [:]
            let count: Int
            if let s = try a.strings("cats_strings"), !s.isEmpty {
                for (i, v) in s.enumerated() where strings[v] == nil { strings[v] = i }
                count = s.count
            } else if let n = try a.int64s("cats_int64s"), !n.isEmpty {
                for (i, v) in n.enumerated() where ints[v] == nil { ints[v] = i }
                count = n.count
            } else {
                throw .invalidModel("\(ctx.label) lists no categories (cats_strings or cats_int64s)")
            }
            let zeros = try a.int("zeros", default: 1) != 0
            let shape = ctx.input(0)?.shape.map { $0 + [count] }
            return CompiledNode(kernel: OneHotEncoderKernel(ints: ints, strings: strings, count: count, zeros: zeros), outputs: [ValueInfo(.fp32, shape)])
        },
        KernelRegistration(KernelRegistry.mlDomain, "LabelEncoder", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let table = try labelEncoderTable(ctx)
            return CompiledNode(kernel: LabelEncoderKernel(table: table, op: "LabelEncoder"), outputs: [ValueInfo(table.values.dataType, ctx.input(0)?.shape)])
        },
        KernelRegistration(KernelRegistry.mlDomain, "CategoryMapper", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let a = ctx.attributes
            let strings = try a.strings("cats_strings") ?? [], ints = try a.int64s("cats_int64s") ?? []
            guard strings.count == ints.count, !strings.isEmpty else {
                throw .invalidModel("\(ctx.label): cats_strings and cats_int64s must have the same non-zero length")
            }
            let table: LabelTable
            if ctx.type(0) == .int64 || ctx.type(0) == .int32 {
                table = LabelTable(keys: .ints(firstIndex(ints)), values: .bytes(strings),
                                   defaultValue: .bytes([Array(try a.string("default_string", default: "_Unused").utf8)]))
            } else {
                table = LabelTable(keys: .strings(firstIndex(strings)), values: .int64(ints),
                                   defaultValue: .int64([Int64(try a.int("default_int64", default: -1))]))
            }
            return CompiledNode(kernel: LabelEncoderKernel(table: table, op: "CategoryMapper"), outputs: [ValueInfo(table.values.dataType, ctx.input(0)?.shape)])
        },
    ]

    private static func firstIndex<K: Hashable>(_ keys: [K]) -> [K: Int] {
        var m: [K: Int] = [:]
        for (i, k) in keys.enumerated() where m[k] == nil { m[k] = i }
        return m
    }

    /// The three spellings: opset 1 (classes_strings), opset 2–3 (keys_*/values_*) and
    /// opset 4 (keys_tensor/values_tensor/default_tensor).
    private static func labelEncoderTable(_ ctx: NodeContext) throws(KeelError) -> LabelTable {
        let a = ctx.attributes
        if ctx.opset == 1 {
            guard let classes = try a.strings("classes_strings") else { throw .invalidModel("\(ctx.label) needs classes_strings") }
            if ctx.type(0) == .int64 {
                return LabelTable(keys: .ints(firstIndex(classes.indices.map { Int64($0) })), values: .bytes(classes),
                                  defaultValue: .bytes([Array(try a.string("default_string", default: "_Unused").utf8)]))
            }
            return LabelTable(keys: .strings(firstIndex(classes)), values: .int64(classes.indices.map { Int64($0) }),
                              defaultValue: .int64([Int64(try a.int("default_int64", default: -1))]))
        }
        var keys: LabelTable.Keys?
        var keyCount = 0
        if let t = try a.tensor("keys_tensor") {
            keyCount = t.count
            switch t.data {
            case .bytes(let v): keys = .strings(firstIndex(v))
            case .int64(let v): keys = .ints(firstIndex(v))
            case .fp32, .fp64: keys = LabelTable.floatKeys(t.data.doubles ?? [])
            default: throw .unsupported("\(ctx.label): keys of type \(t.dataType.rawValue) are not supported")
            }
        } else if let v = try a.strings("keys_strings") {
            keys = .strings(firstIndex(v)); keyCount = v.count
        } else if let v = try a.int64s("keys_int64s") {
            keys = .ints(firstIndex(v)); keyCount = v.count
        } else if let v = try a.floats("keys_floats") {
            keys = LabelTable.floatKeys(v.map(Double.init)); keyCount = v.count
        }
        var values: TensorData?
        var defaultValue: TensorData
        if let t = try a.tensor("values_tensor") {
            values = t.data
            if let d = try a.tensor("default_tensor") {
                guard d.count == 1 else { throw .invalidModel("\(ctx.label): default_tensor must hold one value") }
                defaultValue = d.data
            } else {
                switch t.data {
                case .bytes: defaultValue = .bytes([Array("_Unused".utf8)])
                case .int64: defaultValue = .int64([-1])
                case .fp32: defaultValue = .fp32([-0.0])
                case .fp64: defaultValue = .fp64([-0.0])
                case .int16: defaultValue = .int16([-1])
                default: throw .unsupported("\(ctx.label): values of type \(t.dataType.rawValue) are not supported")
                }
            }
        } else if let v = try a.strings("values_strings") {
            values = .bytes(v); defaultValue = .bytes([Array(try a.string("default_string", default: "_Unused").utf8)])
        } else if let v = try a.int64s("values_int64s") {
            values = .int64(v); defaultValue = .int64([Int64(try a.int("default_int64", default: -1))])
        } else if let v = try a.floats("values_floats") {
            values = .fp32(v); defaultValue = .fp32([try a.float("default_float", default: -0.0)])
        } else {
            defaultValue = .int64([-1])
        }
        guard let keys, let values else { throw .invalidModel("\(ctx.label) needs keys_* and values_* attributes") }
        guard values.count == keyCount else {
            throw .invalidModel("\(ctx.label) has \(keyCount) keys but \(values.count) values")
        }
        guard values.dataType == defaultValue.dataType else {
            throw .invalidModel("\(ctx.label): the default value's type \(defaultValue.dataType.rawValue) differs from the values' \(values.dataType.rawValue)")
        }
        return LabelTable(keys: keys, values: values, defaultValue: defaultValue)
    }
}

/// ZipMap: Keel returns the FP32 [N, C] probabilities in class order instead of a sequence
/// of maps; the class labels go into the model metadata.
struct ZipMapKernel: ONNXKernel {
    let labels: [String]

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "ZipMap")
        guard case .fp32 = x.data, x.shape.count == 2 || x.shape.count == 1 else {
            throw .invalidInput("ZipMap expects an FP32 [N, C] input, got \(x.dataType.rawValue) \(Tensor.describe(x.shape))")
        }
        let columns = x.shape.last ?? 0
        guard columns == labels.count else {
            throw .invalidInput("ZipMap: input has \(columns) columns for \(labels.count) class labels")
        }
        return [x.shape.count == 1 ? Tensor(unchecked: [1, columns], data: x.data) : x]
    }
}

enum ZipMapOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.mlDomain, "ZipMap", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let labels: ClassLabels
            if let s = try ctx.attributes.strings("classlabels_strings"), !s.isEmpty {
                labels = .strings(s)
            } else if let i = try ctx.attributes.int64s("classlabels_int64s"), !i.isEmpty {
                labels = .ints(i)
            } else {
                throw .invalidModel("\(ctx.label) lists no class labels")
            }
            return CompiledNode(kernel: ZipMapKernel(labels: labels.names), outputs: [ValueInfo(.fp32, [-1, labels.count])])
        },
    ]
}
