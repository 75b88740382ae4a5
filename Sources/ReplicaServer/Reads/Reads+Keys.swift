import Keyspace
import RDB
import RDBTools

/// Key reads, as Redis 7.0's db.c, expire.c, object.c and cluster.c (DUMP) answer them on a replica: EXISTS,
/// TYPE, TTL, PTTL, EXPIRETIME, PEXPIRETIME, DUMP, OBJECT, SCAN, KEYS, RANDOMKEY, DBSIZE.
extension ReadContext {
    func keyCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "exists":
            return .integer(Int64(a.dropFirst().filter { entry($0) != nil }.count))
        case "type":
            return .simple(entry(a[1])?.value.typeName ?? "none")
        case "ttl": return ttl(a[1], ms: false, absolute: false)
        case "pttl": return ttl(a[1], ms: true, absolute: false)
        case "expiretime": return ttl(a[1], ms: false, absolute: true)
        case "pexpiretime": return ttl(a[1], ms: true, absolute: true)
        case "dump":
            guard let e = entry(a[1]) else { return .null }
            return .bulk(try dumpPayload(e.value, key: a[1]))
        case "object": return try object(a)
        case "keys":
            let pattern = a[1]
            let all = pattern == [UInt8(ascii: "*")]
            var out: [Reply] = []
            for (k, e) in keyspace.database(db) where !isExpired(e) && (all || RedisGlob.matches(pattern: pattern, k)) {
                out.append(.bulk(k))
            }
            return .array(out)
        case "randomkey":
            let d = keyspace.database(db)
            let live = d.filter { !isExpired($0.value) }
            if let k = live.randomElement()?.key { return .bulk(k) }
            // dbRandomKey: a db whose keys are all logically expired still answers one of them on a replica.
            return d.randomElement().map { .bulk($0.key) } ?? .null
        case "dbsize":
            // dbsizeCommand counts the dictionary, logically expired keys included.
            return .integer(Int64(keyspace.database(db).count))
        case "scan":
            return try scanKeys(a)
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// expire.c `ttlGenericCommand`: -2 absent, -1 no expiry, else the time left (or the absolute time),
    /// seconds rounded to the nearest.
    private func ttl(_ key: Bytes, ms: Bool, absolute: Bool) -> Reply {
        guard let e = entry(key) else { return .integer(-2) }
        guard let at = e.expireAtMs else { return .integer(-1) }
        var t = absolute ? at : at - nowMs
        if t < 0 { t = 0 }
        return .integer(ms ? t : (t + 500) / 1000)
    }

    /// cluster.c `createDumpPayload` for the RDB version we answer as (7.0: 10); a value that version cannot
    /// hold (hash field TTLs) is written as RDB 12 (Redis 7.4+).
    /// A DUMP payload at the oldest version that holds the value: 10, else 12, else (Redis 8.6+ masters: stream
    /// IDMP state, NACK zones, 8.10 arrays) the master's own version, at most 15.
    func dumpPayload(_ value: Value, key: Bytes) throws -> Bytes {
        var versions = [10, 12]
        if rdbVersion >= 13 && rdbVersion < RDBVersion.valkeyFirst { versions.append(min(rdbVersion, RDBVersion.newestRedis)) }
        var last: Error?
        for v in versions {
            do { return try DumpPayload.encode(value.rdbValue, key: key, rdbVersion: v) } catch { last = error }
        }
        throw ReadError.err("cannot serialize the value of this key: \(last.map { "\($0)" } ?? "")")
    }

    private func object(_ a: [Bytes]) throws -> Reply {
        let sub = Arg.text(a[1]).lowercased()
        switch sub {
        case "help":
            guard a.count == 2 else { throw ReadError.err("wrong number of arguments for 'object|help' command") }
            return .array(["OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "ENCODING <key>",
                           "    Return the kind of internal representation used in order to store the value",
                           "    associated with a <key>.",
                           "FREQ <key>",
                           "    Return the access frequency index of the <key>. The returned integer is",
                           "    proportional to the logarithm of the recent access frequency of the key.",
                           "IDLETIME <key>",
                           "    Return the idle time of the <key>, that is the approximated number of",
                           "    seconds elapsed since the last access to the key.",
                           "REFCOUNT <key>",
                           "    Return the number of references of the value associated with the specified",
                           "    <key>.",
                           "HELP",
                           "    Print this help."].map { .simple($0) })
        case "encoding", "refcount", "idletime", "freq":
            guard a.count == 3 else { throw ReadError.err("wrong number of arguments for 'object|\(sub)' command") }
            guard let e = entry(a[2]) else { return .null }
            switch sub {
            case "encoding": return .bulk(ObjectEncoding.name(e.value))
            case "refcount":
                // Integers below OBJ_SHARED_INTEGERS are shared objects (OBJ_SHARED_REFCOUNT).
                if case .string(let s) = e.value, let n = Arg.int64(s), n >= 0, n < 10000 { return .integer(2_147_483_647) }
                return .integer(1)
            case "idletime":
                // A replica reading a key does not touch it; we never age keys: the loaded idle time, else 0.
                return .integer(Int64(e.lruIdleSeconds ?? 0))
            default:
                throw ReadError.err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            }
        default:
            throw ReadError(Errors.unknownSubcommand(a[1], "object"))
        }
    }

