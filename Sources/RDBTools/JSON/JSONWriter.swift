import RDB

/// A small, fast JSON writer over a byte buffer.
///
/// Output goes into an in-memory buffer; when a `sink` is set, `flushIfNeeded()` hands the buffer
/// to it once it holds `flushThreshold` bytes (1 MiB by default), so output of any size streams in
/// bounded memory. Without a sink the whole document stays in `buffer` (tests, small files).
///
/// Byte strings follow the "rdb-corpus-expected/1" rule (docs/rdb-tools.md, "JSON format"):
/// valid UTF-8 is written as a JSON string (control characters, `"` and `\` escaped, everything
/// else kept as is), anything else as `{"b64": "<standard base64>"}`.
public final class JSONWriter: BufferedOutput {
    public init(flushThreshold: Int = 1 << 20, sink: Sink? = nil) {
        super.init(flushThreshold: flushThreshold, sink: sink, initialCapacity: sink == nil ? 4096 : flushThreshold + 4096)
    }

    /// A writer without a sink that starts with room for `capacity` bytes (the whole output stays in memory).
    public init(capacity: Int) {
        super.init(flushThreshold: 1 << 20, sink: nil, initialCapacity: max(4096, capacity))
    }

    /// The buffered bytes (a copy; without a sink, the whole document).
    public var buffer: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    @inline(__always) private func put(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count &+= 1
    }

    @inline(__always) private func put(_ p: UnsafeBufferPointer<UInt8>) {
        let n = p.count
        reserve(n)
        if n > 0, let src = p.baseAddress { (base + count).update(from: src, count: n) }
        count &+= n
    }

    // MARK: - Raw output

    @inline(__always)
    public func raw(_ byte: UInt8) { put(byte) }

