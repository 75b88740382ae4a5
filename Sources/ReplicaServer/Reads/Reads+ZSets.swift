import Foundation
import Keyspace
import RDB
import RDBTools

/// A score range (t_zset.c `zrangespec`, parsed by `zslParseRange`).
struct ScoreRange {
    var min: Double, max: Double
    var minExclusive = false, maxExclusive = false

    /// `zslParseRange`: strtod over each bound, `(` makes it exclusive; NaN or trailing bytes fail.
    static func parse(_ minArg: Bytes, _ maxArg: Bytes) -> ScoreRange? {
        guard let (lo, lx) = bound(minArg), let (hi, hx) = bound(maxArg) else { return nil }
        return ScoreRange(min: lo, max: hi, minExclusive: lx, maxExclusive: hx)
    }

    private static func bound(_ a: Bytes) -> (Double, Bool)? {
        var bytes = a
        var exclusive = false
        if bytes.first == UInt8(ascii: "(") {
            exclusive = true
            bytes.removeFirst()
        }
        // strtod on a C string: it ends at the first NUL, and must be consumed whole.
        if let nul = bytes.firstIndex(of: 0) { bytes = Array(bytes[..<nul]) }
        let v: Double? = (bytes + [0]).withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                var end: UnsafeMutablePointer<CChar>?
                let d = strtod(p, &end)
                guard let end, end.pointee == 0, !d.isNaN else { return nil }
                return d
            }
        }
        return v.map { ($0, exclusive) }
    }

    func above(_ s: Double) -> Bool { minExclusive ? s > min : s >= min }
    func below(_ s: Double) -> Bool { maxExclusive ? s < max : s <= max }
    func contains(_ s: Double) -> Bool { above(s) && below(s) }
    /// zslIsInRange's emptiness test.
    var isEmpty: Bool { min > max || (min == max && (minExclusive || maxExclusive)) }
}

/// A lexicographic range (`zlexrangespec`, parsed by `zslParseLexRange`): `[x` inclusive, `(x` exclusive,
/// `-` and `+` the infinities.
struct LexRange {
    enum Bound { case minusInfinity, plusInfinity, inclusive(Bytes), exclusive(Bytes) }
    var min: Bound, max: Bound

    static func parse(_ minArg: Bytes, _ maxArg: Bytes) -> LexRange? {
        guard let lo = item(minArg), let hi = item(maxArg) else { return nil }
        return LexRange(min: lo, max: hi)
    }

    private static func item(_ a: Bytes) -> Bound? {
        guard let c = a.first else { return nil }
        switch c {
        case UInt8(ascii: "+"): return a.count == 1 ? .plusInfinity : nil
        case UInt8(ascii: "-"): return a.count == 1 ? .minusInfinity : nil
        case UInt8(ascii: "("): return .exclusive(Array(a.dropFirst()))
        case UInt8(ascii: "["): return .inclusive(Array(a.dropFirst()))
        default: return nil
        }
    }

    /// `zslLexValueGteMin`.
    func above(_ m: Bytes) -> Bool {
        switch min {
        case .minusInfinity: return true
        case .plusInfinity: return false
        case .inclusive(let b): return !m.lexicographicallyPrecedes(b)
        case .exclusive(let b): return b.lexicographicallyPrecedes(m)
        }
    }

    /// `zslLexValueLteMax`.
    func below(_ m: Bytes) -> Bool {
        switch max {
        case .minusInfinity: return false
        case .plusInfinity: return true
        case .inclusive(let b): return !b.lexicographicallyPrecedes(m)
        case .exclusive(let b): return m.lexicographicallyPrecedes(b)
        }
    }
}

/// Sorted-set reads, as Redis 7.0's t_zset.c answers them (plus 7.2's ZRANK/ZREVRANK WITHSCORE): ZRANGE in
/// every form, ZRANGEBYSCORE/ZRANGEBYLEX/ZREVRANGE*, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK,
/// ZREVRANK, ZSCAN, ZRANDMEMBER. Scores are RESP3 doubles (`%.17g` bulk strings in RESP2).
extension ReadContext {
    typealias Item = (member: Bytes, score: Double)

