import RDB

/// Keys and databases (`db.c`, `expire.c`): DEL/UNLINK, the EXPIRE family with NX/XX/GT/LT (relative forms
/// from 6.2 masters made absolute at apply time), PERSIST, RENAME(NX), MOVE, COPY, SWAPDB, FLUSHDB,
/// FLUSHALL, SELECT.
extension ApplyContext {
    /// Databases a SELECT may name (Redis's `databases` is configurable; this bounds a bad argument).
    static let maxDatabases: Int64 = 1 << 20

    static func registerKeys(_ h: inout [String: Handler]) {
        let del: Handler = { c, a in
            guard a.count >= 2 else { throw ApplyError.arity("del") }
            for k in a.dropFirst() { _ = c.delete(k) }
        }
        h["DEL"] = del
        h["UNLINK"] = del
        h["EXPIRE"] = { try $0.expireCommand($1, unitMs: 1000, relative: true) }
        h["PEXPIRE"] = { try $0.expireCommand($1, unitMs: 1, relative: true) }
        h["EXPIREAT"] = { try $0.expireCommand($1, unitMs: 1000, relative: false) }
        h["PEXPIREAT"] = { try $0.expireCommand($1, unitMs: 1, relative: false) }
        h["PERSIST"] = { c, a in
            guard a.count == 2 else { throw ApplyError.arity("persist") }
            if c.exists(a[1]) { c.ks[c.db, a[1]]?.expireAtMs = nil }
        }
        h["RENAME"] = { try $0.renameCommand($1, nx: false) }
        h["RENAMENX"] = { try $0.renameCommand($1, nx: true) }
        h["MOVE"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("move") }
            let target = try c.database(a[2])
            guard target != c.db else { throw ApplyError("source and destination objects are the same") }
            guard let e = c.entry(a[1]), c.ks[target, a[1]] == nil else { return }
            c.ks[target, a[1]] = KeyEntry(value: e.value, expireAtMs: e.expireAtMs)
            c.ks[c.db, a[1]] = nil
        }
        h["COPY"] = { try $0.copyCommand($1) }
        h["SWAPDB"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("swapdb") }
            let x = try c.database(a[1]), y = try c.database(a[2])
            guard x != y else { return }
            let dx = c.ks.database(x), dy = c.ks.database(y)
            c.ks.setDatabase(x, dy)
            c.ks.setDatabase(y, dx)
        }
        h["FLUSHDB"] = { c, a in
            guard a.count <= 2 else { throw ApplyError.syntax }
            if a.count == 2 { guard ["ASYNC", "SYNC"].contains(Arg.upper(a[1])) else { throw ApplyError.syntax } }
            c.ks.setDatabase(c.db, nil)
        }
        h["FLUSHALL"] = { c, a in
            guard a.count <= 2 else { throw ApplyError.syntax }
            if a.count == 2 { guard ["ASYNC", "SYNC"].contains(Arg.upper(a[1])) else { throw ApplyError.syntax } }
            c.ks.removeAllDatabases()
        }
        h["SELECT"] = { c, a in
            guard a.count == 2 else { throw ApplyError.arity("select") }
            c.db = try c.database(a[1])
        }
    }

    func database(_ raw: Bytes) throws -> Int {
        guard let n = Arg.int64(raw), n >= 0, n < ApplyContext.maxDatabases else { throw ApplyError("DB index is out of range") }
        return Int(n)
    }

    /// `expireGenericCommand`: the key must exist; NX/XX/GT/LT as in 7.0 (no TTL counts as infinite).
    /// A time already past still sets the TTL: a replica waits for the master's DEL.
    mutating func expireCommand(_ a: [Bytes], unitMs: Int64, relative: Bool) throws {
        guard a.count >= 3 else { throw ApplyError.arity("expire") }
        var nx = false, xx = false, gt = false, lt = false
        for o in a.dropFirst(3) {
            switch Arg.upper(o) {
            case "NX": nx = true
            case "XX": xx = true
            case "GT": gt = true
            case "LT": lt = true
            default: throw ApplyError("Unsupported option \(String(decoding: o, as: UTF8.self))")
            }
        }
        if (nx && (xx || gt || lt)) || (gt && lt) { throw ApplyError("NX and XX, GT or LT options at the same time are not compatible") }
        let v = try Arg.int(a[2])
        var (when, o) = v.multipliedReportingOverflow(by: unitMs)
        guard !o else { throw ApplyError("invalid expire time") }
        if relative {
            (when, o) = when.addingReportingOverflow(nowMs)
            guard !o else { throw ApplyError("invalid expire time") }
        }
        ks.modify(db, a[1]) { slot in
            guard slot != nil else { return }
            let current = slot!.expireAtMs
            if nx && current != nil { return }
            if xx && current == nil { return }
            if gt && (current == nil || when <= current!) { return }
            if lt && current != nil && when >= current! { return }
            slot!.expireAtMs = when
        }
    }

    mutating func renameCommand(_ a: [Bytes], nx: Bool) throws {
        guard a.count == 3 else { throw ApplyError.arity(nx ? "renamenx" : "rename") }
        guard let e = entry(a[1]) else { throw ApplyError("no such key") }
        if a[1] == a[2] { return }
        if nx && exists(a[2]) { return }
        ks[db, a[1]] = nil
        ks[db, a[2]] = KeyEntry(value: e.value, expireAtMs: e.expireAtMs, lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq)
    }

    mutating func copyCommand(_ a: [Bytes]) throws {
        guard a.count >= 3 else { throw ApplyError.arity("copy") }
        var target = db
        var replace = false
        var i = 3
        while i < a.count {
            switch Arg.upper(a[i]) {
            case "REPLACE": replace = true
            case "DB" where i + 1 < a.count:
                target = try database(a[i + 1])
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        if target == db && a[1] == a[2] { throw ApplyError("source and destination objects are the same") }
        guard let e = entry(a[1]) else { return }
        if ks[target, a[2]] != nil && !replace { return }
        ks[target, a[2]] = KeyEntry(value: e.value, expireAtMs: e.expireAtMs)
    }
}
