/// An incremental RESP2 decoder in the swift-nio style.
///
/// Every `decode…` call looks at the bytes from a start index and either returns `nil` ("need more
/// data": nothing is consumed) or returns one complete value with the exact number of bytes it used.
/// It never allocates by a length the peer announced: a bulk string is only copied once all of its
/// bytes are present, and array storage is reserved by what the input can actually hold.
/// Malformed input throws `RESPError` naming the absolute offset (`baseOffset` + index).
public struct RESPDecoder: Sendable {
    public var limits: RESPLimits

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    // MARK: Public entry points

    /// Decodes one value of any type at the start of `bytes`.
    public func decode(_ bytes: UnsafeRawBufferPointer, baseOffset: Int64 = 0) throws -> RESPFrame? {
        var cursor = Cursor(bytes: bytes, index: 0, base: baseOffset)
        guard let value = try parseValue(&cursor, depth: 0) else { return nil }
        return RESPFrame(value: value, byteCount: cursor.index)
    }

    /// Decodes one value of any type from `bytes[start...]`.
    public func decode(_ bytes: [UInt8], from start: Int = 0, baseOffset: Int64 = 0) throws -> RESPFrame? {
        guard start <= bytes.count else { return nil }
        return try bytes.withUnsafeBytes { raw in
            try decode(UnsafeRawBufferPointer(rebasing: raw[start...]), baseOffset: baseOffset + Int64(start))
        }
    }

    /// Decodes one value from `buffer`, advancing its reader index only past a complete value.
    public func decode(buffer: inout RESPByteBuffer) throws -> RESPFrame? {
        let start = buffer.readerIndex
        let base = buffer.consumedBefore + Int64(start)
        let frame = try buffer.storage.withUnsafeBytes { raw in
            try decode(UnsafeRawBufferPointer(rebasing: raw[start...]), baseOffset: base)
        }
        if let frame { buffer.readerIndex += frame.byteCount }
        return frame
    }

    /// Scans one command as a master sends it: `*<n>\r\n` then n bulk strings. Nothing is copied;
    /// the result gives the frame's byte count and where its first arguments are.
    /// Anything that does not start with `*` is a protocol error naming the offset (masters never
    /// send inline commands in the replication stream).
    public func scanCommand(_ bytes: UnsafeRawBufferPointer, baseOffset: Int64 = 0) throws -> RESPCommandScan? {
        var cursor = Cursor(bytes: bytes, index: 0, base: baseOffset)
        guard cursor.index < bytes.count else { return nil }
        let type = bytes[cursor.index]
        guard type == UInt8(ascii: "*") else {
            throw RESPError(.unexpectedType, at: cursor.offset,
                            "expected a multibulk command ('*'), found \(RESPDecoder.describe(type))")
        }
        guard let count = try readLength(&cursor, skipType: true, max: limits.maxArrayCount, what: "multibulk count") else {
            return nil
        }
        var scan = RESPCommandScan(byteCount: 0, argumentCount: max(count, 0))
        if count > 0 {
            for arg in 0..<count {
                guard cursor.index < bytes.count else { return nil }
                let t = bytes[cursor.index]
                guard t == UInt8(ascii: "$") else {
                    throw RESPError(.unexpectedType, at: cursor.offset,
                                    "expected a bulk string ('$') for argument \(arg + 1) of \(count), found \(RESPDecoder.describe(t))")
                }
                let lengthAt = cursor.offset + 1
                guard let len = try readLength(&cursor, skipType: true, max: limits.maxBulkLength, what: "bulk length") else {
                    return nil
                }
                guard len >= 0 else {
                    throw RESPError(.badLength, at: lengthAt, "null bulk string as a command argument")
                }
                let payloadStart = cursor.index
                guard bytes.count - payloadStart >= len + 2 else { return nil }
                try cursor.expectCRLF(at: payloadStart + len)
                if arg < RESPCommandScan.keptArguments {
                    scan.setArgument(arg, payloadStart..<(payloadStart + len))
                }
                cursor.index = payloadStart + len + 2
            }
        }
        scan.byteCount = cursor.index
        return scan
    }

    /// `scanCommand` over `bytes[start...]`; ranges in the result are relative to `start`.
    public func scanCommand(_ bytes: [UInt8], from start: Int = 0, baseOffset: Int64 = 0) throws -> RESPCommandScan? {
        guard start <= bytes.count else { return nil }
        return try bytes.withUnsafeBytes { raw in
            try scanCommand(UnsafeRawBufferPointer(rebasing: raw[start...]), baseOffset: baseOffset + Int64(start))
        }
    }

