import RDB

/// Hashes (`t_hash.c`): HSET/HMSET (HINCRBYFLOAT arrives as HSET), HSETNX, HDEL, HINCRBY, and field TTLs
/// (7.4+): HPEXPIREAT (the HEXPIRE family's rewritten form) with NX/XX/GT/LT, HPERSIST, and the 8.0
/// HSETEX / HGETEX / HGETDEL, applied with their full semantics whatever form they arrive in.
/// HSET drops a field's TTL; HINCRBY keeps it (`HASH_SET_KEEP_TTL`).
extension ApplyContext {
    static func registerHashes(_ h: inout [String: Handler]) {
        let hset: Handler = { c, a in
            guard a.count >= 4, a.count % 2 == 0 else { throw ApplyError.arity("hset") }
            _ = try c.hash(a[1])
            try c.mutateHash(a[1], create: true) { h in
                for i in stride(from: 2, to: a.count, by: 2) {
                    h.set(a[i], a[i + 1])
                    h.setExpiry(a[i], nil)
                }
            }
        }
        h["HSET"] = hset
        h["HMSET"] = hset
        h["HSETNX"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("hsetnx") }
            if try c.hash(a[1])?[a[2]] != nil { return }
            try c.mutateHash(a[1], create: true) { h in h.set(a[2], a[3]) }
        }
        h["HDEL"] = { c, a in
            guard a.count >= 3 else { throw ApplyError.arity("hdel") }
            guard try c.hash(a[1]) != nil else { return }
            try c.mutateHash(a[1], create: false) { h in for f in a[2...] { h.remove(f) } }
        }
        h["HGETDEL"] = { c, a in
            guard a.count >= 5, Arg.upper(a[2]) == "FIELDS", let n = Arg.int64(a[3]), n >= 1, n == Int64(a.count - 4) else { throw ApplyError.syntax }
            guard try c.hash(a[1]) != nil else { return }
            try c.mutateHash(a[1], create: false) { h in for f in a[4...] { h.remove(f) } }
        }
        h["HINCRBY"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("hincrby") }
            let by = try Arg.int(a[3])
            var cur: Int64 = 0
            if let old = try c.hash(a[1])?[a[2]] {
                guard let v = Arg.int64(old) else { throw ApplyError("hash value is not an integer") }
                cur = v
            }
            let (r, o) = cur.addingReportingOverflow(by)
            guard !o else { throw ApplyError("increment or decrement would overflow") }
            try c.mutateHash(a[1], create: true) { h in h.set(a[2], Arg.text(r)) }
        }
        h["HPEXPIREAT"] = { try $0.hexpire($1, unitMs: 1, relative: false) }
        h["HEXPIREAT"] = { try $0.hexpire($1, unitMs: 1000, relative: false) }
        h["HPEXPIRE"] = { try $0.hexpire($1, unitMs: 1, relative: true) }
        h["HEXPIRE"] = { try $0.hexpire($1, unitMs: 1000, relative: true) }
        h["HPERSIST"] = { c, a in
            let fields = try ApplyContext.fieldsArgument(a, at: 2)
            guard try c.hash(a[1]) != nil else { return }
            try c.mutateHash(a[1], create: false) { h in for f in fields where h[f] != nil { h.setExpiry(f, nil) } }
        }
        h["HSETEX"] = { try $0.hsetex($1) }
        h["HGETEX"] = { try $0.hgetex($1) }
    }

    mutating func mutateHash(_ key: Bytes, create: Bool, _ body: (inout HashValue) throws -> Void) throws {
        try mutate(key, create: create ? { .hash(HashValue()) } : nil) { v in
            guard case .hash(var h) = v else { return }
            v = .string([])
            try body(&h)
            v = .hash(h)
        }
    }

    /// `FIELDS numfields field…` starting at `a[at]`, the count matching the rest exactly.
    static func fieldsArgument(_ a: [Bytes], at: Int) throws -> ArraySlice<Bytes> {
        guard a.count > at + 1, Arg.upper(a[at]) == "FIELDS" else {
            throw ApplyError("Mandatory argument FIELDS is missing or not at the right position")
        }
        guard let n = Arg.int64(a[at + 1]), n >= 1, n == Int64(a.count - at - 2) else {
            throw ApplyError("The `numfields` parameter must match the number of arguments")
        }
        return a[(at + 2)...]
    }

    /// The largest field expiry Redis accepts (`HFE_MAX_ABS_TIME_MSEC`, 2^48 - 1).
    static let maxFieldExpiry: Int64 = (1 << 48) - 1

    mutating func hexpire(_ a: [Bytes], unitMs: Int64, relative: Bool) throws {
        guard a.count >= 6 else { throw ApplyError.arity("hexpire") }
        let v = try Arg.int(a[2])
        guard v >= 0, v <= ApplyContext.maxFieldExpiry / unitMs else { throw ApplyError("invalid expire time") }
        var when = v * unitMs
        if relative { when += nowMs }
        guard when <= ApplyContext.maxFieldExpiry else { throw ApplyError("invalid expire time") }
        var cond = ""
        var at = 3
        if ["NX", "XX", "GT", "LT"].contains(Arg.upper(a[3])) { cond = Arg.upper(a[3]); at = 4 }
        let fields = try ApplyContext.fieldsArgument(a, at: at)
        guard try hash(a[1]) != nil else { return }
        try mutateHash(a[1], create: false) { h in
            for f in fields where h[f] != nil {
                let cur = h.fieldExpiry[f]
                switch cond {
                case "NX" where cur != nil: continue
                case "XX" where cur == nil: continue
                case "GT" where cur == nil || when <= cur!: continue
                case "LT" where cur != nil && when >= cur!: continue
                default: break
                }
                // A replica keeps a past time too and waits for the master's HDEL.
                h.setExpiry(f, when)
            }
        }
    }

    /// `EX s | PX ms | EXAT s | PXAT ms` for a field TTL, as an absolute time.
    func fieldExpireArgument(_ unit: String, _ raw: Bytes) throws -> Int64 {
        let v = try Arg.int(raw)
        guard v >= 0 else { throw ApplyError("invalid expire time") }
        guard v <= ApplyContext.maxFieldExpiry else { throw ApplyError("invalid expire time") }
        let ms = unit.hasPrefix("EX") ? v * 1000 : v
        let abs = unit.hasSuffix("AT") ? ms : ms + nowMs
        guard abs <= ApplyContext.maxFieldExpiry else { throw ApplyError("invalid expire time") }
        return abs
    }

    /// `HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT t | KEEPTTL] FIELDS n field value …`.
    mutating func hsetex(_ a: [Bytes]) throws {
        var i = 2
        var fnx = false, fxx = false, keepTTL = false
        var at: Int64?
        while i < a.count, Arg.upper(a[i]) != "FIELDS" {
            let o = Arg.upper(a[i])
            switch o {
            case "FNX": fnx = true
            case "FXX": fxx = true
            case "KEEPTTL": keepTTL = true
            case "EX", "PX", "EXAT", "PXAT":
                guard i + 1 < a.count, at == nil else { throw ApplyError.syntax }
                at = try fieldExpireArgument(o, a[i + 1])
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        guard i + 1 < a.count, let n = Arg.int64(a[i + 1]), n >= 1, Int64(a.count - i - 2) == 2 * n else { throw ApplyError.syntax }
        let pairs = a[(i + 2)...]
        let h0 = try hash(a[1])
        let fields = stride(from: pairs.startIndex, to: pairs.endIndex, by: 2).map { pairs[$0] }
        if fnx && fields.contains(where: { h0?[$0] != nil }) { return }
        if fxx && (h0 == nil || fields.contains(where: { h0?[$0] == nil })) { return }
        try mutateHash(a[1], create: true) { h in
            for j in stride(from: pairs.startIndex, to: pairs.endIndex, by: 2) {
                h.set(pairs[j], pairs[j + 1])
                if let at { h.setExpiry(pairs[j], at) } else if !keepTTL { h.setExpiry(pairs[j], nil) }
            }
        }
    }

    /// `HGETEX key [EX|PX|EXAT|PXAT t | PERSIST] FIELDS n field …`: only the TTL changes.
    mutating func hgetex(_ a: [Bytes]) throws {
        var i = 2
        var persist = false
        var at: Int64?
        if i < a.count, Arg.upper(a[i]) != "FIELDS" {
            let o = Arg.upper(a[i])
            switch o {
            case "PERSIST": persist = true
            case "EX", "PX", "EXAT", "PXAT":
                guard i + 1 < a.count else { throw ApplyError.syntax }
                at = try fieldExpireArgument(o, a[i + 1])
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        let fields = try ApplyContext.fieldsArgument(a, at: i)
        guard try hash(a[1]) != nil, persist || at != nil else { return }
        try mutateHash(a[1], create: false) { h in
            for f in fields where h[f] != nil { h.setExpiry(f, persist ? nil : at) }
        }
    }
}
