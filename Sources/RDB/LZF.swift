/// LZF (liblzf 3.x, as bundled by Redis in `src/lzf_d.c`), used for RDB strings with the
/// `11` + `RDB_ENC_LZF` prefix: `len clen, len len, clen bytes`.
///
/// Format: a control byte `c`. If `c < 32`: a literal run of `c + 1` bytes follows.
/// Otherwise a back-reference: `len = c >> 5` (7 means one more byte is added to it),
/// then `offset = ((c & 0x1f) << 8) | next byte`, copying `len + 2` bytes from
/// `out - offset - 1`. Copies may overlap (run-length style).
public enum LZF {
    public struct DecompressError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// Offset into the compressed input where decoding failed.
        public var inputOffset: Int
        public var description: String { "LZF: \(message) at compressed byte \(inputOffset)" }
    }

    /// Decompresses `input`, which must expand to exactly `expectedLength` bytes.
    /// Never writes past `expectedLength`; rejects back-references before the output start.
    public static func decompress(_ input: UnsafeRawBufferPointer, expectedLength: Int) throws -> [UInt8] {
        guard expectedLength >= 0 else {
            throw DecompressError(message: "negative expected length", inputOffset: 0)
        }
        if expectedLength == 0 {
            if input.count == 0 { return [] }
            throw DecompressError(message: "data for an empty result", inputOffset: 0)
        }
        var thrown: DecompressError?
        let out = [UInt8](unsafeUninitializedCapacity: expectedLength) { buf, initialized in
            guard let dst = buf.baseAddress else { return }
            do {
                initialized = try decompress(input, into: UnsafeMutableRawPointer(dst), capacity: expectedLength)
                if initialized != expectedLength {
                    thrown = DecompressError(message: "expanded to \(initialized) bytes, expected \(expectedLength)",
                                             inputOffset: input.count)
                    initialized = 0
                }
            } catch let e as DecompressError {
                thrown = e
                initialized = 0
            } catch {
                initialized = 0
            }
        }
        if let thrown { throw thrown }
        return out
    }

    /// Copies `n` non-overlapping bytes; short runs (the common LZF case) avoid a `memmove` call.
    @inline(__always)
    static func copyBytes(_ d: UnsafeMutableRawPointer, _ s: UnsafeRawPointer, _ n: Int) {
        if n > 32 {
            d.copyMemory(from: s, byteCount: n)
            return
        }
        var i = 0
        while i + 8 <= n {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            d.storeBytes(of: s.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    /// Checks that `input` is well-formed LZF expanding to exactly `expectedLength` bytes, without producing
    /// the output: every literal run and back-reference is bounds-checked exactly as `decompress` does.
    public static func validate(_ input: UnsafeRawBufferPointer, expectedLength: Int) throws {
        guard let src = input.baseAddress else {
            if expectedLength == 0 { return }
            throw DecompressError(message: "expanded to 0 bytes, expected \(expectedLength)", inputOffset: 0)
        }
        let inLen = input.count
        var ip = 0
        var op = 0
        while ip < inLen {
            let ctrl = Int(src.load(fromByteOffset: ip, as: UInt8.self))
            let start = ip
            ip += 1
            if ctrl < 32 {
                let run = ctrl + 1
                guard op + run <= expectedLength else {
                    throw DecompressError(message: "literal run overflows the output", inputOffset: start)
                }
                guard ip + run <= inLen else {
                    throw DecompressError(message: "literal run past the end of input", inputOffset: start)
                }
                ip += run
                op += run
            } else {
                var len = ctrl >> 5
                if len == 7 {
                    guard ip < inLen else {
                        throw DecompressError(message: "back-reference length past the end of input", inputOffset: start)
                    }
                    len += Int(src.load(fromByteOffset: ip, as: UInt8.self))
                    ip += 1
                }
                guard ip < inLen else {
                    throw DecompressError(message: "back-reference offset past the end of input", inputOffset: start)
                }
                let back = ((ctrl & 0x1f) << 8) + Int(src.load(fromByteOffset: ip, as: UInt8.self)) + 1
                ip += 1
                len += 2
                guard back <= op else {
                    throw DecompressError(message: "back-reference before the start of output", inputOffset: start)
                }
                guard op + len <= expectedLength else {
                    throw DecompressError(message: "back-reference overflows the output", inputOffset: start)
                }
                op += len
            }
        }
        guard op == expectedLength else {
            throw DecompressError(message: "expanded to \(op) bytes, expected \(expectedLength)", inputOffset: inLen)
        }
    }

    /// Decompresses into `dst` (capacity bytes); returns the number of bytes written.
    public static func decompress(_ input: UnsafeRawBufferPointer, into dst: UnsafeMutableRawPointer,
                                  capacity: Int) throws -> Int {
        guard let src = input.baseAddress else { return 0 }
        let inLen = input.count
        var ip = 0
        var op = 0
        while ip < inLen {
            let ctrl = Int(src.load(fromByteOffset: ip, as: UInt8.self))
            ip += 1
            if ctrl < 32 {
                let run = ctrl + 1
                guard op + run <= capacity else {
                    throw DecompressError(message: "literal run overflows the output", inputOffset: ip - 1)
                }
                guard ip + run <= inLen else {
                    throw DecompressError(message: "literal run past the end of input", inputOffset: ip - 1)
                }
                let rounded = (run + 15) & ~15
                if op + rounded <= capacity && ip + rounded <= inLen {
                    // Whole 16-byte vectors (a run is at most 32 bytes); any bytes written past the run are rewritten
                    // by later tokens (the output must end exactly at `capacity`, so every byte gets its final value).
                    (dst + op).storeBytes(of: (src + ip).loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
                    if run > 16 {
                        (dst + op + 16).storeBytes(of: (src + ip + 16).loadUnaligned(as: SIMD16<UInt8>.self),
                                                   as: SIMD16<UInt8>.self)
                    }
                } else {
                    copyBytes(dst + op, src + ip, run)
                }
                ip += run
                op += run
            } else {
                var len = ctrl >> 5
                let start = ip - 1
                if len == 7 {
                    guard ip < inLen else {
                        throw DecompressError(message: "back-reference length past the end of input", inputOffset: start)
                    }
                    len += Int(src.load(fromByteOffset: ip, as: UInt8.self))
                    ip += 1
                }
                guard ip < inLen else {
                    throw DecompressError(message: "back-reference offset past the end of input", inputOffset: start)
                }
                let back = ((ctrl & 0x1f) << 8) + Int(src.load(fromByteOffset: ip, as: UInt8.self)) + 1
                ip += 1
                len += 2
                guard back <= op else {
                    throw DecompressError(message: "back-reference before the start of output", inputOffset: start)
                }
                guard op + len <= capacity else {
                    throw DecompressError(message: "back-reference overflows the output", inputOffset: start)
                }
                var from = op - back
                if back >= 16 && op + ((len + 15) & ~15) <= capacity {
                    // Distance >= 16: each 16-byte vector reads bytes already written, even when the run overlaps.
                    var i = 0
                    while i < len {
                        (dst + op + i).storeBytes(of: UnsafeRawPointer(dst + from + i).loadUnaligned(as: SIMD16<UInt8>.self),
                                                  as: SIMD16<UInt8>.self)
                        i += 16
                    }
                    op += len
                } else if back >= 8 && op + ((len + 7) & ~7) <= capacity {
                    // Distance >= 8: each 8-byte word reads bytes already written, even when the run overlaps.
                    var i = 0
                    while i < len {
                        (dst + op + i).storeBytes(of: UnsafeRawPointer(dst + from + i).loadUnaligned(as: UInt64.self),
                                                  as: UInt64.self)
                        i += 8
                    }
                    op += len
                } else if back >= len {
                    copyBytes(dst + op, UnsafeRawPointer(dst + from), len)
                    op += len
                } else if back == 1 {
                    let v = dst.load(fromByteOffset: from, as: UInt8.self)
                    (dst + op).initializeMemory(as: UInt8.self, repeating: v, count: len)
                    op += len
                } else {
                    let d = dst.assumingMemoryBound(to: UInt8.self)
                    for _ in 0..<len {
                        d[op] = d[from]
                        op += 1
                        from += 1
                    }
                }
            }
        }
        return op
    }
}

// MARK: - Save side (RDBWriter): LZF compression, the twin of `decompress` above.

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
    /// an entry below the current base belongs to an earlier input and is ignored. Allocated (and zeroed,
    /// 128 KB) by the first `compress`, not before: a compressor that never compresses costs nothing.
    private var table: [Int] = []
    private var base = 1

    public init() {}

    /// Compresses `input` into `output`; returns the compressed length, or 0 when the result
    /// would not fit in `output.count` bytes (Redis's `lzf_compress` contract).
    public mutating func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        let n = input.count
        guard n > 0, let inBase = input.baseAddress, let outBase = output.baseAddress else { return 0 }
        let src = inBase.assumingMemoryBound(to: UInt8.self)
        let dst = outBase.assumingMemoryBound(to: UInt8.self)
        let cap = output.count
        if table.isEmpty { table = [Int](repeating: 0, count: 1 << LZFCompressor.hashLog) }
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
