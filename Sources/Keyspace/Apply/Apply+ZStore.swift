import RDB

/// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE (`zunionInterDiffGenericCommand`, score arithmetic as Redis does
/// it, including NaN -> 0 and the input order by cardinality) and ZRANGESTORE (`zrangeGenericCommand`).
extension ApplyContext {
    enum ZSetOp { case union, inter, diff }
    enum Aggregate { case sum, min, max }

    /// `zunionInterAggregate`: SUM turns inf + -inf (NaN) into 0.
    static func aggregate(_ target: inout Double, _ val: Double, _ how: Aggregate) {
        switch how {
        case .sum:
            target = target + val
            if target.isNaN { target = 0 }
        case .min: target = val < target ? val : target
        case .max: target = val > target ? val : target
        }
    }

    /// A Z*STORE input: a sorted set, or a set whose members all score 1.0.
    struct ZSource {
        var key: Bytes
        var items: [(member: Bytes, score: Double)]
        var lookup: [Bytes: Double]
        var weight: Double = 1
    }

    func zsource(_ key: Bytes) throws -> ZSource {
        guard let e = entry(key) else { return ZSource(key: key, items: [], lookup: [:]) }
        switch e.value {
        case .zset(let z):
            let items = z.sorted
            return ZSource(key: key, items: items, lookup: Dictionary(items.map { ($0.member, $0.score) }, uniquingKeysWith: { a, _ in a }))
        case .set(let s):
            let items = s.members.map { (member: $0, score: 1.0) }
            return ZSource(key: key, items: items, lookup: Dictionary(items.map { ($0.member, 1.0) }, uniquingKeysWith: { a, _ in a }))
        default: throw ApplyError.wrongType
        }
    }

    mutating func zsetOpStore(_ a: [Bytes], _ op: ZSetOp) throws {
        guard a.count >= 4 else { throw ApplyError.arity("zstore") }
        let n = try Arg.int(a[2])
        guard n >= 1 else { throw ApplyError("at least 1 input key is needed") }
        guard n <= Int64(a.count - 3) else { throw ApplyError.syntax }
        var src = try a[3..<(3 + Int(n))].map { try zsource($0) }
        var how = Aggregate.sum
        var j = 3 + Int(n)
        while j < a.count {
            let remaining = a.count - j
            let o = Arg.upper(a[j])
            if op != .diff && o == "WEIGHTS" && remaining >= src.count + 1 {
                j += 1
                for i in src.indices {
                    guard let w = Arg.doubleOrNil(a[j]) else { throw ApplyError("weight value is not a float") }
                    src[i].weight = w
                    j += 1
                }
            } else if op != .diff && o == "AGGREGATE" && remaining >= 2 {
                switch Arg.upper(a[j + 1]) {
                case "SUM": how = .sum
                case "MIN": how = .min
                case "MAX": how = .max
                default: throw ApplyError.syntax
                }
                j += 2
            } else {
                throw ApplyError.syntax
            }
        }
        var result: [(member: Bytes, score: Double)] = []
        switch op {
        case .inter, .union:
            // qsort by cardinality (glibc's qsort is a merge sort: stable).
            let order = src.indices.sorted { src[$0].items.count != src[$1].items.count ? src[$0].items.count < src[$1].items.count : $0 < $1 }
            src = order.map { src[$0] }
            if op == .inter {
                for item in src[0].items {
                    var score = src[0].weight * item.score
                    if score.isNaN { score = 0 }
                    var all = true
                    for s in src.dropFirst() {
                        if s.key == src[0].key {
                            ApplyContext.aggregate(&score, item.score * s.weight, how)
                        } else if let v = s.lookup[item.member] {
                            ApplyContext.aggregate(&score, v * s.weight, how)
                        } else {
                            all = false
                            break
                        }
                    }
                    if all { result.append((item.member, score)) }
                }
            } else {
                var acc: [Bytes: Double] = [:]
                for s in src {
                    for item in s.items {
                        var score = s.weight * item.score
                        if score.isNaN { score = 0 }
                        if var cur = acc[item.member] {
                            ApplyContext.aggregate(&cur, score, how)
                            acc[item.member] = cur
                        } else {
                            acc[item.member] = score
                        }
                    }
                }
                for (m, s) in acc { result.append((m, s)) }
            }
        case .diff:
            for item in src[0].items where !src.dropFirst().contains(where: { $0.lookup[item.member] != nil }) {
                result.append((item.member, item.score))
            }
        }
        store(a[1], result.isEmpty ? nil : .zset(ZSetValue.built(result, keepNegativeZero: ks.zsetKeepsNegativeZero)))
    }

    mutating func zrangestore(_ a: [Bytes]) throws {
        guard a.count >= 5 else { throw ApplyError.arity("zrangestore") }
        var rev = false, byScore = false, byLex = false
        var offset: Int64 = 0, limit: Int64 = -1, hasLimit = false
        var j = 5
        while j < a.count {
            let o = Arg.upper(a[j])
            if o == "LIMIT" && a.count - j - 1 >= 2 {
                offset = try Arg.int(a[j + 1])
                limit = try Arg.int(a[j + 2])
                hasLimit = true
                j += 2
            } else if o == "REV" && !rev {
                rev = true
            } else if o == "BYLEX" && !byScore && !byLex {
                byLex = true
            } else if o == "BYSCORE" && !byScore && !byLex {
                byScore = true
            } else {
                throw ApplyError.syntax
            }
            j += 1
        }
        if hasLimit && !byScore && !byLex { throw ApplyError("LIMIT is only supported with BYSCORE or BYLEX") }
        var lo = a[3], hi = a[4]
        if rev && (byScore || byLex) { swap(&lo, &hi) }
        var picked: [(member: Bytes, score: Double)] = []
        if byScore {
            let r = try ScoreRange(lo, hi)
            let z = try zset(a[2])
            var items = (z?.sorted ?? []).filter { r.contains($0.score) }
            if rev { items.reverse() }
            picked = ApplyContext.limited(items, offset, limit)
        } else if byLex {
            let r = try LexRange(lo, hi)
            let z = try zset(a[2])
            let items = r.run(in: z?.sorted ?? [], reverse: rev)
            picked = ApplyContext.limited(items, offset, limit)
        } else {
            let s = try Arg.int(lo), e = try Arg.int(hi)
            if let z = try zset(a[2]) {
                var items = z.sorted
                if rev { items.reverse() }
                if let r = ApplyContext.rankRange(s, e, count: items.count) { picked = Array(items[r]) }
            }
        }
        guard !picked.isEmpty else { return store(a[1], nil) }
        if (byScore || byLex) && ks.sourceVersion?.zrangestoreBuildsSkiplist == true {
            // Redis 7.2.0–7.2.4: a skiplist from the start (`SourceVersion.zrangestoreBuildsSkiplist`),
            // which keeps every score as given, -0 included.
            var z = ZSetValue.built(picked, keepNegativeZero: true)
            z.convertToTable()
            return store(a[1], .zset(z))
        }
        store(a[1], .zset(ZSetValue.built(picked, keepNegativeZero: ks.zsetKeepsNegativeZero)))
    }

    static func limited<T>(_ items: [T], _ offset: Int64, _ limit: Int64) -> [T] {
        guard offset >= 0, offset < Int64(items.count) else { return [] }
        let rest = items[Int(offset)...]
        return limit < 0 ? Array(rest) : Array(rest.prefix(Int(min(limit, Int64(rest.count)))))
    }
}
