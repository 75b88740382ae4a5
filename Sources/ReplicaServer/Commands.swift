import Foundation

/// Runs one client command, in Redis's `processCommand` order: lookup (unknown command / subcommand),
/// arity, authentication (`-NOAUTH` unless the command is flagged no_auth), read-only replica
/// (`-READONLY` for write commands), then the command itself.
struct Commands {
    /// The server outlives its connections (it closes them and shuts their loop down before it goes), so
    /// an unowned(unsafe) reference: no reference counting per command.
    unowned(unsafe) let server: ReplicaServer

    init(server: ReplicaServer) { self.server = server }

    /// Runs `args` (the name included, as sent); for tests and callers without a parsed entry.
    func execute(_ args: [[UInt8]], _ s: ClientSession, view: () -> DatasetView = { .notKept }) -> (Reply?, AfterReply) {
        guard let first = args.first else { return (nil, .none) }
        return execute(CommandTable.lookup(first), args, s, view: view, nowMs: ReadCommands.nowMs())
    }

    /// Runs one command already looked up (`entry`, nil when the name is unknown). `view` gives the dataset
    /// a read command sees: the connection takes one O(1) copy per batch of pipelined commands, so a batch
    /// reads one command boundary and the follower's lock is held only for the copy, never while a reply is
    /// computed. `nowMs` is the time expiries are judged by (read once per batch).
    func execute(_ entry: CommandEntry?, _ args: [[UInt8]], _ s: ClientSession, view: () -> DatasetView,
                 nowMs: Int64) -> (Reply?, AfterReply) {
        guard !args.isEmpty else { return (nil, .none) }
        if server.configuration.failoverGuardOnly && !(entry?.name == "psync" && args.count >= 4) {
            return guardOnly(entry?.name ?? "", args, s)
        }
        guard let entry else { return (Errors.unknownCommand(args), .none) }
        let name = entry.name
        if let refusal = refusal(entry, args, s) { return (refusal, .none) }
        if let family = entry.family {
            return (ReadCommands.run(name, args, family: family, view: view(), session: s, nowMs: nowMs), .none)
        }
        let rest = Array(args.dropFirst())
        switch name {
        case "ping":
            if rest.count > 1 { return (Errors.wrongArity(name), .none) }
            return (rest.first.map { .bulk($0) } ?? .simple("PONG"), .none)
        case "echo": return (.bulk(rest[0]), .none)
        case "auth": return (auth(rest, s), .none)
        case "hello": return (hello(rest, s), .none)
        case "select":
            guard let n = Int(String(decoding: rest[0], as: UTF8.self)) else { return (Errors.notInteger, .none) }
            guard (0..<16).contains(n) else { return (.err("DB index is out of range"), .none) }
            s.db = n
            return (.ok, .none)
        case "quit": return (.ok, .close)
        case "reset":
            s.name = nil
            s.db = 0
            s.protocolVersion = 2
            s.authenticated = server.configuration.password == nil
            return (.simple("RESET"), .none)
        case "client": return (client(rest, s), .none)
        case "command": return (command(rest), .none)
        case "time":
            let now = Date().timeIntervalSince1970
            let sec = Int64(now)
            return (.array([.bulk(String(sec)), .bulk(String(Int64((now - Double(sec)) * 1_000_000)))]), .none)
        case "role": return (server.roleReply(), .none)
        case "info":
            let text = server.infoText(sections: rest.map { String(decoding: $0, as: UTF8.self).lowercased() })
            return (.verbatim(text), .none)
        case "replconf": return (replconf(rest, s), .none)
        case "sync": return (nil, .replicate(replid: "?", offset: -1, isSync: true))
        case "psync":
            if rest.count >= 3 && String(decoding: rest[2], as: UTF8.self).lowercased() == "failover" {
                // A master running FAILOVER hands its role over with PSYNC ... FAILOVER (replication.c
                // syncCommand). We never take over: refusing makes the master abort the failover
                // ("Failover target rejected psync request") and stay writable.
                server.logger.warning("Refused PSYNC FAILOVER from \(s.address): our master tried to hand its role over to us (FAILOVER); it will abort and stay the master")
                return (.err("PSYNC FAILOVER refused: this replica is a persistent log, never a failover target"), .none)
            }
            if server.configuration.failoverGuardOnly { return guardOnly(name, args, s) }
            guard let offset = Int64(String(decoding: rest[1], as: UTF8.self)) else { return (Errors.notInteger, .none) }
            return (nil, .replicate(replid: String(decoding: rest[0], as: UTF8.self), offset: offset, isSync: false))
        default:
            return (Errors.unknownCommand(args), .none)
        }
    }

