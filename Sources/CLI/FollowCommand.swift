import ArgumentParser
import Dispatch
import Foundation
import Logging
import ReplicaNode
import ReplicaServer
import ReplicaStore

/// `redis-replica follow`: a persistent replica of a Redis/Valkey master.
public struct FollowCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Replicate a master into a data directory; resume with PSYNC after any restart.",
        discussion: """
        Performs the replica handshake (PING, AUTH, REPLCONF, PSYNC), receives one full sync (RDB snapshot), \
        then records the raw replication stream in a framed log. After a restart (graceful or kill -9) it \
        sends PSYNC <replid> <offset+1> and the master answers +CONTINUE while the offset is in its backlog.
        The password is read from --masterauth-file or the REDIS_REPLICA_MASTERAUTH environment variable, \
        never from the command line. A refused AUTH exits with status 2 without retrying.
        SIGTERM/SIGINT: graceful shutdown (log fsynced), exit status 0.
        """
    )

    @Option(name: .long, help: "The master's address, HOST:PORT.")
    var master: String

    @Option(name: .long, help: "The data directory (created if missing).")
    var dir: String

    @Option(name: .long, help: "ACL user for AUTH (Redis 6+).")
    var masteruser: String?

    @Option(name: .customLong("masterauth-file"), help: "A file holding the master's password (trailing newline ignored).")
    var masterauthFile: String?

    @Option(name: .long, help: "When to fsync the log.")
    var fsync: FsyncPolicy = .everysec

    @Option(name: .customLong("repl-timeout"), help: "Seconds without data before the link is dropped (handshake, transfer, stream).")
    var replTimeout: Int = 60

    @Option(name: .customLong("listening-port"), help: "The port announced with REPLCONF listening-port (default: --tls-port with --tls-replication, else --port, else 0).")
    var listeningPort: Int?

    @Option(name: .customLong("port"), help: "Serve RESP on this port: INFO/ROLE/PING..., and downstream replicas (replicaof us). 0 or absent: no server.")
    var servePort: Int = 0

    @Option(name: .long, help: "The address --port listens on.")
    var bind: String = "127.0.0.1"

    @Option(name: .customLong("requirepass-file"), help: "A file holding the password clients of --port must AUTH with (trailing newline ignored).")
    var requirepassFile: String?

    @Option(name: .long, help: "Most clients --port accepts at once.")
    var maxclients: Int = 10000

    @Option(name: .customLong("replica-buffer-limit"), help: "client-output-buffer-limit replica: HARD[,SOFT,SECONDS] in bytes a downstream replica may fall behind our log before it is disconnected.")
    var replicaBufferLimit: String = "268435456,67108864,60"

    @Option(name: .long, help: "How to check a received RDB before publishing it: full (read it back with the RDB reader), checksum (CRC-64 only) or none.")
    var verify: VerifyOption = .full

    @Option(name: .customLong("log-level"), help: "The lowest level logged.")
    var logLevel: LogLevelOption = .info

    @Flag(name: .customLong("no-dataset"), help: "Do not keep the master's dataset in memory (record the stream only).")
    var noDataset = false

    @Flag(name: .customLong("load-after-transfer"), help: ArgumentHelp("Load a full sync's dataset from the published snapshot after the transfer, not while the bytes arrive (a benchmark anchor).", visibility: .hidden))
    var loadAfterTransfer = false

    @Option(name: .customLong("max-held-command-bytes"), help: "Past this many bytes of a command still arriving (a huge value, a long MULTI), stream them to the log instead of holding them (default 16 MiB).")
    var maxHeldCommandBytes: Int = 16 << 20
    @Option(name: .customLong("compact-after-bytes"), help: "Write a new snapshot of the dataset (and delete the log before it) when the log since the snapshot holds this many stream bytes. Default: the larger of 64 MB and the snapshot's size; 0: never.")
    var compactAfterBytes: Int64?

    @Option(name: .long, help: "Supervision: systemd (tell $NOTIFY_SOCKET READY=1 once the link streams, and STATUS lines), auto (systemd if NOTIFY_SOCKET is set) or no.")
    var supervised: SupervisedMode = .no

    @OptionGroup(title: "TLS (Redis's option names)") var tls: FollowTLSOptions

    /// `--verify`: a `SnapshotVerifyDepth`, or none.
    enum VerifyOption: String, ExpressibleByArgument, CaseIterable {
        case full, checksum, none
        var depth: SnapshotVerifyDepth? { self == .none ? nil : SnapshotVerifyDepth(rawValue: rawValue) }
    }

    /// `--log-level`: swift-log's levels.
    enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
        var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
    }

    public init() {}

    static func parseMaster(_ s: String) throws -> (String, Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--master must be HOST:PORT, got \"\(s)\"")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--master must be HOST:PORT, got \"\(s)\"") }
        return (host, port)
    }

    static func readPassword(file: String?) throws -> String? {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --masterauth-file \(file)")
            }
            var s = String(decoding: data, as: UTF8.self)
            while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
            guard !s.isEmpty else { throw ValidationError("--masterauth-file \(file) is empty") }
            return s
        }
        if let env = ProcessInfo.processInfo.environment["REDIS_REPLICA_MASTERAUTH"], !env.isEmpty {
            return env
        }
        return nil
    }

    /// The password in `file` (trailing newlines dropped), for `--requirepass-file`.
    static func readRequirepass(file: String?) throws -> String? {
        guard let file else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read --requirepass-file \(file)")
        }
        var s = String(decoding: data, as: UTF8.self)
        while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
        guard !s.isEmpty else { throw ValidationError("--requirepass-file \(file) is empty") }
        return s
    }

    /// `--replica-buffer-limit HARD[,SOFT,SECONDS]`: one or three positive integers.
    static func parseBufferLimit(_ text: String) throws -> [Int64] {
        let limits = text.split(separator: ",").map { Int64($0) }
        guard limits.count == 1 || limits.count == 3, limits.allSatisfy({ ($0 ?? -1) > 0 }) else {
            throw ValidationError("--replica-buffer-limit must be HARD or HARD,SOFT,SECONDS (positive integers)")
        }
        return limits.compactMap { $0 }
    }

    /// Every usage error, before anything runs (so ArgumentParser prints this command's usage).
    public func validate() throws {
        _ = try FollowCommand.parseMaster(master)
        guard replTimeout >= 1 else { throw ValidationError("--repl-timeout must be at least 1") }
        guard (0...65535).contains(listeningPort ?? 0) else { throw ValidationError("--listening-port must be 0...65535") }
        guard (0...65535).contains(servePort) else { throw ValidationError("--port must be 0...65535") }
        try tls.validate()
        guard maxclients >= 1 else { throw ValidationError("--maxclients must be at least 1") }
        guard maxHeldCommandBytes >= 1024 else { throw ValidationError("--max-held-command-bytes must be at least 1024") }
        if let c = compactAfterBytes, c < 0 { throw ValidationError("--compact-after-bytes must be 0 or more") }
        if let c = compactAfterBytes, c > 0, noDataset { throw ValidationError("--compact-after-bytes needs the dataset (drop --no-dataset)") }
        _ = try FollowCommand.parseBufferLimit(replicaBufferLimit)
        _ = try FollowCommand.readRequirepass(file: requirepassFile)
        let password = try FollowCommand.readPassword(file: masterauthFile)
        if masteruser != nil && password == nil {
            throw ValidationError("--masteruser needs a password (--masterauth-file or REDIS_REPLICA_MASTERAUTH)")
        }
    }

    /// The port announced with REPLCONF listening-port by default: the TLS port when the link to the master
    /// is TLS too (as Redis's `syncWithMaster` announces `tls-port` under `tls-replication`), else `--port`.
    var announcedPort: Int { tls.replication && tls.port > 0 ? tls.port : servePort }

    public func run() async throws {
        let (host, port) = try FollowCommand.parseMaster(master)
        let policy = fsync
        let level = logLevel.level
        let verifyDepth = verify.depth
        let password = try FollowCommand.readPassword(file: masterauthFile)
        let requirepass = try FollowCommand.readRequirepass(file: requirepassFile)
        let limits = try FollowCommand.parseBufferLimit(replicaBufferLimit)

        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var configuredLogger = Logger(label: "redis-replica.follow")
        configuredLogger.logLevel = level
        let logger = configuredLogger
        var options = FollowOptions(masterHost: host, masterPort: port, directory: dir, masterUser: masteruser,
                                    masterPassword: password, fsync: policy, replTimeoutSeconds: replTimeout,
                                    listeningPort: listeningPort ?? announcedPort, verifyDepth: verifyDepth)
        options.dataset = !noDataset
        options.loadWhileReceiving = !loadAfterTransfer
        options.maxHeldCommandBytes = maxHeldCommandBytes
        options.compactAfterBytes = compactAfterBytes
        options.supervised = supervised
        if tls.replication { options.masterTLS = tls.files }
        if servePort > 0 || tls.port > 0 {
            var config = ServerConfiguration(port: servePort, bindAddress: bind, password: requirepass, maxClients: maxclients,
                                             masterHost: host, masterPort: port)
            config.servePlain = servePort > 0
            if tls.port > 0 {
                config.tlsPort = tls.port
                config.tlsFiles = tls.files
                config.tlsAuthClients = tls.authClients.value
            }
            config.replicaHardLimit = limits[0]
            if limits.count == 3 {
                config.replicaSoftLimit = limits[1]
                config.replicaSoftSeconds = Int(limits[2])
            } else {
                config.replicaSoftLimit = limits[0]
            }
            options.server = config
        } else {
            options.failoverGuard = listeningPort == nil
        }
        logger.notice("follow \(options.masterAddress) into \(dir) (fsync \(policy.rawValue), repl-timeout \(replTimeout) s, auth \(password == nil ? "none" : "configured"))")

        do {
            try await FollowService.runUntilShutdown(options: options, logger: logger)
            logger.notice("follow stopped")
        } catch {
            let follow = FollowCommand.findFollowError(error)
            logger.critical("follow failed: \(follow.map(\.message) ?? "\(error)")")
            throw ExitCode(follow?.exitStatus ?? 1)
        }
    }

    /// Finds a `FollowError` inside whatever the service group wrapped it in.
    static func findFollowError(_ error: Error) -> FollowError? {
        if let e = error as? FollowError { return e }
        let mirror = Mirror(reflecting: error)
        for child in mirror.children {
            if let e = child.value as? FollowError { return e }
            if let inner = child.value as? Error, let e = findFollowError(inner) { return e }
        }
        return nil
    }
}
