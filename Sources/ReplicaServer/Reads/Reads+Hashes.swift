import Keyspace
import RDB
import RDBTools

/// Hash reads, as Redis's t_hash.c answers them (7.0, with 7.4+/8.x field TTLs): HGET, HMGET, HGETALL, HKEYS,
/// HVALS, HLEN, HEXISTS, HSTRLEN, HSCAN, HRANDFIELD, HTTL/HPTTL/HEXPIRETIME/HPEXPIRETIME. A field whose TTL
/// has passed reads as absent (`hashTypeIsExpired`: expiry < now), except in HLEN, which counts it as Redis
/// does until the field is deleted.
extension ReadContext {
    func hashCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "hget":
            guard let h = try hash(a[1]) else { return .null }
            return liveValue(h, a[2]).map { .bulk($0) } ?? .null
        case "hmget":
            let h = try hash(a[1])
            return .array(a.dropFirst(2).map { f in h.flatMap { liveValue($0, f) }.map { .bulk($0) } ?? .null })
        case "hgetall":
            guard let h = try hash(a[1]) else { return .map([]) }
            return .map(livePairs(h).map { (.bulk($0.0), .bulk($0.1)) })
        case "hkeys":
            guard let h = try hash(a[1]) else { return .array([]) }
            return .array(livePairs(h).map { .bulk($0.0) })
        case "hvals":
            guard let h = try hash(a[1]) else { return .array([]) }
            return .array(livePairs(h).map { .bulk($0.1) })
        case "hlen":
            return .integer(Int64(try hash(a[1])?.count ?? 0))
        case "hexists":
            guard let h = try hash(a[1]) else { return .integer(0) }
            return .integer(liveValue(h, a[2]) == nil ? 0 : 1)
        case "hstrlen":
            guard let h = try hash(a[1]) else { return .integer(0) }
            return .integer(Int64(liveValue(h, a[2])?.count ?? 0))
        case "hscan":
            return try hscan(a)
        case "hrandfield":
            return try hrandfield(a)
        case "httl": return try fieldTTL(a, ms: false, absolute: false)
        case "hpttl": return try fieldTTL(a, ms: true, absolute: false)
        case "hexpiretime": return try fieldTTL(a, ms: false, absolute: true)
        case "hpexpiretime": return try fieldTTL(a, ms: true, absolute: true)
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    private func fieldExpired(_ h: HashValue, _ field: Bytes) -> Bool {
        guard !h.fieldExpiry.isEmpty, let at = h.fieldExpiry[field] else { return false }
        return at < nowMs
    }

    func liveValue(_ h: HashValue, _ field: Bytes) -> Bytes? {
        guard let v = h[field], !fieldExpired(h, field) else { return nil }
        return v
    }

    func livePairs(_ h: HashValue) -> [(Bytes, Bytes)] {
        let all = h.pairs
        return h.fieldExpiry.isEmpty ? all : all.filter { !fieldExpired(h, $0.0) }
    }

    /// HSCAN: a small (listpack) hash is returned whole with cursor 0, as Redis does; a large one by position.
    private func hscan(_ a: [Bytes]) throws -> Reply {
        let cursor = try scanCursor(a[2])
        let opts = try ScanOptions.parse(a, from: 3, allowType: false)
        guard let h = try hash(a[1]) else { return .array([.bulk("0"), .array([])]) }
        let pairs = livePairs(h)
        let packed = ObjectEncoding.name(.hash(h)) == "listpack"
        let (page, next) = packed ? (pairs[...], 0) : scanPage(pairs, cursor: cursor, count: opts.count)
        var out: [Reply] = []
        for (f, v) in page where opts.pattern.map({ RedisGlob.matches(pattern: $0, f) }) ?? true {
            out.append(.bulk(f))
            out.append(.bulk(v))
        }
        return .array([.bulk(String(next)), .array(out)])
    }

    /// One page of a positional scan: `count` items from `cursor`, and the next cursor (0 at the end).
    func scanPage<T>(_ items: [T], cursor: UInt64, count: Int) -> (ArraySlice<T>, Int) {
        guard cursor < UInt64(items.count) else { return ([], 0) }
        let start = Int(cursor)
        let end = min(items.count, start + count)
        return (items[start..<end], end == items.count ? 0 : end)
    }

    /// t_hash.c `hrandfieldWithCountCommand`: a positive count gives distinct fields (at most all), a negative
    /// one |count| fields that may repeat; WITHVALUES pairs them (RESP3: an array of [field, value] arrays).
    private func hrandfield(_ a: [Bytes]) throws -> Reply {
        if a.count == 2 {
            guard let h = try hash(a[1]) else { return .null }
            return livePairs(h).randomElement().map { .bulk($0.0) } ?? .null
        }
        let count = try Arg.integer(a[2])
        var withValues = false
        if a.count == 4 {
            guard Arg.equals(a[3], "withvalues") else { throw ReadErrors.syntax }
            withValues = true
        } else if a.count > 4 {
            throw ReadErrors.syntax
        }
        if count < -Int64(Int.max / 2) || count > Int64(Int.max / 2) {
            throw ReadError.err("value is out of range")
        }
        guard let h = try hash(a[1]) else { return .array([]) }
        let pairs = livePairs(h)
        let picked = randomPick(pairs, count: count)
        if withValues {
            if resp3 { return .array(picked.map { .array([.bulk($0.0), .bulk($0.1)]) }) }
            return .array(picked.flatMap { [Reply.bulk($0.0), .bulk($0.1)] })
        }
        return .array(picked.map { .bulk($0.0) })
    }

    /// `count` > 0: distinct elements (all when fewer); < 0: |count| elements that may repeat.
    func randomPick<T>(_ items: [T], count: Int64) -> [T] {
        guard !items.isEmpty, count != 0 else { return [] }
        if count < 0 { return (0..<Int(-count)).map { _ in items.randomElement()! } }
        if count >= items.count { return items }
        return Array(items.shuffled().prefix(Int(count)))
    }

    /// t_hash.c `httlGenericCommand`: -2 no such field (or expired), -1 no TTL, else the TTL (seconds
    /// rounded up) or the absolute expiry.
    private func fieldTTL(_ a: [Bytes], ms: Bool, absolute: Bool) throws -> Reply {
        let h = try hash(a[1])
        guard Arg.equals(a[2], "fields") else {
            throw ReadError.err("Mandatory argument FIELDS is missing or not at the right position")
        }
        guard let n = Arg.int64(a[3]), n >= 1 else { throw ReadError.err("Number of fields must be a positive integer") }
        guard n == Int64(a.count - 4) else { throw ReadError.err("The `numfields` parameter must match the number of arguments") }
        let base: Int64 = absolute ? 0 : nowMs
        return .array(a.dropFirst(4).map { f in
            guard let h, h[f] != nil else { return .integer(-2) }
            guard let at = h.fieldExpiry[f] else { return .integer(-1) }
            if at <= nowMs { return .integer(-2) }
            return .integer(ms ? at - base : (at + 999 - base) / 1000)
        })
    }
}
