import RDB

/// One difference between two RDB files.
public struct RDBDifference: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case onlyInA = "only_in_a"
        case onlyInB = "only_in_b"
        case changed = "changed"
        case functionOnlyInA = "function_only_in_a"
        case functionOnlyInB = "function_only_in_b"
    }

    /// What differs for a key in both files.
    public struct Aspects: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let type = Aspects(rawValue: 1)
        public static let value = Aspects(rawValue: 2)
        public static let ttl = Aspects(rawValue: 4)
        public var names: [String] {
            var n: [String] = []
            if contains(.type) { n.append("type") }
            if contains(.value) { n.append("value") }
            if contains(.ttl) { n.append("ttl") }
            return n
        }
    }

    public var kind: Kind
    public var db: Int
    /// The key (or, for functions, the library code).
    public var key: Bytes
    public var aspects: Aspects
    /// Type names and expiries on each side (nil where the key is absent or has no TTL).
    public var typeA: String?
    public var typeB: String?
    public var ttlA: Int64?
    public var ttlB: Int64?
}

/// Compares two files key by key, by content (`ContentDigest`), in two streaming passes: `index(_:)` gets
/// file A's records and keeps, per key, its type, TTL and a 128-bit content digest (memory: the keys plus
/// ~48 bytes each, never values); `compare(_:)` gets file B's records and reports each key that is only in B
/// or differs; `finish()` reports A's keys that B did not have, in A's file order.
///
/// LRU/LFU hints, encodings, RDB versions, AUX fields and the order of keys are not compared. Function
/// libraries are compared as a set of code strings.
public final class RDBDiff {
    /// A key in a db; `occurrence` tells apart repeats of one key in one file (Redis refuses such files on
    /// load, but some exist): the n-th occurrence in B is compared with the n-th in A.
    struct KeyID: Hashable {
        var db: Int
        var key: Bytes
        var occurrence = 0
    }

    struct Fingerprint {
        var ordinal: Int
        var type: String
        var ttl: Int64?
        var digest: ContentDigest
        var seen = false
    }

    private var index: [KeyID: Fingerprint] = [:]
    private var functionsA: Set<Bytes> = []
    private var functionsB: Set<Bytes> = []
    private var ordinal = 0
    public private(set) var keysA = 0
    public private(set) var keysB = 0
    public private(set) var differences = 0

    public init() {}

    /// Pass 1: a record of file A. `lent`: the arena of `RDBReader.next(lendingInto:)` when the record came
    /// from it (the entry's value is then digested from the arena unless `lent.kind` is `.none`).
    public func index(_ record: RDBRecord, lent: RDBValueArena? = nil) {
        switch record {
        case .entry(let e):
            keysA += 1
            var id = KeyID(db: e.db, key: e.key)
            while index[id] != nil { id.occurrence += 1 }
            index[id] = Fingerprint(
                ordinal: ordinal, type: e.value.typeName, ttl: e.expireAtMs, digest: Self.digest(e, lent))
            ordinal += 1
        case .function(let code):
            functionsA.insert(code)
        default:
            break
        }
    }

    @inline(__always)
    static func digest(_ e: RDBEntry, _ lent: RDBValueArena?) -> ContentDigest {
        lent.flatMap { ContentDigest.of(lent: $0) } ?? ContentDigest.of((lent?.materialized(e) ?? e).value)
    }

