import Foundation
import Keyspace
import RDB

/// The read-only data commands a Redis replica answers, routed by family. Arity and flags follow Redis's
/// command table (src/commands/*.json); arity n > 0 means exactly n arguments with the name, n < 0 at least -n.
enum ReadCommands {
    enum Family { case strings, keys, hashes, lists, sets, zsets, streams, arrays, misc }

    static let table: [(String, Int, Family)] = [
        ("get", 2, .strings), ("mget", -2, .strings), ("getrange", 4, .strings), ("substr", 4, .strings),
        ("strlen", 2, .strings), ("getbit", 3, .strings), ("bitcount", -2, .strings), ("bitpos", -3, .strings),
        ("exists", -2, .keys), ("type", 2, .keys), ("ttl", 2, .keys), ("pttl", 2, .keys), ("expiretime", 2, .keys),
        ("pexpiretime", 2, .keys), ("dump", 2, .keys), ("object", -2, .keys), ("scan", -2, .keys), ("keys", 2, .keys),
        ("randomkey", 1, .keys), ("dbsize", 1, .keys),
        ("hget", 3, .hashes), ("hmget", -3, .hashes), ("hgetall", 2, .hashes), ("hkeys", 2, .hashes),
        ("hvals", 2, .hashes), ("hlen", 2, .hashes), ("hexists", 3, .hashes), ("hstrlen", 3, .hashes),
        ("hscan", -3, .hashes), ("hrandfield", -2, .hashes), ("httl", -5, .hashes), ("hpttl", -5, .hashes),
        ("hexpiretime", -5, .hashes), ("hpexpiretime", -5, .hashes),
        ("lrange", 4, .lists), ("llen", 2, .lists), ("lindex", 3, .lists), ("lpos", -3, .lists),
        ("smembers", 2, .sets), ("sismember", 3, .sets), ("smismember", -3, .sets), ("scard", 2, .sets),
        ("sscan", -3, .sets), ("sinter", -2, .sets), ("sunion", -2, .sets), ("sdiff", -2, .sets),
        ("sintercard", -3, .sets), ("srandmember", -2, .sets),
        ("zrange", -4, .zsets), ("zrangebyscore", -4, .zsets), ("zrangebylex", -4, .zsets), ("zrevrange", -4, .zsets),
        ("zrevrangebyscore", -4, .zsets), ("zrevrangebylex", -4, .zsets), ("zscore", 3, .zsets), ("zmscore", -3, .zsets),
        ("zcard", 2, .zsets), ("zcount", 4, .zsets), ("zlexcount", 4, .zsets), ("zrank", -3, .zsets),
        ("zrevrank", -3, .zsets), ("zscan", -3, .zsets), ("zrandmember", -2, .zsets),
        ("xrange", -4, .streams), ("xrevrange", -4, .streams), ("xlen", 2, .streams), ("xinfo", -2, .streams),
        ("xpending", -3, .streams), ("xread", -4, .streams),
        ("arget", 3, .arrays), ("armget", -3, .arrays), ("arlen", 2, .arrays), ("arcount", 2, .arrays),
        ("arnext", 2, .arrays), ("argetrange", 4, .arrays), ("arscan", -4, .arrays), ("arlastitems", -3, .arrays), ("arop", -5, .arrays),
        ("pfcount", -2, .misc), ("geopos", -2, .misc), ("geodist", -4, .misc), ("geohash", -2, .misc),
        ("geosearch", -7, .misc), ("georadius_ro", -6, .misc), ("georadiusbymember_ro", -5, .misc),
        ("function", -2, .misc), ("xgroup", -2, .misc), ("eval_ro", -3, .misc), ("evalsha_ro", -3, .misc), ("fcall_ro", -3, .misc),
    ]

    static let families: [String: Family] = Dictionary(uniqueKeysWithValues: table.map { ($0.0, $0.2) })

