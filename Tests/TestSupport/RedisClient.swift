// A small synchronous RESP client for tests, over plain Glibc sockets.
//
// Commands go out as RESP arrays of binary-safe bulk strings; one reply is read per call.
// RESP2 replies are fully supported (simple string, error, integer, bulk incl. nil, array incl.
// nested and nil). RESP3 replies (after HELLO 3) are mapped onto the same cases: null -> .bulk(nil),
// boolean -> .integer(0/1), double/big number -> .simple(text), map/set/push -> .array (a map as
// its flattened key/value list), verbatim string -> .bulk, blob error -> .error.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One RESP reply.
public indirect enum RedisReply: Equatable, Sendable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int64)
    /// A bulk string; nil is the null bulk string (`$-1`).
    case bulk([UInt8]?)
    /// An array; nil is the null array (`*-1`).
    case array([RedisReply]?)

    /// Text of a simple string, or of a bulk string decoded as UTF-8 (lossy); nil otherwise.
    public var string: String? {
        switch self {
        case let .simple(s): return s
        case let .bulk(b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// Raw bytes of a bulk or simple string; nil otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case let .bulk(b): return b
        case let .simple(s): return Array(s.utf8)
        default: return nil
        }
    }

    /// The integer of an integer reply, or a bulk/simple string that parses as one.
    public var integer: Int64? {
        switch self {
        case let .integer(i): return i
        case .bulk, .simple: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    public var array: [RedisReply]? {
        if case let .array(a) = self { return a }
        return nil
    }

    public var isNil: Bool {
        switch self {
        case .bulk(nil), .array(nil): return true
        default: return false
        }
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .simple(s): return "+\(s)"
        case let .error(e): return "-\(e)"
        case let .integer(i): return ":\(i)"
        case .bulk(nil): return "(nil)"
        case let .bulk(b?): return String(reflecting: String(decoding: b, as: UTF8.self))
        case .array(nil): return "(nil array)"
        case let .array(a?): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// An error reply (`-ERR ...`) from the server, thrown by `RedisClient.call`.
public struct RedisServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { "server error: \(message)" }
}

/// A blocking RESP client. Not thread-safe: use one per thread/task.
public final class RedisClient: @unchecked Sendable {
    public let host: String
    public let port: UInt16
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Read timeout per `recv` (seconds).
    public private(set) var timeout: Double

    /// Connects to `host:port` (IPv4 dotted quad, normally 127.0.0.1).
    public init(host: String = "127.0.0.1", port: UInt16, timeout: Double = 10) throws {
        self.host = host
        self.port = port
        self.timeout = timeout
        fd = makeTCPSocket()
        guard fd >= 0 else { throw SocketError.system("socket", errno) }
        var addr = loopbackAddress(port: port)
        addr.sin_addr.s_addr = inet_addr(host)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let err = errno
            close()
            throw SocketError.system("connect to \(host):\(port)", err)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try setTimeout(timeout)
    }

    deinit { close() }

    /// Changes the read/write timeout (seconds, > 0).
    public func setTimeout(_ seconds: Double) throws {
        timeout = seconds
        var tv = timeval()
        tv.tv_sec = .init(seconds.rounded(.down))
        tv.tv_usec = .init((seconds - seconds.rounded(.down)) * 1_000_000)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0,
              setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0
        else { throw SocketError.system("setsockopt(timeout)", errno) }
    }

    public func close() {
        if fd >= 0 {
            #if canImport(Glibc)
            Glibc.close(fd)
            #else
            Darwin.close(fd)
            #endif
            fd = -1
        }
    }

    // MARK: Commands

    /// Sends one command and reads one reply; error replies come back as `.error`.
    @discardableResult
    public func command(_ args: String...) throws -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    /// Sends one command with binary-safe arguments and reads one reply.
    @discardableResult
    public func command(_ args: [[UInt8]]) throws -> RedisReply {
        try send(args)
        return try readReply()
    }

    /// Sends one command given as strings and reads one reply.
    @discardableResult
    public func command(_ args: [String]) throws -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    /// Like `command`, but throws `RedisServerError` for an error reply.
    @discardableResult
    public func call(_ args: String...) throws -> RedisReply {
        try call(args.map { Array($0.utf8) })
    }

    @discardableResult
    public func call(_ args: [[UInt8]]) throws -> RedisReply {
        let reply = try command(args)
        if case let .error(message) = reply { throw RedisServerError(message: message) }
        return reply
    }

    @discardableResult
    public func call(_ args: [String]) throws -> RedisReply {
        try call(args.map { Array($0.utf8) })
    }

    /// Sends a command without reading the reply (for pipelining; read with `readReply()`).
    public func send(_ args: [[UInt8]]) throws {
        try sendRaw(Self.encode(args))
    }

    /// The RESP encoding of a command: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
    public static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = Array("*\(args.count)\r\n".utf8)
        for a in args {
            out += Array("$\(a.count)\r\n".utf8)
            out += a
            out += [13, 10]
        }
        return out
    }

    /// Writes raw bytes to the socket (e.g. an inline command or deliberate garbage).
    public func sendRaw(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { buf in
                #if canImport(Glibc)
                Glibc.send(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL))
                #else
                Darwin.send(fd, buf.baseAddress, buf.count, 0)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw SocketError.timeout("send to \(host):\(port)") }
                throw SocketError.system("send", errno)
            }
            sent += n
        }
    }

    /// `PING` -> true if the server answered `+PONG`.
    public func ping() throws -> Bool {
        try command("PING") == .simple("PONG")
    }

    /// `INFO <section>` parsed into a dictionary of `field: value` (comments and blank lines skipped).
    public func info(_ section: String? = nil) throws -> [String: String] {
        let reply = try call(section.map { ["INFO", $0] } ?? ["INFO"])
        guard let text = reply.string else { throw SocketError.protocolError("INFO reply is not a string: \(reply)") }
        return Self.parseInfo(text)
    }

    public static func parseInfo(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return out
    }

    // MARK: Reading

    /// Reads exactly one reply (blocking up to the timeout per read).
    public func readReply() throws -> RedisReply {
        let line = try readLine()
        guard let kind = line.first else { throw SocketError.protocolError("empty reply line") }
        let rest = Array(line.dropFirst())
        let text = String(decoding: rest, as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(text)
        case UInt8(ascii: "-"): return .error(text)
        case UInt8(ascii: ":"):
            guard let v = Int64(text) else { throw SocketError.protocolError("bad integer \(text)") }
            return .integer(v)
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            guard let n = Int(text), n >= -1, n <= 1 << 32 else { throw SocketError.protocolError("bad bulk length \(text)") }
            if n == -1 { return .bulk(nil) }
            let body = try readExactly(n)
            let crlf = try readExactly(2)
            guard crlf == [13, 10] else { throw SocketError.protocolError("bulk string not followed by CRLF") }
            if kind == UInt8(ascii: "!") { return .error(String(decoding: body, as: UTF8.self)) }
            if kind == UInt8(ascii: "=") { return .bulk(Array(body.dropFirst(min(4, body.count)))) }  // "txt:"
            return .bulk(body)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            guard let n = Int(text), n >= -1, n <= 1 << 24 else { throw SocketError.protocolError("bad array length \(text)") }
            if n == -1 { return .array(nil) }
            let count = kind == UInt8(ascii: "%") ? n * 2 : n
            var items: [RedisReply] = []
            items.reserveCapacity(min(count, 1024))
            for _ in 0..<count { items.append(try readReply()) }
            return .array(items)
        case UInt8(ascii: "_"): return .bulk(nil)
        case UInt8(ascii: "#"): return .integer(text == "t" ? 1 : 0)
        case UInt8(ascii: ","), UInt8(ascii: "("): return .simple(text)
        default:
            throw SocketError.protocolError("unknown reply type byte \(kind) in line \(String(reflecting: String(decoding: line, as: UTF8.self)))")
        }
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    public func readLine() throws -> [UInt8] {
        var scanFrom = readIndex
        while true {
            if let cr = buffer[scanFrom...].firstIndex(of: 13), cr + 1 < buffer.count {
                if buffer[cr + 1] == 10 {
                    let line = Array(buffer[readIndex..<cr])
                    readIndex = cr + 2
                    compact()
                    return line
                }
                scanFrom = cr + 1
                continue
            }
            scanFrom = max(readIndex, buffer.count - 1)
            try fill()
        }
    }

    /// Reads exactly `n` bytes (e.g. an RDB payload during a replication handshake).
    public func readExactly(_ n: Int) throws -> [UInt8] {
        while buffer.count - readIndex < n { try fill() }
        let out = Array(buffer[readIndex..<(readIndex + n)])
        readIndex += n
        compact()
        return out
    }

    /// Reads whatever is available (at least one byte), up to `max` bytes.
    public func readSome(max: Int = 65536) throws -> [UInt8] {
        if buffer.count == readIndex { try fill() }
        let n = min(max, buffer.count - readIndex)
        let out = Array(buffer[readIndex..<(readIndex + n)])
        readIndex += n
        compact()
        return out
    }

    private func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 65536 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return
            }
            if n == 0 { throw SocketError.closed("\(host):\(port) closed the connection") }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw SocketError.timeout("no reply from \(host):\(port) within \(timeout) s")
            }
            throw SocketError.system("recv", errno)
        }
    }
}
