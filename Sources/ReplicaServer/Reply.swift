import Keyspace
import NIOCore

/// A reply to a client, encoded for the connection's protocol (RESP2, or RESP3 after `HELLO 3`).
///
/// RESP3 types fall back as Redis's `networking.c` does for RESP2 clients: a map becomes a flat array of
/// key/value pairs, a null a `$-1`, a verbatim string a bulk string, a double a bulk string.
public enum Reply: Equatable, Sendable {
    case simple(String)
    /// The full error line without the leading `-` (e.g. `ERR wrong number of arguments ...`).
    case error(String)
    /// An error line as bytes, without the leading `-`: a message echoing a client's bytes as Redis does
    /// (`ERR unknown command '<raw bytes>' ...`), which a `String` would turn into U+FFFD where they are not UTF-8.
    case errorBytes([UInt8])
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([Reply])
    case map([(Reply, Reply)])
    /// A RESP3 verbatim string (`=len\r\ntxt:...`); a bulk string in RESP2 (INFO, CLIENT INFO/LIST).
    case verbatim(String)
    /// A RESP3 set (`~`); an array in RESP2.
    case set([Reply])
    /// A RESP3 double (`,`); a bulk string in RESP2, formatted as Redis 7.0's `addReplyDouble` (`%.17g`).
    case double(Double)
    /// A RESP3 double already formatted (GEOPOS's `addReplyHumanLongDouble`); a bulk string in RESP2.
    case doubleText(String)
    /// Elements `range` of a packed list as an array of bulk strings, encoded straight from the list's buffer
    /// (LRANGE: no copy per element).
    case listRange(PackedBytes, Range<Int>)
    /// A null array: `*-1` in RESP2, `_` in RESP3 (Redis's `addReplyNullArray`).
    case nullArray

    /// An error reply (counted in INFO's `total_error_replies`).
    public var isError: Bool {
        switch self {
        case .error, .errorBytes: return true
        default: return false
        }
    }

    public static func == (a: Reply, b: Reply) -> Bool { a.encoded(protocolVersion: 3) == b.encoded(protocolVersion: 3) }

    public static let ok = Reply.simple("OK")

    public static func bulk(_ s: String) -> Reply { .bulk(Array(s.utf8)) }

    /// `-ERR <message>`.
    public static func err(_ message: String) -> Reply { .error("ERR " + message) }

