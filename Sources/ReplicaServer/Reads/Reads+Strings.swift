import Keyspace
import RDB
import RedisValueOps

/// String reads, as Redis 7.0's t_string.c and bitops.c answer them: GET, MGET, GETRANGE/SUBSTR, STRLEN,
/// GETBIT, BITCOUNT, BITPOS.
extension ReadContext {
    func stringCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "get":
            return try string(a[1]).map { .bulk($0) } ?? .null
        case "mget":
            // getCommand's MGET: a key of another type reads as nil, not as an error.
            return .array(a.dropFirst().map { key in
                if let e = entry(key), case .string(let s) = e.value { return .bulk(s) }
                return .null
            })
        case "getrange", "substr":
            return try getrange(a)
        case "strlen":
            return .integer(Int64(try string(a[1])?.count ?? 0))
        case "getbit":
            // getBitOffsetFromArgument: 0 ... proto-max-bulk-len * 8 - 1.
            guard let offset = Arg.int64(a[2]), offset >= 0, offset < BitOps.defaultMaxBulkLength * 8 else {
                throw ReadError(.error(BitOpsError.bitOffset.description))
            }
            let value = try string(a[1])
            return .integer(BitOps.getBit(value, offset: UInt64(offset)) ? 1 : 0)
        case "bitcount":
            let value = try string(a[1])
            switch BitOps.bitCount(value, Array(a.dropFirst(2))) {
            case .success(let n): return .integer(n)
            case .failure(let e): throw ReadError(.error(e.description))
            }
        case "bitpos":
            let value = try string(a[1])
            switch BitOps.bitPos(value, Array(a.dropFirst(2))) {
            case .success(let n): return .integer(n)
            case .failure(let e): throw ReadError(.error(e.description))
            }
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// t_string.c `getrangeCommand`: both indexes parsed first, then the key.
    private func getrange(_ a: [Bytes]) throws -> Reply {
        var start = try Arg.integer(a[2])
        var end = try Arg.integer(a[3])
        guard let s = try string(a[1]) else { return .bulk([]) }
        let n = Int64(s.count)
        if start < 0 && end < 0 && start > end { return .bulk([]) }
        if start < 0 { start += n }
        if end < 0 { end += n }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= n { end = n - 1 }
        if start > end || n == 0 { return .bulk([]) }
        return .bulk(Array(s[Int(start)...Int(end)]))
    }
}
