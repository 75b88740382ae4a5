import RDB
@testable import Keyspace

/// Runs commands written as space-separated words against a fresh applier, at offsets 1, 2, 3, …
struct Run {
    var applier = ReplicaApplier()
    var offset: Int64 = 0
    var now: Int64 = 1_700_000_000_000

    @discardableResult
    mutating func callAll(_ lines: [String]) -> [ApplyOutcome] { lines.map { call($0) } }

    @discardableResult
    mutating func call(_ line: String) -> ApplyOutcome {
        offset += 1
        return applier.apply(line.split(separator: " ").map { Array($0.utf8) }, at: offset, nowMs: now)
    }

    @discardableResult
    mutating func call(_ args: [Bytes]) -> ApplyOutcome {
        offset += 1
        return applier.apply(args, at: offset, nowMs: now)
    }

    var ks: Keyspace { applier.keyspace }

    func entry(_ key: String, db: Int = 0) -> KeyEntry? { ks[db, Array(key.utf8)] }

    func string(_ key: String, db: Int = 0) -> String? {
        guard case .string(let s)? = entry(key, db: db)?.value else { return nil }
        return String(decoding: s, as: UTF8.self)
    }

    func list(_ key: String) -> [String]? {
        guard case .list(let l)? = entry(key)?.value else { return nil }
        return l.elements.map { String(decoding: $0, as: UTF8.self) }
    }

    func set(_ key: String) -> [String]? {
        guard case .set(let s)? = entry(key)?.value else { return nil }
        return s.sortedMembers.map { String(decoding: $0, as: UTF8.self) }
    }

    /// "member:score" in Redis order.
    func zset(_ key: String) -> [String]? {
        guard case .zset(let z)? = entry(key)?.value else { return nil }
        return z.sorted.map { "\(String(decoding: $0.member, as: UTF8.self)):\($0.score)" }
    }

    /// "field=value" (+ "@ttl") sorted by field.
    func hash(_ key: String) -> [String]? {
        guard case .hash(let h)? = entry(key)?.value else { return nil }
        return h.fields.map { f in
            "\(String(decoding: f.field, as: UTF8.self))=\(String(decoding: f.value, as: UTF8.self))" + (f.expireAtMs.map { "@\($0)" } ?? "")
        }.sorted()
    }

    var diverged: Bool { applier.divergence != nil }
}
