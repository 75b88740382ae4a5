#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport

/// A test CA with a server and a client certificate, made with the openssl CLI in a temporary directory
/// (P-256 keys: fast to make). `otherCA` is a second, unrelated CA: certificates checked against it fail.
final class TLSCertificates {
    let dir: TemporaryDirectory
    var caCert: String { dir.file("ca.crt").path }
    var serverCert: String { dir.file("server.crt").path }
    var serverKey: String { dir.file("server.key").path }
    var clientCert: String { dir.file("client.crt").path }
    var clientKey: String { dir.file("client.key").path }
    var otherCACert: String { dir.file("other-ca.crt").path }

    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    init() throws {
        guard let openssl = Self.openssl else { throw HarnessError("openssl CLI not found") }
        dir = try TestPaths.makeTemporaryDirectory(prefix: "tls-certs")
        let d = dir.url.path
        func run(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: openssl)
            p.arguments = args
            p.currentDirectoryURL = dir.url
            p.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            p.standardError = err
            try p.run()
            let text = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw HarnessError("openssl \(args.joined(separator: " ")) failed: \(String(decoding: text, as: UTF8.self))")
            }
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try run(["req", "-x509"] + ec + ["-keyout", "\(d)/\(ca).key", "-out", "\(d)/\(ca).crt", "-days", "2",
                     "-subj", "/O=redis-replica tests/CN=\(ca)"])
        }
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(d)/san.ext", atomically: true, encoding: .utf8)
        for (name, cn) in [("server", "Server"), ("client", "Client")] {
            try run(["req"] + ec + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr",
                                    "-subj", "/O=redis-replica tests/CN=\(cn)"])
            try run(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key",
                     "-CAcreateserial", "-days", "2", "-out", "\(d)/\(name).crt", "-extfile", "\(d)/san.ext"])
        }
    }

    deinit { dir.remove() }

    /// redis-server options for a TLS port with our server certificate (clients must present a
    /// certificate of our CA: `tls-auth-clients yes`, Redis's default).
    func serverArguments(tlsPort: UInt16) -> [String] {
        ["--tls-port", String(tlsPort), "--tls-cert-file", serverCert, "--tls-key-file", serverKey,
         "--tls-ca-cert-file", caCert]
    }

    /// redis-server options for replicating over TLS (its certificate is the client one).
    func replicaArguments() -> [String] {
        ["--tls-replication", "yes", "--tls-cert-file", clientCert, "--tls-key-file", clientKey, "--tls-ca-cert-file", caCert]
    }
}

/// Whether the redis-server binary was built with TLS (`--tls-port` is an unknown option otherwise).
enum TLSSupport {
    static let redisServerHasTLS: Bool = {
        guard FileManager.default.isExecutableFile(atPath: RedisServerProcess.defaultBinaryPath) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        p.arguments = [RedisServerProcess.defaultBinaryPath]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.contains("libssl")
    }()
    static let available = redisServerHasTLS && TLSCertificates.openssl != nil
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli")
}
