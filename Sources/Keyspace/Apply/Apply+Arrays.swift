import RDB
import RedisValueOps

/// Redis 8.10 arrays (`t_array.c`): ARSET, ARMSET, ARDEL, ARDELRANGE, ARINSERT, ARRING and ARSEEK, which a
/// master propagates as sent (nothing in `t_array.c` rewrites its command). Each follows the command's own
/// checks and order of effects, so what the master accepted lands here the same way; an argument the master
/// would have refused means the stream is not the master's, and diverges. Values are stored as sent: Redis's
/// inline encodings always decode to the same bytes.
extension ApplyContext {
    static func registerArrays(_ h: inout [String: Handler]) {
        h["ARSET"] = { try $0.arset($1) }
        h["ARMSET"] = { try $0.armset($1) }
        h["ARDEL"] = { try $0.ardel($1) }
        h["ARDELRANGE"] = { try $0.ardelrange($1) }
        h["ARINSERT"] = { try $0.arinsert($1) }
        h["ARRING"] = { try $0.arring($1) }
        h["ARSEEK"] = { try $0.arseek($1) }
    }

    /// `getArrayIndexFromObject` (`RedisArgument.arrayIndex`), refused as the master refuses it.
    static func arrayIndex(_ b: Bytes, allowMax: Bool = false) throws -> UInt64 {
        guard let v = RedisArgument.arrayIndex(b, allowMax: allowMax) else { throw ApplyError("invalid array index") }
        return v
    }

    /// The array at `key` for a write: WRONGTYPE for another type; created when missing and `create`
    /// (`lookupArrayForWriteOrReply`); the key goes when its last element does.
    mutating func mutateArray(_ key: Bytes, create: Bool, _ body: (inout ArrayData) throws -> Void) throws {
        if let e = entry(key) { guard case .array = e.value else { throw ApplyError.wrongType } }
        try mutate(key, create: create ? { .array(ArrayData()) } : nil) { v in
            guard case .array(var a) = v else { return }
            v = .string([])
            defer { v = .array(a) }
            try body(&a)
        }
    }

    /// ARSET key index value [value ...]: contiguous values from `index`.
    mutating func arset(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("arset") }
        let start = try Self.arrayIndex(a[2])
        let (last, overflow) = start.addingReportingOverflow(UInt64(a.count - 4))
        guard !overflow, last != UInt64.max else { throw ApplyError("array index overflow") }
        try mutateArray(a[1], create: true) { ar in
            var i = start
            for v in a[3...] {
                ar.set(i, v)
                i &+= 1
            }
        }
    }

    /// ARMSET key index value [index value ...]: every index checked before anything is set.
    mutating func armset(_ a: [Bytes]) throws {
        guard a.count >= 4, a.count % 2 == 0 else { throw ApplyError.arity("armset") }
        let indexes = try stride(from: 2, to: a.count, by: 2).map { try Self.arrayIndex(a[$0]) }
        try mutateArray(a[1], create: true) { ar in
            for (n, i) in indexes.enumerated() { ar.set(i, a[3 + 2 * n]) }
        }
    }

    /// ARDEL key index [index ...].
    mutating func ardel(_ a: [Bytes]) throws {
        guard a.count >= 3 else { throw ApplyError.arity("ardel") }
        let indexes = try a[2...].map { try Self.arrayIndex($0) }
        try mutateArray(a[1], create: false) { ar in
            for i in indexes { ar.remove(i) }
        }
    }

    /// ARDELRANGE key start end [start end ...]: each pair in either order, inclusive.
    mutating func ardelrange(_ a: [Bytes]) throws {
        guard a.count >= 4, a.count % 2 == 0 else { throw ApplyError.arity("ardelrange") }
        let bounds = try a[2...].map { try Self.arrayIndex($0) }
        try mutateArray(a[1], create: false) { ar in
            for p in stride(from: 0, to: bounds.count, by: 2) {
                _ = ar.removeRange(min(bounds[p], bounds[p + 1]), max(bounds[p], bounds[p + 1]))
            }
        }
    }

    /// ARINSERT key value [value ...]: from the index after the cursor (0 when none), which then names the
    /// last one written.
    mutating func arinsert(_ a: [Bytes]) throws {
        guard a.count >= 3 else { throw ApplyError.arity("arinsert") }
        try mutateArray(a[1], create: true) { ar in
            var start: UInt64 = 0
            if let i = ar.insertIndex {
                guard i < UInt64.max - 1 else { throw ApplyError("insert index overflow") }
                start = i + 1
            }
            let (last, overflow) = start.addingReportingOverflow(UInt64(a.count - 3))
            guard !overflow, last != UInt64.max else { throw ApplyError("insert index overflow") }
            var i = start
            for v in a[2...] {
                ar.set(i, v)
                i &+= 1
            }
            ar.insertIndex = last
        }
    }

    /// ARRING key size value [value ...]: a ring of `size` slots from index 0; a size that changes the ring's
    /// shape first rebuilds it (`arRingNeedsRework`, `arRingRework`).
    mutating func arring(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("arring") }
        guard let size = Arg.int64(a[2]) else { throw ApplyError("invalid size") }
        guard size > 0 else { throw ApplyError("size must be positive") }
        let ring = UInt64(size)
        try mutateArray(a[1], create: true) { ar in
            let span = ar.length()
            var keep: UInt64 = 0
            if span > 0 {
                if ring < span {
                    keep = ring
                } else if ring > span, let i = ar.insertIndex, i &+ 1 < span {
                    keep = span
                }
            }
            if keep > 0 { ar = Self.ringRework(ar, span: span, keep: keep) }
            for v in a[3...] {
                var cursor: UInt64 = ar.insertIndex.map { $0 &+ 1 } ?? 0
                if cursor >= ring { cursor %= ring }
                ar.set(cursor, v)
                ar.insertIndex = cursor
            }
        }
    }

    /// `arRingRework`: the newest run of present positions (at most `keep`, walking back from the cursor
    /// folded into the span, stopping at the first hole), replayed oldest first from index 0.
    static func ringRework(_ ar: ArrayData, span: UInt64, keep: UInt64) -> ArrayData {
        let anchor = ar.insertIndex.map { $0 % span } ?? (span - 1)
        var retained: UInt64 = 0
        var src = anchor
        while retained < keep {
            guard ar[src] != nil else { break }
            retained += 1
            src = src == 0 ? span - 1 : src - 1
        }
        src += 1
        if src == span { src = 0 }
        var out = ArrayData()
        var dst: UInt64 = 0
        while dst < retained {
            out.set(dst, ar[src]!)
            src += 1
            if src == span { src = 0 }
            dst += 1
        }
        if retained > 0 { out.insertIndex = retained - 1 }
        return out
    }

    /// ARSEEK key index: the next ARINSERT/ARRING writes at `index` (0 clears the cursor); 2^64-1 is allowed.
    mutating func arseek(_ a: [Bytes]) throws {
        guard a.count == 3 else { throw ApplyError.arity("arseek") }
        let i = try Self.arrayIndex(a[2], allowMax: true)
        try mutateArray(a[1], create: false) { ar in
            ar.insertIndex = i == 0 ? nil : i - 1
        }
    }
}
