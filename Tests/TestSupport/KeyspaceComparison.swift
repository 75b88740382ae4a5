import Keyspace
import RDB

/// Comparing two datasets as canonical JSON lines (`Keyspace.canonicalJSONLines`), for the differential tests.
public enum KeyspaceComparison {
    /// The canonical lines of `keyspace`, with what a replica legitimately holds differently zeroed:
    /// consumer seen/active times are the replica's own clock (a real replica's differ too). With
    /// `groupReads: false` group entries_read and consumers without pending entries are dropped too:
    /// Redis 7.0 propagates XREADGROUP as XCLAIM only, and 8.2 masters create consumers (XREADGROUP,
    /// XAUTOCLAIM reading nothing) without propagating them, so a real replica never learns either (used
    /// when comparing with the master; a real replica is compared in full). With `expiryPresenceOnly`
    /// key and field expiry times are reduced to their presence (a 6.2 master propagates relative TTLs,
    /// which each replica turns into its own absolute time).
    public static func lines(_ keyspace: Keyspace, groupReads: Bool = true, expiryPresenceOnly: Bool = false) throws -> [String] {
        var k = keyspace
        for (db, d) in keyspace.databases {
            for (key, e) in d {
                var e2 = e
                if expiryPresenceOnly, e2.expireAtMs != nil { e2.expireAtMs = 1 }
                if case .stream(var s) = e.value {
                    for g in s.groups.indices {
                        if !groupReads {
                            s.groups[g].entriesReadRaw = 0
                            s.groups[g].consumers.removeAll { $0.pendingIDs.isEmpty }
                        }
                        for c in s.groups[g].consumers.indices {
                            s.groups[g].consumers[c].seenTimeMs = 0
                            s.groups[g].consumers[c].activeTimeMs = 0
                        }
                    }
                    e2.value = .stream(s)
                }
                k[db, key] = e2
            }
        }
        return try k.canonicalJSONLines()
    }

    /// nil when `ours` equals `theirs`; else a report of the first differences (for a failing test's output).
    public static func difference(ours: [String], theirs: [String], label: String) -> String? {
        guard ours != theirs else { return nil }
        var out: [String] = []
        let a = Set(ours), b = Set(theirs)
        let onlyOurs = a.subtracting(b).sorted(), onlyTheirs = b.subtracting(a).sorted()
        for (x, y) in zip(onlyOurs, onlyTheirs).prefix(8) {
            let cut = zip(x, y).prefix { $0 == $1 }.count
            out.append("\(label) differs: \(x.prefix(90)) …\n   ours:   \(x.dropFirst(max(0, cut - 60)).prefix(260))\n   theirs: \(y.dropFirst(max(0, cut - 60)).prefix(260))")
        }
        for x in onlyOurs.dropFirst(min(onlyOurs.count, onlyTheirs.count)).prefix(3) { out.append("\(label) only ours: \(x.prefix(300))") }
        for y in onlyTheirs.dropFirst(min(onlyOurs.count, onlyTheirs.count)).prefix(3) { out.append("\(label) only theirs: \(y.prefix(300))") }
        out.append("\(label): \(onlyOurs.count) lines only ours, \(onlyTheirs.count) only theirs")
        return out.joined(separator: "\n")
    }
}
