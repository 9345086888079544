import Foundation

/// What the CPU can run, read once: decides which build of the matrix microkernel is used.
enum CPUFeatures {
    /// AVX2 and FMA are present (x86-64 Linux: from /proc/cpuinfo; elsewhere assumed absent,
    /// so the baseline kernel runs). `KEEL_DISABLE_AVX2=1` forces the baseline kernel.
    static let hasAVX2FMA: Bool = {
        #if arch(x86_64) && os(Linux)
        if ProcessInfo.processInfo.environment["KEEL_DISABLE_AVX2"] == "1" { return false }
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " "))
        return set.contains("avx2") && set.contains("fma")
        #else
        return false
        #endif
    }()
}