    /// Reads one line ending in `\n` (a trailing `\r` is stripped), as Redis's `connSyncReadLine` does for
    /// handshake replies. Returns the line and the bytes used, or nil if no `\n` yet.
    public func readLine(_ bytes: UnsafeRawBufferPointer, baseOffset: Int64 = 0) throws -> (line: [UInt8], byteCount: Int)? {
        let limit = min(bytes.count, limits.maxLineLength + 2)
        var i = 0
        while i < limit {
            if bytes[i] == UInt8(ascii: "\n") {
                var end = i
                if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                return (Array(bytes[0..<end]), i + 1)
            }
            i += 1
        }
        if bytes.count > limits.maxLineLength + 1 {
            throw RESPError(.lineTooLong, at: baseOffset, "line longer than \(limits.maxLineLength) bytes without a newline")
        }
        return nil
    }

    // MARK: Internals

    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var index: Int
        let base: Int64
        var offset: Int64 { base + Int64(index) }

        func expectCRLF(at i: Int) throws {
            guard bytes[i] == UInt8(ascii: "\r"), bytes[i + 1] == UInt8(ascii: "\n") else {
                throw RESPError(.missingCRLF, at: base + Int64(i), "bulk string payload not followed by CRLF")
            }
        }
    }

    static func describe(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7f { return "'\(Character(Unicode.Scalar(b)))' (0x\(String(b, radix: 16)))" }
        return "byte 0x" + (b < 16 ? "0" : "") + String(b, radix: 16)
    }

    /// Finds the CRLF ending the line that starts at `cursor.index`; returns the index of `\r`.
    func findLineEnd(_ cursor: Cursor) throws -> Int? {
        let bytes = cursor.bytes
        let start = cursor.index
        let limit = min(bytes.count, start + limits.maxLineLength + 1)
        var i = start
        while i < limit {
            let b = bytes[i]
            if b == UInt8(ascii: "\r") {
                guard i + 1 < bytes.count else { return nil }
                guard bytes[i + 1] == UInt8(ascii: "\n") else {
                    throw RESPError(.missingCRLF, at: cursor.base + Int64(i + 1), "carriage return not followed by newline")
                }
                return i
            }
            if b == UInt8(ascii: "\n") {
                throw RESPError(.missingCRLF, at: cursor.base + Int64(i), "newline without carriage return")
            }
            i += 1
        }
        if bytes.count - start > limits.maxLineLength {
            throw RESPError(.lineTooLong, at: cursor.base + Int64(start), "line longer than \(limits.maxLineLength) bytes without CRLF")
        }
        return nil
    }

    /// Parses a signed decimal in `bytes[from..<to]`; nil if malformed or overflowing.
    static func parseInt(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int64? {
        var i = from
        var negative = false
        if i < to && bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < to, to - i <= 19 else { return nil }
        var v: Int64 = 0
        while i < to {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            v = s
            i += 1
        }
        return negative ? -v : v
    }

    /// Reads `<type>n\r\n` (type skipped) and checks `-1 <= n <= max`; nil if incomplete.
    func readLength(_ cursor: inout Cursor, skipType: Bool, max: Int, what: String) throws -> Int? {
        var c = cursor
        if skipType { c.index += 1 }
        guard let end = try findLineEnd(c) else { return nil }
        let digitsStart = c.index
        guard let n = RESPDecoder.parseInt(c.bytes, digitsStart, end) else {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: c.bytes[digitsStart..<min(end, digitsStart + 32)]), as: UTF8.self)
            throw RESPError(.badLength, at: c.base + Int64(digitsStart), "invalid \(what) \"\(text)\"")
        }
        guard n >= -1, n <= Int64(max) else {
            throw RESPError(.badLength, at: c.base + Int64(digitsStart), "\(what) \(n) out of bounds (-1...\(max))")
        }
        cursor.index = end + 2
        return Int(n)
    }

    func parseValue(_ cursor: inout Cursor, depth: Int) throws -> RESPValue? {
        let bytes = cursor.bytes
        guard cursor.index < bytes.count else { return nil }
        let type = bytes[cursor.index]
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            var c = cursor
            c.index += 1
            guard let end = try findLineEnd(c) else { return nil }
            let start = c.index
            let value: RESPValue
            if type == UInt8(ascii: ":") {
                guard let n = RESPDecoder.parseInt(bytes, start, end) else {
                    throw RESPError(.badInteger, at: c.base + Int64(start), "invalid integer reply")
                }
                value = .integer(n)
            } else {
                let text = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                value = type == UInt8(ascii: "+") ? .simpleString(text) : .error(text)
            }
            cursor.index = end + 2
            return value
        case UInt8(ascii: "$"):
            var c = cursor
            guard let len = try readLength(&c, skipType: true, max: limits.maxBulkLength, what: "bulk length") else { return nil }
            if len < 0 {
                cursor = c
                return .bulkString(nil)
            }
            guard bytes.count - c.index >= len + 2 else { return nil }
            try c.expectCRLF(at: c.index + len)
            let payload = Array(UnsafeRawBufferPointer(rebasing: bytes[c.index..<(c.index + len)]))
            c.index += len + 2
            cursor = c
            return .bulkString(payload)
        case UInt8(ascii: "*"):
            guard depth < limits.maxDepth else {
                throw RESPError(.tooDeep, at: cursor.offset, "arrays nested deeper than \(limits.maxDepth)")
            }
            var c = cursor
            guard let count = try readLength(&c, skipType: true, max: limits.maxArrayCount, what: "array count") else { return nil }
            if count < 0 {
                cursor = c
                return .array(nil)
            }
            // Each element needs at least 3 bytes ("+\r\n"), so never reserve more than the input can hold.
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, (bytes.count - c.index) / 3))
            for _ in 0..<count {
                guard let v = try parseValue(&c, depth: depth + 1) else { return nil }
                elements.append(v)
            }
            cursor = c
            return .array(elements)
        default:
            throw RESPError(.unexpectedType, at: cursor.offset, "unknown RESP type \(RESPDecoder.describe(type))")
        }
    }
}

