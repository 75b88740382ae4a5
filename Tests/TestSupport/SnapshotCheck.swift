// An RDB file checked by real Redis tools, independently of this project's reader: the server
// version's own redis-check-rdb, and the DEBUG DIGEST of a fresh redis-server that loaded it.
import Foundation

extension RedisServerProcess {
    /// `redis-check-rdb` of the same version as `serverBinary` (the 7.0 one for Debian's server;
    /// the `redis-check-rdb` symlink beside the 6.2 and 8.2 binaries, which act as one under that name).
    public static func checkRDBBinary(for serverBinary: String) -> String {
        if serverBinary == defaultBinaryPath { return checkRDBBinaryPath }
        if serverBinary == redis82BinaryPath, let check = redis82CheckRDBBinaryPath { return check }
        if serverBinary == redis62BinaryPath,
           let env = ProcessInfo.processInfo.environment["REDIS_62_CHECK_RDB_BIN"], !env.isEmpty { return env }
        return URL(fileURLWithPath: serverBinary).deletingLastPathComponent().appendingPathComponent("redis-check-rdb").path
    }

    /// `DEBUG DIGEST` of this (running) server's dataset. 7.0 and later need `--enable-debug-command yes`.
    /// `timeout`: seconds for the reply (a digest of a million keys takes seconds on a busy machine).
    public func debugDigest(timeout: Double = 120) throws -> String {
        let client = try client(timeout: timeout)
        defer { client.close() }
        guard let digest = try client.call("DEBUG", "DIGEST").string, digest.count == 40 else {
            throw SocketError.protocolError("DEBUG DIGEST did not return a 40-character digest")
        }
        return digest
    }

    /// Loads a copy of `rdb` into a fresh `binary` server (no other data, persistence off) and
    /// returns its `DEBUG DIGEST` and key count; the server is stopped before returning.
    public static func loadedDigest(of rdb: URL, binary: String) throws -> (digest: String, keys: Int) {
        let dir = try TemporaryDirectory(prefix: "loaded-digest")
        defer { dir.remove() }
        try FileManager.default.copyItem(at: rdb, to: dir.file("load.rdb"))
        // Redis 6.2 has no enable-debug-command option (DEBUG is always allowed there).
        let args = binary == redis62BinaryPath ? [] : ["--enable-debug-command", "yes"]
        let server = try RedisServerProcess(binary: binary, directory: dir.url, dbFilename: "load.rdb", extraArguments: args,
                                            startupTimeout: 180)
        defer { server.stop() }
        let client = try server.client(timeout: 120)
        defer { client.close() }
        var keys = 0
        for (_, value) in try client.info("keyspace") {
            for part in value.split(separator: ",") where part.hasPrefix("keys=") { keys += Int(part.dropFirst(5)) ?? 0 }
        }
        return (try server.debugDigest(), keys)
    }
}
