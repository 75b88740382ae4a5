import ArgumentParser
import Foundation
import ReplicaNode
import ReplicaServer

/// `follow`'s TLS options, with Redis's names (redis.conf's TLS section): `--tls-replication` for the link
/// to the master, `--tls-port` for serving, the certificate files shared by both.
struct FollowTLSOptions: ParsableArguments {
    @Flag(name: .customLong("tls-replication"), help: "Connect to the master over TLS (needs --tls-ca-cert-file or --tls-ca-cert-dir; presents --tls-cert-file when given).")
    var replication = false

    @Option(name: .customLong("tls-port"), help: "Also serve RESP and downstream replicas over TLS on this port (needs --tls-cert-file and --tls-key-file). 0 or absent: no TLS listener.")
    var port: Int = 0

    @Option(name: .customLong("tls-cert-file"), help: "Our certificate (PEM): served on --tls-port, presented to the master with --tls-replication.")
    var certFile: String?

    @Option(name: .customLong("tls-key-file"), help: "The private key of --tls-cert-file (PEM, unencrypted).")
    var keyFile: String?

    @Option(name: .customLong("tls-client-cert-file"), help: "A certificate presented to the master instead of --tls-cert-file.")
    var clientCertFile: String?

    @Option(name: .customLong("tls-client-key-file"), help: "The private key of --tls-client-cert-file.")
    var clientKeyFile: String?

    @Option(name: .customLong("tls-ca-cert-file"), help: "The CA certificates (PEM) the master's and clients' certificates must chain to.")
    var caCertFile: String?

    @Option(name: .customLong("tls-ca-cert-dir"), help: "A directory of CA certificates (PEM, one per file, under the hashed names `openssl rehash DIR` makes).")
    var caCertDir: String?

    @Option(name: .customLong("tls-auth-clients"), help: "Whether clients of --tls-port must present a certificate signed by the CA: yes, no or optional.")
    var authClients: TLSAuthClientsOption = .yes

    enum TLSAuthClientsOption: String, ExpressibleByArgument, CaseIterable {
        case yes, no, optional
        var value: TLSAuthClients { TLSAuthClients(rawValue: rawValue) ?? .yes }
    }

    /// The files as absolute paths (relative ones from the current directory): BoringSSL looks a CA
    /// directory up at each handshake, and a relative directory was not found there.
    var files: TLSFiles {
        func absolute(_ p: String?) -> String? { p.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }
        return TLSFiles(certFile: absolute(certFile), keyFile: absolute(keyFile), clientCertFile: absolute(clientCertFile),
                        clientKeyFile: absolute(clientKeyFile), caCertFile: absolute(caCertFile), caCertDir: absolute(caCertDir))
    }

    /// Usage errors: options that cannot work together (the files themselves are read at startup).
    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--tls-port must be 0...65535") }
        if port > 0 && (certFile == nil || keyFile == nil) {
            throw ValidationError("--tls-port needs --tls-cert-file and --tls-key-file")
        }
        if port > 0 && authClients != .no && caCertFile == nil && caCertDir == nil {
            throw ValidationError("--tls-auth-clients \(authClients.rawValue) needs --tls-ca-cert-file or --tls-ca-cert-dir (or --tls-auth-clients no)")
        }
        if replication && caCertFile == nil && caCertDir == nil {
            throw ValidationError("--tls-replication needs --tls-ca-cert-file or --tls-ca-cert-dir")
        }
        if (certFile == nil) != (keyFile == nil) {
            throw ValidationError("--tls-cert-file and --tls-key-file go together")
        }
        if (clientCertFile == nil) != (clientKeyFile == nil) {
            throw ValidationError("--tls-client-cert-file and --tls-client-key-file go together")
        }
        let anyFile = [certFile, clientCertFile, caCertFile, caCertDir].contains { $0 != nil }
        if anyFile && !replication && port == 0 {
            throw ValidationError("TLS files given without --tls-replication or --tls-port: nothing would use them")
        }
    }
}

extension SupervisedMode: ExpressibleByArgument {}
