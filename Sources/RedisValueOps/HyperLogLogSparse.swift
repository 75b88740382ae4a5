// The sparse HyperLogLog representation, as Redis's src/hyperloglog.c edits it: hllSparseSet
// (in-place opcode split, promotion to dense, merging of adjacent VAL opcodes), hllSparseToDense
// and hllMerge.
//
// Redis keeps the HLL in an sds string whose terminating NUL byte it sometimes reads (an XZERO
// opcode cut off at the end of the string reads it as its second byte) and rewrites on every length
// change. `HLLBuffer` models that: the bytes, the logical length, and zero padding behind it, so
// corrupted input behaves as in Redis instead of trapping.

struct HLLBuffer {
    private(set) var bytes: [UInt8]
    private(set) var length: Int

    init(_ value: [UInt8]) {
        bytes = value + [UInt8](repeating: 0, count: 8)
        length = value.count
    }

    var value: [UInt8] { Array(bytes[0..<length]) }
    var encoding: UInt8 { bytes[4] }

    /// Sets register `index` to `count` if larger (hllSparseSet), promoting to dense when `count`
    /// exceeds 32 or the sparse form would grow past `sparseMaxBytes`.
    mutating func sparseSet(index: Int, count: Int, sparseMaxBytes: Int) -> HLLSetOutcome {
        if count > HLL.sparseValMaxValue { return promote(index: index, count: count) }
        // Sparse form, with at least 3 spare bytes (sdsMakeRoomFor / sdsResize in Redis).
        if bytes.count < length + 8 { bytes += [UInt8](repeating: 0, count: length + 8 - bytes.count) }

        // Step 1: find the opcode covering `index`.
        let sparse = HLL.headerSize
        var end = length
        var p = sparse
        var first = 0
        var prev: Int? = nil
        var span = 0
        while p < end {
            var oplen = 1
            let b = bytes[p]
            if HLL.isZero(b) {
                span = HLL.zeroLen(b)
            } else if HLL.isVal(b) {
                span = HLL.valLen(b)
            } else {
                span = HLL.xzeroLen(b, bytes[p + 1])
                oplen = 2
            }
            if index <= first + span - 1 { break }
            prev = p
            p += oplen
            first += span
        }
        if span == 0 || p >= end { return .invalid }

        let opcode = bytes[p]
        var next: Int? = HLL.isXZero(opcode) ? p + 2 : p + 1
        if next! >= end { next = nil }
        let isZero = HLL.isZero(opcode), isXZero = HLL.isXZero(opcode), isVal = !isZero && !isXZero
        let runlen = isZero ? HLL.zeroLen(opcode) : isXZero ? HLL.xzeroLen(opcode, bytes[p + 1]) : HLL.valLen(opcode)

        var done = false
        // Cases A and B: a VAL opcode already large enough, or a VAL of length 1.
        if isVal {
            if HLL.valValue(opcode) >= count { return .unchanged }
            if runlen == 1 {
                bytes[p] = HLL.valOpcode(value: count, len: 1)
                done = true
            }
        }
        // Case C: a ZERO of length 1.
        if !done && isZero && runlen == 1 {
            bytes[p] = HLL.valOpcode(value: count, len: 1)
            done = true
        }
        if !done {
            // Case D: split the opcode into up to three (at most 5 bytes: XZERO VAL XZERO).
            var seq: [UInt8] = []
            let last = first + span - 1
            func zeros(_ len: Int) {
                if len > HLL.sparseZeroMaxLen {
                    let (a, b) = HLL.xzeroOpcode(len: len)
                    seq += [a, b]
                } else {
                    seq.append(HLL.zeroOpcode(len: len))
                }
            }
            if isZero || isXZero {
                if index != first { zeros(index - first) }
                seq.append(HLL.valOpcode(value: count, len: 1))
                if index != last { zeros(last - index) }
            } else {
                let curval = HLL.valValue(opcode)
                if index != first { seq.append(HLL.valOpcode(value: curval, len: index - first)) }
                seq.append(HLL.valOpcode(value: count, len: 1))
                if index != last { seq.append(HLL.valOpcode(value: curval, len: last - index)) }
            }
            // Step 3: put the new sequence in place of the old opcode.
            let oldlen = isXZero ? 2 : 1
            let delta = seq.count - oldlen
            if delta > 0 && length + delta > sparseMaxBytes { return promote(index: index, count: count) }
            if delta != 0, let next {
                let moved = Array(bytes[next..<end])
                bytes.replaceSubrange((next + delta)..<(next + delta + moved.count), with: moved)
            }
            setLength(length + delta)
            bytes.replaceSubrange(p..<(p + seq.count), with: seq)
            end += delta
        }

        // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from prev.
        p = prev ?? sparse
        var scanlen = 5
        while p < end {
            if scanlen == 0 { break }
            scanlen -= 1
            if HLL.isXZero(bytes[p]) { p += 2; continue }
            if HLL.isZero(bytes[p]) { p += 1; continue }
            if p + 1 < end && HLL.isVal(bytes[p + 1]) {
                let v1 = HLL.valValue(bytes[p]), v2 = HLL.valValue(bytes[p + 1])
                if v1 == v2 {
                    let len = HLL.valLen(bytes[p]) + HLL.valLen(bytes[p + 1])
                    if len <= HLL.sparseValMaxLen {
                        bytes[p + 1] = HLL.valOpcode(value: v1, len: len)
                        bytes.replaceSubrange(p..<end, with: bytes[(p + 1)...end])  // memmove(p, p+1, end-p)
                        setLength(length - 1)
                        end -= 1
                        continue
                    }
                }
            }
            p += 1
        }
        HLL.invalidateCache(&bytes)
        return .changed
    }

