#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Replication

/// `--supervised`: Redis's `supervised` option (server.c `redisIsSupervised`), without upstart.
public enum SupervisedMode: String, Sendable, CaseIterable {
    /// No supervision messages.
    case no
    /// Tell systemd through `$NOTIFY_SOCKET` (a unit with `Type=notify`).
    case systemd
    /// systemd when `$NOTIFY_SOCKET` is set, else none (Redis's `auto` also detects upstart; we do not).
    case auto
}

/// The systemd notification protocol (sd_notify(3)): one datagram per message, `KEY=value` lines, sent
/// to the unix datagram socket named by `$NOTIFY_SOCKET` (a path, or an abstract name after `@`). No
/// libsystemd: it is one `sendto`.
///
/// What we send mirrors Redis's `redisCommunicateSystemd` calls (server.c, replication.c): `STATUS=`
/// lines as the link to the master changes state, `READY=1` once the link first streams (Redis, as a
/// replica, says READY=1 at startup; a replica whose purpose is its copy of the master is ready when it
/// has one), `STOPPING=1` on shutdown.
public final class SystemdNotifier: @unchecked Sendable {
    // `@unchecked Sendable`: `ready`, `lastStatus`, `lastState` and `stopped` are touched only on `LinkDriver.stateFileQueue` (serial); the
    // socket and the address are immutable after init.
    private let fd: Int32
    private let address: sockaddr_un
    private let addressLength: socklen_t
    let socketName: String
    private var ready = false
    private var lastStatus: String?
    private var lastState: LinkState?
    private var stopped = false
    var logger: Logger

    /// The notifier for `mode` in `environment`: nil when not supervised (`no`, or `auto` without
    /// NOTIFY_SOCKET); throws for `systemd` without a usable NOTIFY_SOCKET.
    public static func make(mode: SupervisedMode, environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger) throws -> SystemdNotifier? {
        let socket = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        switch mode {
        case .no: return nil
        case .auto:
            guard let socket else { return nil }
            return try SystemdNotifier(socketName: socket, logger: logger)
        case .systemd:
            guard let socket else {
                throw SupervisionError("--supervised systemd: NOTIFY_SOCKET is not set (run under a unit with Type=notify)")
            }
            return try SystemdNotifier(socketName: socket, logger: logger)
        }
    }

    /// Opens a datagram socket for `socketName` (`/path` or `@abstract`).
    public init(socketName: String, logger: Logger) throws {
        self.socketName = socketName
        self.logger = logger
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketName.utf8)
        let abstract = path.first == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !path.isEmpty, path.count < capacity, abstract || path.first == UInt8(ascii: "/") else {
            throw SupervisionError("NOTIFY_SOCKET \(socketName) is not an absolute path or an @abstract name shorter than \(capacity) bytes")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        address = addr
        // An abstract name's length counts exactly its bytes (no terminating NUL), as sd_notify does.
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        addressLength = socklen_t(pathOffset + path.count + (abstract ? 0 : 1))
        #if canImport(Glibc)
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_DGRAM
        #endif
        fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else {
            throw SupervisionError("NOTIFY_SOCKET \(socketName): socket() failed: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Sends `message` (newline-separated `KEY=value` lines) as one datagram; false when it failed (logged).
    @discardableResult
    public func send(_ message: String) -> Bool {
        let bytes = Array(message.utf8)
        var addr = address
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { buf in
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), sa, addressLength)
                }
            }
        }
        if sent != bytes.count {
            logger.warning("systemd supervision error: sending to NOTIFY_SOCKET \(socketName) failed: \(String(cString: strerror(errno)))")
            return false
        }
        return true
    }

    /// Sends `STATUS=<status>` unless it is the status last sent.
    func status(_ status: String) {
        guard status != lastStatus else { return }
        lastStatus = status
        send("STATUS=\(status)\n")
    }

    /// The link went from `from` to `to` (the driver's `.stateChanged`); `master` is HOST:PORT, `error`
    /// why the link is down (if it is).
    func linkChanged(from: LinkState, to: LinkState, master: String, offset: Int64?, error: String?) {
        switch to {
        case .connect:
            status("Link to MASTER \(master) down\(error.map { ": \($0)" } ?? ""); retrying")
        case .connecting:
            status("Connecting to MASTER \(master)")
        case .receivePingReply, .sendHandshake, .receiveAuthReply, .receivePortReply, .receiveCapaReply, .receiveVersionReply,
             .sendPsync, .receivePsyncReply:
            status("MASTER <-> REPLICA sync: handshake with \(master)")
        case .transfer:
            status("MASTER <-> REPLICA sync: receiving the full sync RDB from \(master)")
        case .connected:
            let how = from == .transfer ? "Finished with success" : "Partial Resynchronization accepted"
            status("MASTER <-> REPLICA sync: \(how). Streaming from \(master)\(offset.map { " at offset \($0)" } ?? "").")
            if !ready {
                ready = true
                send("READY=1\n")
            }
        }
    }

    /// The link's state now (called at each state.json write, so every change is seen in order).
    func observe(_ state: LinkState, master: String, offset: Int64?, error: String?) {
        guard state != lastState, !stopped else { return }
        let from = lastState ?? .connect
        lastState = state
        linkChanged(from: from, to: state, master: master, offset: offset, error: error)
    }

    /// Graceful shutdown began.
    func stopping() {
        stopped = true
        send("STOPPING=1\nSTATUS=Shutting down: syncing the log\n")
    }
}

/// `--supervised` cannot be honoured.
public struct SupervisionError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
