import RDB

/// Buffered RESP output: commands as arrays of bulk strings (`*N\r\n$len\r\nbytes\r\n...`), the form
/// `redis-cli --pipe` and an AOF file carry (Redis `src/rio.c`, `rioWriteBulkCount` / `rioWriteBulkString`).
///
/// Bytes gather in one buffer and go to the sink in `flushThreshold`-sized writes.
public final class RESPOutput: BufferedOutput {
    public init(flushThreshold: Int = 1 << 20, sink: Sink? = nil) {
        super.init(flushThreshold: flushThreshold, sink: sink, initialCapacity: max(4096, flushThreshold + 4096))
    }

    /// The unflushed bytes as an array (tests, small outputs).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    @inline(__always) private func put(_ b: UInt8) {
        base[count] = b
        count &+= 1
    }

    /// Decimal digits of `v` (reserve 20 bytes first), through `DecimalText`'s digit pairs.
    @inline(__always) private func putDecimal(_ v: UInt64) {
        if v < 10 {
            put(UInt8(truncatingIfNeeded: v) &+ 0x30)
            return
        }
        count &+= DecimalText.write(v, to: UnsafeMutableRawPointer(base + count))
    }

    @inline(__always) private func crlf() {
        put(0x0d)
        put(0x0a)
    }

    /// `*n\r\n`: an array of `n` bulk strings follows.
    @inline(__always) public func command(_ n: Int) {
        reserve(24)
        put(UInt8(ascii: "*"))
        putDecimal(UInt64(n))
        crlf()
    }

    @inline(__always) public func bulk(_ p: UnsafeRawBufferPointer) {
        let n = p.count
        reserve(n &+ 26)
        put(UInt8(ascii: "$"))
        putDecimal(UInt64(n))
        crlf()
        if n > 0, let src = p.baseAddress {
            UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: n)
            count &+= n
        }
        crlf()
    }

    @inline(__always) public func bulk(_ b: Bytes) {
        b.withUnsafeBytes { bulk($0) }
    }

    @inline(__always) public func bulk(_ s: StaticString) {
        bulk(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public func bulk(_ s: String) {
        var s = s
        s.withUTF8 { bulk(UnsafeRawBufferPointer($0)) }
    }

    /// An integer as decimal text (`rioWriteBulkLongLong`).
    @inline(__always) public func bulk(int v: Int64) {
        reserve(48)
        let negative = v < 0
        let m = v.magnitude
        let digits = DecimalText.digitCount(m)
        put(UInt8(ascii: "$"))
        putDecimal(UInt64(digits + (negative ? 1 : 0)))
        crlf()
        if negative { put(UInt8(ascii: "-")) }
        putDecimal(m)
        crlf()
    }

    @inline(__always) public func bulk(uint v: UInt64) {
        reserve(48)
        let digits = DecimalText.digitCount(v)
        put(UInt8(ascii: "$"))
        putDecimal(UInt64(digits))
        crlf()
        putDecimal(v)
        crlf()
    }

    /// A stream ID `ms-seq` (`rioWriteBulkStreamID`).
    public func bulk(id: StreamID) {
        reserve(64)
        var t = id.ms, digits = 1
        while t >= 10 { t /= 10; digits &+= 1 }
        var u = id.seq, seqDigits = 1
        while u >= 10 { u /= 10; seqDigits &+= 1 }
        put(UInt8(ascii: "$"))
        putDecimal(UInt64(digits + 1 + seqDigits))
        crlf()
        putDecimal(id.ms)
        put(UInt8(ascii: "-"))
        putDecimal(id.seq)
        crlf()
    }

    /// A sorted-set score as text that parses back (`strtod`) to the same double: integral values within
    /// ±2^53 as integers, `inf` / `-inf`, otherwise the shortest round-trip form (as exact as Redis's `%.17g`,
    /// and what Redis 7's `fpconv_dtoa` writes).
    public func bulk(score d: Double) {
        if d == d.rounded(.towardZero), abs(d) < 9_007_199_254_740_992 {
            if d == 0 && d.sign == .minus {
                bulk("-0" as StaticString)
            } else {
                bulk(int: Int64(d))
            }
        } else if d == .infinity {
            bulk("inf" as StaticString)
        } else if d == -.infinity {
            bulk("-inf" as StaticString)
        } else {
            ShortestDoubleText(d).withBytes { bulk($0) }
        }
    }
}
