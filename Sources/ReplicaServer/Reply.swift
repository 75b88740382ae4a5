/// A reply to a client, encoded for the connection's protocol (RESP2, or RESP3 after `HELLO 3`).
///
/// RESP3 types fall back as Redis's `networking.c` does for RESP2 clients: a map becomes a flat array of
/// key/value pairs, a null a `$-1`, a verbatim string a bulk string, a double a bulk string.
public indirect enum Reply: Equatable, Sendable {
    case simple(String)
    /// The full error line without the leading `-` (e.g. `ERR unknown command ...`).
    case error(String)
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
    /// A null array: `*-1` in RESP2, `_` in RESP3 (Redis's `addReplyNullArray`).
    case nullArray

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
        switch self {
        case .simple(let s): Reply.line(&out, "+", s)
        case .error(let s):
            // Error text must not break the line (Redis maps \r\n to spaces in such messages).
            var text = String.UnicodeScalarView()
            for c in s.unicodeScalars { text.append(c == "\r" || c == "\n" ? " " : c) }
            Reply.line(&out, "-", String(text))
        case .integer(let n): Reply.line(&out, ":", String(n))
        case .bulk(let b):
            Reply.line(&out, "$", String(b.count))
            out.append(contentsOf: b)
            out.append(contentsOf: [13, 10])
        case .null:
            if resp3 { out.append(contentsOf: Array("_\r\n".utf8)) } else { out.append(contentsOf: Array("$-1\r\n".utf8)) }
        case .array(let items):
            Reply.line(&out, "*", String(items.count))
            for i in items { i.encode(into: &out, resp3: resp3) }
        case .set(let items):
            Reply.line(&out, resp3 ? "~" : "*", String(items.count))
            for i in items { i.encode(into: &out, resp3: resp3) }
        case .map(let pairs):
            if resp3 { Reply.line(&out, "%", String(pairs.count)) } else { Reply.line(&out, "*", String(pairs.count * 2)) }
            for (k, v) in pairs {
                k.encode(into: &out, resp3: resp3)
                v.encode(into: &out, resp3: resp3)
            }
        case .double(let d):
            let text = formatDouble17g(d)
            if resp3 { Reply.line(&out, ",", text) } else { Reply.bulkLine(&out, text) }
        case .doubleText(let text):
            if resp3 { Reply.line(&out, ",", text) } else { Reply.bulkLine(&out, text) }
        case .nullArray:
            if resp3 { out.append(contentsOf: Array("_\r\n".utf8)) } else { out.append(contentsOf: Array("*-1\r\n".utf8)) }
        case .verbatim(let s):
            let b = Array(s.utf8)
            if resp3 {
                Reply.line(&out, "=", String(b.count + 4))
                out.append(contentsOf: Array("txt:".utf8))
            } else {
                Reply.line(&out, "$", String(b.count))
            }
            out.append(contentsOf: b)
            out.append(contentsOf: [13, 10])
        }
    }

    private static func bulkLine(_ out: inout [UInt8], _ s: String) {
        let b = s.utf8
        Reply.line(&out, "$", String(b.count))
        out.append(contentsOf: b)
        out.append(contentsOf: [13, 10])
    }

    private static func line(_ out: inout [UInt8], _ type: Character, _ body: String) {
        out.append(contentsOf: String(type).utf8)
        out.append(contentsOf: body.utf8)
        out.append(contentsOf: [13, 10])
    }
}
