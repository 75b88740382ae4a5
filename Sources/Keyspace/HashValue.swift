import RDB

/// A hash: field/value pairs packed while small, an `ArenaTable` once large; field TTLs (Redis 7.4+) in a
/// side table that stays empty (and allocation-free) for hashes without them. Equality is logical.
public struct HashValue: Sendable, Equatable {
    enum Storage: Sendable {
        /// field, value, field, value, …
        case packed(PackedBytes)
        case table(ArenaTable)
    }
    var storage: Storage = .packed(PackedBytes())
    /// Absolute field expiries in Unix ms.
    public private(set) var fieldExpiry: [Bytes: Int64] = [:]

    public init() {}

    static func loading(_ fields: [HashField]) -> HashValue {
        var h = HashValue()
        if fields.count > PackedLimits.maxEntries
            || fields.contains(where: { $0.field.count > PackedLimits.maxValueBytes || $0.value.count > PackedLimits.maxValueBytes }) {
            var t = ArenaTable(minimumCapacity: fields.count, arenaBytes: fields.reduce(0) {
                $0 + ArenaTable.entryBytes(key: $1.field.count, value: $1.value.count)
            })
            for f in fields { t.set(f.field, f.value) }
            h.storage = .table(t)
        } else {
            // A repeated field keeps its last value, as in the table (`set`): a packed hash never holds a
            // field twice.
            var kept = fields
            if fields.count > 1 {
                var seen = Set<Bytes>()
                kept = fields.reversed().filter { seen.insert($0.field).inserted }
                kept.reverse()
            }
            var p = PackedBytes()
            for f in kept {
                p.append(f.field)
                p.append(f.value)
            }
            h.storage = .packed(p)
        }
        for f in fields { if let e = f.expireAtMs { h.fieldExpiry[f.field] = e } }
        return h
    }

    public var count: Int {
        switch storage {
        case .packed(let p): return p.count / 2
        case .table(let t): return t.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Element index (in the packed buffer) of `field`'s name.
    private func packedIndex(_ p: PackedBytes, _ field: Bytes) -> Int? {
        var idx = 0
        var found: Int?
        p.forEach { e in
            if idx % 2 == 0 && e.count == field.count && e.elementsEqual(field) { found = idx; return false }
            idx += 1
            return true
        }
        return found
    }

    public subscript(field: Bytes) -> Bytes? {
        switch storage {
        case .packed(let p): return packedIndex(p, field).map { p[$0 + 1] }
        case .table(let t): return t.value(field).map { Bytes($0) }
        }
    }

    /// Sets `field` to `value`; true when the field is new. Keeps the field's TTL (callers clear it when
    /// the command says so: plain HSET does, see `t_hash.c` `hashTypeSet`).
    @discardableResult
    public mutating func set(_ field: Bytes, _ value: Bytes) -> Bool {
        switch storage {
        case .packed(var p):
            storage = .packed(PackedBytes())
            defer { if case .packed = storage { storage = .packed(p) } }
            if let i = packedIndex(p, field) {
                p.replace(at: i + 1, with: value)
                return false
            }
            if p.count / 2 + 1 > PackedLimits.maxEntries || field.count > PackedLimits.maxValueBytes
                || value.count > PackedLimits.maxValueBytes {
                var t = ArenaTable(minimumCapacity: p.count / 2 + 1)
                let e = p.elements
                for k in stride(from: 0, to: e.count, by: 2) { t.set(e[k], e[k + 1]) }
                t.set(field, value)
                storage = .table(t)
                return true
            }
            p.append(field)
            p.append(value)
            return true
        case .table(var t):
            storage = .packed(PackedBytes())
            let new = t.set(field, value)
            storage = .table(t)
            return new
        }
    }

    /// Removes `field` (and its TTL); true when it was there.
    @discardableResult
    public mutating func remove(_ field: Bytes) -> Bool {
        fieldExpiry[field] = nil
        switch storage {
        case .packed(var p):
            guard let i = packedIndex(p, field) else { return false }
            storage = .packed(PackedBytes())
            p.removeSubrange(i..<(i + 2))
            storage = .packed(p)
            return true
        case .table(var t):
            storage = .packed(PackedBytes())
            let removed = t.remove(field)
            storage = .table(t)
            return removed
        }
    }

    public mutating func setExpiry(_ field: Bytes, _ atMs: Int64?) { fieldExpiry[field] = atMs }

    /// Pairs in storage order.
    public var pairs: [(Bytes, Bytes)] {
        switch storage {
        case .packed(let p):
            let e = p.elements
            return stride(from: 0, to: e.count, by: 2).map { (e[$0], e[$0 + 1]) }
        case .table(let t):
            var out: [(Bytes, Bytes)] = []
            out.reserveCapacity(t.count)
            t.forEach { out.append((Bytes($0), Bytes($1))) }
            return out
        }
    }

    public var fields: [HashField] {
        pairs.map { HashField(field: $0.0, value: $0.1, expireAtMs: fieldExpiry[$0.0]) }
    }

    public static func == (a: HashValue, b: HashValue) -> Bool {
        a.count == b.count && a.fieldExpiry == b.fieldExpiry && a.pairs.allSatisfy { b[$0.0] == $0.1 }
    }

    var approximateBytes: Int {
        var n: Int
        switch storage {
        case .packed(let p): n = p.byteCount
        case .table(let t): n = t.byteCount
        }
        return n + fieldExpiry.count * 48
    }
}
