// BITCOUNT and BITPOS (read-only), as Redis 7.0's src/bitops.c computes them, BYTE and BIT ranges
// included (7.0 added BIT; 6.2 has byte ranges only).
//
// API:
//   BitOps.bitCount(value, arguments) -> Int64 or an error; `arguments` are the words after the key:
//       [] or [start, end] or [start, end, BYTE|BIT].
//   BitOps.bitPos(value, arguments) -> Int64 or an error; `arguments`: bit [start [end [BYTE|BIT]]].
// A missing key (`nil`) counts 0 / answers -1 for bit 1 and 0 for bit 0. Redis 7.0 answers that
// before looking at the range arguments; 8.x checks them first (`redis8Order: true`), and its
// BITCOUNT checks BIT|BYTE before answering 0 for a reversed negative range.

extension BitOps {
    public static func bitCount(_ value: [UInt8]?, _ arguments: [[UInt8]], redis8Order: Bool = false) -> Result<Int64, BitOpsError> {
        if value == nil && !redis8Order { return .success(0) }
        var start: Int64, end: Int64
        var firstMask: UInt8 = 0, lastMask: UInt8 = 0
        if arguments.count == 2 || arguments.count == 3 {
            guard let s = RedisArgument.int64(arguments[0]), let e = RedisArgument.int64(arguments[1]) else {
                return .failure(.notInteger)
            }
            start = s; end = e
            let reversed = start < 0 && end < 0 && start > end
            if reversed && !redis8Order { return .success(0) }
            var isBit = false
            if arguments.count == 3 {
                if RedisArgument.equalsIgnoringCase(arguments[2], "bit") { isBit = true }
                else if !RedisArgument.equalsIgnoringCase(arguments[2], "byte") { return .failure(.syntax) }
            }
            guard let p = value else { return .success(0) }
            if reversed { return .success(0) }
            (start, end, firstMask, lastMask) = byteRange(start: start, end: end, length: p.count, isBit: isBit)
        } else if arguments.isEmpty {
            start = 0
            end = Int64(value?.count ?? 0) - 1
        } else {
            return .failure(.syntax)
        }
        guard let p = value else { return .success(0) }
        if start > end { return .success(0) }
        var count: Int64 = 0
        for i in Int(start)...Int(end) { count += Int64(p[i].nonzeroBitCount) }
        if firstMask != 0 { count -= Int64((p[Int(start)] & firstMask).nonzeroBitCount) }
        if lastMask != 0 { count -= Int64((p[Int(end)] & lastMask).nonzeroBitCount) }
        return .success(count)
    }

    public static func bitPos(_ value: [UInt8]?, _ arguments: [[UInt8]], redis8Order: Bool = false) -> Result<Int64, BitOpsError> {
        guard let first = arguments.first else { return .failure(.syntax) }
        guard let bitArg = RedisArgument.int64(first) else { return .failure(.notInteger) }
        guard bitArg == 0 || bitArg == 1 else { return .failure(.bitArgument) }
        let bit = bitArg == 1
        let missing: Int64 = bit ? -1 : 0
        if value == nil && !redis8Order { return .success(missing) }
        let argc = arguments.count + 2  // as Redis counts: BITPOS key bit ...
        var start: Int64, end: Int64 = 0
        var endGiven = false
        var firstMask: UInt8 = 0, lastMask: UInt8 = 0
        if argc == 4 || argc == 5 || argc == 6 {
            guard let s = RedisArgument.int64(arguments[1]) else { return .failure(.notInteger) }
            start = s
            var isBit = false
            if argc == 6 {
                if RedisArgument.equalsIgnoringCase(arguments[3], "bit") { isBit = true }
                else if !RedisArgument.equalsIgnoringCase(arguments[3], "byte") { return .failure(.syntax) }
            }
            if argc >= 5 {
                guard let e = RedisArgument.int64(arguments[2]) else { return .failure(.notInteger) }
                end = e
                endGiven = true
            }
            guard let p = value else { return .success(missing) }
            if !endGiven { end = isBit ? (Int64(p.count) << 3) + 7 : Int64(p.count) - 1 }
            (start, end, firstMask, lastMask) = byteRange(start: start, end: end, length: p.count, isBit: isBit)
        } else if argc == 3 {
            start = 0
            end = Int64(value?.count ?? 0) - 1
        } else {
            return .failure(.syntax)
        }
        guard let p = value else { return .success(missing) }
        if start > end { return .success(-1) }

        var bytes = end - start + 1
        var pos: Int64 = -1
        scan: do {
            if firstMask != 0 {
                var c = bit ? p[Int(start)] & ~firstMask : p[Int(start)] | firstMask
                if lastMask != 0 && bytes == 1 { c = bit ? c & ~lastMask : c | lastMask }
                pos = firstBit([c], 0, 1, bit)
                if bytes == 1 || (pos != -1 && pos != 8) { break scan }
                start += 1
                bytes -= 1
            }
            let curbytes = bytes - (lastMask != 0 ? 1 : 0)
            if curbytes > 0 {
                pos = firstBit(p, Int(start), Int(curbytes), bit)
                if bytes == curbytes || (pos != -1 && pos != curbytes << 3) { break scan }
                start += curbytes
                bytes -= curbytes
            }
            let c = bit ? p[Int(end)] & ~lastMask : p[Int(end)] | lastMask
            pos = firstBit([c], 0, 1, bit)
        }
        // An explicit end: a clear bit just past the range is not in it.
        if endGiven && !bit && pos == bytes << 3 { return .success(-1) }
        if pos != -1 { pos += start << 3 }
        return .success(pos)
    }

    /// redisBitpos over p[from..<from+count]: the first `bit`, counting the string as zero-padded
    /// on the right (so a clear bit is found at count*8 at worst), or -1 for a set bit not found.
    /// Redis scans in 8-byte words and pads the last word to 8 bytes; the answers are the same.
    static func firstBit(_ p: [UInt8], _ from: Int, _ count: Int, _ bit: Bool) -> Int64 {
        let skip: UInt8 = bit ? 0 : 0xff
        var i = 0
        while i < count && p[from + i] == skip { i += 1 }
        if i == count {
            // Redis loads a zero-padded word after the scanned bytes.
            return bit ? -1 : Int64(count) * 8
        }
        let b = p[from + i]
        for k in 0..<8 where ((b >> (7 - UInt8(k))) & 1 == 1) == bit { return Int64(i * 8 + k) }
        return -1
    }

    /// The range rule BITCOUNT and BITPOS share (bitops.c): negative indexes count from the end, the range
    /// is clamped to the string, and a BIT range becomes a byte range plus masks for the bits of its first
    /// and last bytes that lie outside it.
    private static func byteRange(start: Int64, end: Int64, length: Int, isBit: Bool)
        -> (start: Int64, end: Int64, firstMask: UInt8, lastMask: UInt8) {
        var start = start, end = end
        var firstMask: UInt8 = 0, lastMask: UInt8 = 0
        var totlen = Int64(length)
        if isBit { totlen <<= 3 }
        if start < 0 { start = totlen &+ start }
        if end < 0 { end = totlen &+ end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= totlen { end = totlen - 1 }
        if isBit && start <= end {
            firstMask = ~UInt8(truncatingIfNeeded: (1 << (8 - (start & 7))) - 1)
            lastMask = UInt8(truncatingIfNeeded: (1 << (7 - (end & 7))) - 1)
            start >>= 3
            end >>= 3
        }
        return (start, end, firstMask, lastMask)
    }
}