    public func encoded(protocolVersion: Int) -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out, resp3: protocolVersion >= 3)
        return out
    }

    public func encode(into out: inout [UInt8], resp3: Bool) {
        encode(to: &out, resp3: resp3)
    }

    /// Appends the encoding to a NIO buffer (a connection gathers a batch of replies in one buffer).
    public func encode(into out: inout ByteBuffer, resp3: Bool) {
        encode(to: &out, resp3: resp3)
    }

    func encode<O: ReplyOutput>(to out: inout O, resp3: Bool) {
        switch self {
        case .simple(let s): Reply.line(&out, UInt8(ascii: "+"), s)
        case .error(let s):
            // Error text must not break the line (Redis maps \r\n to spaces in such messages).
            out.put(UInt8(ascii: "-"))
            for c in s.utf8 { out.put(c == 13 || c == 10 ? 32 : c) }
            out.putCRLF()
        case .errorBytes(let b):
            out.put(UInt8(ascii: "-"))
            for c in b { out.put(c == 13 || c == 10 ? 32 : c) }
            out.putCRLF()
        case .integer(let n): Reply.header(&out, UInt8(ascii: ":"), n)
        case .bulk(let b):
            Reply.header(&out, UInt8(ascii: "$"), Int64(b.count))
            out.put(b)
            out.putCRLF()
        case .null:
            if resp3 { out.put("_\r\n".utf8) } else { out.put("$-1\r\n".utf8) }
        case .array(let items):
            Reply.header(&out, UInt8(ascii: "*"), Int64(items.count))
            for i in items { i.encode(to: &out, resp3: resp3) }
        case .set(let items):
            Reply.header(&out, resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), Int64(items.count))
            for i in items { i.encode(to: &out, resp3: resp3) }
        case .map(let pairs):
            if resp3 { Reply.header(&out, UInt8(ascii: "%"), Int64(pairs.count)) } else { Reply.header(&out, UInt8(ascii: "*"), Int64(pairs.count * 2)) }
            for (k, v) in pairs {
                k.encode(to: &out, resp3: resp3)
                v.encode(to: &out, resp3: resp3)
            }
        case .double(let d):
            let text = formatDouble17g(d)
            if resp3 { Reply.line(&out, UInt8(ascii: ","), text) } else { Reply.bulkLine(&out, text) }
        case .doubleText(let text):
            if resp3 { Reply.line(&out, UInt8(ascii: ","), text) } else { Reply.bulkLine(&out, text) }
        case .nullArray:
            if resp3 { out.put("_\r\n".utf8) } else { out.put("*-1\r\n".utf8) }
        case .listRange(let list, let range):
            Reply.header(&out, UInt8(ascii: "*"), Int64(range.count))
            guard !range.isEmpty else { break }
            // A walk over the packed buffer (LEB128 length, then the bytes: PackedBytes's layout), each element
            // copied straight to the output.
            list.storage.withUnsafeBufferPointer { p in
                var i = 0
                var index = 0
                while index < range.upperBound && i < p.count {
                    var shift: UInt64 = 0
                    var length: UInt64 = 0
                    while true {
                        let b = p[i]
                        i += 1
                        length |= UInt64(b & 0x7F) << shift
                        if b & 0x80 == 0 { break }
                        shift += 7
                    }
                    let n = Int(length)
                    if index >= range.lowerBound {
                        Reply.header(&out, UInt8(ascii: "$"), Int64(n))
                        out.put(UnsafeBufferPointer(rebasing: p[i..<(i + n)]))
                        out.putCRLF()
                    }
                    i += n
                    index += 1
                }
            }
        case .verbatim(let s):
            let b = s.utf8
            if resp3 {
                Reply.header(&out, UInt8(ascii: "="), Int64(b.count + 4))
                out.put("txt:".utf8)
            } else {
                Reply.header(&out, UInt8(ascii: "$"), Int64(b.count))
            }
            out.put(b)
            out.putCRLF()
        }
    }

    private static func bulkLine<O: ReplyOutput>(_ out: inout O, _ s: String) {
        let b = s.utf8
        header(&out, UInt8(ascii: "$"), Int64(b.count))
        out.put(b)
        out.putCRLF()
    }

    private static func line<O: ReplyOutput>(_ out: inout O, _ type: UInt8, _ body: String) {
        out.put(type)
        out.put(body.utf8)
        out.putCRLF()
    }

    @inline(__always) private static func header<O: ReplyOutput>(_ out: inout O, _ type: UInt8, _ n: Int64) {
        out.putHeader(type, n)
    }
}

/// Where replies are encoded: a byte array, a NIO buffer, or a connection's `ReplyBuffer`.
protocol ReplyOutput {
    mutating func put(_ byte: UInt8)
    mutating func put<C: Collection>(_ bytes: C) where C.Element == UInt8
    /// `<type><decimal>\r\n` without building a string.
    mutating func putHeader(_ type: UInt8, _ n: Int64)
}

extension ReplyOutput {
    @inline(__always) mutating func putCRLF() {
        put(13)
        put(10)
    }

    mutating func putHeader(_ type: UInt8, _ n: Int64) {
        put(type)
        var v = n.magnitude
        if n < 0 { put(UInt8(ascii: "-")) }
        if v < 10 {
            put(UInt8(truncatingIfNeeded: v) + 48)
        } else {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // up to 24 digits, least significant first
            var count = 0
            withUnsafeMutableBytes(of: &digits) { raw in
                while v > 0 {
                    raw[count] = UInt8(truncatingIfNeeded: v % 10) + 48
                    v /= 10
                    count += 1
                }
                for i in stride(from: count - 1, through: 0, by: -1) { put(raw[i]) }
            }
        }
        putCRLF()
    }
}

extension Array: ReplyOutput where Element == UInt8 {
    @inline(__always) mutating func put(_ byte: UInt8) { append(byte) }
    @inline(__always) mutating func put<C: Collection>(_ bytes: C) where C.Element == UInt8 { append(contentsOf: bytes) }
}

extension ByteBuffer: ReplyOutput {
    @inline(__always) mutating func put(_ byte: UInt8) { writeInteger(byte) }
    @inline(__always) mutating func put<C: Collection>(_ bytes: C) where C.Element == UInt8 { writeBytes(bytes) }
}
