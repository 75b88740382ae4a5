import Keyspace
import RDB
import RedisValueOps

/// Redis 8.8+ array reads, as `t_array.c` answers them: ARGET, ARMGET, ARLEN, ARCOUNT, ARNEXT, ARGETRANGE
/// (holes as nulls, at most 1,000,000 positions, reversed when start > end), ARSCAN (present elements as
/// `[index, value]` pairs, `LIMIT n`) and ARLASTITEMS. An index is parsed as the master parses it (`strtoull`, 0...2^64-2).
extension ReadContext {
    func array(_ key: Bytes) throws -> ArrayData? {
        guard let e = entry(key) else { return nil }
        guard case .array(let a) = e.value else { throw ReadErrors.wrongType }
        return a
    }

    /// `addReplyUnsignedLongLong`: an integer, or (past 2^63-1) the decimal text, as RESP2 shows a big number.
    static func unsigned(_ v: UInt64) -> Reply {
        v <= UInt64(Int64.max) ? .integer(Int64(v)) : .bulk(Array(String(v).utf8))
    }

    static func arrayIndex(_ b: Bytes) throws -> UInt64 {
        guard let i = RedisArgument.uint64(b), i != UInt64.max else { throw ReadError.err("invalid array index") }
        return i
    }

    static func value(_ v: Bytes?) -> Reply { v.map { .bulk($0) } ?? .null }

    func arrayCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "arget":
            let o = try array(a[1])
            let i = try Self.arrayIndex(a[2])
            return Self.value(o?[i])
        case "armget":
            let o = try array(a[1])
            let indexes = try a[2...].map { try Self.arrayIndex($0) }
            return .array(indexes.map { Self.value(o?[$0]) })
        case "arlen":
            return Self.unsigned(try array(a[1])?.currentLength ?? 0)
        case "arcount":
            return .integer(Int64(try array(a[1])?.count ?? 0))
        case "arnext":
            guard let o = try array(a[1]) else { return .integer(0) }
            guard let i = o.insertIndex else { return .integer(0) }
            return i == UInt64.max - 1 ? .null : Self.unsigned(i + 1)
        case "argetrange":
            let start = try Self.arrayIndex(a[2]), end = try Self.arrayIndex(a[3])
            let o = try array(a[1])
            let (lo, hi) = (min(start, end), max(start, end))
            guard hi - lo < 1_000_000 else { throw ReadError.err("range exceeds maximum of 1000000 items") }
            var out: [Reply] = []
            out.reserveCapacity(Int(hi - lo + 1))
            var i = start
            while true {
                out.append(Self.value(o?[i]))
                if i == end { break }
                i = start > end ? i - 1 : i + 1
            }
            return .array(out)
        case "arscan":
            let start = try Self.arrayIndex(a[2]), end = try Self.arrayIndex(a[3])
            var limit = Int.max
            if a.count == 6 {
                guard Arg.equals(a[4], "limit") else { throw ReadError.err("syntax error") }
                guard let n = Arg.int64(a[5]) else { throw ReadErrors.notInteger }
                guard n > 0 else { throw ReadError.err("LIMIT must be positive") }
                limit = Int(clamping: n)
            } else if a.count != 4 {
                throw ReadError.err("wrong number of arguments for 'arscan' command")
            }
            guard let o = try array(a[1]) else { return .array([]) }
            let (lo, hi) = (min(start, end), max(start, end))
            var hits = o.elements.filter { $0.key >= lo && $0.key <= hi }.map { ($0.key, $0.value) }
            hits.sort { start > end ? $0.0 > $1.0 : $0.0 < $1.0 }
            return .array(hits.prefix(limit).map { .array([Self.unsigned($0.0), .bulk($0.1)]) })
        case "arlastitems":
            return try lastItems(a)
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// ARLASTITEMS key count [REV] (`arlastitemsCommand`): up to min(count, ARCOUNT) positions walking back
    /// from the insert cursor (from the last index when there is none), wrapping from 0 to the last index;
    /// holes as nulls; oldest first, newest first with REV.
    private func lastItems(_ a: [Bytes]) throws -> Reply {
        guard let count = Arg.int64(a[2]) else { throw ReadError.err("invalid COUNT") }
        guard count > 0 else { return .array([]) }
        var newestFirst = false
        if a.count == 4 {
            guard Arg.equals(a[3], "rev") else { throw ReadError.err("syntax error") }
            newestFirst = true
        } else if a.count != 3 {
            throw ReadError.err("wrong number of arguments for 'arlastitems' command")
        }
        guard let o = try array(a[1]) else { return .array([]) }
        let length = o.currentLength
        let steps = min(UInt64(count), UInt64(o.count))
        guard steps > 0 else { return .array([]) }
        var index = o.insertIndex ?? (length - 1)
        var out: [Reply] = []
        out.reserveCapacity(Int(steps))
        for _ in 0..<steps {
            out.append(Self.value(o[index]))
            index = index == 0 ? length - 1 : index - 1
        }
        return .array(newestFirst ? out : out.reversed())
    }
}
