/// A resumable scan of one multibulk command as a master sends it (`*<n>\r\n` then n bulk strings), in
/// the style of swift-nio's `ByteToMessageDecoder`s: when a command arrives in pieces, the scanner keeps
/// how many arguments are complete, where the next one starts and the length of a bulk whose payload is
/// still arriving, so each read costs the new bytes only, not a rescan from the command's first byte
/// (Redis's `processMultibulkBuffer` keeps `multibulklen` and `bulklen` between reads for the same reason).
///
/// Call `scan` with the bytes from the command's first byte on, as many as have arrived; the bytes seen in
/// an earlier call must be unchanged (the buffer may have moved, the frame may only grow). It returns nil
/// for "need more data" (progress kept), or the complete command (progress reset for the next one).
/// After a throw, call `reset()` before scanning another frame.
///
/// **Releasing.** A command can be larger than what should be held in memory (a 3 GB `SET` value, a
/// million arguments). Between calls, `releasableBytes` says how many of the frame's first bytes the scan
/// no longer needs (whole arguments and the part of a bulk payload before its final CRLF; a short first
/// argument still arriving is kept whole). The caller may drop some or all of them, calling
/// `release(_:from:)` with the count and the frame first: from then on `scan` is passed the frame without
/// them. The command's result is relative to the bytes still passed: `byteCount` counts only those; a kept
/// argument whose bytes were released has no range, and `withArgument` reads the scanner's copy of it when
/// it is short (at most `keptArgumentRetainLimit` bytes; callers classify commands by them).
public struct RESPCommandScanner: Sendable {
    public var limits: RESPLimits
    /// Bytes examined so far (type bytes, length lines, the CRLFs after payloads; payloads are skipped,
    /// never read). Tests use it to check that a command fed in small pieces costs linear work.
    public private(set) var scannedBytes: Int64 = 0
    /// A kept argument longer than this is released with the bytes around it (command names and the
    /// arguments the link classifies by are a few bytes).
    public static let keptArgumentRetainLimit = 64

    /// The argument count, once `*<n>\r\n` is complete.
    private var count: Int?
    /// Complete arguments so far, and where the next one starts; indexes count from the command's first
    /// byte, including released bytes.
    private var done = 0
    private var next = 0
    /// The argument being read, once its length line is complete: where its payload starts and its length.
    private var bulk: (start: Int, length: Int)?
    /// Bytes of the command released by the caller (the frame passed to `scan` starts after them).
    public private(set) var released = 0
    private var result = RESPCommandScan(byteCount: 0, argumentCount: 0)

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Whether part of a command has been scanned (a frame is in progress).
    public var inProgress: Bool { count != nil }

    public mutating func reset() {
        count = nil
        done = 0
        next = 0
        bulk = nil
        released = 0
        result = RESPCommandScan(byteCount: 0, argumentCount: 0)
    }

    /// How many of the first bytes of the frame (as passed to `scan` now) the scan no longer needs. It may
    /// exceed the bytes passed so far (inside a bulk payload): the caller releases at most what it has.
    public var releasableBytes: Int {
        guard count != nil else { return 0 }
        var keep = next
        if let b = bulk {
            keep = done < RESPCommandScan.keptArguments && b.length <= Self.keptArgumentRetainLimit ? b.start : b.start + b.length
        }
        return max(0, keep - released)
    }

    /// The caller drops the first `n` bytes of `frame` (the bytes passed to the last `scan`, still valid;
    /// `n <= releasableBytes`). Short kept arguments among them are copied.
    public mutating func release(_ n: Int, from frame: UnsafeRawBufferPointer) {
        precondition(n >= 0 && n <= releasableBytes && n <= frame.count, "releasing bytes the scan still needs")
        for i in 0..<min(done, RESPCommandScan.keptArguments) {
            guard let r = result.argumentRange(i), r.lowerBound < released + n else { continue }
            let copy = r.count <= Self.keptArgumentRetainLimit
                ? Array(UnsafeRawBufferPointer(rebasing: frame[(r.lowerBound - released)..<(r.upperBound - released)])) : nil
            result.release(i, copy: copy)
        }
        released += n
    }

