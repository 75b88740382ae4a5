#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ReplicaStore
import Testing
import TestSupport

/// `follow` over TLS against Debian's redis-server 7.0 (built with TLS), with certificates the test makes:
/// the link to the master (`--tls-replication`), our RESP port (`--tls-port`) for redis-cli and for a
/// downstream redis-server with `tls-replication yes`, and a wrong CA.
///
/// The master and the downstream also keep a plain port on loopback: the harness drives them through it
/// (PING at startup, writes, INFO, DEBUG DIGEST). Everything between them and `follow` goes over the TLS
/// ports, which are the only ones `follow` is given.
@Suite("follow over TLS", .serialized,
       .enabled(if: TLSSupport.available, "needs /usr/bin/redis-server built with TLS, redis-cli and the openssl CLI"))
struct TLSFollowTests {
    static func redisCLI(_ certs: TLSCertificates, port: Int, _ args: [String], caCert: String? = nil) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        p.arguments = ["--tls", "--cacert", caCert ?? certs.caCert, "--cert", certs.clientCert, "--key", certs.clientKey,
                       "-h", "127.0.0.1", "-p", String(port)] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    static func digest(_ s: RedisServerProcess) throws -> String {
        let c = try s.client()
        defer { c.close() }
        return try c.call("DEBUG", "DIGEST").string ?? ""
    }

    @Test("full sync and +CONTINUE over TLS; redis-cli --tls and a TLS downstream redis-server on our --tls-port")
    func followAndServeOverTLS() throws {
        let certs = try TLSCertificates()
        let masterTLSPort = try FreePort.allocate()
        let master = try RedisServerProcess(extraArguments: ["--enable-debug-command", "yes", "--repl-backlog-size", "1mb"]
                                            + certs.serverArguments(tlsPort: masterTLSPort))
        defer { master.stop() }
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let tlsPort = try FreePort.allocate()
        // With --tls-replication and --tls-port, follow announces the TLS port (as Redis does); the harness
        // finds us in the master's INFO by it.
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: -1, extra: [
            "--tls-replication", "--tls-ca-cert-file", certs.caCert,
            "--tls-cert-file", certs.serverCert, "--tls-key-file", certs.serverKey,
            "--tls-client-cert-file", certs.clientCert, "--tls-client-key-file", certs.clientKey,
            "--tls-port", String(tlsPort),
        ])
        let watch = Follower(master: master, dir: follower.dir, listeningPort: Int(tlsPort))
        try follower.start(masterPort: masterTLSPort)
        defer { follower.stop() }
        try watch.waitCaughtUp()
        #expect(follower.log.contains("Full sync from"), "\(follower.log.suffix(2000))")
        #expect(follower.log.contains("Serving RESP over TLS on 127.0.0.1:\(tlsPort)"))

        // redis-cli over TLS against our port.
        let (status, pong) = try Self.redisCLI(certs, port: Int(tlsPort), ["PING"])
        #expect(status == 0 && pong.contains("PONG"), "\(pong)")
        let (_, info) = try Self.redisCLI(certs, port: Int(tlsPort), ["INFO", "replication"])
        #expect(info.contains("role:slave") && info.contains("master_link_status:up"), "\(info)")
        // A client whose CA does not know our certificate is refused by redis-cli itself.
        let (badStatus, badText) = try Self.redisCLI(certs, port: Int(tlsPort), ["PING"], caCert: certs.otherCACert)
        #expect(badStatus != 0 || !badText.contains("PONG"), "\(badText)")

        // A downstream redis-server replicating from our TLS port.
        let downstream = try RedisServerProcess(extraArguments: ["--enable-debug-command", "yes", "--repl-timeout", "10"]
                                                + certs.replicaArguments() + ["--replicaof", "127.0.0.1", String(tlsPort)])
        defer { downstream.stop() }
        func waitInSync() throws {
            try waitUntil(30, "the TLS downstream to reach the master's offset (log: \(downstream.logPath.path))") {
                let r = try downstream.replicationInfo()
                let m = try master.replicationInfo()
                return r["master_link_status"] == "up" && r["slave_repl_offset"] == m["master_repl_offset"]
            }
        }
        try waitInSync()
        #expect(try Self.digest(downstream) == Self.digest(master))

