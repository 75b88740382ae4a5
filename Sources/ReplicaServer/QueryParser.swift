import Foundation
/// Splits a client's query buffer into commands the way Redis's `processInputBuffer` does
/// (networking.c): a buffer starting with `*` is a multibulk request (`processMultibulkBuffer`), anything
/// else an inline command line (`processInlineBuffer`). Errors carry Redis's exact reply text; after one
/// the connection is answered and closed (Redis sets CLIENT_CLOSE_AFTER_REPLY).
///
/// Bounds: a length line or an inline command longer than `PROTO_INLINE_MAX_SIZE` (64 KiB), a multibulk
/// count above INT_MAX (or above 10 before AUTH when a password is required), a bulk length above
/// `proto-max-bulk-len` (or above 16384 before AUTH), and a whole command above `queryBufferLimit` are
/// refused before any byte of the payload is buffered, so no untrusted length is ever allocated.
struct QueryParser {
    static let inlineMaxSize = 64 * 1024

    enum Outcome: Equatable {
        /// More bytes are needed; nothing was consumed.
        case needMore
        /// One command (possibly empty: a blank inline line or `*0`), and the bytes it used.
        case command([[UInt8]], consumed: Int)
        /// A protocol error: reply `-ERR <text>` and close.
        case protocolError(String)
    }

    var maxBulkLength: Int
    var queryBufferLimit: Int

    /// One step of the connection's loop (`parse(_:authRequired:into:)`).
    enum Step: Equatable {
        case needMore
        /// One command in `args`, and the bytes it used. A multibulk command's first argument is left
        /// empty in `args` and given as its byte range in the buffer instead (`nameRange`), so the command
        /// can be looked up without copying its name; an inline command's arguments are all in `args`.
        case command(consumed: Int, nameRange: Range<Int>?)
        case protocolError(String)
    }

    /// Parses one command at the start of `buf`. `authRequired` applies Redis's unauthenticated bounds.
    func parse(_ buf: UnsafeRawBufferPointer, authRequired: Bool) -> Outcome {
        var args: [[UInt8]] = []
        switch parse(buf, authRequired: authRequired, into: &args) {
        case .needMore: return .needMore
        case .protocolError(let text): return .protocolError(text)
        case .command(let consumed, let nameRange):
            if let r = nameRange { args[0] = Array(UnsafeRawBufferPointer(rebasing: buf[r])) }
            return .command(args, consumed: consumed)
        }
    }

    /// Parses one command at the start of `buf` into `args` (emptied first; its capacity is reused from
    /// command to command).
    func parse(_ buf: UnsafeRawBufferPointer, authRequired: Bool, into args: inout [[UInt8]]) -> Step {
        var pool = ArgumentPool()
        return parse(buf, authRequired: authRequired, into: &args, pool: &pool)
    }

    /// Parses one command into `args`, taking the argument arrays from `pool` (the previous command's
    /// arrays go back into it first): a connection's arguments are copied into arrays it already has,
    /// with no allocation per argument once they are large enough.
    func parse(_ buf: UnsafeRawBufferPointer, authRequired: Bool, into args: inout [[UInt8]],
               pool: inout ArgumentPool) -> Step {
        pool.recycle(&args)
        guard let first = buf.first else { return .needMore }
        if first == UInt8(ascii: "*") { return parseMultibulk(buf, authRequired: authRequired, into: &args, pool: &pool) }
        switch parseInline(buf) {
        case .needMore: return .needMore
        case .protocolError(let text): return .protocolError(text)
        case .command(let a, let consumed):
            args = a
            return .command(consumed: consumed, nameRange: nil)
        }
    }

