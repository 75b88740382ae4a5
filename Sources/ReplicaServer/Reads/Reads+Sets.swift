import Keyspace
import RDB
import RDBTools

/// Set reads, as Redis 7.0's t_set.c answers them: SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SSCAN,
/// SINTER/SUNION/SDIFF, SINTERCARD, SRANDMEMBER. Multi-member replies are RESP3 sets (`~`).
extension ReadContext {
    func setCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "smembers":
            guard let s = try set(a[1]) else { return .set([]) }
            return .set(s.members.map { .bulk($0) })
        case "sismember":
            return .integer(try set(a[1])?.contains(a[2]) == true ? 1 : 0)
        case "smismember":
            let s = try set(a[1])
            return .array(a.dropFirst(2).map { .integer(s?.contains($0) == true ? 1 : 0) })
        case "scard":
            return .integer(Int64(try set(a[1])?.count ?? 0))
        case "sscan":
            let cursor = try scanCursor(a[2])
            let opts = try ScanOptions.parse(a, from: 3, allowType: false)
            guard let s = try set(a[1]) else { return .array([.bulk("0"), .array([])]) }
            let members = s.members
            let whole = ObjectEncoding.name(.set(s)) == "intset"
            let (page, next) = whole ? (members[...], 0) : scanPage(members, cursor: cursor, count: opts.count)
            let out = page.filter { m in opts.pattern.map { RedisGlob.matches(pattern: $0, m) } ?? true }
            return .array([.bulk(String(next)), .array(out.map { .bulk($0) })])
        case "sinter":
            guard let sets = try intersectionInputs(a[1...]) else { return .set([]) }
            return .set(intersect(sets, limit: 0).map { .bulk($0) })
        case "sintercard":
            guard let n = Arg.int64(a[1]), n >= 1 else { throw ReadError.err("numkeys should be greater than 0") }
            guard n <= Int64(a.count - 2) else { throw ReadError.err("Number of keys can't be greater than number of args") }
            var limit: Int64 = 0
            var j = 2 + Int(n)
            while j < a.count {
                let more = a.count - 1 - j
                if Arg.equals(a[j], "limit") && more > 0 {
                    j += 1
                    guard let l = Arg.int64(a[j]), l >= 0 else { throw ReadError.err("LIMIT can't be negative") }
                    limit = l
                } else {
                    throw ReadErrors.syntax
                }
                j += 1
            }
            guard let sets = try intersectionInputs(a[2..<(2 + Int(n))]) else { return .integer(0) }
            return .integer(Int64(intersect(sets, limit: limit).count))
        case "sunion", "sdiff":
            // sunionDiffGenericCommand: every key is looked up and type-checked first; missing keys are empty.
            let sets = try a.dropFirst().map { try set($0) }
            if name == "sunion" {
                var seen = Set<Bytes>()
                var out: [Reply] = []
                for s in sets.compactMap({ $0 }) {
                    for m in s.members where seen.insert(m).inserted { out.append(.bulk(m)) }
                }
                return .set(out)
            }
            guard let first = sets.first ?? nil else { return .set([]) }
            let others = sets.dropFirst().compactMap { $0 }
            return .set(first.members.filter { m in !others.contains { $0.contains(m) } }.map { .bulk($0) })
        case "srandmember":
            return try srandmember(a)
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// sinterGenericCommand's lookups: every key type-checked; nil when any is missing (an empty result).
    private func intersectionInputs(_ keys: ArraySlice<Bytes>) throws -> [SetValue]? {
        var sets: [SetValue] = []
        var missing = false
        for k in keys {
            if let s = try set(k) { sets.append(s) } else { missing = true }
        }
        return missing ? nil : sets
    }

    /// Members of the smallest set that are in all others (stopping at `limit` when it is not 0).
    private func intersect(_ sets: [SetValue], limit: Int64) -> [Bytes] {
        let ordered = sets.sorted { $0.count < $1.count }
        var out: [Bytes] = []
        for m in ordered[0].members where ordered.dropFirst().allSatisfy({ $0.contains(m) }) {
            out.append(m)
            if limit > 0 && Int64(out.count) >= limit { break }
        }
        return out
    }

    /// t_set.c `srandmemberWithCountCommand`: count parsed first, then the key; positive: distinct members,
    /// negative: |count| that may repeat.
    private func srandmember(_ a: [Bytes]) throws -> Reply {
        if a.count == 2 {
            guard let s = try set(a[1]) else { return .null }
            return s.members.randomElement().map { .bulk($0) } ?? .null
        }
        guard a.count == 3 else { throw ReadErrors.syntax }
        guard let count = Arg.int64(a[2]) else { throw ReadErrors.notInteger }
        guard count != Int64.min else {
            throw ReadError.err("value is out of range, must be between -9223372036854775807 and 9223372036854775807")
        }
        guard let s = try set(a[1]) else { return .array([]) }
        return .array(randomPick(s.members, count: count).map { .bulk($0) })
    }
}
