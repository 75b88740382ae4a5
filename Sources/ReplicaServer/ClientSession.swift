import Foundation

/// One client connection's state, as Redis keeps it in `client` (networking.c): id, name, selected db,
/// protocol version, authentication, and the fields CLIENT INFO/LIST print.
final class ClientSession {
    let id: Int64
    let address: String
    let localAddress: String
    let isLoopback: Bool
    let createdAt: Date
    var lastInteraction: Date
    var name: String?
    var db = 0
    var protocolVersion = 2
    var authenticated: Bool
    var lastCommand = "NULL"
    var libName: String?
    var libVersion: String?
    /// Set once the client sent PSYNC/SYNC (it is a downstream replica from then on).
    var isReplica = false
    /// From `REPLCONF listening-port` / `ip-address` / `capa`.
    var replicaListeningPort = 0
    var replicaAnnouncedIP: String?
    var replicaCapabilities: Set<String> = []

    init(id: Int64, address: String, localAddress: String, isLoopback: Bool, passwordRequired: Bool) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.isLoopback = isLoopback
        createdAt = Date()
        lastInteraction = createdAt
        authenticated = !passwordRequired
    }

    /// One CLIENT LIST / CLIENT INFO line with Redis's field names (`catClientInfoString`).
    func infoLine(now: Date = Date()) -> String {
        let age = Int(now.timeIntervalSince(createdAt))
        let idle = Int(now.timeIntervalSince(lastInteraction))
        let flags = isReplica ? "S" : "N"
        return "id=\(id) addr=\(address) laddr=\(localAddress) fd=-1 name=\(name ?? "") age=\(age) idle=\(idle) flags=\(flags) "
            + "db=\(db) sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 "
            + "obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=\(lastCommand) user=default redir=-1 resp=\(protocolVersion) "
            + "lib-name=\(libName ?? "") lib-ver=\(libVersion ?? "")"
    }
}

/// What happens after a command's reply is written.
enum AfterReply: Equatable {
    case none
    /// Close the connection once the reply is flushed (QUIT, protocol errors).
    case close
    /// `PSYNC <replid> <offset>` (or SYNC: `?`, -1): the connection becomes a downstream replica.
    case replicate(replid: String, offset: Int64, isSync: Bool)
}

enum Errors {
    static let noAuth = Reply.error("NOAUTH Authentication required.")
    static let wrongPass = Reply.error("WRONGPASS invalid username-password pair or user is disabled.")
    static let readOnly = Reply.error("READONLY You can't write against a read only replica.")
    static let syntax = Reply.err("syntax error")
    static let notInteger = Reply.err("value is not an integer or out of range")
    static let noPasswordConfigured = Reply.err(
        "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    static let helloNoAuth = Reply.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
    static let maxClients = Reply.err("max number of clients reached")
    /// Redis's protected-mode refusal (networking.c `clientAcceptHandler`), word for word.
    static let denied = Reply.error(
        "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. "
        + "In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: "
        + "1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. "
        + "2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. "
        + "3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. "
        + "4) Set up an authentication password for the default user. "
        + "NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.")

    static func wrongArity(_ name: String) -> Reply { .err("wrong number of arguments for '\(name)' command") }

    /// `commandCheckExistence`: "unknown subcommand '%.128s'. Try %s HELP.", the subcommand's bytes as sent.
    static func unknownSubcommand(_ sub: [UInt8], _ container: String) -> Reply {
        .errorBytes(Array("ERR unknown subcommand '".utf8) + cFormatted(sub, max: 128)
            + Array("'. Try \(container.uppercased()) HELP.".utf8))
    }

    /// `commandCheckExistence`: "unknown command '%.128s', with args beginning with: " and then `'%.*s' ` per
    /// argument while the list is under 128 bytes, each cut to what is left of the 128. The client's bytes are
    /// echoed as they are (not UTF-8 checked); CR and LF become spaces when the reply is encoded.
    static func unknownCommand(_ args: [[UInt8]]) -> Reply {
        var list: [UInt8] = []
        var i = 1
        while i < args.count && list.count < 128 {
            let room = 128 - list.count
            list.append(UInt8(ascii: "'"))
            list += cFormatted(args[i], max: room)
            list += [UInt8(ascii: "'"), UInt8(ascii: " ")]
            i += 1
        }
        return .errorBytes(Array("ERR unknown command '".utf8) + cFormatted(args[0], max: 128)
            + Array("', with args beginning with: ".utf8) + list)
    }

    /// What printf's `%.<max>s` prints of an argument: Redis formats the argument as a C string, so it ends at
    /// its first NUL byte, and at most `max` bytes of it.
    static func cFormatted(_ bytes: [UInt8], max: Int) -> ArraySlice<UInt8> {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return bytes[0..<min(end, Swift.max(0, max))]
    }
}
