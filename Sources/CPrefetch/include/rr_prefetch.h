#ifndef RR_PREFETCH_H
#define RR_PREFETCH_H

/// A hint that `p` will soon be read (GCC/Clang `__builtin_prefetch`, for reading, kept in every cache level):
/// no fault, no effect on results. Static inline, so Swift inlines it where it is called.
static inline void rr_prefetch(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

#endif