    /// The checks before a known command runs, in `processCommand`'s order: arity, authentication, and
    /// `-READONLY` for a write command; nil when it may run (the client's last command is recorded).
    @inline(__always) func refusal(_ entry: CommandEntry, _ args: [[UInt8]], _ s: ClientSession) -> Reply? {
        let name = entry.name
        let arity = entry.spec.arity
        if (arity > 0 && args.count != arity) || args.count < -arity { return Errors.wrongArity(name) }
        if !s.authenticated && !entry.noAuth { return Errors.noAuth }
        s.lastCommand = !entry.hasSubcommands || args.count < 2 ? name : name + "|" + String(decoding: args[1], as: UTF8.self).lowercased()
        if entry.isWrite { return Errors.readOnly }
        if let subs = entry.writeSubcommands, args.count >= 2 {
            let sub = String(decoding: args[1], as: UTF8.self).lowercased()
            if let a = subs[sub] {
                if (a > 0 && args.count != a) || args.count < -a { return Errors.wrongArity(name + "|" + sub) }
                return Errors.readOnly
            }
        }
        return nil
    }

    /// The failover guard's whole command set (see `ServerConfiguration.failoverGuardOnly`).
    private func guardOnly(_ name: String, _ args: [[UInt8]], _ s: ClientSession) -> (Reply?, AfterReply) {
        switch name {
        case "ping": return (.simple("PONG"), .none)
        case "auth", "replconf": return (.ok, .none)
        default:
            return (.err("this port only refuses FAILOVER handovers; start follow with --port to serve clients and replicas"), .close)
        }
    }

    private func checkPassword(user: String, password: [UInt8]) -> Bool {
        guard user == "default" else { return false }
        guard let expected = server.configuration.password else { return true }
        // Constant-time comparison, as Redis's `time_independent_strcmp`.
        let e = Array(expected.utf8)
        var diff = e.count ^ password.count
        for i in 0..<max(e.count, password.count) {
            diff |= Int((i < e.count ? e[i] : 0) ^ (i < password.count ? password[i] : 0))
        }
        return diff == 0
    }

    private func auth(_ rest: [[UInt8]], _ s: ClientSession) -> Reply {
        guard rest.count <= 2 else { return Errors.syntax }
        if rest.count == 1 && server.configuration.password == nil { return Errors.noPasswordConfigured }
        let user = rest.count == 2 ? String(decoding: rest[0], as: UTF8.self) : "default"
        guard checkPassword(user: user, password: rest[rest.count - 1]) else { return Errors.wrongPass }
        s.authenticated = true
        return .ok
    }

    private func hello(_ rest: [[UInt8]], _ s: ClientSession) -> Reply {
        var version = s.protocolVersion
        var i = 0
        if let v = rest.first {
            guard let n = Int(String(decoding: v, as: UTF8.self)) else {
                return .err("Protocol version is not an integer or out of range")
            }
            guard n == 2 || n == 3 else { return .error("NOPROTO unsupported protocol version") }
            version = n
            i = 1
        }
        var name: [UInt8]?
        var credentials: (String, [UInt8])?
        while i < rest.count {
            let opt = String(decoding: rest[i], as: UTF8.self).lowercased()
            if opt == "auth" && i + 2 < rest.count {
                credentials = (String(decoding: rest[i + 1], as: UTF8.self), rest[i + 2])
                i += 3
            } else if opt == "setname" && i + 1 < rest.count {
                name = rest[i + 1]
                i += 2
            } else {
                return .err("Syntax error in HELLO option '\(opt)'")
            }
        }
        if let (user, pass) = credentials {
            guard checkPassword(user: user, password: pass) else { return Errors.wrongPass }
            s.authenticated = true
        }
        if !s.authenticated { return Errors.helloNoAuth }
        if let name {
            if let e = validateName(name) { return e }
            s.name = name.isEmpty ? nil : String(decoding: name, as: UTF8.self)
        }
        s.protocolVersion = version
        return .map([
            (.bulk("server"), .bulk("redis")), (.bulk("version"), .bulk(ReplicaServer.redisVersion)),
            (.bulk("proto"), .integer(Int64(version))), (.bulk("id"), .integer(s.id)),
            (.bulk("mode"), .bulk("standalone")), (.bulk("role"), .bulk("replica")), (.bulk("modules"), .array([])),
        ])
    }

    private func validateName(_ name: [UInt8]) -> Reply? {
        // clientSetName: characters from '!' to '~' only.
        for c in name where c < 0x21 || c > 0x7e {
            return .err("Client names cannot contain spaces, newlines or special characters.")
        }
        return nil
    }

