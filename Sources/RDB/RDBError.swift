/// An error found in an RDB file: a value with a code and a location.
///
/// Its description is the one line users see:
/// `FILE: error at byte OFFSET: WHAT (key "…", db N)`.
public struct RDBError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The input ended before the structure did.
        case truncated
        case badMagic
        case unsupportedVersion
        case unknownOpcode
        case unknownType
        /// Pre-release formats Redis itself rejects (type 6, opcode 246).
        case preRelease
        /// A length that cannot be right: beyond the bounds of its container, the input or the limits.
        case badLength
        case badStringEncoding
        case lzf
        case ziplist
        case listpack
        case intset
        case zipmap
        case quicklist
        case stream
        case module
        case badScore
        case checksumMismatch
        /// Anything else structurally wrong.
        case corrupt
        case io
    }

    public var code: Code
    /// Absolute byte offset in the input where the problem was found.
    public var offset: Int64
    public var message: String
    /// The file name, when known.
    public var file: String?
    /// The key being read, when the problem is inside one.
    public var key: Bytes?
    public var db: Int?

    public init(_ code: Code, at offset: Int64, _ message: String, file: String? = nil, key: Bytes? = nil, db: Int? = nil) {
        self.code = code
        self.offset = offset
        self.message = message
        self.file = file
        self.key = key
        self.db = db
    }

    public var description: String {
        var s = "\(file ?? "<input>"): error at byte \(offset): \(message)"
        if let key {
            s += " (key \(RDBError.quote(key))"
            if let db { s += ", db \(db)" }
            s += ")"
        } else if let db {
            s += " (db \(db))"
        }
        return s
    }

    /// Quotes a key for a message: printable ASCII as is, other bytes as `\xNN`, capped at 200 bytes.
    public static func quote(_ bytes: Bytes) -> String {
        var out = "\""
        for b in bytes.prefix(200) {
            switch b {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7f: out.append(Character(Unicode.Scalar(b)))
            default:
                let hex = String(b, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        if bytes.count > 200 { out += "…" }
        return out + "\""
    }
}