    static let specs: [CommandSpec] = table.map { name, arity, family in
        let group: String
        switch family {
        case .strings: group = "string"
        case .keys: group = "generic"
        case .hashes: group = "hash"
        case .lists: group = "list"
        case .sets: group = "set"
        case .zsets: group = "sorted-set"
        case .streams: group = "stream"
        case .arrays: group = "array"
        case .misc: group = name.hasPrefix("pf") ? "hyperloglog" : name.hasPrefix("geo") ? "geo" : "scripting"
        }
        return CommandSpec(name: name, arity: arity, flags: ["readonly"], group: group, since: "1.0.0",
                           summary: "A read-only data command, answered from the replica's dataset.")
    }

    /// The error a read gets when there is no dataset to read.
    static func unavailable(_ view: DatasetView) -> Reply? {
        switch view {
        case .ready: return nil
        case .loading: return .error("LOADING Redis is loading the dataset in memory")
        case .notKept:
            return .err("this replica keeps no dataset (follow --no-dataset): it records the stream and serves replicas, but answers no reads")
        case .failed(let why): return .err("the dataset could not be loaded (\(why)); no reads until the next full sync")
        case .diverged(let offset, let command):
            return .err("the dataset diverged from the master at replication offset \(offset) on \(command): no reads until the next full sync")
        }
    }

    /// What the read commands of a batch read: one context (the dataset copy, db, time, protocol) built for
    /// the batch, or the error every read gets while there is no dataset.
    enum Target {
        case context(ReadContext)
        case unavailable(Reply)
    }

    static func target(_ view: DatasetView, session: ClientSession, nowMs: Int64) -> Target {
        if let e = unavailable(view) { return .unavailable(e) }
        guard case .ready(let keyspace, let rdbVersion) = view else { return .unavailable(.err("no dataset")) }
        return .context(ReadContext(keyspace: keyspace, db: session.db, nowMs: nowMs, resp3: session.protocolVersion >= 3,
                                    rdbVersion: rdbVersion))
    }

    /// Runs read command `name` (already looked up, arity checked) against `view`.
    static func run(_ name: String, _ args: [Bytes], family: Family, view: DatasetView, session: ClientSession,
                    nowMs: Int64) -> Reply {
        run(name, args, family: family, target: target(view, session: session, nowMs: nowMs))
    }

    /// Runs read command `name` (already looked up, arity checked) against a batch's `target`.
    static func run(_ name: String, _ args: [Bytes], family: Family, target: Target) -> Reply {
        // Scripts are refused before any look at the dataset: no Lua is embedded.
        if family == .misc && (name == "eval_ro" || name == "evalsha_ro" || name == "fcall_ro") {
            return .err("\(name.uppercased()) is not supported: this replica embeds no Lua engine, so scripts and functions cannot run here; run them on a Redis replica or the master")
        }
        switch target {
        case .unavailable(let e): return e
        case .context(let ctx): return run(name, args, family: family, context: ctx)
        }
    }

    static func run(_ name: String, _ args: [Bytes], family: Family, context ctx: ReadContext) -> Reply {
        do {
            return try runOrWait(name, args, family: family, context: ctx)
        } catch is XReadWait {
            // A client that cannot block (CLIENT_DENY_BLOCKING) gets what a timeout gives.
            return .nullArray
        } catch let e as ReadError {
            return e.reply
        } catch {
            return .err("\(error)")
        }
    }

    /// Runs a read; an XREAD BLOCK that has to wait throws `XReadWait`, other failures `ReadError`.
    static func runOrWait(_ name: String, _ args: [Bytes], family: Family, context ctx: ReadContext) throws -> Reply {
        do {
            switch family {
            case .strings: return try ctx.stringCommand(name, args)
            case .keys: return try ctx.keyCommand(name, args)
            case .hashes: return try ctx.hashCommand(name, args)
            case .lists: return try ctx.listCommand(name, args)
            case .sets: return try ctx.setCommand(name, args)
            case .zsets: return try ctx.zsetCommand(name, args)
            case .streams: return try ctx.streamCommand(name, args)
            case .arrays: return try ctx.arrayCommand(name, args)
            case .misc: return try ctx.miscCommand(name, args)
            }
        }
    }

    /// Unix time in milliseconds (Redis's `mstime`), read for every command from the realtime clock.
    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
