#ifndef RR_CRC64_FOLD_H
#define RR_CRC64_FOLD_H

#include <stddef.h>
#include <stdint.h>

/// CRC-64/Jones (Redis's RDB trailer: reflected polynomial 0xad93d23594c935a9, no final xor) by carry-less
/// multiplication (PCLMULQDQ), folding 4 x 16 bytes per step: Intel's "Fast CRC Computation for Generic
/// Polynomials Using PCLMULQDQ Instruction" (2009), for a bit-reflected CRC.
///
/// Folds the CRC register `crc` and the first bytes of `data` (`n` bytes) into 16 bytes written to `out`,
/// such that the CRC from a zero register over `out` equals the CRC from `crc` over the consumed bytes.
/// Returns how many bytes were consumed: a multiple of 16, at least 64, or 0 when nothing was done (fewer than
/// 64 bytes, or a CPU without PCLMULQDQ and SSE4.1, or not x86-64). The caller finishes with a table-driven
/// CRC over `out` and the bytes left.
size_t rr_crc64_jones_fold(uint64_t crc, const void *data, size_t n, uint8_t out[16]);

/// The folding constants `rr_crc64_jones_fold` uses, for distances 512, 384, 256 and 128 bits: two 64-bit values
/// each (8 in all), so that tests can derive them from the polynomial and compare.
void rr_crc64_jones_fold_constants(uint64_t out[8]);

#endif
