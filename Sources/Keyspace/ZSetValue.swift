import Base
import RDB

/// Redis's sorted-set order (`t_zset.c` `zslInsert`): by score, then by member bytes (`sdscmp`).
@inline(__always) func zsetPrecedes(_ a: (member: Bytes, score: Double), _ b: (member: Bytes, score: Double)) -> Bool {
    if a.score != b.score { return a.score < b.score }
    return a.member.lexicographicallyPrecedes(b.member)
}

/// A sorted set with exact doubles: packed and kept in order while small; a member->score table
/// once large (an `ArenaTable` of member -> the score's 8 bytes), ordered on demand for the rank operations. Equality is logical (bit-exact scores).
public struct ZSetValue: Sendable, Equatable {
    enum Storage: Sendable {
        /// Members in order, with their scores in a parallel array.
        case packed(PackedBytes, [Double])
        case table(ArenaTable)
    }
    var storage: Storage = .packed(PackedBytes(), []) {
        didSet { order = nil }
    }
    /// For a large (table) set, the Redis order computed by the first `sorted` read and kept until the set
    /// changes: range reads on an unchanged set sort once, not per read. A box shared by the copies of this
    /// value (readers' snapshots included), replaced whenever the set changes; nil for a packed set.
    private var order: OrderCache?

    public init() {}

    /// Gives a table set a fresh, empty order cache (after it changed).
    private mutating func resetOrder() {
        if case .table = storage { order = OrderCache() }
    }

    public init<S: Sequence>(_ items: S) where S.Element == (member: Bytes, score: Double) {
        for i in items { set(i.member, i.score) }
    }

    /// A whole result built at once, as Redis builds a Z*STORE destination (`zsetConvertToListpackIfNeeded`):
    /// packed (with -0 stored as 0, unless `keepNegativeZero`: a master before 7.0) when small enough,
    /// otherwise hashed with the scores exact.
    static func built(_ items: [(member: Bytes, score: Double)], keepNegativeZero: Bool = false) -> ZSetValue {
        var z = ZSetValue()
        if items.count > PackedLimits.maxEntries || items.contains(where: { $0.member.count > PackedLimits.maxValueBytes }) {
            var t = ArenaTable(minimumCapacity: items.count,
                               arenaBytes: items.reduce(0) { $0 + ArenaTable.entryBytes(key: $1.member.count, value: 8) })
            for i in items { t.set(i.member, encodeScore(i.score)) }
            z.storage = .table(t)
            z.resetOrder()
        } else {
            for i in items { z.set(i.member, i.score, keepNegativeZero: keepNegativeZero) }
        }
        return z
    }

    static func loading(_ members: [SortedSetMember]) -> ZSetValue {
        var z = ZSetValue()
        if members.count > PackedLimits.maxEntries || members.contains(where: { $0.member.count > PackedLimits.maxValueBytes }) {
            var t = ArenaTable(minimumCapacity: members.count,
                               arenaBytes: members.reduce(0) { $0 + ArenaTable.entryBytes(key: $1.member.count, value: 8) })
            for m in members { t.set(m.member, encodeScore(m.score)) }
            z.storage = .table(t)
            z.resetOrder()
        } else {
            // Sorted once and appended (a file's listpack is already in order), instead of an
            // insertion per member; a repeated member keeps its last score, as `set` would.
            var seen = Set<Bytes>()
            var items: [(member: Bytes, score: Double)] = []
            for m in members.reversed() where seen.insert(m.member).inserted { items.append((m.member, m.score)) }
            items.sort(by: zsetPrecedes)
            var p = PackedBytes()
            for i in items { p.append(i.member) }
            z.storage = .packed(p, items.map(\.score))
        }
        return z
    }