        // Restart follow: +CONTINUE over TLS, nothing lost, the downstream follows again.
        #expect(follower.stop() == 0)
        let c = try master.client()
        for i in 0..<300 { try c.call("SET", "after:\(i)", "v\(i)") }
        c.close()
        try follower.start(masterPort: masterTLSPort)
        try watch.waitCaughtUp()
        // The log file goes on across restarts: one full sync (the first run), then +CONTINUE.
        #expect(follower.count("+CONTINUE: resuming at offset") == 1, "\(follower.log.suffix(2000))")
        #expect(follower.count("Full sync from") == 1)
        try waitInSync()
        #expect(try Self.digest(downstream) == Self.digest(master))
    }

    @Test("a master certificate from another CA: a clear TLS error in the log, retries, no crash")
    func wrongCertificateAuthority() throws {
        let certs = try TLSCertificates()
        let masterTLSPort = try FreePort.allocate()
        let master = try RedisServerProcess(extraArguments: certs.serverArguments(tlsPort: masterTLSPort))
        defer { master.stop() }
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 0, extra: [
            "--tls-replication", "--tls-ca-cert-file", certs.otherCACert,
            "--tls-cert-file", certs.clientCert, "--tls-key-file", certs.clientKey,
        ])
        try follower.start(masterPort: masterTLSPort)
        defer { follower.stop() }
        try waitUntil(30, "two failed TLS handshakes and retries (log: \(follower.logURL.path))") {
            follower.count("TLS handshake with MASTER 127.0.0.1:\(masterTLSPort) failed") >= 2
                && follower.count("Retrying connection to MASTER") >= 2
        }
        #expect(follower.log.contains("CERTIFICATE_VERIFY_FAILED"), "\(follower.log.suffix(2000))")
        #expect(follower.process?.isRunning == true)
        #expect(follower.stop() == 0)
    }

    @Test("FAILOVER on a master with tls-replication reaches follow's TLS failover guard, is refused, and the master stays writable")
    func failoverGuardOverTLS() throws {
        let certs = try TLSCertificates()
        let masterTLSPort = try FreePort.allocate()
        let master = try RedisServerProcess(extraArguments: certs.serverArguments(tlsPort: masterTLSPort) + ["--tls-replication", "yes"])
        defer { master.stop() }
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        // No --port, no --listening-port: follow opens its failover guard, with TLS since it has a certificate.
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: -1, extra: [
            "--tls-replication", "--tls-ca-cert-file", certs.caCert,
            "--tls-cert-file", certs.clientCert, "--tls-key-file", certs.clientKey,
        ])
        try follower.start(masterPort: masterTLSPort)
        defer { follower.stop() }
        try waitUntil(30, "the master to list follow online (log: \(follower.logURL.path))") {
            try master.replicationInfo()["slave0"]?.contains("state=online") == true
                && FollowerState.read(directory: follower.dir)?.link == .streaming
        }
        #expect(follower.log.contains("(TLS), announced to the master"), "\(follower.log.suffix(2000))")
        let c = try master.client()
        defer { c.close() }
        #expect(try c.call("FAILOVER", "TIMEOUT", "5000").string == "OK")
        try waitUntil(20, "the master to abort the failover (log: \(master.logPath.path))") {
            master.log().contains("Failover target rejected psync request")
        }
        try waitUntil(10, "the master to be a master again") {
            let info = try master.replicationInfo()
            return info["role"] == "master" && info["master_failover_state"] == "no-failover"
        }
        #expect(try c.call("SET", "after-failover", "1").string == "OK")
        #expect(follower.log.contains("Refused PSYNC FAILOVER"))
    }

    @Test("--tls-ca-cert-dir in the `openssl rehash` layout verifies the master")
    func caCertificateDirectory() throws {
        let certs = try TLSCertificates()
        let caDir = certs.dir.file("cadir").path
        try FileManager.default.createDirectory(atPath: caDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: certs.caCert, toPath: caDir + "/ca.crt")
        let rehash = try ChildProcess.start(TLSCertificates.openssl ?? "/usr/bin/openssl", ["rehash", caDir],
                                            environment: ProcessInfo.processInfo.environment,
                                            outputPath: URL(fileURLWithPath: caDir + ".log"))
        rehash.waitUntilExit()
        #expect(rehash.terminationStatus == 0)
        let masterTLSPort = try FreePort.allocate()
        let master = try RedisServerProcess(extraArguments: certs.serverArguments(tlsPort: masterTLSPort))
        defer { master.stop() }
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 0, extra: [
            "--tls-replication", "--tls-ca-cert-dir", caDir,
            "--tls-cert-file", certs.clientCert, "--tls-key-file", certs.clientKey,
        ])
        try follower.start(masterPort: masterTLSPort)
        defer { follower.stop() }
        try follower.waitCaughtUp()
        #expect(!follower.log.contains("TLS handshake with MASTER"))
    }

    @Test("--tls-replication with a missing CA file stops at startup naming the file")
    func missingCAFile() throws {
        let master = try RedisServerProcess()
        defer { master.stop() }
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 0, extra: [
            "--tls-replication", "--tls-ca-cert-file", tmp.file("nope.crt").path,
        ])
        try follower.start()
        let status = try follower.waitForExit(timeout: 20)
        #expect(status == 1)
        #expect(follower.log.contains("--tls-ca-cert-file \(tmp.file("nope.crt").path): no such file"), "\(follower.log)")
    }
}