    /// Pass 2: a record of file B; `report` gets each difference found. `lent` as for `index`.
    public func compare(_ record: RDBRecord, lent: RDBValueArena? = nil,
                        report: (RDBDifference) throws -> Void) rethrows {
        switch record {
        case .entry(let e):
            keysB += 1
            var id = KeyID(db: e.db, key: e.key)
            while let fp = index[id], fp.seen { id.occurrence += 1 }
            let typeB = e.value.typeName
            guard var fp = index[id] else {
                differences += 1
                try report(RDBDifference(kind: .onlyInB, db: e.db, key: e.key, aspects: [], typeA: nil, typeB: typeB,
                                         ttlA: nil, ttlB: e.expireAtMs))
                return
            }
            fp.seen = true
            index[id] = fp
            var aspects: RDBDifference.Aspects = []
            if fp.type != typeB {
                aspects.insert(.type)
                aspects.insert(.value)
            } else if fp.digest != Self.digest(e, lent) {
                aspects.insert(.value)
            }
            if fp.ttl != e.expireAtMs { aspects.insert(.ttl) }
            if !aspects.isEmpty {
                differences += 1
                try report(RDBDifference(kind: .changed, db: e.db, key: e.key, aspects: aspects, typeA: fp.type, typeB: typeB,
                                         ttlA: fp.ttl, ttlB: e.expireAtMs))
            }
        case .function(let code):
            functionsB.insert(code)
        default:
            break
        }
    }

    /// After pass 2: A's keys B did not have (in A's order), then functions only on one side.
    public func finish(report: (RDBDifference) throws -> Void) rethrows {
        let missing = index.filter { !$0.value.seen }.sorted { $0.value.ordinal < $1.value.ordinal }
        for (id, fp) in missing {
            differences += 1
            try report(RDBDifference(kind: .onlyInA, db: id.db, key: id.key, aspects: [], typeA: fp.type, typeB: nil,
                                     ttlA: fp.ttl, ttlB: nil))
        }
        for code in functionsA.subtracting(functionsB).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            differences += 1
            try report(RDBDifference(kind: .functionOnlyInA, db: 0, key: code, aspects: []))
        }
        for code in functionsB.subtracting(functionsA).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            differences += 1
            try report(RDBDifference(kind: .functionOnlyInB, db: 0, key: code, aspects: []))
        }
    }
}

extension RDBDifference {
    init(kind: Kind, db: Int, key: Bytes, aspects: Aspects) {
        self.init(kind: kind, db: db, key: key, aspects: aspects, typeA: nil, typeB: nil, ttlA: nil, ttlB: nil)
    }

    /// One line of text: `- db0 "key" (hash)`, `+ db0 "key" (string)`, `~ db0 "key": value, ttl (...)`.
    public var text: String {
        let k = RDBError.quote(key)
        switch kind {
        case .onlyInA: return "- db\(db) \(k) (\(typeA ?? "?")) only in A"
        case .onlyInB: return "+ db\(db) \(k) (\(typeB ?? "?")) only in B"
        case .functionOnlyInA: return "- function library only in A: \(RDBError.quote(Array(key.prefix(60))))"
        case .functionOnlyInB: return "+ function library only in B: \(RDBError.quote(Array(key.prefix(60))))"
        case .changed:
            var detail: [String] = []
            if aspects.contains(.type) { detail.append("type \(typeA ?? "?") -> \(typeB ?? "?")") }
            if aspects.contains(.ttl) {
                detail.append("ttl \(ttlA.map { String($0) } ?? "none") -> \(ttlB.map { String($0) } ?? "none")")
            }
            return "~ db\(db) \(k): \(aspects.names.joined(separator: ", ")) differ" + (detail.isEmpty ? "" : " (\(detail.joined(separator: "; ")))")
        }
    }

    /// One JSON object: kind, db, key (canonical JSON bytes), differing aspects, types and TTLs on each side.
    public func writeJSON(_ w: JSONWriter) {
        w.raw("{")
        w.field("kind", first: true); w.string(kind.rawValue)
        w.field("db"); w.int(db)
        w.field(kind == .functionOnlyInA || kind == .functionOnlyInB ? "code" : "key"); w.bytes(key)
        w.field("differ"); w.array(aspects.names) { w.string($0) }
        w.field("type_a"); w.nullable(typeA) { w.string($0) }
        w.field("type_b"); w.nullable(typeB) { w.string($0) }
        w.field("expire_at_ms_a"); w.nullable(ttlA) { w.int($0) }
        w.field("expire_at_ms_b"); w.nullable(ttlB) { w.int($0) }
        w.raw("}")
    }
}