    private func parseInline(_ buf: UnsafeRawBufferPointer) -> Outcome {
        guard let nl = buf.firstIndex(of: UInt8(ascii: "\n")) else {
            return buf.count > QueryParser.inlineMaxSize ? .protocolError("Protocol error: too big inline request") : .needMore
        }
        var end = nl
        if end > 0 && buf[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard let args = QueryParser.splitArgs(Array(buf[0..<end])) else {
            return .protocolError("Protocol error: unbalanced quotes in request")
        }
        return .command(args, consumed: nl + 1)
    }

    private func parseMultibulk(_ buf: UnsafeRawBufferPointer, authRequired: Bool, into args: inout [[UInt8]],
                                pool: inout ArgumentPool) -> Step {
        var pos = 0
        let header = QueryParser.readLine(buf, at: pos)
        let count: Int64
        switch header {
        case .needMore: return .needMore
        case .tooBig: return .protocolError("Protocol error: too big mbulk count string")
        case .line(let value, let next):
            guard let v = value, v <= Int64(Int32.max) else { return .protocolError("Protocol error: invalid multibulk length") }
            if v > 10 && authRequired { return .protocolError("Protocol error: unauthenticated multibulk length") }
            count = v
            pos = next
        }
        if count <= 0 { return .command(consumed: pos, nameRange: nil) }
        var nameRange: Range<Int>?
        for k in 0..<count {
            guard pos < buf.count else { return tooLarge(pos) ?? .needMore }
            let line = QueryParser.readLine(buf, at: pos)
            if case .needMore = line { return tooLarge(pos) ?? .needMore }
            if buf[pos] != UInt8(ascii: "$") {
                return .protocolError("Protocol error: expected '$', got '\(Character(Unicode.Scalar(buf[pos])))'")
            }
            let len: Int
            switch line {
            case .needMore: return tooLarge(pos) ?? .needMore
            case .tooBig: return .protocolError("Protocol error: too big bulk count string")
            case .line(let value, let next):
                guard let v = value, v >= 0, v <= Int64(maxBulkLength) else { return .protocolError("Protocol error: invalid bulk length") }
                if v > 16384 && authRequired { return .protocolError("Protocol error: unauthenticated bulk length") }
                len = Int(v)
                pos = next
            }
            if len > queryBufferLimit - pos { return .protocolError(QueryParser.queryBufferLimitError) }
            guard buf.count - pos >= len + 2 else { return .needMore }
            if k == 0 {
                nameRange = pos..<(pos + len)
                args.append([])
            } else {
                args.append(pool.take(UnsafeRawBufferPointer(start: buf.baseAddress.unsafelyUnwrapped + pos, count: len)))
            }
            pos += len + 2
        }
        return .command(consumed: pos, nameRange: nameRange)
    }

    /// Argument arrays kept between commands (at most `limit` of them, none over `largest` bytes of capacity,
    /// so a connection never pins a large argument's memory).
    struct ArgumentPool {
        static let limit = 32
        static let largest = 4096
        private var arrays: [[UInt8]] = []

        /// Moves the arguments after the name back into the pool and empties `args`.
        @inline(__always) mutating func recycle(_ args: inout [[UInt8]]) {
            while args.count > 1 {
                let a = args.removeLast()
                if arrays.count < Self.limit && a.capacity <= Self.largest { arrays.append(a) }
            }
            args.removeAll(keepingCapacity: true)
        }

        /// An array holding `bytes`: a pooled one refilled (no allocation when it is large enough and not
        /// shared), else a new one.
        @inline(__always) mutating func take(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
            guard var a = arrays.popLast() else { return Array(bytes) }
            a.removeAll(keepingCapacity: true)
            a.append(contentsOf: bytes)
            return a
        }
    }

    /// A `<type><number>\r\n` line: its number (nil when not a valid integer) and where the next byte is.
    enum Line {
        case needMore
        /// No `\r` within `PROTO_INLINE_MAX_SIZE` bytes.
        case tooBig
        case line(Int64?, next: Int)
    }

    @inline(__always) static func readLine(_ buf: UnsafeRawBufferPointer, at pos: Int) -> Line {
        let rest = buf.count - pos
        guard rest > 0, let found = memchr(buf.baseAddress.unsafelyUnwrapped + pos, 13, rest) else {
            return rest > inlineMaxSize ? .tooBig : .needMore
        }
        let cr = UnsafeRawPointer(found) - buf.baseAddress.unsafelyUnwrapped
        guard cr + 1 < buf.count else { return .needMore }
        return .line(string2ll(buf, pos + 1, cr), next: cr + 2)
    }

    private func tooLarge(_ pos: Int) -> Step? {
        pos > queryBufferLimit ? .protocolError(QueryParser.queryBufferLimitError) : nil
    }

    /// Not a Redis reply text: Redis closes such a client without a reply (`client-query-buffer-limit`,
    /// "Closing client that reached max query buffer length" in its log); we say why before closing.
    static let queryBufferLimitError = "Protocol error: query buffer limit reached (client-query-buffer-limit)"

    /// Redis's `string2ll`: an optional `-`, digits, no leading zeros (except "0"), within Int64.
    static func string2ll(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int64? {
        guard from < to, to - from <= 20 else { return nil }
        var i = from
        var negative = false
        if b[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
            guard i < to else { return nil }
        }
        if b[i] == UInt8(ascii: "0") { return (to - i == 1 && !negative) ? 0 : nil }
        var v: Int64 = 0
        while i < to {
            let d = b[i]
            guard d >= 48 && d <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d - 48))
            guard !o1 && !o2 else { return nil }
            v = s
            i += 1
        }
        return negative ? -v : v
    }

    /// Redis's `sdssplitargs`: whitespace-separated arguments, "double quotes" with \n \r \t \b \a \\ \" and
    /// \xHH escapes, 'single quotes' with \' only; a closing quote must be followed by a space or the end.
    /// nil on unbalanced quotes.
    static func splitArgs(_ line: [UInt8]) -> [[UInt8]]? {
        var args: [[UInt8]] = []
        var i = 0
        let n = line.count
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        while true {
            while i < n && isSpace(line[i]) { i += 1 }
            if i >= n { return args }
            var current: [UInt8] = []
            var inDouble = false, inSingle = false, done = false
            while !done {
                if inDouble {
                    guard i < n else { return nil }
                    let c = line[i]
                    if c == UInt8(ascii: "\\") && i + 3 < n && line[i + 1] == UInt8(ascii: "x"),
                       let h = hex(line[i + 2]), let l = hex(line[i + 3]) {
                        current.append(h * 16 + l)
                        i += 3
                    } else if c == UInt8(ascii: "\\") && i + 1 < n {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): current.append(10)
                        case UInt8(ascii: "r"): current.append(13)
                        case UInt8(ascii: "t"): current.append(9)
                        case UInt8(ascii: "b"): current.append(8)
                        case UInt8(ascii: "a"): current.append(7)
                        default: current.append(line[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        if i + 1 < n && !isSpace(line[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else if inSingle {
                    guard i < n else { return nil }
                    let c = line[i]
                    if c == UInt8(ascii: "\\") && i + 1 < n && line[i + 1] == UInt8(ascii: "'") {
                        i += 1
                        current.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n && !isSpace(line[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else {
                    if i >= n { done = true; break }
                    let c = line[i]
                    if isSpace(c) {
                        done = true
                    } else if c == UInt8(ascii: "\"") {
                        inDouble = true
                    } else if c == UInt8(ascii: "'") {
                        inSingle = true
                    } else {
                        current.append(c)
                    }
                }
                if i < n { i += 1 }
            }
            args.append(current)
        }
    }
}
