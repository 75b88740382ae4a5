import RDB

/// Sorted sets (`t_zset.c`): ZADD with NX/XX/GT/LT/CH/INCR (GEOADD arrives as ZADD), ZINCRBY, ZREM,
/// ZREMRANGEBYSCORE/RANK/LEX, ZPOPMIN/ZPOPMAX (the blocking and MPOP forms arrive as these).
extension ApplyContext {
    static func registerZSets(_ h: inout [String: Handler]) {
        h["ZADD"] = { try $0.zadd($1, incrOnly: false) }
        h["ZINCRBY"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("zincrby") }
            try c.zadd([a[0], a[1], Array("INCR".utf8), a[2], a[3]], incrOnly: true)
        }
        h["ZREM"] = { c, a in
            guard a.count >= 3 else { throw ApplyError.arity("zrem") }
            guard try c.zset(a[1]) != nil else { return }
            try c.mutateZSet(a[1], create: false) { z in for m in a[2...] { z.remove(m) } }
        }
        h["ZREMRANGEBYSCORE"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("zremrangebyscore") }
            let r = try ScoreRange(a[2], a[3])
            guard let z = try c.zset(a[1]) else { return }
            let doomed = z.sorted.filter { r.contains($0.score) }
            try c.mutateZSet(a[1], create: false) { z in for d in doomed { z.remove(d.member) } }
        }
        h["ZREMRANGEBYLEX"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("zremrangebylex") }
            let r = try LexRange(a[2], a[3])
            guard let z = try c.zset(a[1]) else { return }
            let doomed = r.run(in: z.sorted, reverse: false)
            try c.mutateZSet(a[1], create: false) { z in for d in doomed { z.remove(d.member) } }
        }
        h["ZREMRANGEBYRANK"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("zremrangebyrank") }
            let start = try Arg.int(a[2]), end = try Arg.int(a[3])
            guard let z = try c.zset(a[1]) else { return }
            guard let r = rankRange(start, end, count: z.count) else { return }
            let doomed = z.sorted[r]
            try c.mutateZSet(a[1], create: false) { z in for d in doomed { z.remove(d.member) } }
        }
        h["ZPOPMIN"] = { try $0.zpop($1, max: false) }
        h["ZPOPMAX"] = { try $0.zpop($1, max: true) }
        h["ZRANGESTORE"] = { try $0.zrangestore($1) }
        h["ZUNIONSTORE"] = { try $0.zsetOpStore($1, .union) }
        h["ZINTERSTORE"] = { try $0.zsetOpStore($1, .inter) }
        h["ZDIFFSTORE"] = { try $0.zsetOpStore($1, .diff) }
    }

    /// Redis's rank normalization (`zremrangeGenericCommand`, `ltrim`): negatives from the end, clamped.
    static func rankRange(_ s: Int64, _ e: Int64, count: Int) -> Range<Int>? {
        let n = Int64(count)
        var start = s, end = e
        if start < 0 { start += n }
        if end < 0 { end += n }
        if start < 0 { start = 0 }
        if start > end || start >= n { return nil }
        if end >= n { end = n - 1 }
        return Int(start)..<Int(end + 1)
    }

    mutating func mutateZSet(_ key: Bytes, create: Bool, _ body: (inout ZSetValue) throws -> Void) throws {
        try mutate(key, create: create ? { .zset(ZSetValue()) } : nil) { v in
            guard case .zset(var z) = v else { return }
            v = .string([])
            try body(&z)
            v = .zset(z)
        }
    }

    /// `zaddGenericCommand`: options, then score/member pairs; all scores parsed before any change.
    mutating func zadd(_ a: [Bytes], incrOnly: Bool) throws {
        guard a.count >= 4 else { throw ApplyError.arity("zadd") }
        var nx = false, xx = false, gt = false, lt = false, incr = false
        var i = 2
        while i < a.count {
            switch Arg.upper(a[i]) {
            case "NX": nx = true
            case "XX": xx = true
            case "GT": gt = true
            case "LT": lt = true
            case "CH": break
            case "INCR": incr = true
            default:
                break
            }
            if ["NX", "XX", "GT", "LT", "CH", "INCR"].contains(Arg.upper(a[i])) { i += 1 } else { break }
        }
        let rest = a[i...]
        guard !rest.isEmpty, rest.count % 2 == 0 else { throw ApplyError.syntax }
        if nx && xx { throw ApplyError("XX and NX options at the same time are not compatible") }
        if (gt && nx) || (lt && nx) || (gt && lt) { throw ApplyError("GT, LT, and/or NX options at the same time are not compatible") }
        if incr && rest.count != 2 { throw ApplyError("INCR option supports a single increment-element pair") }
        var pairs: [(Double, Bytes)] = []
        for j in stride(from: rest.startIndex, to: rest.endIndex, by: 2) {
            pairs.append((try Arg.double(rest[j]), rest[j + 1]))
        }
        let existing = try zset(a[1])
        if existing == nil && xx { return }
        if incr, let cur = existing?.score(pairs[0].1), !nx {
            let r = cur + pairs[0].0
            if r.isNaN { throw ApplyError("resulting score is not a number (NaN)") }
        }
        let keepNegativeZero = ks.zsetKeepsNegativeZero
        try mutateZSet(a[1], create: true) { z in
            for (score, member) in pairs {
                if let cur = z.score(member) {
                    if nx { continue }
                    let new = incr ? cur + score : score
                    if (gt && new <= cur) || (lt && new >= cur) { continue }
                    if new != cur { z.set(member, new, keepNegativeZero: keepNegativeZero) }  // -0.0 == 0.0: Redis keeps the old score
                } else {
                    if xx { continue }
                    z.set(member, score, keepNegativeZero: keepNegativeZero)
                }
            }
        }
    }

    mutating func zpop(_ a: [Bytes], max: Bool) throws {
        guard a.count == 2 || a.count == 3 else { throw ApplyError.arity("zpop") }
        var count: Int64 = 1
        if a.count == 3 {
            count = try Arg.int(a[2])
            guard count >= 0 else { throw ApplyError("value is out of range, must be positive") }
        }
        guard let z = try zset(a[1]), count > 0 else { return }
        let sorted = z.sorted
        let n = Int(Swift.min(count, Int64(sorted.count)))
        let doomed = max ? sorted.suffix(n) : sorted.prefix(n)
        try mutateZSet(a[1], create: false) { z in for d in doomed { z.remove(d.member) } }
    }
}

