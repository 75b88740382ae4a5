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
public final class JSONWriter {
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    // Checked statically; dynamic exclusivity checks on every append cost ~20% of `rdb dump`.
    @exclusivity(unchecked) public private(set) var buffer: [UInt8]
    public var flushThreshold: Int
    private let sink: Sink?
    /// Bytes handed to the sink so far.
    public private(set) var bytesFlushed: Int64 = 0

    public init(flushThreshold: Int = 1 << 20, sink: Sink? = nil) {
        self.flushThreshold = flushThreshold
        self.sink = sink
        buffer = []
        buffer.reserveCapacity(sink == nil ? 4096 : flushThreshold + 4096)
    }

    /// Hands the buffered bytes to the sink when it holds at least `flushThreshold` bytes.
    @inline(__always)
    public func flushIfNeeded() throws {
        if sink != nil && buffer.count >= flushThreshold { try flush() }
    }

    /// Hands every buffered byte to the sink (no-op without a sink).
    public func flush() throws {
        guard let sink, !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try sink($0) }
        bytesFlushed += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    // MARK: - Raw output

    @inline(__always)
    public func raw(_ byte: UInt8) { buffer.append(byte) }

    /// Appends ASCII text as is (keys and punctuation written by the encoder itself).
    @inline(__always)
    public func raw(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    public func raw(_ text: String) {
        var t = text
        t.withUTF8 { buffer.append(contentsOf: $0) }
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
            if first { first = false } else { buffer.append(UInt8(ascii: ",")) }
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
        buffer.append(UInt8(ascii: "["))
        bytes(a)
        buffer.append(UInt8(ascii: ","))
        bytes(b)
        buffer.append(UInt8(ascii: "]"))
    }

    // MARK: - Values

    public func null() { raw("null") }

    public func bool(_ v: Bool) { v ? raw("true") : raw("false") }

    public func int(_ v: Int64) {
        if v < 0 {
            buffer.append(UInt8(ascii: "-"))
            uint(v == Int64.min ? UInt64(1) << 63 : UInt64(-v))
        } else {
            uint(UInt64(v))
        }
    }

    public func int(_ v: Int) { int(Int64(v)) }

    public func uint(_ v: UInt64) {
        if v < 10 {
            buffer.append(UInt8(truncatingIfNeeded: v) &+ 48)
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes >= 20 digits
        var n = v
        withUnsafeMutableBytes(of: &tmp) { p in
            var i = 24
            while n > 0 {
                i -= 1
                p[i] = UInt8(truncatingIfNeeded: n % 10) &+ 48
                n /= 10
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<24]))
        }
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
        raw(v.description)
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

    public func bytes(_ p: UnsafeBufferPointer<UInt8>) {
        if JSONWriter.isValidUTF8(p) {
            quoted(p)
        } else {
            raw("{\"b64\":\"")
            base64(p)
            raw("\"}")
        }
    }

    /// Bytes as a JSON string of standard base64 (for opaque payloads such as module values).
    public func base64String(_ b: Bytes) {
        buffer.append(UInt8(ascii: "\""))
        b.withUnsafeBufferPointer { base64($0) }
        buffer.append(UInt8(ascii: "\""))
    }

    // MARK: - Internals

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes valid UTF-8 as a quoted JSON string, escaping `"`, `\` and U+0000...U+001F.
    private func quoted(_ p: UnsafeBufferPointer<UInt8>) {
        buffer.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let n = p.count
        while i < n {
            let c = p[i]
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                i += 1
                continue
            }
            if runStart < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<i])) }
            buffer.append(UInt8(ascii: "\\"))
            switch c {
            case 0x22: buffer.append(0x22)
            case 0x5C: buffer.append(0x5C)
            case 0x0A: buffer.append(UInt8(ascii: "n"))
            case 0x0D: buffer.append(UInt8(ascii: "r"))
            case 0x09: buffer.append(UInt8(ascii: "t"))
            case 0x08: buffer.append(UInt8(ascii: "b"))
            case 0x0C: buffer.append(UInt8(ascii: "f"))
            default:
                buffer.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30,
                                           JSONWriter.hexDigits[Int(c >> 4)], JSONWriter.hexDigits[Int(c & 15)]])
            }
            i += 1
            runStart = i
        }
        if runStart < n { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<n])) }
        buffer.append(UInt8(ascii: "\""))
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
        buffer.reserveCapacity(buffer.count + (n + 2) / 3 * 4)
        var i = 0
        while i + 3 <= n {
            let v = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2])
            buffer.append(a[Int(v >> 18)])
            buffer.append(a[Int(v >> 12 & 63)])
            buffer.append(a[Int(v >> 6 & 63)])
            buffer.append(a[Int(v & 63)])
            i += 3
        }
        let rest = n - i
        if rest == 1 {
            let v = UInt32(p[i]) << 16
            buffer.append(a[Int(v >> 18)])
            buffer.append(a[Int(v >> 12 & 63)])
            buffer.append(UInt8(ascii: "="))
            buffer.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let v = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8
            buffer.append(a[Int(v >> 18)])
            buffer.append(a[Int(v >> 12 & 63)])
            buffer.append(a[Int(v >> 6 & 63)])
            buffer.append(UInt8(ascii: "="))
        }
    }
}
