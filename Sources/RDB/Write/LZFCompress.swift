/// LZF compression (the liblzf format Redis bundles in `src/lzf_c.c`), the save-side twin of
/// `LZF.decompress`.
///
/// Output: literal runs (`c < 32`, then `c + 1` bytes) and back-references (`len - 2` in the top
/// 3 bits, 7 meaning an extra length byte follows, then the 13-bit `distance - 1`). Matches are
/// found through a hash of the next 3 bytes; distances are at most 8192 and lengths at most 264,
/// the limits of the format. The exact byte stream differs from liblzf's (different hash), but
/// every stream is valid for any LZF decoder, Redis's included.
public struct LZFCompressor {
    private static let hashLog = 14
    private static let maxLiteral = 32
    private static let maxDistance = 8192
    private static let maxMatch = 264

    /// Positions are stored as `generation base + index`, so the table never needs clearing:
    /// an entry below the current base belongs to an earlier input and is ignored.
    private var table: [Int]
    private var base = 1

    public init() {
        table = [Int](repeating: 0, count: 1 << LZFCompressor.hashLog)
    }

    /// Compresses `input` into `output`; returns the compressed length, or 0 when the result
    /// would not fit in `output.count` bytes (Redis's `lzf_compress` contract).
    public mutating func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        let n = input.count
        guard n > 0, let inBase = input.baseAddress, let outBase = output.baseAddress else { return 0 }
        let src = inBase.assumingMemoryBound(to: UInt8.self)
        let dst = outBase.assumingMemoryBound(to: UInt8.self)
        let cap = output.count
        let gen = base
        base += n + 1
        var op = 0
        var literalStart = 0
        var ip = 0

        return table.withUnsafeMutableBufferPointer { tb -> Int in
            let htab = tb.baseAddress!
            // Emits pending literals [literalStart, end) in runs of at most 32; false when out of space.
            @inline(__always) func flushLiterals(_ end: Int) -> Bool {
                while literalStart < end {
                    let run = min(LZFCompressor.maxLiteral, end - literalStart)
                    if op + 1 + run > cap { return false }
                    dst[op] = UInt8(run - 1)
                    (dst + op + 1).update(from: src + literalStart, count: run)
                    op += 1 + run
                    literalStart += run
                }
                return true
            }
            while ip + 2 < n {
                let v = UInt32(src[ip]) << 16 | UInt32(src[ip + 1]) << 8 | UInt32(src[ip + 2])
                let h = Int((v &* 2654435761) >> UInt32(32 - LZFCompressor.hashLog))
                let stored = htab[h]
                htab[h] = gen + ip
                let ref = stored - gen
                if stored >= gen, ip - ref - 1 < LZFCompressor.maxDistance,
                   src[ref] == src[ip], src[ref + 1] == src[ip + 1], src[ref + 2] == src[ip + 2] {
                    var len = 3
                    let maxLen = min(LZFCompressor.maxMatch, n - ip)
                    while len < maxLen && src[ref + len] == src[ip + len] { len += 1 }
                    guard flushLiterals(ip) else { return 0 }
                    let distance = ip - ref - 1
                    let l = len - 2
                    if l < 7 {
                        if op + 2 > cap { return 0 }
                        dst[op] = UInt8(l << 5 | distance >> 8)
                        dst[op + 1] = UInt8(distance & 0xff)
                        op += 2
                    } else {
                        if op + 3 > cap { return 0 }
                        dst[op] = UInt8(7 << 5 | distance >> 8)
                        dst[op + 1] = UInt8(l - 7)
                        dst[op + 2] = UInt8(distance & 0xff)
                        op += 3
                    }
                    // Index the positions inside the match too (cheap, and finds repeats better).
                    let end = ip + len
                    var p = ip + 1
                    while p < end && p + 2 < n {
                        let w = UInt32(src[p]) << 16 | UInt32(src[p + 1]) << 8 | UInt32(src[p + 2])
                        htab[Int((w &* 2654435761) >> UInt32(32 - LZFCompressor.hashLog))] = gen + p
                        p += 1
                    }
                    ip = end
                    literalStart = ip
                } else {
                    ip += 1
                }
            }
            guard flushLiterals(n) else { return 0 }
            return op
        }
    }
}

extension LZF {
    /// Compresses `input`; nil when the result would be longer than `maxLength` bytes
    /// (default: Redis's rule for RDB strings, at least 4 bytes saved).
    public static func compress(_ input: [UInt8], maxLength: Int? = nil) -> [UInt8]? {
        let limit = maxLength ?? (input.count - 4)
        guard limit > 0 else { return nil }
        var compressor = LZFCompressor()
        var out = [UInt8](repeating: 0, count: limit)
        let n = input.withUnsafeBytes { inp in
            out.withUnsafeMutableBytes { compressor.compress(inp, into: $0) }
        }
        guard n > 0 else { return nil }
        out.removeLast(out.count - n)
        return out
    }
}
