// Bit commands over string values, byte for byte as Redis's src/bitops.c (7.0; 8.2 for the BITOP
// operations DIFF, DIFF1, ANDOR and ONE). BITFIELD is in BitField.swift, BITCOUNT/BITPOS in
// BitCount.swift.
//
// API (pure functions; values are the raw string bytes, `nil` for a missing key). Each command is
// parsed first, then applied, because Redis reports argument errors before WRONGTYPE: the caller
// parses, checks the key's type, then applies.
//
//   BitOps.parseSetBit(offset:bit:maxBulkLength:) -> (offset, on) or an error
//   BitOps.setBit(value, offset:on:) -> new bytes, the previous bit (the reply) and `changed`
//       (Redis >= 7.0 counts a change only if the key was created, grew, or the bit flipped; 6.2
//       always does). The string grows with zero bytes to offset/8 + 1.
//   BitOps.getBit(value, offset:) -> the bit (GETBIT).
//   BitOps.parseBitOp(operation:sourceCount:) -> a BitOperation or an error
//   BitOps.bitOp(op, sources:) -> the destination's new bytes, or nil when every source is empty
//       or missing: then Redis deletes the destination. The reply is the result's length (0 for nil).
//       The destination is replaced whatever its type, and loses its TTL (setKey).
//
// Offsets: Redis refuses a bit offset whose byte (offset >> 3) is >= proto-max-bulk-len (512 MB
// by default) for normal clients; Redis >= 7.0 does not check it for its master's stream. Here the
// check is always made against `maxBulkLength` (default 512 MB), so a growth is bounded by it.

public enum BitOpsError: Error, Equatable, Sendable, CustomStringConvertible {
    case bitOffset
    case bitValue
    case notInteger
    case syntax
    case bitfieldType
    case overflowType
    case bitfieldReadOnly
    case bitopNotArity
    /// Redis 8.2: DIFF, DIFF1 and ANDOR need at least two source keys (the name is upper-case).
    case bitopTwoSources(String)
    case bitArgument

    /// The error reply, without the leading "-".
    public var description: String {
        switch self {
        case .bitOffset: return "ERR bit offset is not an integer or out of range"
        case .bitValue: return "ERR bit is not an integer or out of range"
        case .notInteger: return "ERR value is not an integer or out of range"
        case .syntax: return "ERR syntax error"
        case .bitfieldType:
            return "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
        case .overflowType: return "ERR Invalid OVERFLOW type specified"
        case .bitfieldReadOnly: return "ERR BITFIELD_RO only supports the GET subcommand"
        case .bitopNotArity: return "ERR BITOP NOT must be called with a single source key."
        case .bitopTwoSources(let op): return "ERR BITOP \(op) must be called with at least two source keys."
        case .bitArgument: return "ERR The bit argument must be 1 or 0."
        }
    }
}

public enum BitOperation: String, Sendable, CaseIterable {
    case and = "AND", or = "OR", xor = "XOR", not = "NOT"
    /// Redis 8.2: X & ~(Y1 | Y2 | ...).
    case diff = "DIFF"
    /// Redis 8.2: ~X & (Y1 | Y2 | ...).
    case diff1 = "DIFF1"
    /// Redis 8.2: X & (Y1 | Y2 | ...).
    case andor = "ANDOR"
    /// Redis 8.2: the bits set in exactly one source.
    case one = "ONE"
}

public enum BitOps {
    /// proto-max-bulk-len's default, 512 MB.
    public static let defaultMaxBulkLength: Int64 = 512 * 1024 * 1024

    /// getBitOffsetFromArgument: a non-negative offset whose byte is below `maxBulkLength`; with
    /// `bitfieldWidth` > 0 the "#N" form means N * width.
    static func bitOffset(_ arg: [UInt8], bitfieldWidth: Int = 0, maxBulkLength: Int64) -> UInt64? {
        let hash = bitfieldWidth > 0 && arg.first == UInt8(ascii: "#")
        guard var v = RedisArgument.int64(hash ? Array(arg.dropFirst()) : arg) else { return nil }
        if hash { v = v &* Int64(bitfieldWidth) }
        if v < 0 || (v >> 3) >= maxBulkLength { return nil }
        return UInt64(v)
    }

    public struct SetBit: Equatable, Sendable {
        public var offset: UInt64
        public var on: Bool
    }

