import Foundation

/// A JSON number kept as its text, so doubles compare exactly (Foundation's JSONSerialization on Linux
/// was seen to round some 17-digit doubles by one ulp).
struct JSONNumber: CustomStringConvertible {
    let text: String
    var description: String { text }
    var int64: Int64? { Int64(text) }
    var double: Double? { Double(text) }
}

/// A small strict JSON parser for test data: objects -> [String: Any], arrays -> [Any], strings -> String
/// (escapes and surrogate pairs decoded exactly), numbers -> JSONNumber, true/false -> Bool, null -> NSNull.
struct MiniJSON {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let b: [UInt8]
    private var i = 0

    static func parse(_ data: Data) throws -> Any {
        var p = MiniJSON(b: Array(data))
        p.ws()
        let v = try p.value()
        p.ws()
        guard p.i == p.b.count else { throw Failure(description: "trailing data at \(p.i)") }
        return v
    }

    private init(b: [UInt8]) { self.b = b }

    private mutating func ws() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ s: String) throws {
        for c in s.utf8 {
            guard i < b.count, b[i] == c else { throw Failure(description: "expected \(s) at \(i)") }
            i += 1
        }
    }

    private mutating func value() throws -> Any {
        guard i < b.count else { throw Failure(description: "unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var o: [String: Any] = [:]
            ws()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return o }
            while true {
                ws()
                let k = try string()
                ws()
                try expect(":")
                ws()
                o[k] = try value()
                ws()
                guard i < b.count else { throw Failure(description: "unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                try expect("}")
                return o
            }
        case UInt8(ascii: "["):
            i += 1
            var a: [Any] = []
            ws()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return a }
            while true {
                ws()
                a.append(try value())
                ws()
                guard i < b.count else { throw Failure(description: "unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                try expect("]")
                return a
            }
        case UInt8(ascii: "\""):
            return try string()
        case UInt8(ascii: "t"): try expect("true"); return true
        case UInt8(ascii: "f"): try expect("false"); return false
        case UInt8(ascii: "n"): try expect("null"); return NSNull()
        default:
            let start = i
            while i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
                || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 0x30 && b[i] <= 0x39) { i += 1 }
            guard i > start else { throw Failure(description: "unexpected byte \(b[i]) at \(i)") }
            return JSONNumber(text: String(decoding: b[start..<i], as: UTF8.self))
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw Failure(description: "bad \\u escape at \(i)")
        }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        try expect("\"")
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw Failure(description: "unterminated string") }
            let c = b[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < b.count else { throw Failure(description: "bad escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var cp = try hex4()
                if cp >= 0xD800 && cp < 0xDC00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let lo = try hex4()
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(cp) else { throw Failure(description: "lone surrogate at \(i)") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