    /// Appends ASCII text as is (keys and punctuation written by the encoder itself).
    @inline(__always)
    public func raw(_ text: StaticString) {
        // Not `withUTF8Buffer`: its closure cost a retain and release of the writer per call.
        if text.hasPointerRepresentation {
            put(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        } else {
            text.withUTF8Buffer { put($0) }
        }
    }

    @_disfavoredOverload
    public func raw(_ text: String) {
        var t = text
        t.withUTF8 { put($0) }
    }

    // MARK: - Structure

    /// A JSON array: `[`, then `element` for each item with `,` between them, then `]`.
    /// Inlined and specialized, so the non-escaping closure costs nothing per element.
    @inline(__always)
    public func array<S: Sequence>(_ items: S, _ element: (S.Element) throws -> Void) rethrows {
        try members(items, open: "[", close: "]", element)
    }

    /// A JSON object whose members come from `items`: `{`, `member` for each with `,` between, `}`.
    /// `member` writes both the name and the value (see `field` for names known in advance).
    @inline(__always)
    public func object<S: Sequence>(_ items: S, _ member: (S.Element) throws -> Void) rethrows {
        try members(items, open: "{", close: "}", member)
    }

    @inline(__always)
    private func members<S: Sequence>(_ items: S, open: StaticString, close: StaticString,
                                      _ body: (S.Element) throws -> Void) rethrows {
        raw(open)
        var first = true
        for item in items {
            if first { first = false } else { put(UInt8(ascii: ",")) }
            try body(item)
        }
        raw(close)
    }

    /// An object member's name, `"name":`, after a `,` unless it is the object's first member.
    @inline(__always)
    public func field(_ name: StaticString, first: Bool = false) {
        raw(first ? "\"" : ",\"")
        raw(name)
        raw("\":")
    }

    /// `value` written by `body`, or `null` when it is nil.
    @inline(__always)
    public func nullable<T>(_ value: T?, _ body: (T) throws -> Void) rethrows {
        if let value { try body(value) } else { null() }
    }

    /// A two-element array of byte strings, `[a,b]` (aux fields, hash fields, stream fields).
    @inline(__always)
    public func pair(_ a: Bytes, _ b: Bytes) {
        put(UInt8(ascii: "["))
        bytes(a)
        put(UInt8(ascii: ","))
        bytes(b)
        put(UInt8(ascii: "]"))
    }

    // MARK: - Values

    public func null() { raw("null") }

    public func bool(_ v: Bool) { v ? raw("true") : raw("false") }

    public func int(_ v: Int64) {
        if v < 0 {
            put(UInt8(ascii: "-"))
            uint(v == Int64.min ? UInt64(1) << 63 : UInt64(-v))
        } else {
            uint(UInt64(v))
        }
    }

    public func int(_ v: Int) { int(Int64(v)) }

    public func uint(_ v: UInt64) {
        reserve(20)
        count &+= DecimalText.write(v, to: UnsafeMutableRawPointer(base + count))
    }

    /// A double as a JSON number in shortest round-trip form (`5e-324`, `1.7976931348623157e+308`,
    /// `1.0`), or the strings `"inf"`, `"-inf"`, `"nan"` which JSON cannot express as numbers.
    public func double(_ v: Double) {
        if v.isNaN { raw("\"nan\""); return }
        if v.isInfinite { v > 0 ? raw("\"inf\"") : raw("\"-inf\""); return }
        if v == v.rounded(.towardZero) && abs(v) < 1e15 {
            // Integral values: Swift prints "3.0"; keep that (JSON-valid, compares numerically).
            if v == 0 { v.sign == .minus ? raw("-0.0") : raw("0.0"); return }
            int(Int64(v))
            raw(".0")
            return
        }
        if fewDecimals(v) { return }
        ShortestDoubleText(v).withBytes { put($0.assumingMemoryBound(to: UInt8.self)) }
    }

    /// Writes `v` when it is the double nearest a decimal with at most 4 fraction digits and
    /// 0.001 <= |v| < 1e8, as Swift's `description` would (that decimal, trailing zeros dropped): doubles
    /// there are far closer together than 1e-4, so no shorter decimal reads back as `v`. Returns false otherwise.
    @inline(__always)
    func fewDecimals(_ v: Double) -> Bool {
        let m = abs(v)
        guard m >= 0.001, m < 1e8 else { return false }
        let k = (m * 10_000).rounded()
        guard k / 10_000 == m else { return false }
        let scaled = UInt64(k)
        var fraction = scaled % 10_000
        var digits = 4
        while fraction % 10 == 0 {  // nonzero: v is not integral
            fraction /= 10
            digits -= 1
        }
        if v < 0 { put(UInt8(ascii: "-")) }
        uint(scaled / 10_000)
        put(UInt8(ascii: "."))
        reserve(4)
        var i = count &+ digits
        count = i
        repeat {
            i &-= 1
            base[i] = UInt8(truncatingIfNeeded: fraction % 10) &+ 48
            fraction /= 10
        } while i > count &- digits
        return true
    }

    /// A string the encoder itself produced (field names, IDs): written as a JSON string.
    public func string(_ text: String) {
        var t = text
        t.withUTF8 { bytes($0) }
    }

    /// A byte string: a JSON string when valid UTF-8, else `{"b64": "..."}`.
    public func bytes(_ b: Bytes) {
        b.withUnsafeBufferPointer { bytes($0) }
    }

    @inline(__always)
    public func bytes(_ p: UnsafeRawBufferPointer) {
        bytes(UnsafeBufferPointer(start: p.baseAddress?.assumingMemoryBound(to: UInt8.self), count: p.count))
    }

    /// A JSON string of bytes that need no escape (an integer's decimal text): quoted and copied, no bytes looked at.
    @inline(__always)
    public func plainString(_ p: UnsafeRawBufferPointer) {
        let n = p.count
        reserve(n &+ 2)
        let dst = UnsafeMutableRawPointer(base + count)
        dst.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        if let s = p.baseAddress {
            // Overlapping word copies for the usual lengths (an Int64's text is at most 20 bytes).
            if n >= 8 && n <= 24 {
                dst.storeBytes(of: s.loadUnaligned(as: UInt64.self), toByteOffset: 1, as: UInt64.self)
                if n > 16 { dst.storeBytes(of: s.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 9, as: UInt64.self) }
                dst.storeBytes(of: s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 7,
                               as: UInt64.self)
            } else if n >= 4 && n < 8 {
                dst.storeBytes(of: s.loadUnaligned(as: UInt32.self), toByteOffset: 1, as: UInt32.self)
                dst.storeBytes(of: s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self), toByteOffset: n &- 3,
                               as: UInt32.self)
            } else {
                (dst + 1).copyMemory(from: s, byteCount: n)
            }
        }
        dst.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n &+ 1, as: UInt8.self)
        count &+= n &+ 2
    }

    /// A JSON string of `count` (0...16) bytes held in two big-endian words (`LentSortKey`'s prefix, zero past
    /// `count`), written from registers when every byte is plain printable ASCII; returns false, writing
    /// nothing, when some byte needs an escape or UTF-8 checking (`bytes` then writes it).
    @inline(__always)
    public func shortString(_ high: UInt64, _ low: UInt64, count n: Int) -> Bool {
        // Byte i in bits 8i...8i+7 (stored little-endian: in order); bytes from `n` on set to `A` for the check
        // (stored, then overwritten by what follows).
        var w0 = high.byteSwapped
        var w1 = low.byteSwapped
        let pad: UInt64 = 0x4141_4141_4141_4141
        if n < 8 {
            w0 |= pad << (UInt64(n) &* 8)
            w1 = pad
        } else if n < 16 {
            w1 |= pad << (UInt64(n &- 8) &* 8)
        }
        guard JSONWriter.attentionMask(w0) | JSONWriter.attentionMask(w1) == 0 else { return false }
        reserve(18)
        let dst = UnsafeMutableRawPointer(base + count)
        dst.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        dst.storeBytes(of: w0.littleEndian, toByteOffset: 1, as: UInt64.self)
        dst.storeBytes(of: w1.littleEndian, toByteOffset: 9, as: UInt64.self)
        dst.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n &+ 1, as: UInt8.self)
        count &+= n &+ 2
        return true
    }

    /// One pass over the bytes: runs of printable ASCII are copied 8 bytes at a time (stored whole, committed
    /// up to the first byte that needs attention, found from the word's flag bits), escapes are written as
    /// they come and multibyte UTF-8 sequences are checked (Unicode table 3-7) and copied. Invalid UTF-8
    /// rolls the output back to the string's start and writes the base64 form instead.
    public func bytes(_ p: UnsafeBufferPointer<UInt8>) {
        let n = p.count
        guard let src = p.baseAddress, n > 0 else {
            raw("\"\"")
            return
        }
        let start = count
        reserve(n &+ 10)
        base[count] = UInt8(ascii: "\"")
        count &+= 1
        var i = 0
        // The common case first: plain printable ASCII, copied word by word.
        while i &+ 8 <= n {
            let w = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
            if JSONWriter.attentionMask(w) != 0 { break }
            UnsafeMutableRawPointer(base + count).storeBytes(of: w, as: UInt64.self)
            count &+= 8
            i &+= 8
        }
        if i < n && n &- i < 8 {
            // The last 1-7 bytes as one word: overlapping the bytes already copied (n >= 8), or padded with
            // `A`s (shorter strings); stored whole (n + 10 bytes are reserved), committed when clean.
            let tail = n &- i
            var w: UInt64
            if n >= 8 {
                w = UnsafeRawPointer(src + (n &- 8)).loadUnaligned(as: UInt64.self)
                w >>= UInt64(8 &- tail) &* 8
                w |= 0x4141_4141_4141_4141 << (UInt64(tail) &* 8)  // tail < 8
            } else {
                // Built from loads inside the string (no memcpy into a local, whose byte stores the word load
                // would then wait for), `A`s above byte n.
                let raw = UnsafeRawPointer(src)
                if n >= 4 {
                    let head = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
                    let last = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)))
                    w = head | last << (UInt64(n &- 4) &* 8)  // the overlapping bytes are equal
                } else {
                    w = UInt64(src[0])
                    if n > 1 { w |= UInt64(src[1]) << 8 }
                    if n > 2 { w |= UInt64(src[2]) << 16 }
                }
                w |= 0x4141_4141_4141_4141 << (UInt64(n) &* 8)  // n < 8
            }
            if JSONWriter.attentionMask(w) == 0 {
                UnsafeMutableRawPointer(base + count).storeBytes(of: w, as: UInt64.self)
                count &+= tail
                i = n
            }
        }
        if i < n && !escapeRest(src, n, from: i) {
            count = start
            raw("{\"b64\":\"")
            base64(p)
            raw("\"}")
            return
        }
        reserve(1)
        base[count] = UInt8(ascii: "\"")
        count &+= 1
    }

    /// Flag bits (the high bit of each byte) of a little-endian word's bytes that are not plain printable
    /// ASCII: >= 0x80, < 0x20, `"` or `\`. The lowest flagged byte is exact (the borrow tricks only add false
    /// flags above a true one).
    @inline(__always)
    static func attentionMask(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low = (w &- ones &* 0x20) & ~w
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        return (w | low | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)) & (ones &* 0x80)
    }

    /// The rest of `bytes` from `i`: escapes and UTF-8 checks. Returns false on invalid UTF-8 (the caller
    /// rolls back).
    @inline(never)
    private func escapeRest(_ src: UnsafePointer<UInt8>, _ n: Int, from start: Int) -> Bool {
        var i = start
        while i < n {
            if i &+ 8 <= n {
                let w = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
                let mask = JSONWriter.attentionMask(w)
                reserve(9)  // the word, or its clean bytes and a two-byte escape
                UnsafeMutableRawPointer(base + count).storeBytes(of: w, as: UInt64.self)
                if mask == 0 {
                    count &+= 8
                    i &+= 8
                    continue
                }
                let clean = mask.trailingZeroBitCount >> 3
                count &+= clean
                i &+= clean
                // `"` and `\` (text that quotes text has many) escaped right here.
                let c = src[i]
                if c == 0x22 || c == 0x5C {
                    base[count] = UInt8(ascii: "\\")
                    base[count &+ 1] = c
                    count &+= 2
                    i &+= 1
                    continue
                }
            }
            let c = src[i]
            if c >= 0x80 {
                let len = JSONWriter.utf8SequenceLength(src, n, at: i)
                if len == 0 { return false }
                reserve(len)
                (base + count).update(from: src + i, count: len)
                count &+= len
                i &+= len
                continue
            }
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                reserve(1)
                base[count] = c
                count &+= 1
                i &+= 1
                continue
            }
            reserve(6)
            base[count] = UInt8(ascii: "\\")
            switch c {
            case 0x22, 0x5C:
                base[count &+ 1] = c
                count &+= 2
            case 0x0A, 0x0D, 0x09, 0x08, 0x0C:
                base[count &+ 1] = c == 0x0A ? UInt8(ascii: "n") : c == 0x0D ? UInt8(ascii: "r")
                    : c == 0x09 ? UInt8(ascii: "t") : c == 0x08 ? UInt8(ascii: "b") : UInt8(ascii: "f")
                count &+= 2
            default:
                base[count &+ 1] = UInt8(ascii: "u")
                base[count &+ 2] = 0x30
                base[count &+ 3] = 0x30
                base[count &+ 4] = JSONWriter.hexDigit(c >> 4)
                base[count &+ 5] = JSONWriter.hexDigit(c & 15)
                count &+= 6
            }
            i &+= 1
        }
        return true
    }

    @inline(__always)
    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 &+ v : 0x57 &+ v }

    /// The length (2-4) of the well-formed UTF-8 sequence starting at `i` (its first byte >= 0x80), or 0
    /// when it is not one (Unicode 15 table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
    @inline(__always)
    static func utf8SequenceLength(_ p: UnsafePointer<UInt8>, _ n: Int, at i: Int) -> Int {
        let b0 = p[i]
        if b0 < 0xC2 { return 0 }
        if b0 < 0xE0 {
            return i &+ 1 < n && p[i &+ 1] & 0xC0 == 0x80 ? 2 : 0
        }
        if b0 < 0xF0 {
            guard i &+ 2 < n else { return 0 }
            let b1 = p[i &+ 1]
            guard b1 & 0xC0 == 0x80, p[i &+ 2] & 0xC0 == 0x80 else { return 0 }
            if b0 == 0xE0 && b1 < 0xA0 { return 0 }  // overlong
            if b0 == 0xED && b1 >= 0xA0 { return 0 }  // surrogates
            return 3
        }
        if b0 < 0xF5 {
            guard i &+ 3 < n else { return 0 }
            let b1 = p[i &+ 1]
            guard b1 & 0xC0 == 0x80, p[i &+ 2] & 0xC0 == 0x80, p[i &+ 3] & 0xC0 == 0x80 else { return 0 }
            if b0 == 0xF0 && b1 < 0x90 { return 0 }  // overlong
            if b0 == 0xF4 && b1 >= 0x90 { return 0 }  // > U+10FFFF
            return 4
        }
        return 0
    }

    /// Bytes as a JSON string of standard base64 (for opaque payloads such as module values).
    public func base64String(_ b: Bytes) {
        put(UInt8(ascii: "\""))
        b.withUnsafeBufferPointer { base64($0) }
        put(UInt8(ascii: "\""))
    }

    // MARK: - Internals

    /// Strict UTF-8 (Unicode 15 table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
    public static func isValidUTF8(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = p.count
        guard n > 0, let base = p.baseAddress else { return true }
        var i = 0
        while i < n {
            // ASCII fast path, 8 bytes at a time.
            while i + 8 <= n {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if w & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            if i >= n { break }
            let b0 = p[i]
            if b0 < 0x80 { i += 1; continue }
            if b0 < 0xC2 { return false }
            if b0 < 0xE0 {
                guard i + 1 < n, p[i + 1] & 0xC0 == 0x80 else { return false }
                i += 2
            } else if b0 < 0xF0 {
                guard i + 2 < n else { return false }
                let b1 = p[i + 1]
                guard b1 & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80 else { return false }
                if b0 == 0xE0 && b1 < 0xA0 { return false }  // overlong
                if b0 == 0xED && b1 >= 0xA0 { return false }  // surrogates
                i += 3
            } else if b0 < 0xF5 {
                guard i + 3 < n else { return false }
                let b1 = p[i + 1]
                guard b1 & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80, p[i + 3] & 0xC0 == 0x80 else { return false }
                if b0 == 0xF0 && b1 < 0x90 { return false }  // overlong
                if b0 == 0xF4 && b1 >= 0x90 { return false }  // > U+10FFFF
                i += 4
            } else {
                return false
            }
        }
        return true
    }

    private static let base64Alphabet: [UInt8] =
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Every 12-bit value as its two base64 characters, the first in the low byte (so a little-endian store
    /// writes them in order). Never freed (process-lifetime constant); `nonisolated(unsafe)`: written only
    /// inside this initializer, which Swift runs exactly once; read-only afterwards.
    nonisolated(unsafe) private static let base64Pairs: UnsafePointer<UInt16> = {
        let t = UnsafeMutablePointer<UInt16>.allocate(capacity: 4096)
        let a = base64Alphabet
        for v in 0..<4096 { t[v] = UInt16(a[v >> 6]) | UInt16(a[v & 63]) << 8 }
        return UnsafePointer(t)
    }()

    /// Standard base64 with `=` padding (RFC 4648 section 4), without quotes: 3 bytes at a time as two
    /// 12-bit lookups in `base64Pairs` and one 4-byte store.
    private func base64(_ p: UnsafeBufferPointer<UInt8>) {
        let a = JSONWriter.base64Alphabet
        let n = p.count
        reserve((n + 2) / 3 * 4)
        var i = 0
        if let src = p.baseAddress {
            let t = JSONWriter.base64Pairs
            var out = UnsafeMutableRawPointer(base + count)
            while i &+ 3 <= n {
                let v = Int(src[i]) << 16 | Int(src[i &+ 1]) << 8 | Int(src[i &+ 2])
                let w = UInt32(t[v >> 12]) | UInt32(t[v & 0xFFF]) << 16
                out.storeBytes(of: w.littleEndian, as: UInt32.self)
                out += 4
                i &+= 3
            }
            count = base.distance(to: out.assumingMemoryBound(to: UInt8.self))
        }
        let rest = n - i
        if rest == 1 {
            let v = UInt32(p[i]) << 16
            put(a[Int(v >> 18)])
            put(a[Int(v >> 12 & 63)])
            put(UInt8(ascii: "="))
            put(UInt8(ascii: "="))
        } else if rest == 2 {
            let v = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8
            put(a[Int(v >> 18)])
            put(a[Int(v >> 12 & 63)])
            put(a[Int(v >> 6 & 63)])
            put(UInt8(ascii: "="))
        }
    }
}
