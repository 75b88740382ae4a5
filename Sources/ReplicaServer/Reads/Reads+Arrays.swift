#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Keyspace
import RDB
import RedisValueOps

/// Redis 8.8+ array reads, as `t_array.c` answers them: ARGET, ARMGET, ARLEN, ARCOUNT, ARNEXT, ARGETRANGE
/// (holes as nulls, at most 1,000,000 positions, reversed when start > end), ARSCAN (present elements as
/// `[index, value]` pairs, `LIMIT n`), ARLASTITEMS and AROP. An index is parsed as the master parses it (`strtoull`, 0...2^64-2).
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
        guard let i = RedisArgument.arrayIndex(b) else { throw ReadError.err("invalid array index") }
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
        case "arop":
            return try arrayOp(a)
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

    /// AROP key start end SUM|MIN|MAX|AND|OR|XOR|USED|MATCH value (`aropCommand`, `arOpAccumulate`): over the
    /// elements present in the range, in its direction. Numbers are taken as Redis holds each value: an inline
    /// integer (canonical, within 62 bits), an inline float (the double a round-tripping decimal was stored
    /// as, low two bits cleared), else the text as `string2ll` or `string2ld` reads it; other values are
    /// skipped. Sums and extremes are long doubles, printed with `%.17Lg`; AND/OR/XOR truncate toward zero.
    private func arrayOp(_ a: [Bytes]) throws -> Reply {
        let start = try Self.arrayIndex(a[2]), end = try Self.arrayIndex(a[3])
        let op = Arg.text(a[4]).uppercased()
        guard ["SUM", "MIN", "MAX", "AND", "OR", "XOR", "MATCH", "USED"].contains(op) else {
            throw ReadError.err("unknown operation")
        }
        if op == "MATCH" {
            guard a.count == 6 else { throw ReadError.err("MATCH requires a value argument") }
        } else if a.count != 5 {
            throw ReadError.err("wrong number of arguments for 'arop' command")
        }
        guard let o = try array(a[1]) else { return op == "MATCH" || op == "USED" ? .integer(0) : .null }
        let (lo, hi) = (min(start, end), max(start, end))
        var indexes = o.elements.keys.filter { $0 >= lo && $0 <= hi }
        indexes.sort { start > end ? $0 > $1 : $0 < $1 }
        switch op {
        case "USED": return .integer(Int64(indexes.count))
        case "MATCH": return .integer(Int64(indexes.filter { o[$0] == a[5] }.count))
        default: break
        }
        var acc: Float80 = 0, bits: Int64 = 0, seen = false
        for i in indexes {
            guard let (num, int) = Self.arrayNumber(o[i]!) else { continue }
            if op == "AND" || op == "OR" || op == "XOR" {
                var v: Int64
                if let int { v = int } else {
                    guard !num.isNaN, num >= -9_223_372_036_854_775_808.0, num <= 9_223_372_036_854_775_807.0 else { continue }
                    v = Int64(num.rounded(.towardZero))
                }
                if !seen { bits = v } else if op == "AND" { bits &= v } else if op == "OR" { bits |= v } else { bits ^= v }
            } else if !seen {
                acc = num
            } else if op == "SUM" {
                acc += num
            } else if op == "MIN" ? num < acc : num > acc {
                acc = num
            }
            seen = true
        }
        guard seen else { return .null }
        if op == "AND" || op == "OR" || op == "XOR" { return .integer(bits) }
        return .bulk(Self.longDoubleText(acc))
    }

    /// A value as `arOpAccumulate` reads it: (number, the integer when it is one), or nil when not numeric.
    static func arrayNumber(_ v: Bytes) -> (Float80, Int64?)? {
        if let ll = Arg.int64(v) {
            return (Float80(ll), ll)  // inline (62-bit) or not, string2ll reads the same integer
        }
        if let d = ArrayValueEncoding.inlineFloat(v) { return (Float80(d), nil) }
        guard !v.isEmpty, v.count < 5 * 1024, let first = v.first, !isSpace(first), !v.contains(0) else { return nil }
        var text = v.map { CChar(bitPattern: $0) }
        text.append(0)
        errno = 0
        let (value, consumed): (Float80, Int) = text.withUnsafeMutableBufferPointer { p in
            var end: UnsafeMutablePointer<CChar>?
            let value = strtold(p.baseAddress!, &end)
            return (value, end.map { $0 - p.baseAddress! } ?? 0)
        }
        guard consumed == v.count, errno != EINVAL, !value.isNaN else { return nil }
        if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
        return (value, nil)
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }

    /// `ld2string(..., LD_STR_AUTO)`: `%.17Lg`, `inf`/`-inf`, `nan`.
    static func longDoubleText(_ v: Float80) -> Bytes {
        if v.isNaN { return Array("nan".utf8) }
        if v.isInfinite { return Array((v > 0 ? "inf" : "-inf").utf8) }
        var buf = [CChar](repeating: 0, count: 64)
        let n = withVaList([v]) { args in buf.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 64, "%.17Lg", args) } }
        return buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }
    }
}
