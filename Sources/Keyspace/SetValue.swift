import RDB

/// Thresholds for the packed (listpack-like) forms, Redis's defaults (`set-max-listpack-entries`,
/// `hash-max-listpack-entries`/`-value`, `zset-max-listpack-entries`/`-value`). A collection moves to
/// its hashed form when it outgrows them and never moves back, as in Redis.
public enum PackedLimits {
    public static let maxEntries = 128
    public static let maxValueBytes = 64
}

/// A set: packed while small, an `ArenaTable` (members as keys, empty values) once large. Equality is
/// logical (order-independent).
public struct SetValue: Sendable, Equatable {
    enum Storage: Sendable {
        case packed(PackedBytes)
        case table(ArenaTable)
    }
    var storage: Storage = .packed(PackedBytes())

    public init() {}

    public init<S: Sequence>(_ members: S) where S.Element == Bytes {
        for m in members { insert(m) }
    }

    /// Members from a file, assumed distinct (the reader rejects nothing here; duplicates collapse).
    static func loading(_ members: [Bytes]) -> SetValue {
        var s = SetValue()
        if members.count > PackedLimits.maxEntries || members.contains(where: { $0.count > PackedLimits.maxValueBytes }) {
            var t = ArenaTable(minimumCapacity: members.count,
                               arenaBytes: members.reduce(0) { $0 + ArenaTable.entryBytes(key: $1.count, value: 0) })
            for m in members { t.set(m, EmptyCollection()) }
            s.storage = .table(t)
        } else {
            s = SetValue(members)
        }
        return s
    }

    public var count: Int {
        switch storage {
        case .packed(let p): return p.count
        case .table(let t): return t.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    public func contains(_ m: Bytes) -> Bool {
        switch storage {
        case .packed(let p): return p.contains(m)
        case .table(let t): return t.contains(m)
        }
    }

    /// Adds `m`; true when it was not there.
    @discardableResult
    public mutating func insert(_ m: Bytes) -> Bool {
        switch storage {
        case .packed(var p):
            if p.contains(m) { return false }
            if p.count + 1 > PackedLimits.maxEntries || m.count > PackedLimits.maxValueBytes {
                var t = ArenaTable(minimumCapacity: p.count + 1)
                p.forEach { t.set(Bytes($0), EmptyCollection()); return true }
                t.set(m, EmptyCollection())
                storage = .table(t)
            } else {
                storage = .packed(PackedBytes())
                p.append(m)
                storage = .packed(p)
            }
            return true
        case .table(var t):
            storage = .packed(PackedBytes())
            let inserted = t.set(m, EmptyCollection(), replace: false)
            storage = .table(t)
            return inserted
        }
    }

    /// Removes `m`; true when it was there.
    @discardableResult
    public mutating func remove(_ m: Bytes) -> Bool {
        switch storage {
        case .packed(var p):
            guard let i = p.firstIndex(of: m) else { return false }
            storage = .packed(PackedBytes())
            p.remove(at: i)
            storage = .packed(p)
            return true
        case .table(var t):
            storage = .packed(PackedBytes())
            let removed = t.remove(m)
            storage = .table(t)
            return removed
        }
    }

    /// Members in storage order.
    public var members: [Bytes] {
        switch storage {
        case .packed(let p): return p.elements
        case .table(let t): return t.keys
        }
    }

    /// Calls `body` with each member's bytes in `members`' order, lent from the storage.
    public func forEachLent(_ body: (UnsafeRawBufferPointer) -> Void) {
        switch storage {
        case .packed(let p): p.forEachLent(body)
        case .table(let t): t.forEachKeyLent(body)
        }
    }

    /// Members sorted by bytes (canonical order, and Redis's `SORT … ALPHA` order for equal keys).
    public var sortedMembers: [Bytes] { members.sorted { $0.lexicographicallyPrecedes($1) } }

    public static func == (a: SetValue, b: SetValue) -> Bool {
        a.count == b.count && a.members.allSatisfy { b.contains($0) }
    }

    var approximateBytes: Int {
        switch storage {
        case .packed(let p): return p.byteCount
        case .table(let t): return t.byteCount
        }
    }
}