    func zsetCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "zrange": return try zrange(a, type: nil, reverse: nil)
        case "zrangebyscore": return try zrange(a, type: .score, reverse: false)
        case "zrevrangebyscore": return try zrange(a, type: .score, reverse: true)
        case "zrangebylex": return try zrange(a, type: .lex, reverse: false)
        case "zrevrangebylex": return try zrange(a, type: .lex, reverse: true)
        case "zrevrange": return try zrange(a, type: .rank, reverse: true)
        case "zscore":
            guard let z = try zset(a[1]) else { return .null }
            return z.score(a[2]).map { .double($0) } ?? .null
        case "zmscore":
            let z = try zset(a[1])
            return .array(a.dropFirst(2).map { m in z?.score(m).map { .double($0) } ?? .null })
        case "zcard":
            return .integer(Int64(try zset(a[1])?.count ?? 0))
        case "zcount":
            guard let r = ScoreRange.parse(a[2], a[3]) else { throw ReadErrors.minMaxNotFloat }
            guard let z = try zset(a[1]) else { return .integer(0) }
            if r.isEmpty { return .integer(0) }
            return .integer(Int64(z.unordered.filter { r.contains($0.score) }.count))
        case "zlexcount":
            guard let r = LexRange.parse(a[2], a[3]) else { throw ReadError.err("min or max not valid string range item") }
            guard let z = try zset(a[1]) else { return .integer(0) }
            return .integer(Int64(z.unordered.filter { r.above($0.member) && r.below($0.member) }.count))
        case "zrank", "zrevrank":
            return try zrank(a, reverse: name == "zrevrank")
        case "zscan":
            let cursor = try scanCursor(a[2])
            let opts = try ScanOptions.parse(a, from: 3, allowType: false)
            guard let z = try zset(a[1]) else { return .array([.bulk("0"), .array([])]) }
            let packed = ObjectEncoding.name(.zset(z)) == "listpack"
            let items = packed ? z.sortedKeepingOrder : z.unordered
            let (page, next) = packed ? (items[...], 0) : scanPage(items, cursor: cursor, count: opts.count)
            var out: [Reply] = []
            for i in page where opts.pattern.map({ RedisGlob.matches(pattern: $0, i.member) }) ?? true {
                out.append(.bulk(i.member))
                out.append(.bulk(Self.scoreText(i.score, listpack: packed)))
            }
            return .array([.bulk(String(next)), .array(out)])
        case "zrandmember":
            return try zrandmember(a)
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// A score as ZSCAN prints it: a listpack holds `d2string` text (integers as integers), a skiplist's
    /// dictionary is printed with `%.17Lg`.
    static func scoreText(_ d: Double, listpack: Bool) -> String {
        if listpack, d == d.rounded(), abs(d) < 9.007199254740992e15 {
            return d == 0 && d.sign == .minus ? "-0" : String(Int64(d))
        }
        return formatDouble17g(d)
    }

    enum RangeType { case rank, score, lex }

