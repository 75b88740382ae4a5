import RDB

/// A malformed replication stream: what was wrong and the stream offset of the command it is in.
public struct RESPSplitError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int64
    public var description: String { "replication stream at offset \(offset): \(message)" }
}

/// Splits committed replication-stream bytes into commands (RESP multibulk arrays, as masters send
/// them: `*N\r\n` then N × `$len\r\n<bytes>\r\n`), each with the stream offset just past it, the offset
/// `ReplicaApplier.apply(_:at:nowMs:)` takes. Feed bytes in any chunks; `next()` returns nil until a
/// whole command is buffered and never consumes part of one.
public struct RESPCommandSplitter: Sendable {
    /// Redis's limits for a master client (`proto-max-bulk-len` 512 MB; 1M-argument multibulks).
    public static let maxArguments = 1 << 20
    public static let maxBulkLength = 512 * 1024 * 1024

    private var buffer: [UInt8] = []
    private var start = 0
    /// The stream offset of the first unconsumed byte.
    public private(set) var offset: Int64

    /// `offset`: the stream offset the first appended byte follows (e.g. a FULLRESYNC's offset).
    public init(offset: Int64) { self.offset = offset }

    public var bufferedBytes: Int { buffer.count - start }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole command and the offset just past it, or nil when more bytes are needed.
    public mutating func next() throws -> (args: [Bytes], endOffset: Int64)? {
        var i = start
        var header = try line(&i, prefix: UInt8(ascii: "*"), allowsNegative: true)
        // `*0` and `*-1` are no commands at all: Redis's processMultibulkBuffer returns on a count <= 0
        // and processInputBuffer resets the client without running anything; the bytes still count
        // towards the replication offset.
        while let empty = header, empty <= 0 {
            offset += Int64(i - start)
            start = i
            header = try line(&i, prefix: UInt8(ascii: "*"), allowsNegative: true)
        }
        guard let count = header else { return nil }
        guard count <= RESPCommandSplitter.maxArguments else { throw fail("bad argument count \(count)") }
        var args: [Bytes] = []
        args.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let n = try line(&i, prefix: UInt8(ascii: "$")) else { return nil }
            guard n >= 0, n <= RESPCommandSplitter.maxBulkLength else { throw fail("bad bulk length \(n)") }
            guard buffer.count - i >= n + 2 else { return nil }
            guard buffer[i + n] == 13, buffer[i + n + 1] == 10 else { throw fail("bulk string not followed by CRLF") }
            args.append(Array(buffer[i..<(i + n)]))
            i += n + 2
        }
        offset += Int64(i - start)
        start = i
        return (args, offset)
    }

    /// Reads `<prefix><decimal>\r\n` at `i`; nil when incomplete.
    /// `allowsNegative`: a leading `-` is read, as Redis's string2ll does for a multibulk count.
    private func line(_ i: inout Int, prefix: UInt8, allowsNegative: Bool = false) throws -> Int? {
        guard i < buffer.count else { return nil }
        guard buffer[i] == prefix else { throw fail("expected '\(Character(UnicodeScalar(prefix)))', found byte \(buffer[i])") }
        var j = i + 1
        var negative = false
        if allowsNegative, j < buffer.count, buffer[j] == UInt8(ascii: "-") {
            negative = true
            j += 1
        }
        var v = 0
        var digits = 0
        while j < buffer.count, buffer[j] != 13 {
            let c = buffer[j]
            guard c >= 48 && c <= 57, digits < 10 else { throw fail("bad length digits") }
            v = v * 10 + Int(c - 48)
            digits += 1
            j += 1
        }
        guard j + 1 < buffer.count else { return nil }
        guard digits > 0, buffer[j + 1] == 10 else { throw fail("bad length line") }
        i = j + 2
        return negative ? -v : v
    }

    private func fail(_ message: String) -> RESPSplitError { RESPSplitError(message: message, offset: offset) }
}
