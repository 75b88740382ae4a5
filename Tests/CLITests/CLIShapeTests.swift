import Foundation
import Testing

/// The CLI's shape: usage errors print the subcommand's usage (status 64), enum options list their
/// values, JSON output does not escape slashes.
@Suite("CLI shape: usage errors, enum options, JSON without escaped slashes (the built binary)", .serialized)
struct CLIShapeTests {
    @Test("status --json writes paths with plain slashes")
    func statusJSONSlashes() throws {
        let dir = try CLIRunner.temporaryDirectory()
        let r = try CLIRunner.run(["status", "--dir", dir.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("\\/"), "\(r.stdout)")
        #expect(r.stdout.contains("\"\(dir.path)\""), "\(r.stdout)")
    }

    @Test("rdb dump and rdb info --json write keys and paths with plain slashes")
    func rdbJSONSlashes() throws {
        let dir = try CLIRunner.temporaryDirectory()
        var t = TinyRDB()
        t.add("/var/lib/redis", .string(Array("a/b".utf8)))
        let path = dir.appendingPathComponent("slashes.rdb").path
        try t.write(to: URL(fileURLWithPath: path))
        for args in [["rdb", "dump", path], ["rdb", "dump", "--format", "jsonl", path], ["rdb", "info", "--json", path],
                     ["rdb", "check", "--json", path]] {
            let r = try CLIRunner.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(!r.stdout.contains("\\/"), "\(args): \(r.stdout)")
            #expect(r.stdout.contains("/"), "\(args)")
        }
    }

    @Test("follow: bad option values are usage errors printed with follow's usage, before any connection")
    func followUsageErrors() throws {
        let dir = try CLIRunner.temporaryDirectory()
        let bad: [[String]] = [
            ["--master", "nohost", "--dir", dir.path],
            ["--master", "127.0.0.1:70000", "--dir", dir.path],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--fsync", "sometimes"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--verify", "deep"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--log-level", "loud"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--repl-timeout", "0"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--replica-buffer-limit", "1,2"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--requirepass-file", dir.appendingPathComponent("missing").path],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--masterauth-file", dir.appendingPathComponent("missing").path],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--tls-replication"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--tls-port", "6390"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--tls-port", "6390", "--tls-cert-file", "c", "--tls-key-file", "k"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--tls-replication", "--tls-ca-cert-file", "ca", "--tls-cert-file", "c"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--tls-ca-cert-file", "ca"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--tls-auth-clients", "maybe"],
            ["--master", "127.0.0.1:1", "--dir", dir.path, "--supervised", "upstart"],
        ]
        for args in bad {
            let r = try CLIRunner.run(["follow"] + args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("Usage: redis-replica follow"), "\(args): \(r.stderr)")
        }
        let help = try CLIRunner.run(["follow", "--help"])
        #expect(help.stdout.contains("values: always, everysec, no"), "\(help.stdout)")
        #expect(help.stdout.contains("values: full, checksum, none"), "\(help.stdout)")
    }

    @Test("rdb convert and sqlite: bad values are usage errors with the subcommand's usage")
    func rdbUsageErrors() throws {
        let dir = try CLIRunner.temporaryDirectory()
        let cases: [[String]] = [
            ["rdb", "convert", "in.rdb", dir.appendingPathComponent("o.rdb").path, "--rdb-version", "3"],
            ["rdb", "sqlite", "in.rdb", dir.appendingPathComponent("o.db").path, "--sqlite-layer", "odbc"],
            ["rdb", "info", "in.rdb", "--top", "-1"],
        ]
        for args in cases {
            let r = try CLIRunner.run(args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("Usage: redis-replica rdb \(args[1])"), "\(args): \(r.stderr)")
        }
    }
}