    /// sdsIncrLen: the new length, and the NUL terminator written behind it.
    private mutating func setLength(_ n: Int) {
        length = n
        if bytes.count < n + 8 { bytes += [UInt8](repeating: 0, count: n + 8 - bytes.count) }
        bytes[n] = 0
    }

    private mutating func promote(index: Int, count: Int) -> HLLSetOutcome {
        guard convertToDense() else { return .invalid }
        _ = HLL.denseSetIfGreater(&bytes, index, count)
        return .changed
    }

    /// hllSparseToDense (a no-op on a dense HLL); false when the sparse opcodes do not cover
    /// exactly 16384 registers. The header, cached cardinality included, is kept.
    mutating func convertToDense() -> Bool {
        if encoding == HLL.encodingDense { return true }
        guard let dense = HLLBuffer.denseRegisters(fromSparse: bytes, length: length) else { return false }
        bytes = dense + [UInt8](repeating: 0, count: 8)
        length = dense.count
        return true
    }

    static func denseRegisters(fromSparse bytes: [UInt8], length: Int) -> [UInt8]? {
        var dense = [UInt8](repeating: 0, count: HLL.denseSize)
        for i in 0..<HLL.headerSize { dense[i] = bytes[i] }
        dense[4] = HLL.encodingDense
        var idx = 0
        var p = HLL.headerSize
        let ok: Bool = dense.withUnsafeMutableBufferPointer { all in
            let regs = UnsafeMutableBufferPointer(rebasing: all[HLL.headerSize...])
            while p < length {
                let b = bytes[p]
                if HLL.isZero(b) {
                    idx += HLL.zeroLen(b); p += 1
                } else if HLL.isXZero(b) {
                    idx += HLL.xzeroLen(b, p + 1 < bytes.count ? bytes[p + 1] : 0); p += 2
                } else {
                    let run = HLL.valLen(b), val = HLL.valValue(b)
                    if run + idx > HLL.registerCount { break }
                    for _ in 0..<run { HLL.denseSet(regs, idx, val); idx += 1 }
                    p += 1
                }
            }
            return idx == HLL.registerCount
        }
        return ok ? dense : nil
    }
}

enum HLLSetOutcome { case unchanged, changed, invalid }

extension HLL {
    /// hllMerge: max[i] = MAX(max[i], register i of `value`); false for a sparse HLL whose opcodes
    /// do not cover exactly 16384 registers. `value` must have passed `HyperLogLog.validate`.
    static func mergeRegisters(into max: inout [UInt8], from value: [UInt8]) -> Bool {
        if value[4] == encodingDense {
            value.withUnsafeBufferPointer { all in
                let regs = UnsafeBufferPointer(rebasing: all[headerSize...])
                for n in 0..<registerCount {
                    let v = UInt8(denseGet(regs, n))
                    if v > max[n] { max[n] = v }
                }
            }
            return true
        }
        var i = 0
        var p = headerSize
        let end = value.count
        while p < end {
            let b = value[p]
            if isZero(b) {
                i += zeroLen(b); p += 1
            } else if isXZero(b) {
                i += xzeroLen(b, p + 1 < end ? value[p + 1] : 0); p += 2
            } else {
                let run = valLen(b), val = UInt8(valValue(b))
                if run + i > registerCount { break }
                for _ in 0..<run {
                    if val > max[i] { max[i] = val }
                    i += 1
                }
                p += 1
            }
        }
        return i == registerCount
    }
}
