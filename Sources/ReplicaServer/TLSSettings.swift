import Foundation
import NIOCore
import NIOSSL

/// TLS as Redis configures it (tls.c `createSSLContext`/`tlsConfigure`, options `tls-cert-file`,
/// `tls-key-file`, `tls-ca-cert-file`, `tls-ca-cert-dir`, `tls-client-cert-file`, `tls-client-key-file`,
/// `tls-auth-clients`), on swift-nio-ssl (BoringSSL).
///
/// Like Redis, peers are verified against the CA file/directory only: no hostname check on either side
/// (Redis sets `SSL_VERIFY_PEER` and never `SSL_set1_host`), so a master reached by IP address or by a
/// name not in its certificate is accepted as long as its certificate chains to the configured CA.
public struct TLSFiles: Sendable, Equatable {
    /// `--tls-cert-file` / `--tls-key-file`: our certificate chain and key (PEM). The server side needs
    /// them; the client side (the link to the master) presents them when given, as Redis does when the
    /// master has `tls-auth-clients yes` (its default).
    public var certFile: String?
    public var keyFile: String?
    /// `--tls-client-cert-file` / `--tls-client-key-file`: used instead of the above for outgoing
    /// connections, as in Redis.
    public var clientCertFile: String?
    public var clientKeyFile: String?
    /// `--tls-ca-cert-file` / `--tls-ca-cert-dir`: the CAs peers must chain to (PEM; a directory holds
    /// one certificate per file under its subject-hash name, as `openssl rehash`/`c_rehash` make them).
    public var caCertFile: String?
    public var caCertDir: String?

    public init(certFile: String? = nil, keyFile: String? = nil, clientCertFile: String? = nil,
                clientKeyFile: String? = nil, caCertFile: String? = nil, caCertDir: String? = nil) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
        self.caCertFile = caCertFile
        self.caCertDir = caCertDir
    }

    var hasCA: Bool { caCertFile != nil || caCertDir != nil }
}

/// `--tls-auth-clients`: whether clients of our TLS port must present a certificate (tls.c
/// `TLS_CLIENT_AUTH_YES/NO/OPTIONAL`; Redis's default is yes).
public enum TLSAuthClients: String, Sendable, CaseIterable {
    case yes, no, optional
}

/// A TLS setting that cannot be used: names the option and the file.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension TLSFiles {
    /// The context for our TLS port (`--tls-port`): our certificate and key, and client verification
    /// per `--tls-auth-clients` (yes: a certificate chaining to the CA is required; optional: checked
    /// when presented; no: not asked for).
    public func makeServerContext(authClients: TLSAuthClients) throws -> NIOSSLContext {
        guard let certFile else { throw TLSSetupError("--tls-port needs --tls-cert-file") }
        guard let keyFile else { throw TLSSetupError("--tls-port needs --tls-key-file") }
        if authClients != .no && !hasCA {
            // tls.c: "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when ... tls-auth-clients are enabled"
            throw TLSSetupError("--tls-auth-clients \(authClients.rawValue) needs --tls-ca-cert-file or --tls-ca-cert-dir (or --tls-auth-clients no)")
        }
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try TLSFiles.loadChain(certFile, option: "--tls-cert-file"),
            privateKey: .privateKey(try TLSFiles.loadKey(keyFile, option: "--tls-key-file")))
        switch authClients {
        case .yes: config.certificateVerification = .noHostnameVerification
        case .optional: config.certificateVerification = .optionalVerification
        case .no: config.certificateVerification = .none
        }
        try applyTrustRoots(&config)
        return try TLSFiles.makeContext(config)
    }

    /// The context for the link to the master (`--tls-replication`): the master's certificate must chain
    /// to the CA (no hostname check, as Redis); our client certificate is presented when configured.
    public func makeClientContext() throws -> NIOSSLContext {
        guard hasCA else {
            throw TLSSetupError("--tls-replication needs --tls-ca-cert-file or --tls-ca-cert-dir (the CA the master's certificate is checked against)")
        }
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateVerification = .noHostnameVerification
        let cert = clientCertFile ?? certFile
        let key = clientCertFile != nil ? clientKeyFile : keyFile
        let certOption = clientCertFile != nil ? "--tls-client-cert-file" : "--tls-cert-file"
        let keyOption = clientCertFile != nil ? "--tls-client-key-file" : "--tls-key-file"
        switch (cert, key) {
        case (nil, nil): break
        case (let c?, let k?):
            config.certificateChain = try TLSFiles.loadChain(c, option: certOption)
            config.privateKey = .privateKey(try TLSFiles.loadKey(k, option: keyOption))
        case (_?, nil): throw TLSSetupError("\(certOption) needs \(keyOption)")
        case (nil, _?): throw TLSSetupError("\(keyOption) needs \(certOption)")
        }
        try applyTrustRoots(&config)
        return try TLSFiles.makeContext(config)
    }

    private func applyTrustRoots(_ config: inout TLSConfiguration) throws {
        var roots: [NIOSSLTrustRoots] = []
        if let caCertFile {
            let certs = try TLSFiles.loadCertificates(caCertFile, option: "--tls-ca-cert-file")
            roots.append(.certificates(certs))
        }
        if let caCertDir {
            var isDirectory = false
            guard TLSFiles.exists(caCertDir, isDirectory: &isDirectory), isDirectory else {
                throw TLSSetupError("--tls-ca-cert-dir \(caCertDir) is not a directory")
            }
            roots.append(.file(caCertDir))
        }
        guard let first = roots.first else { return }
        config.trustRoots = first
        config.additionalTrustRoots = roots.dropFirst().map {
            if case .certificates(let c) = $0 { return .certificates(c) }
            if case .file(let f) = $0 { return .file(f) }
            return .certificates([])
        }
    }

    static func loadCertificates(_ path: String, option: String) throws -> [NIOSSLCertificate] {
        var isDirectory = false
        guard exists(path, isDirectory: &isDirectory), !isDirectory else {
            throw TLSSetupError("\(option) \(path): no such file")
        }
        let certs: [NIOSSLCertificate]
        do {
            certs = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSSetupError("\(option) \(path): not a PEM certificate file (\(error))")
        }
        guard !certs.isEmpty else { throw TLSSetupError("\(option) \(path): no PEM certificate in the file") }
        return certs
    }

    static func loadChain(_ path: String, option: String) throws -> [NIOSSLCertificateSource] {
        try loadCertificates(path, option: option).map { .certificate($0) }
    }

    static func loadKey(_ path: String, option: String) throws -> NIOSSLPrivateKey {
        var isDirectory = false
        guard exists(path, isDirectory: &isDirectory), !isDirectory else {
            throw TLSSetupError("\(option) \(path): no such file")
        }
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSSetupError("\(option) \(path): not a PEM private key (\(error))")
        }
    }

    static func makeContext(_ config: TLSConfiguration) throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: config)
        } catch {
            throw TLSSetupError("the TLS settings were refused: \(error) (does the key match the certificate?)")
        }
    }

    static func exists(_ path: String, isDirectory: inout Bool) -> Bool {
        var dir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &dir) else { return false }
        isDirectory = dir.boolValue
        return true
    }
}

/// Logs a failed TLS handshake of a client of our TLS port (Redis logs "Error accepting a client
/// connection: <ssl error>"), then passes the error on (the client handler closes the connection).
final class TLSErrorLogger: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    unowned let server: ReplicaServer

    init(server: ReplicaServer) { self.server = server }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        server.logger.info("TLS error with client \(peer): \(error)")
        context.fireErrorCaught(error)
    }
}