/// Where a scanned command's first arguments are, without copying them.
public struct RESPCommandScan: Sendable, Equatable {
    /// How many argument ranges are kept (command name, subcommand, first value).
    public static let keptArguments = 3
    /// Exact bytes the command used.
    public var byteCount: Int
    public var argumentCount: Int
    var a0: Range<Int> = 0..<0
    var a1: Range<Int> = 0..<0
    var a2: Range<Int> = 0..<0

    init(byteCount: Int, argumentCount: Int) {
        self.byteCount = byteCount
        self.argumentCount = argumentCount
    }

    mutating func setArgument(_ i: Int, _ r: Range<Int>) {
        switch i {
        case 0: a0 = r
        case 1: a1 = r
        default: a2 = r
        }
    }

    /// Kept arguments whose bytes were released before the command completed (bit i: argument i), and
    /// the copies of the short ones (nil on the common path, where nothing was released).
    var released: UInt8 = 0
    var copies: [[UInt8]?]?

    /// Argument `i`'s bytes left the frame (a `RESPCommandScanner` released them: see `releasableBytes`);
    /// `copy` keeps them when they are short.
    mutating func release(_ i: Int, copy: [UInt8]?) {
        guard i < RESPCommandScan.keptArguments, released & (1 << UInt8(i)) == 0 else { return }
        released |= 1 << UInt8(i)
        if let copy {
            if copies == nil { copies = Array(repeating: nil, count: RESPCommandScan.keptArguments) }
            copies?[i] = copy
        }
    }

    /// Calls `body` with argument `i`'s bytes: from `frame` (the bytes the scan returned this result for),
    /// or the scanner's copy when they were released; nil when they are not kept.
    public func withArgument<T>(_ i: Int, in frame: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> T) -> T? {
        guard i < argumentCount, i < RESPCommandScan.keptArguments else { return nil }
        if released & (1 << UInt8(i)) != 0 {
            guard let c = copies?[i] else { return nil }
            return c.withUnsafeBytes { body($0) }
        }
        let r: Range<Int> = i == 0 ? a0 : i == 1 ? a1 : a2
        return body(UnsafeRawBufferPointer(rebasing: frame[r]))
    }

    /// The byte range of argument `i` (0-based, `i < keptArguments` and `< argumentCount`), relative to
    /// the start of the scanned frame; nil when its bytes were released while the command arrived.
    public func argumentRange(_ i: Int) -> Range<Int>? {
        guard i < argumentCount, i < RESPCommandScan.keptArguments, released & (1 << UInt8(i)) == 0 else { return nil }
        switch i {
        case 0: return a0
        case 1: return a1
        default: return a2
        }
    }
}

/// A growable byte buffer with a reader index, for feeding a decoder incrementally.
public struct RESPByteBuffer: Sendable {
    public internal(set) var storage: [UInt8] = []
    /// Index of the first unread byte in `storage`.
    public var readerIndex: Int = 0
    /// Bytes discarded from the front so far (so offsets stay absolute).
    public internal(set) var consumedBefore: Int64 = 0

    public init() {}

    public var readableBytes: Int { storage.count - readerIndex }

    public mutating func append<S: Sequence>(contentsOf bytes: S) where S.Element == UInt8 {
        storage.append(contentsOf: bytes)
    }

    /// Drops the bytes before the reader index (amortized: only when they are at least half the storage).
    public mutating func discardReadBytes(force: Bool = false) {
        guard readerIndex > 0, force || readerIndex >= storage.count / 2 else { return }
        storage.removeFirst(readerIndex)
        consumedBefore += Int64(readerIndex)
        readerIndex = 0
    }
}
