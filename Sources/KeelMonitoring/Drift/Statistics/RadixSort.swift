/// Ascending sort of large `Double` columns in linear time: a least-significant-digit radix
/// sort on the IEEE-754 bits mapped to unsigned keys that order like the numbers (negative
/// values have every bit flipped, others only the sign bit). Passes whose digit is the same in
/// every key are skipped, so columns of 0/1 indicators or small integers take two or three
/// passes. A drift window sorts every numerical column of up to a million rows.
enum RadixSort {
    /// Below this many values the standard library's sort is as fast.
    static let threshold = 4_096

    /// `values` in ascending order. NaNs are not expected (windows hold finite values); any
    /// present end up at the ends by their bits. −0.0 sorts just before +0.0.
    static func sorted(_ values: [Double]) -> [Double] {
        let n = values.count
        guard n >= threshold else { return values.sorted() }
        var keys = [UInt64](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n {
                let bits = values[i].bitPattern
                buffer[i] = bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
            }
            count = n
        }
        var spare = [UInt64](repeating: 0, count: n)
        // 16-bit digits: four passes at most, each a counting pass and a scatter.
        var counts = [Int](repeating: 0, count: 1 << 16)
        for pass in 0..<4 {
            let shift = UInt64(pass * 16)
            for k in counts.indices { counts[k] = 0 }
            keys.withUnsafeBufferPointer { src in
                counts.withUnsafeMutableBufferPointer { c in
                    for key in src { c[Int(truncatingIfNeeded: (key >> shift) & 0xFFFF)] += 1 }
                }
            }
            // Every key has the same digit: this pass would not move anything.
            if counts[Int(truncatingIfNeeded: (keys[0] >> shift) & 0xFFFF)] == n { continue }
            var total = 0
            for k in counts.indices {
                let c = counts[k]
                counts[k] = total
                total += c
            }
            keys.withUnsafeBufferPointer { src in
                spare.withUnsafeMutableBufferPointer { dst in
                    counts.withUnsafeMutableBufferPointer { c in
                        for key in src {
                            let d = Int(truncatingIfNeeded: (key >> shift) & 0xFFFF)
                            dst[c[d]] = key
                            c[d] += 1
                        }
                    }
                }
            }
            swap(&keys, &spare)
        }
        return keys.map { key in
            Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
        }
    }
}