    /// Scans on from where the previous call stopped. Anything that does not start with `*` is a protocol
    /// error naming the offset (masters never send inline commands in the replication stream). `baseOffset`
    /// is the stream offset of `frame`'s first byte.
    public mutating func scan(_ frame: UnsafeRawBufferPointer, baseOffset: Int64 = 0) throws -> RESPCommandScan? {
        let decoder = RESPDecoder(limits: limits)
        // Indexes into `frame` are command indexes minus `released`.
        var cursor = RESPDecoder.Cursor(bytes: frame, index: next - released, base: baseOffset)
        if count == nil {
            guard frame.count > 0 else { return nil }
            let type = frame[0]
            scannedBytes += 1
            guard type == UInt8(ascii: "*") else {
                throw RESPError(.unexpectedType, at: cursor.offset,
                                "expected a multibulk command ('*'), found \(RESPDecoder.describe(type))")
            }
            let (n, examined) = try decoder.readLengthCounting(&cursor, max: limits.maxArrayCount, what: "multibulk count")
            scannedBytes += Int64(examined)
            guard let n else { return nil }
            count = max(n, 0)
            result = RESPCommandScan(byteCount: 0, argumentCount: max(n, 0))
            next = cursor.index + released
        }
        let total = count ?? 0
        while done < total {
            let payloadStart: Int
            let len: Int
            if let b = bulk {
                payloadStart = b.start - released
                len = b.length
                bulk = nil
            } else {
                guard cursor.index < frame.count else { return nil }
                let t = frame[cursor.index]
                scannedBytes += 1
                guard t == UInt8(ascii: "$") else {
                    throw RESPError(.unexpectedType, at: cursor.offset,
                                    "expected a bulk string ('$') for argument \(done + 1) of \(total), found \(RESPDecoder.describe(t))")
                }
                let lengthAt = cursor.offset + 1
                let (l, examined) = try decoder.readLengthCounting(&cursor, max: limits.maxBulkLength, what: "bulk length")
                scannedBytes += Int64(examined)
                guard let l else { return nil }
                guard l >= 0 else {
                    throw RESPError(.badLength, at: lengthAt, "null bulk string as a command argument")
                }
                payloadStart = cursor.index
                len = l
            }
            // Released bytes end before the payload's CRLF, so `payloadStart + len >= 0`.
            guard frame.count - payloadStart >= len + 2 else {
                bulk = (payloadStart + released, len)
                return nil
            }
            scannedBytes += 2
            try cursor.expectCRLF(at: payloadStart + len)
            if done < RESPCommandScan.keptArguments {
                result.setArgument(done, (payloadStart + released)..<(payloadStart + released + len))
                if payloadStart < 0 { result.release(done, copy: nil) }
            }
            cursor.index = payloadStart + len + 2
            done += 1
            next = cursor.index + released
        }
        var complete = result
        complete.byteCount = next - released
        if released > 0 {
            for i in 0..<min(total, RESPCommandScan.keptArguments) {
                if let r = complete.argumentRange(i) { complete.setArgument(i, (r.lowerBound - released)..<(r.upperBound - released)) }
            }
        }
        reset()
        return complete
    }
}

extension RESPDecoder {
    /// `readLength` (type byte skipped, `-1 <= n <= max`) that also reports how many bytes it examined.
    @inline(__always)
    func readLengthCounting(_ cursor: inout Cursor, max: Int, what: String) throws -> (Int?, Int) {
        var c = cursor
        c.index += 1
        guard let end = try findLineEnd(c) else { return (nil, cursor.bytes.count - cursor.index) }
        let digitsStart = c.index
        guard let n = RESPDecoder.parseInt(c.bytes, digitsStart, end) else {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: c.bytes[digitsStart..<min(end, digitsStart + 32)]), as: UTF8.self)
            throw RESPError(.badLength, at: c.base + Int64(digitsStart), "invalid \(what) \"\(text)\"")
        }
        guard n >= -1, n <= Int64(max) else {
            throw RESPError(.badLength, at: c.base + Int64(digitsStart), "\(what) \(n) out of bounds (-1...\(max))")
        }
        let examined = end + 2 - cursor.index
        cursor.index = end + 2
        return (Int(n), examined)
    }
}
