import CKeelSupport

/// Process-wide allocator settings for inference workloads, applied once at startup.
enum MemoryTuning {
    /// glibc serves allocations above 128 KiB with fresh mmap'd pages and returns them on
    /// free, so every batch's intermediate tensors page-fault anew (a fifth of the time of a
    /// 1000-row MLP call). Keeping buffers up to 64 MiB in the heap lets them be reused.
    static func apply() {
        _ = keel_keep_large_allocations(64 << 20)
    }
}