    public var count: Int {
        switch storage {
        case .packed(let p, _): return p.count
        case .table(let t): return t.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    public func score(_ member: Bytes) -> Double? {
        switch storage {
        case .packed(let p, let s): return p.firstIndex(of: member).map { s[$0] }
        case .table(let t): return t.value(member).map { decodeScore($0) }
        }
    }

    /// Inserts or re-scores `member`; true when it is new. A packed set stores -0.0 as 0, as Redis 7+'s
    /// listpack does (`zzlInsertAt` writes a score that `double2ll` accepts as the integer 0); loading
    /// keeps a file's -0 as stored (`keepNegativeZero`), so load and save stay lossless. A member that makes
    /// the set too big for the packed form converts it first and goes into the table with its exact score,
    /// -0 included, as `zsetAdd` converts before it inserts.
    @discardableResult
    public mutating func set(_ member: Bytes, _ newScore: Double, keepNegativeZero: Bool = false) -> Bool {
        var score = newScore
        switch storage {
        case .packed(var p, var s):
            storage = .packed(PackedBytes(), [])
            var isNew = true
            if let i = p.firstIndex(of: member) {
                p.remove(at: i)
                s.remove(at: i)
                isNew = false
            }
            if p.count + 1 > PackedLimits.maxEntries || member.count > PackedLimits.maxValueBytes {
                var t = ArenaTable(minimumCapacity: p.count + 1)
                for (i, m) in p.elements.enumerated() { t.set(m, encodeScore(s[i])) }
                t.set(member, encodeScore(score))
                storage = .table(t)
                resetOrder()
                return isNew
            }
            if score == 0 && !keepNegativeZero { score = 0 }
            // Insertion point: the first element that does not precede the new one.
            var pos = 0
            var idx = 0
            p.forEach { e in
                let precedes = s[idx] != score ? s[idx] < score : e.lexicographicallyPrecedes(member)
                if precedes {
                    pos = idx + 1
                    idx += 1
                    return true
                }
                return false
            }
            p.insert(member, at: pos)
            s.insert(score, at: pos)
            storage = .packed(p, s)
            return isNew
        case .table(var t):
            storage = .packed(PackedBytes(), [])
            let isNew = t.set(member, encodeScore(score))
            storage = .table(t)
            resetOrder()
            return isNew
        }
    }

    /// `zsetConvert(zobj, OBJ_ENCODING_SKIPLIST)`, which Redis's `SORT` does to every sorted set it reads,
    /// whatever its size (`sort.c`, all versions), and which nothing but a reload undoes: the scores stay as
    /// stored, and later writes keep theirs exactly (a -0 stays -0, where a listpack would store 0).
    mutating func convertToTable() {
        guard case .packed(let p, let s) = storage else { return }
        var t = ArenaTable(minimumCapacity: p.count)
        for (i, m) in p.elements.enumerated() { t.set(m, encodeScore(s[i])) }
        storage = .table(t)
        resetOrder()
    }

    @discardableResult
    public mutating func remove(_ member: Bytes) -> Bool {
        switch storage {
        case .packed(var p, var s):
            guard let i = p.firstIndex(of: member) else { return false }
            storage = .packed(PackedBytes(), [])
            p.remove(at: i)
            s.remove(at: i)
            storage = .packed(p, s)
            return true
        case .table(var t):
            storage = .packed(PackedBytes(), [])
            let removed = t.remove(member)
            storage = .table(t)
            resetOrder()
            return removed
        }
    }

    /// All members in Redis order (score, then member bytes).
    public var sorted: [(member: Bytes, score: Double)] {
        switch storage {
        case .packed(let p, let s): return p.elements.enumerated().map { ($0.element, s[$0.offset]) }
        case .table(let t): return Self.items(t).sorted(by: zsetPrecedes)
        }
    }

    /// `sorted`, for the read commands: a large set's order is computed once per version of the set and kept
    /// (in the box this value's copies share) until it changes, so repeated range reads do not sort it each
    /// time. The applier and snapshots use `sorted`, which keeps nothing (a kept order costs memory).
    public var sortedKeepingOrder: [(member: Bytes, score: Double)] {
        guard case .table(let t) = storage, let order else { return sorted }
        return order.get { Self.items(t).sorted(by: zsetPrecedes) }
    }

    /// Members in storage order (unordered when large).
    public var unordered: [(member: Bytes, score: Double)] {
        switch storage {
        case .packed: return sorted
        case .table(let t): return Self.items(t)
        }
    }

    private static func items(_ t: ArenaTable) -> [(member: Bytes, score: Double)] {
        var out: [(member: Bytes, score: Double)] = []
        out.reserveCapacity(t.count)
        t.forEach { out.append((member: Bytes($0), score: decodeScore($1))) }
        return out
    }

    public static func == (a: ZSetValue, b: ZSetValue) -> Bool {
        a.count == b.count && a.unordered.allSatisfy { b.score($0.member)?.bitPattern == $0.score.bitPattern }
    }

    var approximateBytes: Int {
        switch storage {
        case .packed(let p, let s): return p.byteCount + s.count * 8
        case .table(let t): return t.byteCount
        }
    }
}

/// A large sorted set's members in Redis order, computed once (under a lock: readers on the serving loop and
/// the applier's compaction may ask at the same time) for one unchanged version of the set.
final class OrderCache: @unchecked Sendable {
    private let lock = Lock()
    private var items: [(member: Bytes, score: Double)]?

    func get(_ compute: () -> [(member: Bytes, score: Double)]) -> [(member: Bytes, score: Double)] {
        lock.withLock {
            if let items { return items }
            let computed = compute()
            items = computed
            return computed
        }
    }
}