    /// SETBIT's arguments (offset, then the bit), checked in Redis's order.
    public static func parseSetBit(offset: [UInt8], bit: [UInt8],
                                   maxBulkLength: Int64 = defaultMaxBulkLength) -> Result<SetBit, BitOpsError> {
        guard let off = bitOffset(offset, maxBulkLength: maxBulkLength) else { return .failure(.bitOffset) }
        guard let on = RedisArgument.int64(bit) else { return .failure(.bitValue) }
        guard on & ~1 == 0 else { return .failure(.bitValue) }
        return .success(SetBit(offset: off, on: on == 1))
    }

    public struct SetBitResult: Equatable, Sendable {
        public var value: [UInt8]
        /// The bit before the command (SETBIT's reply).
        public var previous: Bool
        /// Whether Redis >= 7.0 counts a change (key created or grown, or the bit flipped).
        public var changed: Bool
    }

    /// SETBIT, after `parseSetBit` (the offset is bounded by it).
    public static func setBit(_ value: [UInt8]?, _ op: SetBit) -> SetBitResult {
        let byte = Int(op.offset >> 3)
        var v = value ?? []
        var dirty = value == nil
        if v.count < byte + 1 {
            v += [UInt8](repeating: 0, count: byte + 1 - v.count)
            dirty = true
        }
        let shift = 7 - UInt8(op.offset & 7)
        let previous = v[byte] & (1 << shift) != 0
        if dirty || previous != op.on {
            v[byte] = (v[byte] & ~(1 << shift)) | ((op.on ? 1 : 0) << shift)
        }
        return SetBitResult(value: v, previous: previous, changed: dirty || previous != op.on)
    }

    /// GETBIT on a string value (missing key: 0).
    public static func getBit(_ value: [UInt8]?, offset: UInt64) -> Bool {
        guard let value, offset >> 3 < UInt64(value.count) else { return false }
        return value[Int(offset >> 3)] & (1 << (7 - UInt8(offset & 7))) != 0
    }

    /// BITOP's operation name and source count, checked as Redis 8.2 does (7.x knows only AND,
    /// OR, XOR and NOT and answers a syntax error for the others).
    public static func parseBitOp(operation: [UInt8], sourceCount: Int) -> Result<BitOperation, BitOpsError> {
        guard let op = BitOperation.allCases.first(where: { RedisArgument.equalsIgnoringCase(operation, $0.rawValue) }) else {
            return .failure(.syntax)
        }
        if op == .not && sourceCount != 1 { return .failure(.bitopNotArity) }
        if (op == .diff || op == .diff1 || op == .andor) && sourceCount < 2 {
            return .failure(.bitopTwoSources(op.rawValue))
        }
        return .success(op)
    }

    /// BITOP over the sources' values (nil: a missing key, read as an empty string). Returns the
    /// destination's new value, or nil when the result is empty (Redis deletes the destination).
    public static func bitOp(_ op: BitOperation, sources: [[UInt8]?]) -> [UInt8]? {
        let srcs = sources.map { $0 ?? [] }
        let maxlen = srcs.map(\.count).max() ?? 0
        if maxlen == 0 { return nil }
        var res = [UInt8](repeating: 0, count: maxlen)
        @inline(__always) func at(_ s: [UInt8], _ j: Int) -> UInt8 { j < s.count ? s[j] : 0 }
        switch op {
        case .and, .or, .xor, .not:
            for j in 0..<maxlen {
                var out = at(srcs[0], j)
                if op == .not { out = ~out }
                for i in srcs.indices.dropFirst() {
                    let b = at(srcs[i], j)
                    switch op {
                    case .and: out &= b
                    case .or: out |= b
                    case .xor: out ^= b
                    default: break
                    }
                }
                res[j] = out
            }
        case .diff, .diff1, .andor:
            for j in 0..<maxlen {
                let x = at(srcs[0], j)
                var others: UInt8 = 0
                for i in srcs.indices.dropFirst() { others |= at(srcs[i], j) }
                switch op {
                case .diff: res[j] = x & ~others
                case .diff1: res[j] = ~x & others
                default: res[j] = x & others
                }
            }
        case .one:
            for j in 0..<maxlen {
                var any: UInt8 = 0, twice: UInt8 = 0
                for s in srcs {
                    let b = at(s, j)
                    twice |= any & b
                    any |= b
                }
                res[j] = any & ~twice
            }
        }
        return res
    }
}