    private func client(_ rest: [[UInt8]], _ s: ClientSession) -> Reply {
        let sub = String(decoding: rest[0], as: UTF8.self).lowercased()
        let arityError = Reply.err("wrong number of arguments for 'client|\(sub)' command")
        switch sub {
        case "id": return rest.count == 1 ? .integer(s.id) : arityError
        case "getname":
            guard rest.count == 1 else { return arityError }
            return s.name.map { .bulk($0) } ?? .null
        case "setname":
            guard rest.count == 2 else { return arityError }
            if let e = validateName(rest[1]) { return e }
            s.name = rest[1].isEmpty ? nil : String(decoding: rest[1], as: UTF8.self)
            return .ok
        case "setinfo":
            guard rest.count == 3 else { return arityError }
            let attr = String(decoding: rest[1], as: UTF8.self).lowercased()
            let value = String(decoding: rest[2], as: UTF8.self)
            guard rest[2].allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
                return .err("\(attr) cannot contain spaces, newlines or special characters.")
            }
            switch attr {
            case "lib-name": s.libName = value
            case "lib-ver": s.libVersion = value
            default: return .err("Unrecognized option '\(String(decoding: rest[1], as: UTF8.self))'")
            }
            return .ok
        case "info":
            return rest.count == 1 ? .verbatim(s.infoLine() + "\n") : arityError
        case "list":
            if rest.count == 3 && String(decoding: rest[1], as: UTF8.self).lowercased() == "type" {
                let type = String(decoding: rest[2], as: UTF8.self).lowercased()
                let wantReplica: Bool
                switch type {
                case "normal": wantReplica = false
                case "replica", "slave": wantReplica = true
                case "master", "pubsub": return .verbatim("")
                default: return .err("Unknown client type '\(type)'")
                }
                return .verbatim(server.sessions.filter { $0.isReplica == wantReplica }.map { $0.infoLine() + "\n" }.joined())
            }
            guard rest.count == 1 else { return Errors.syntax }
            return .verbatim(server.sessions.map { $0.infoLine() + "\n" }.joined())
        case "help":
            return .array(["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GETNAME", "    Return the name of the current connection.",
                           "ID", "    Return the ID of the current connection.", "INFO", "    Return information about the current client connection.",
                           "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)]", "    Return information about client connections.",
                           "SETINFO <option> <value>", "    Set client meta attr. Options are LIB-NAME and LIB-VER.",
                           "SETNAME <name>", "    Assign the name <name> to the current connection.",
                           "HELP", "    Print this help."].map { .simple($0) })
        default: return Errors.unknownSubcommand(rest[0], "client")
        }
    }

    private func command(_ rest: [[UInt8]]) -> Reply {
        guard let subBytes = rest.first else {
            return .array(CommandTable.allNames.compactMap { CommandTable.spec($0) }.map(CommandTable.info))
        }
        let sub = String(decoding: subBytes, as: UTF8.self).lowercased()
        let names = rest.dropFirst().map { String(decoding: $0, as: UTF8.self).lowercased() }
        switch sub {
        case "count": return .integer(Int64(CommandTable.allNames.count))
        case "list": return .array(CommandTable.allNames.map { .bulk($0) })
        case "info":
            let list = names.isEmpty ? CommandTable.allNames : names
            return .array(list.map { CommandTable.spec($0).map(CommandTable.info) ?? .null })
        case "docs":
            let list = names.isEmpty ? CommandTable.allNames : names
            return .map(list.compactMap { n in CommandTable.spec(n).map { (.bulk(n), CommandTable.docs($0)) } })
        case "help":
            return .array(["COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "(no subcommand)",
                           "    Return details about all Redis commands.", "COUNT", "    Return the total number of commands in this Redis server.",
                           "LIST", "    Return a list of all commands in this Redis server.", "INFO [<command-name> ...]",
                           "    Return details about multiple Redis commands.", "DOCS [<command-name> ...]",
                           "    Return documentation details about multiple Redis commands.", "HELP", "    Print this help."].map { .simple($0) })
        default: return Errors.unknownSubcommand(subBytes, "command")
        }
    }

    private func replconf(_ rest: [[UInt8]], _ s: ClientSession) -> Reply? {
        guard rest.count % 2 == 0 else { return Errors.syntax }
        var j = 0
        while j < rest.count {
            let opt = String(decoding: rest[j], as: UTF8.self).lowercased()
            let value = String(decoding: rest[j + 1], as: UTF8.self)
            switch opt {
            case "listening-port":
                guard let p = Int(value) else { return Errors.notInteger }
                s.replicaListeningPort = p
            case "ip-address":
                guard rest[j + 1].count < 256 else {
                    return .err("REPLCONF ip-address provided by replica instance is too long: \(rest[j + 1].count) bytes")
                }
                s.replicaAnnouncedIP = value
            case "capa": s.replicaCapabilities.insert(value.lowercased())
            case "ack", "fack", "getack":
                // ACKs are read by the downstream replica's handler; from anyone else, no reply (as Redis).
                return nil
            case "rdb-only", "rdb-filter-only", "rdb-channel", "main-ch-client-id": break
            default: return .err("Unrecognized REPLCONF option: \(String(decoding: rest[j], as: UTF8.self))")
            }
            j += 2
        }
        return .ok
    }
}
