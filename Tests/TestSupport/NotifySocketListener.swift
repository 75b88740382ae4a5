#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A stand-in for systemd's notification socket (sd_notify(3)): a unix datagram socket bound to a path
/// or, for a name starting with `@`, to that abstract name. Each datagram is one message.
public final class NotifySocketListener {
    public let name: String
    private let fd: Int32

    public init(name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ListenerError("socket: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var path = Array(name.utf8)
        let abstract = path.first == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        guard path.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw ListenerError("name too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.enumerated() { raw[i] = b } }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (abstract ? 0 : 1))
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard rc == 0 else {
            close(fd)
            throw ListenerError("bind \(name): errno \(errno)")
        }
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }

    /// The next message, or nil when none arrives within `timeout` seconds.
    public func receive(timeout: Double) -> String? {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }

    /// Messages until one satisfies `stop` or `timeout` seconds pass; all of them, the last included.
    public func collect(timeout: Double, until stop: (String) -> Bool) -> [String] {
        var got: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let m = receive(timeout: min(1, max(0.01, deadline.timeIntervalSinceNow))) else { continue }
            got.append(m)
            if stop(m) { break }
        }
        return got
    }

    public struct ListenerError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }
}
