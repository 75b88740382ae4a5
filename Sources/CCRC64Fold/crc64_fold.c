#include "crc64_fold.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Folding constants (derived from the polynomial again, and compared, by Tests/RDBTests/CRC64FoldTests.swift).
 * A 128-bit lane loaded little-endian holds, bit k, the coefficient of x^(127-k) of its 16 bytes' polynomial:
 * its low half is H(x) (times x^64), its high half L(x). Carried D bits forward, H x^(64+D) + L x^D is congruent
 * (mod P) to H (x^(64+D-1) mod P) x + L (x^(D-1) mod P) x, and the carry-less product of two reflected 64-bit
 * values supplies the factor x. So the pair for distance D is { reflect64(x^(64+D-1) mod P),
 * reflect64(x^(D-1) mod P) }, multiplied with the lane's low and high halves. */
#define K512 0xaf86efb16d9ab4fbULL, 0xf49784a634f014e4ULL
#define K384 0xa062b2319d66692fULL, 0x7b3211a760160db8ULL
#define K256 0x6ba4d760ab38201eULL, 0xef3d1d18ed889ed2ULL
#define K128 0xd9d7be7d505da32cULL, 0x381d0015c96f4444ULL

void rr_crc64_jones_fold_constants(uint64_t out[8]) {
    const uint64_t k[8] = {K512, K384, K256, K128};
    for (int i = 0; i < 8; i++) out[i] = k[i];
}

#if defined(__x86_64__)

__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i x, __m128i k) {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse4.1")))
static inline __m128i pair(uint64_t low, uint64_t high) {
    return _mm_set_epi64x((long long)high, (long long)low);
}

__attribute__((target("pclmul,sse4.1")))
static size_t fold_pclmul(uint64_t crc, const uint8_t *p, size_t n, uint8_t out[16]) {
    const __m128i k512 = pair(K512), k384 = pair(K384), k256 = pair(K256), k128 = pair(K128);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    /* A register c over bytes B is the zero register over B with its first 8 bytes xored by c. */
    x0 = _mm_xor_si128(x0, _mm_cvtsi64_si128((long long)crc));
    size_t i = 64;
    while (n - i >= 64) {
        x0 = _mm_xor_si128(fold(x0, k512), _mm_loadu_si128((const __m128i *)(p + i)));
        x1 = _mm_xor_si128(fold(x1, k512), _mm_loadu_si128((const __m128i *)(p + i + 16)));
        x2 = _mm_xor_si128(fold(x2, k512), _mm_loadu_si128((const __m128i *)(p + i + 32)));
        x3 = _mm_xor_si128(fold(x3, k512), _mm_loadu_si128((const __m128i *)(p + i + 48)));
        i += 64;
    }
    __m128i v = _mm_xor_si128(_mm_xor_si128(fold(x0, k384), fold(x1, k256)), _mm_xor_si128(fold(x2, k128), x3));
    while (n - i >= 16) {
        v = _mm_xor_si128(fold(v, k128), _mm_loadu_si128((const __m128i *)(p + i)));
        i += 16;
    }
    _mm_storeu_si128((__m128i *)out, v);
    return i;
}

size_t rr_crc64_jones_fold(uint64_t crc, const void *data, size_t n, uint8_t out[16]) {
    if (n < 64 || !__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("sse4.1")) return 0;
    return fold_pclmul(crc, (const uint8_t *)data, n, out);
}

#else

size_t rr_crc64_jones_fold(uint64_t crc, const void *data, size_t n, uint8_t out[16]) {
    (void)crc; (void)data; (void)n; (void)out;
    return 0;
}

#endif