/// A score interval (`zslParseRange`): `(` makes a bound exclusive; `-inf`/`+inf`; NaN refused.
struct ScoreRange {
    var min: Double, max: Double, minEx: Bool, maxEx: Bool

    init(_ lo: Bytes, _ hi: Bytes) throws {
        (min, minEx) = try ScoreRange.bound(lo)
        (max, maxEx) = try ScoreRange.bound(hi)
    }

    static func bound(_ b: Bytes) throws -> (Double, Bool) {
        var s = b[...]
        var ex = false
        if s.first == UInt8(ascii: "(") { ex = true; s = s.dropFirst() }
        // strtod skips leading spaces and reads "" as 0.
        while let f = s.first, f == 32 || (f >= 9 && f <= 13) { s = s.dropFirst() }
        if s.isEmpty { return (0, ex) }
        guard let v = Double(String(decoding: s, as: UTF8.self)), !v.isNaN else { throw ApplyError("min or max is not a float") }
        return (v, ex)
    }

    func contains(_ x: Double) -> Bool {
        (minEx ? x > min : x >= min) && (maxEx ? x < max : x <= max)
    }
}

/// A lex interval (`zslParseLexRange`): `[x` inclusive, `(x` exclusive, `-` and `+` the ends.
struct LexRange {
    enum Bound { case minusInf, plusInf, incl(Bytes), excl(Bytes) }
    var min: Bound, max: Bound

    init(_ lo: Bytes, _ hi: Bytes) throws {
        min = try LexRange.bound(lo)
        max = try LexRange.bound(hi)
    }

    static func bound(_ b: Bytes) throws -> Bound {
        switch b.first {
        case UInt8(ascii: "+") where b.count == 1: return .plusInf
        case UInt8(ascii: "-") where b.count == 1: return .minusInf
        case UInt8(ascii: "["): return .incl(Array(b.dropFirst()))
        case UInt8(ascii: "("): return .excl(Array(b.dropFirst()))
        default: throw ApplyError("min or max not valid string range item")
        }
    }

    /// The elements a lex range selects in Redis order, as Redis's listpack walk does
    /// (`zzlFirstInLexRange` / `zzlLastInLexRange`): from the first element (from the tail when
    /// `reverse`) on the right side of the near bound, then consecutive elements while they stay inside
    /// the far bound. The same as a filter when all scores are equal, which is what BYLEX is for.
    func run(in items: [(member: Bytes, score: Double)], reverse: Bool) -> [(member: Bytes, score: Double)] {
        var out: [(member: Bytes, score: Double)] = []
        // zzlIsInLexRange: an empty range, a last element below min or a first above max select nothing.
        guard let head = items.first, let tail = items.last, !isEmptyRange, aboveMin(tail.member), belowMax(head.member) else { return [] }
        let order = reverse ? Array(items.indices.reversed()) : Array(items.indices)
        guard let first = order.firstIndex(where: { reverse ? belowMax(items[$0].member) : aboveMin(items[$0].member) }) else { return [] }
        for k in order[first...] {
            let m = items[k].member
            guard reverse ? aboveMin(m) : belowMax(m) else { break }
            out.append(items[k])
        }
        return out
    }

    func contains(_ m: Bytes) -> Bool { aboveMin(m) && belowMax(m) }

    /// `sdscmplex(min, max) > 0`, or equal with an exclusive end.
    var isEmptyRange: Bool {
        func rank(_ b: Bound) -> (Int, Bytes, Bool) {
            switch b {
            case .minusInf: return (0, [], false)
            case .plusInf: return (2, [], false)
            case .incl(let x): return (1, x, false)
            case .excl(let x): return (1, x, true)
            }
        }
        let (a, x, ax) = rank(min), (b, y, bx) = rank(max)
        if a != b { return a > b }
        if a != 1 { return false }
        if x == y { return ax || bx }
        return y.lexicographicallyPrecedes(x)
    }

    func aboveMin(_ m: Bytes) -> Bool {
        let aboveMin: Bool
        switch min {
        case .minusInf: aboveMin = true
        case .plusInf: aboveMin = false
        case .incl(let x): aboveMin = !m.lexicographicallyPrecedes(x)
        case .excl(let x): aboveMin = x.lexicographicallyPrecedes(m)
        }
        return aboveMin
    }

    func belowMax(_ m: Bytes) -> Bool {
        let belowMax: Bool
        switch max {
        case .minusInf: belowMax = false
        case .plusInf: belowMax = true
        case .incl(let x): belowMax = !x.lexicographicallyPrecedes(m)
        case .excl(let x): belowMax = m.lexicographicallyPrecedes(x)
        }
        return belowMax
    }
}