    /// t_zset.c `zrangeGenericCommand`: options, then the range arguments, then the key.
    private func zrange(_ a: [Bytes], type fixedType: RangeType?, reverse fixedReverse: Bool?) throws -> Reply {
        var type = fixedType
        var reverse = fixedReverse
        var withScores = false
        var offset: Int64 = 0
        var limit: Int64 = -1
        var limitGiven = false
        var j = 4
        while j < a.count {
            let left = a.count - j - 1
            if Arg.equals(a[j], "withscores") {
                withScores = true
            } else if Arg.equals(a[j], "limit") && left >= 2 {
                offset = try Arg.integer(a[j + 1])
                limit = try Arg.integer(a[j + 2])
                limitGiven = true
                j += 2
            } else if fixedReverse == nil && reverse == nil && Arg.equals(a[j], "rev") {
                reverse = true
            } else if fixedType == nil && type == nil && Arg.equals(a[j], "bylex") {
                type = .lex
            } else if fixedType == nil && type == nil && Arg.equals(a[j], "byscore") {
                type = .score
            } else {
                throw ReadErrors.syntax
            }
            j += 1
        }
        let rangeType = type ?? .rank
        let rev = reverse ?? false
        if limitGiven && limit != -1 && rangeType == .rank {
            throw ReadError.err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && rangeType == .lex {
            throw ReadError.err("syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        var (minArg, maxArg) = (a[2], a[3])
        if rev && rangeType != .rank { swap(&minArg, &maxArg) }
        var picked: [Item]
        switch rangeType {
        case .rank:
            var start = try Arg.integer(minArg)
            var end = try Arg.integer(maxArg)
            guard let z = try zset(a[1]) else { return .array([]) }
            let n = Int64(z.count)
            if start < 0 { start += n }
            if end < 0 { end += n }
            if start < 0 { start = 0 }
            if start > end || start >= n { return .array([]) }
            if end >= n { end = n - 1 }
            var all = z.sortedKeepingOrder
            if rev { all.reverse() }
            picked = Array(all[Int(start)...Int(end)])
        case .score:
            guard let r = ScoreRange.parse(minArg, maxArg) else { throw ReadErrors.minMaxNotFloat }
            guard let z = try zset(a[1]) else { return .array([]) }
            if offset > 0 && offset >= Int64(z.count) { return .array([]) }
            var all = z.sortedKeepingOrder.filter { r.contains($0.score) }
            if rev { all.reverse() }
            picked = window(all, offset: offset, limit: limit)
        case .lex:
            guard let r = LexRange.parse(minArg, maxArg) else { throw ReadError.err("min or max not valid string range item") }
            guard let z = try zset(a[1]) else { return .array([]) }
            if offset > 0 && offset >= Int64(z.count) { return .array([]) }
            var all = z.sortedKeepingOrder.filter { r.above($0.member) && r.below($0.member) }
            if rev { all.reverse() }
            picked = window(all, offset: offset, limit: limit)
        }
        return rangeReply(picked, withScores: withScores)
    }

    /// LIMIT offset count over a range: a negative offset yields nothing, a negative count means all
    /// (t_zset.c's `while (eptr && offset--)` / `while (eptr && limit--)`).
    private func window(_ items: [Item], offset: Int64, limit: Int64) -> [Item] {
        if offset < 0 { return [] }
        guard offset < Int64(items.count) else { return [] }
        let rest = items[Int(offset)...]
        return limit < 0 ? Array(rest) : Array(rest.prefix(Int(min(limit, Int64(Int.max)))))
    }

    /// Members, with their scores when asked: flat in RESP2, [member, score] pairs in RESP3.
    func rangeReply(_ items: [Item], withScores: Bool) -> Reply {
        guard withScores else { return .array(items.map { .bulk($0.member) }) }
        if resp3 { return .array(items.map { .array([.bulk($0.member), .double($0.score)]) }) }
        var out: [Reply] = []
        out.reserveCapacity(items.count * 2)
        for i in items {
            out.append(.bulk(i.member))
            out.append(.double(i.score))
        }
        return .array(out)
    }

    /// ZRANK/ZREVRANK key member [WITHSCORE] (WITHSCORE as Redis 7.2 added it).
    private func zrank(_ a: [Bytes], reverse: Bool) throws -> Reply {
        var withScore = false
        if a.count == 4 {
            guard Arg.equals(a[3], "withscore") else { throw ReadErrors.syntax }
            withScore = true
        } else if a.count > 4 {
            throw ReadErrors.syntax
        }
        let missing: Reply = withScore ? .nullArray : .null
        guard let z = try zset(a[1]) else { return missing }
        guard let score = z.score(a[2]) else { return missing }
        let all = z.sortedKeepingOrder
        guard let i = all.firstIndex(where: { $0.member == a[2] }) else { return missing }
        let rank = Int64(reverse ? all.count - 1 - i : i)
        return withScore ? .array([.integer(rank), .double(score)]) : .integer(rank)
    }

    /// t_zset.c `zrandmemberCommand`.
    private func zrandmember(_ a: [Bytes]) throws -> Reply {
        if a.count == 2 {
            guard let z = try zset(a[1]) else { return .null }
            return z.unordered.randomElement().map { .bulk($0.member) } ?? .null
        }
        guard let count = Arg.int64(a[2]) else { throw ReadErrors.notInteger }
        guard count != Int64.min else {
            throw ReadError.err("value is out of range, must be between -9223372036854775807 and 9223372036854775807")
        }
        if a.count > 4 || (a.count == 4 && !Arg.equals(a[3], "withscores")) { throw ReadErrors.syntax }
        let withScores = a.count == 4
        if withScores && (count < -Int64.max / 2 || count > Int64.max / 2) { throw ReadError.err("value is out of range") }
        guard let z = try zset(a[1]) else { return .array([]) }
        return rangeReply(randomPick(z.unordered, count: count), withScores: withScores)
    }
}
