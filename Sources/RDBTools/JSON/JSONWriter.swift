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
        text.withUTF8Buffer { put($0) }
    }

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
        var t = v
        var digits = 1
        while t >= 10 {
            t /= 10
            digits &+= 1
        }
        reserve(digits)
        var m = v
        var i = count &+ digits
        count = i
        repeat {
            i &-= 1
            base[i] = UInt8(truncatingIfNeeded: m % 10) &+ 48
            m /= 10
        } while m > 0
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
        raw(v.description)
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

    public func bytes(_ p: UnsafeBufferPointer<UInt8>) {
        if JSONWriter.needsNoEscape(p) {
            // Printable ASCII without `"` or `\`: valid UTF-8 that is written as is (the common case).
            put(UInt8(ascii: "\""))
            put(p)
            put(UInt8(ascii: "\""))
        } else if JSONWriter.isValidUTF8(p) {
            quoted(p)
        } else {
            raw("{\"b64\":\"")
            base64(p)
            raw("\"}")
        }
    }

    /// Bytes as a JSON string of standard base64 (for opaque payloads such as module values).
    public func base64String(_ b: Bytes) {
        put(UInt8(ascii: "\""))
        b.withUnsafeBufferPointer { base64($0) }
        put(UInt8(ascii: "\""))
    }

    // MARK: - Internals

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes valid UTF-8 as a quoted JSON string, escaping `"`, `\` and U+0000...U+001F.
    private func quoted(_ p: UnsafeBufferPointer<UInt8>) {
        put(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let n = p.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        while i < n {
            // Skip 8 bytes at a time while none is below 0x20, `"` or `\` (UTF-8 multibyte bytes pass).
            if i &+ 8 <= n, let base = p.baseAddress {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let quote = w ^ (ones &* 0x22)
                let backslash = w ^ (ones &* 0x5C)
                let low = (w & (ones &* 0x7F)) &- ones &* 0x20  // high bit set where (byte & 0x7F) < 0x20
                let bad = (low & ~w) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                if bad & (ones &* 0x80) == 0 {
                    i &+= 8
                    continue
                }
            }
            let c = p[i]
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                i += 1
                continue
            }
            if runStart < i { put(UnsafeBufferPointer(rebasing: p[runStart..<i])) }
            put(UInt8(ascii: "\\"))
            switch c {
            case 0x22: put(0x22)
            case 0x5C: put(0x5C)
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            case 0x08: put(UInt8(ascii: "b"))
            case 0x0C: put(UInt8(ascii: "f"))
            default:
                put(UInt8(ascii: "u"))
                put(0x30)
                put(0x30)
                put(JSONWriter.hexDigits[Int(c >> 4)])
                put(JSONWriter.hexDigits[Int(c & 15)])
            }
            i += 1
            runStart = i
        }
        if runStart < n { put(UnsafeBufferPointer(rebasing: p[runStart..<n])) }
        put(UInt8(ascii: "\""))
    }

    /// Whether every byte is printable ASCII other than `"` and `\` (0x20...0x7F), 8 bytes at a time: such a
    /// string is its own JSON text between quotes.
    @inline(__always)
    static func needsNoEscape(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = p.count
        guard let base = p.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i &+ 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            // A byte >= 0x80, a byte < 0x20, a byte == 0x22, a byte == 0x5C (exact "has a byte" tests).
            let low = (w &- ones &* 0x20) & ~w
            let quote = w ^ (ones &* 0x22)
            let backslash = w ^ (ones &* 0x5C)
            let bad = w | low | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
            if bad & highs != 0 { return false }
            i &+= 8
        }
        while i < n {
            let c = base[i]
            if c < 0x20 || c >= 0x80 || c == 0x22 || c == 0x5C { return false }
            i &+= 1
        }
        return true
    }

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

    /// Standard base64 with `=` padding (RFC 4648 section 4), without quotes.
    private func base64(_ p: UnsafeBufferPointer<UInt8>) {
        let a = JSONWriter.base64Alphabet
        let n = p.count
        reserve((n + 2) / 3 * 4)
        var i = 0
        while i + 3 <= n {
            let v = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2])
            put(a[Int(v >> 18)])
            put(a[Int(v >> 12 & 63)])
            put(a[Int(v >> 6 & 63)])
            put(a[Int(v & 63)])
            i += 3
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
