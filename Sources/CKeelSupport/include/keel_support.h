#ifndef KEEL_SUPPORT_H
#define KEEL_SUPPORT_H

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#endif

/// Keeps allocations up to `bytes` on the heap instead of fresh mmap'd pages (glibc only;
/// a no-op elsewhere). Returns 1 when applied.
static inline int keel_keep_large_allocations(int bytes) {
#if defined(__linux__) && defined(__GLIBC__)
    int a = mallopt(M_MMAP_THRESHOLD, bytes);
    int b = mallopt(M_TRIM_THRESHOLD, bytes * 2);
    return a && b;
#else
    (void)bytes;
    return 0;
#endif
}

#endif
