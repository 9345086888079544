import KeelCore

/// An estimate of the memory a parsed JSON document occupies, for charging the load budget
/// with what KeelCore's parser built before the loader builds more: about 24 bytes per value,
/// the bytes of long strings, array and dictionary storage with its growth slack.
enum JSONDocumentCost {
    static let valueBytes = MemoryLayout<JSONValue>.stride
    /// Array and dictionary storage headers.
    static let headerBytes = 32
    /// Strings of up to 15 UTF-8 bytes are stored inline in the value.
    static let inlineStringBytes = 15

    static func bytes(_ value: JSONValue) -> Int {
        switch value {
        case .null, .bool, .number:
            return valueBytes
        case .string(let s):
            let n = s.utf8.count
            return valueBytes &+ (n > inlineStringBytes ? headerBytes &+ n : 0)
        case .array(let items):
            // Parsed arrays grow by doubling: on average half as much again is spare capacity.
            return items.reduce(valueBytes &+ headerBytes &+ items.count &* (valueBytes / 2)) { $0 &+ bytes($1) }
        case .object(let fields):
            var total = valueBytes &+ headerBytes
            for (key, field) in fields {
                let keyBytes = key.utf8.count > inlineStringBytes ? headerBytes &+ key.utf8.count : 0
                // Key, value and the hash table's slack (its load factor is at most 3/4).
                total = total &+ 2 &* MemoryLayout<String>.stride &+ keyBytes &+ bytes(field)
            }
            return total
        case .floats(let a):
            return valueBytes &+ headerBytes &+ a.count &* MemoryLayout<Float>.stride
        case .doubles(let a):
            return valueBytes &+ headerBytes &+ a.count &* MemoryLayout<Double>.stride
        case .ints(let a):
            return valueBytes &+ headerBytes &+ a.count &* MemoryLayout<Int64>.stride
        }
    }
}
