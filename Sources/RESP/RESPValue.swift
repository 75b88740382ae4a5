/// One RESP2 value (https://redis.io/docs/reference/protocol-spec/).
public enum RESPValue: Sendable, Equatable {
    /// `+text\r\n`
    case simpleString([UInt8])
    /// `-text\r\n`
    case error([UInt8])
    /// `:n\r\n`
    case integer(Int64)
    /// `$len\r\n<len bytes>\r\n`; `$-1\r\n` is `nil`. Binary-safe.
    case bulkString([UInt8]?)
    /// `*count\r\n` then count values; `*-1\r\n` is `nil`.
    case array([RESPValue]?)

    /// The text of a simple string, error or bulk string (lossy UTF-8), for messages.
    public var text: String? {
        switch self {
        case .simpleString(let b), .error(let b), .bulkString(let b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}

/// A decoded value and the exact number of bytes it used in the input.
public struct RESPFrame: Sendable, Equatable {
    public var value: RESPValue
    public var byteCount: Int
    public init(value: RESPValue, byteCount: Int) {
        self.value = value
        self.byteCount = byteCount
    }
}

/// Bounds that keep a decoder from trusting a peer's lengths.
public struct RESPLimits: Sendable, Equatable {
    /// Longest accepted bulk string. Redis's `proto-max-bulk-len` defaults to 512 MB.
    public var maxBulkLength: Int
    /// Most elements accepted in one array (Redis refuses more than INT_MAX from a master).
    public var maxArrayCount: Int
    /// Deepest array nesting accepted.
    public var maxDepth: Int
    /// Longest line (simple string, error, integer, length header) without CRLF.
    /// Redis's `PROTO_INLINE_MAX_SIZE` is 64 KiB.
    public var maxLineLength: Int

    public init(maxBulkLength: Int = 1 << 31, maxArrayCount: Int = Int(Int32.max),
                maxDepth: Int = 32, maxLineLength: Int = 64 * 1024) {
        self.maxBulkLength = maxBulkLength
        self.maxArrayCount = maxArrayCount
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }

    public static let `default` = RESPLimits()

    /// For the stream from a master: no bulk limit (Redis checks `proto-max-bulk-len` for every client but
    /// its master, networking.c `processMultibulkBuffer`). 2^62 keeps `length + 2` from overflowing.
    public static let masterStream = RESPLimits(maxBulkLength: 1 << 62)
}
