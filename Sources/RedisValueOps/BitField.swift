// BITFIELD and BITFIELD_RO, byte for byte as Redis's src/bitops.c (bitfieldGeneric; the same in
// 6.2, 7.x and 8.x apart from what counts as a change).
//
// API:
//   BitField.parse(arguments, readOnly:maxBulkLength:) -> [BitField.Operation] or an error
//       `arguments` are the words after the key: GET type offset | SET type offset value |
//       INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL, in any number and order. Types are
//       i1...i64 and u1...u63; offsets are bits, or "#N" for N * width. Errors come in Redis's
//       order, before any type check of the key.
//   BitField.apply(value, operations) -> BitField.Outcome
//       The new value (nil only if the key was missing and every operation is a GET), one reply
//       per operation (nil: an overflow under FAIL, Redis's null reply), and `changed`: whether
//       Redis counts a change and so propagates the command. When any operation writes, the string
//       is first grown with zero bytes to hold the farthest written bit, even if every write then
//       fails under OVERFLOW FAIL (Redis keeps that growth without propagating it).

public enum BitField {
    public enum Kind: Sendable, Equatable { case get, set, incrBy }
    public enum Overflow: Sendable, Equatable { case wrap, sat, fail }

    public struct Operation: Sendable, Equatable {
        public var kind: Kind
        public var signed: Bool
        public var bits: Int
        public var offset: UInt64
        /// The SET value or the INCRBY increment.
        public var value: Int64
        public var overflow: Overflow
    }

    public struct Outcome: Sendable, Equatable {
        public var value: [UInt8]?
        public var replies: [Int64?]
        public var changed: Bool
    }

    public static func parse(_ arguments: [[UInt8]], readOnly: Bool = false,
                             maxBulkLength: Int64 = BitOps.defaultMaxBulkLength) -> Result<[Operation], BitOpsError> {
        var ops: [Operation] = []
        var overflow = Overflow.wrap
        var writes = false
        var j = 0
        while j < arguments.count {
            let remaining = arguments.count - j - 1
            let sub = arguments[j]
            let kind: Kind
            if RedisArgument.equalsIgnoringCase(sub, "get") && remaining >= 2 {
                kind = .get
            } else if RedisArgument.equalsIgnoringCase(sub, "set") && remaining >= 3 {
                kind = .set
            } else if RedisArgument.equalsIgnoringCase(sub, "incrby") && remaining >= 3 {
                kind = .incrBy
            } else if RedisArgument.equalsIgnoringCase(sub, "overflow") && remaining >= 1 {
                let name = arguments[j + 1]
                j += 2
                if RedisArgument.equalsIgnoringCase(name, "wrap") { overflow = .wrap }
                else if RedisArgument.equalsIgnoringCase(name, "sat") { overflow = .sat }
                else if RedisArgument.equalsIgnoringCase(name, "fail") { overflow = .fail }
                else { return .failure(.overflowType) }
                continue
            } else {
                return .failure(.syntax)
            }
            guard let (signed, bits) = fieldType(arguments[j + 1]) else { return .failure(.bitfieldType) }
            guard let offset = BitOps.bitOffset(arguments[j + 2], bitfieldWidth: bits, maxBulkLength: maxBulkLength) else {
                return .failure(.bitOffset)
            }
            var value: Int64 = 0
            if kind != .get {
                writes = true
                guard let v = RedisArgument.int64(arguments[j + 3]) else { return .failure(.notInteger) }
                value = v
            }
            ops.append(Operation(kind: kind, signed: signed, bits: bits, offset: offset, value: value, overflow: overflow))
            j += kind == .get ? 3 : 4
        }
        if readOnly && writes { return .failure(.bitfieldReadOnly) }
        return .success(ops)
    }

    /// getBitfieldTypeFromArgument: "i" or "u" then 1...64 (i) or 1...63 (u), read up to a NUL
    /// byte as C's strlen does.
    static func fieldType(_ arg: [UInt8]) -> (signed: Bool, bits: Int)? {
        guard let first = arg.first, first == UInt8(ascii: "i") || first == UInt8(ascii: "u") else { return nil }
        let rest = arg.dropFirst()
        let digits = Array(rest.prefix { $0 != 0 })
        guard let bits = RedisArgument.int64(digits), bits >= 1 else { return nil }
        let signed = first == UInt8(ascii: "i")
        if (signed && bits > 64) || (!signed && bits > 63) { return nil }
        return (signed, Int(bits))
    }