    /// db.c `scanGenericCommand` over the keys: the cursor is a position in the database's iteration order
    /// (stable while the copy is unchanged; a Redis cursor guarantees no more across rehashing either).
    private func scanKeys(_ a: [Bytes]) throws -> Reply {
        let cursor = try scanCursor(a[1])
        let opts = try ScanOptions.parse(a, from: 2, allowType: true)
        let d = keyspace.database(db)
        guard cursor < UInt64(d.count) else { return .array([.bulk("0"), .array([])]) }
        var i = d.index(d.startIndex, offsetBy: Int(cursor))
        var taken = 0
        var out: [Reply] = []
        var pos = Int(cursor)
        while i != d.endIndex && taken < opts.count {
            let (k, e) = d[i]
            taken += 1
            pos += 1
            i = d.index(after: i)
            if isExpired(e) { continue }
            if let p = opts.pattern, !RedisGlob.matches(pattern: p, k) { continue }
            if let t = opts.type, e.value.typeName != t { continue }
            out.append(.bulk(k))
        }
        let next = i == d.endIndex ? 0 : pos
        return .array([.bulk(String(next)), .array(out)])
    }

    /// db.c `parseScanCursorOrReply`: an unsigned 64-bit decimal.
    func scanCursor(_ s: Bytes) throws -> UInt64 {
        guard !s.isEmpty, s.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = UInt64(Arg.text(s)) else {
            throw ReadError.err("invalid cursor")
        }
        return v
    }
}

/// SCAN / HSCAN / SSCAN / ZSCAN options (db.c `scanGenericCommand`): COUNT n (n >= 1), MATCH pattern,
/// TYPE name (SCAN only).
struct ScanOptions {
    var count = 10
    var pattern: Bytes?
    var type: String?

    static func parse(_ a: [Bytes], from: Int, allowType: Bool) throws -> ScanOptions {
        var o = ScanOptions()
        var i = from
        while i < a.count {
            let left = a.count - i
            if Arg.equals(a[i], "count") && left >= 2 {
                let n = try Arg.integer(a[i + 1])
                guard n >= 1 else { throw ReadErrors.syntax }
                o.count = Int(min(n, Int64(Int32.max)))
                i += 2
            } else if Arg.equals(a[i], "match") && left >= 2 {
                o.pattern = a[i + 1] == [UInt8(ascii: "*")] ? nil : a[i + 1]
                i += 2
            } else if allowType && Arg.equals(a[i], "type") && left >= 2 {
                o.type = Arg.text(a[i + 1])
                i += 2
            } else {
                throw ReadErrors.syntax
            }
        }
        return o
    }
}

/// What Redis 7.0's `OBJECT ENCODING` reports for a value of this content, with the default thresholds
/// (object.c `strEncoding`; t_string.c `tryObjectEncoding`; `set-max-intset-entries` 512,
/// `hash-max-listpack-entries`/`-value` 512/64 (config.c; redis.conf suggests 128), `zset-max-listpack-entries`/`-value` 128/64; 7.0 lists are
/// always quicklists). Redis converts one way only, so a collection that grew past a threshold and shrank
/// again reports its hashed form on Redis and its packed form here.
enum ObjectEncoding {
    static func name(_ v: Value) -> String {
        switch v {
        case .string(let s):
            if s.count <= 20, Arg.int64(s) != nil { return "int" }
            return s.count <= 44 ? "embstr" : "raw"
        case .list: return "quicklist"
        case .set(let s):
            if s.count <= 512 && s.members.allSatisfy({ Arg.int64($0) != nil }) { return "intset" }
            return "hashtable"
        case .hash(let h):
            if h.count <= 512 && h.pairs.allSatisfy({ $0.0.count <= 64 && $0.1.count <= 64 }) { return "listpack" }
            return "hashtable"
        case .zset(let z):
            if z.count <= 128 && z.unordered.allSatisfy({ $0.member.count <= 64 }) { return "listpack" }
            return "skiplist"
        case .stream: return "stream"
        case .array: return "sliced-array"
        case .module: return "raw"
        }
    }
}
