/// A resumable scan of one multibulk command as a master sends it (`*<n>\r\n` then n bulk strings), in
/// the style of swift-nio's `ByteToMessageDecoder`s: when a command arrives in pieces, the scanner keeps
/// how many arguments are complete and where the next one starts, so each read costs the new bytes only,
/// not a rescan from the command's first byte (Redis's `processMultibulkBuffer` keeps `multibulklen` and
/// `bulklen` between reads for the same reason).
///
/// Call `scan` with the bytes from the command's first byte on, as many as have arrived; the bytes seen in
/// an earlier call must be unchanged (the buffer may have moved, the frame may only grow). It returns nil
/// for "need more data" (progress kept), or the complete command (progress reset for the next one).
/// After a throw, call `reset()` before scanning another frame.
public struct RESPCommandScanner: Sendable {
    public var limits: RESPLimits
    /// Bytes examined so far (type bytes, length lines, the CRLFs after payloads; payloads are skipped,
    /// never read). Tests use it to check that a command fed in small pieces costs linear work.
    public private(set) var scannedBytes: Int64 = 0

    /// The argument count, once `*<n>\r\n` is complete.
    private var count: Int?
    /// Complete arguments so far, and the frame-relative index where the next one starts.
    private var done = 0
    private var next = 0
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
        result = RESPCommandScan(byteCount: 0, argumentCount: 0)
    }

    /// Scans on from where the previous call stopped. Anything that does not start with `*` is a protocol
    /// error naming the offset (masters never send inline commands in the replication stream).
    public mutating func scan(_ frame: UnsafeRawBufferPointer, baseOffset: Int64 = 0) throws -> RESPCommandScan? {
        let decoder = RESPDecoder(limits: limits)
        var cursor = RESPDecoder.Cursor(bytes: frame, index: next, base: baseOffset)
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
            next = cursor.index
        }
        let total = count ?? 0
        while done < total {
            guard cursor.index < frame.count else { return nil }
            let t = frame[cursor.index]
            scannedBytes += 1
            guard t == UInt8(ascii: "$") else {
                throw RESPError(.unexpectedType, at: cursor.offset,
                                "expected a bulk string ('$') for argument \(done + 1) of \(total), found \(RESPDecoder.describe(t))")
            }
            let lengthAt = cursor.offset + 1
            let (len, examined) = try decoder.readLengthCounting(&cursor, max: limits.maxBulkLength, what: "bulk length")
            scannedBytes += Int64(examined)
            guard let len else { return nil }
            guard len >= 0 else {
                throw RESPError(.badLength, at: lengthAt, "null bulk string as a command argument")
            }
            let payloadStart = cursor.index
            guard frame.count - payloadStart >= len + 2 else { return nil }
            scannedBytes += 2
            try cursor.expectCRLF(at: payloadStart + len)
            if done < RESPCommandScan.keptArguments {
                result.setArgument(done, payloadStart..<(payloadStart + len))
            }
            cursor.index = payloadStart + len + 2
            done += 1
            next = cursor.index
        }
        var complete = result
        complete.byteCount = next
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