    public static func apply(_ value: [UInt8]?, _ ops: [Operation]) -> Outcome {
        var v = value
        var dirty = false
        let writing = ops.contains { $0.kind != .get }
        if writing {
            // lookupStringForBitCommand: create or grow to the farthest written bit.
            let highest = ops.filter { $0.kind != .get }.map { $0.offset + UInt64($0.bits) - 1 }.max()!
            let need = Int(highest >> 3) + 1
            var s = v ?? []
            dirty = v == nil
            if s.count < need {
                s += [UInt8](repeating: 0, count: need - s.count)
                dirty = true
            }
            v = s
        }
        var replies: [Int64?] = []
        var changes = 0
        for op in ops {
            if op.kind == .get {
                replies.append(get(v ?? [], op))
                continue
            }
            if op.signed {
                let old = Int64(bitPattern: signExtend(readBits(v!, op.offset, op.bits), op.bits))
                let (result, overflow): (Int64, Bool)
                let reply: Int64
                if op.kind == .incrBy {
                    let c = checkSigned(old, op.value, op.bits, op.overflow)
                    result = c.overflow ? c.limit : old &+ op.value
                    overflow = c.overflow
                    reply = result
                } else {
                    let c = checkSigned(op.value, 0, op.bits, op.overflow)
                    result = c.overflow ? c.limit : op.value
                    overflow = c.overflow
                    reply = old
                }
                if overflow && op.overflow == .fail {
                    replies.append(nil)
                } else {
                    replies.append(reply)
                    writeBits(&v!, op.offset, op.bits, UInt64(bitPattern: result))
                    if dirty || old != result { changes += 1 }
                }
            } else {
                let old = readBits(v!, op.offset, op.bits)
                var result: UInt64
                let overflow: Bool
                let reply: UInt64
                if op.kind == .incrBy {
                    result = old &+ UInt64(bitPattern: op.value)
                    let c = checkUnsigned(old, op.value, op.bits, op.overflow)
                    if c.overflow { result = c.limit }
                    overflow = c.overflow
                    reply = result
                } else {
                    result = UInt64(bitPattern: op.value)
                    let c = checkUnsigned(result, 0, op.bits, op.overflow)
                    if c.overflow { result = c.limit }
                    overflow = c.overflow
                    reply = old
                }
                if overflow && op.overflow == .fail {
                    replies.append(nil)
                } else {
                    replies.append(Int64(bitPattern: reply))
                    writeBits(&v!, op.offset, op.bits, result)
                    if dirty || old != result { changes += 1 }
                }
            }
        }
        return Outcome(value: v, replies: replies, changed: changes > 0)
    }

    /// GET reads through a zero-padded 9-byte window, so bits past the end read as 0.
    static func get(_ s: [UInt8], _ op: Operation) -> Int64 {
        let byte = op.offset >> 3
        var buf = [UInt8](repeating: 0, count: 9)
        for i in 0..<9 where byte + UInt64(i) < UInt64(s.count) { buf[i] = s[Int(byte) + i] }
        let raw = readBits(buf, op.offset - byte * 8, op.bits)
        return op.signed ? Int64(bitPattern: signExtend(raw, op.bits)) : Int64(bitPattern: raw)
    }

    /// getUnsignedBitfield: `bits` bits from bit `offset`, most significant first.
    static func readBits(_ p: [UInt8], _ offset: UInt64, _ bits: Int) -> UInt64 {
        var value: UInt64 = 0
        var off = offset
        for _ in 0..<bits {
            let bit = (p[Int(off >> 3)] >> (7 - UInt8(off & 7))) & 1
            value = value << 1 | UInt64(bit)
            off += 1
        }
        return value
    }

    static func signExtend(_ raw: UInt64, _ bits: Int) -> UInt64 {
        if bits < 64 && raw & (1 << UInt64(bits - 1)) != 0 { return raw | (UInt64.max << UInt64(bits)) }
        return raw
    }

    /// setUnsignedBitfield: the low `bits` bits of `value`, most significant first.
    static func writeBits(_ p: inout [UInt8], _ offset: UInt64, _ bits: Int, _ value: UInt64) {
        var off = offset
        for j in 0..<bits {
            let bitval: UInt8 = value & (1 << UInt64(bits - 1 - j)) != 0 ? 1 : 0
            let byte = Int(off >> 3)
            let shift = 7 - UInt8(off & 7)
            p[byte] = (p[byte] & ~(1 << shift)) | (bitval << shift)
            off += 1
        }
    }

    /// checkUnsignedBitfieldOverflow: whether value + incr leaves 0...2^bits-1, and the wrapped or
    /// saturated result (`limit`) when it does.
    static func checkUnsigned(_ value: UInt64, _ incr: Int64, _ bits: Int, _ ow: Overflow) -> (overflow: Bool, limit: UInt64) {
        let max: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        let maxincr = Int64(bitPattern: max &- value)
        let minincr = Int64(bitPattern: 0 &- value)
        func wrap() -> UInt64 { (value &+ UInt64(bitPattern: incr)) & ~(UInt64.max << UInt64(bits)) }
        if value > max || (incr > 0 && incr > maxincr) {
            return (true, ow == .wrap ? wrap() : ow == .sat ? max : 0)
        }
        if incr < 0 && incr < minincr {
            return (true, ow == .wrap ? wrap() : 0)
        }
        return (false, 0)
    }

    /// checkSignedBitfieldOverflow, with C's wrapping arithmetic where Redis relies on it.
    static func checkSigned(_ value: Int64, _ incr: Int64, _ bits: Int, _ ow: Overflow) -> (overflow: Bool, limit: Int64) {
        let max: Int64 = bits == 64 ? .max : (1 << Int64(bits - 1)) - 1
        let min = -max - 1
        let maxincr = Int64(bitPattern: UInt64(bitPattern: max) &- UInt64(bitPattern: value))
        let minincr = min &- value
        func wrap() -> Int64 {
            var c = UInt64(bitPattern: value) &+ UInt64(bitPattern: incr)
            if bits < 64 {
                let mask = UInt64.max << UInt64(bits)
                c = c & (1 << UInt64(bits - 1)) != 0 ? c | mask : c & ~mask
            }
            return Int64(bitPattern: c)
        }
        if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
            return (true, ow == .wrap ? wrap() : ow == .sat ? max : 0)
        }
        if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
            return (true, ow == .wrap ? wrap() : ow == .sat ? min : 0)
        }
        return (false, 0)
    }
}
