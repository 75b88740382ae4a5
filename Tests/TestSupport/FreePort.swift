// Free TCP ports on 127.0.0.1, found by binding port 0 and asking the kernel which port it chose.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public enum FreePort {
    /// A port on 127.0.0.1 that was free a moment ago. Another process may take it before the
    /// caller binds it, so callers that start servers retry on "address in use"
    /// (RedisServerProcess does).
    public static func allocate() throws -> UInt16 {
        let fd = makeTCPSocket()
        guard fd >= 0 else { throw SocketError.system("socket", errno) }
        defer { close(fd) }
        var addr = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw SocketError.system("bind", errno) }
        var out = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let got = withUnsafeMutablePointer(to: &out) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard got == 0 else { throw SocketError.system("getsockname", errno) }
        return UInt16(bigEndian: out.sin_port)
    }
}

func makeTCPSocket() -> Int32 {
    #if canImport(Glibc)
    return socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    return socket(AF_INET, SOCK_STREAM, 0)
    #endif
}

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return addr
}

/// Errors from the socket and process helpers of TestSupport.
public enum SocketError: Error, CustomStringConvertible, Sendable {
    case system(String, Int32)
    case timeout(String)
    case closed(String)
    case protocolError(String)

    public var description: String {
        switch self {
        case let .system(call, err): return "\(call) failed: \(String(cString: strerror(err))) (errno \(err))"
        case let .timeout(what): return "timed out: \(what)"
        case let .closed(what): return "connection closed: \(what)"
        case let .protocolError(what): return "RESP protocol error: \(what)"
        }
    }
}
