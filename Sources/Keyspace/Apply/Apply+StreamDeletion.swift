import RDB

/// Redis 8.2's deletion policies for stream entries that consumer groups still reference (`t_stream.c`:
/// XDELEX, XACKDEL, and the KEEPREF | DELREF | ACKED option of XADD and XTRIM):
/// - KEEPREF (the default) deletes the entry and leaves the PEL references, as XDEL and XTRIM always did;
/// - DELREF deletes it and drops its references from every group's PEL and its consumer's PEL (also for an
///   id no longer in the stream: the references go even when there is no entry to delete);
/// - ACKED deletes only an entry no group still needs (`streamEntryIsReferenced`): one that is pending in
///   no group and that every group has been delivered (id <= the group's last-delivered id). A stream
///   without groups references nothing.
///
/// Checked against a real Redis 8.2.3: deletions update max-deleted-entry-id as XDEL does (a trim never
/// does, even when ACKED leaves an older entry in front of what it deleted); an ACKED trim passes over the
/// entries it may not delete and goes on with the newer ones until the stream is short enough; XACKDEL
/// deletes nothing for an id that was not pending in its group.
extension ApplyContext {
    enum DeletePolicy { case keepRef, delRef, acked }

    static func deletePolicy(_ word: Bytes) -> DeletePolicy? {
        switch Arg.upper(word) {
        case "KEEPREF": return .keepRef
        case "DELREF": return .delRef
        case "ACKED": return .acked
        default: return nil
        }
    }

    static func registerStreamDeletion(_ h: inout [String: Handler]) {
        // XDELEX key [KEEPREF|DELREF|ACKED] IDS numids id… (the policy may also follow the ids).
        h["XDELEX"] = { c, a in
            guard a.count >= 5 else { throw ApplyError.arity("xdelex") }
            let (ids, policy) = try ApplyContext.idsAndPolicy(a, from: 2)
            try c.mutateStream(a[1], create: false) { s in ApplyContext.delete(&s, ids, policy, ackingGroup: nil) }
        }
        // XACKDEL key group [KEEPREF|DELREF|ACKED] IDS numids id…: XACK in the group, then delete what was acked.
        h["XACKDEL"] = { c, a in
            guard a.count >= 6 else { throw ApplyError.arity("xackdel") }
            let (ids, policy) = try ApplyContext.idsAndPolicy(a, from: 3)
            try c.mutateStream(a[1], create: false) { s in
                guard let g = s.groups.firstIndex(where: { $0.name == a[2] }) else { return }
                ApplyContext.delete(&s, ids, policy, ackingGroup: g)
            }
        }
    }

    /// `IDS numids id…` plus at most one policy word, before or after the id list. Redis 8.2 takes a
    /// second IDS block too, and deletes only the last one's ids.
    static func idsAndPolicy(_ a: [Bytes], from start: Int) throws -> ([StreamID], DeletePolicy) {
        var policy: DeletePolicy?
        var ids: [StreamID]?
        var i = start
        while i < a.count {
            if policy == nil, let p = deletePolicy(a[i]) {
                policy = p
                i += 1
            } else if Arg.upper(a[i]) == "IDS", i + 1 < a.count {  // a repeated IDS block replaces the earlier one
                let n = try Arg.int(a[i + 1])
                guard n > 0, n <= a.count - i - 2 else { throw ApplyError("The `numids` parameter must match the number of arguments") }
                ids = try a[(i + 2)..<(i + 2 + Int(n))].map { try streamID($0, strict: true) }
                i += 2 + Int(n)
            } else {
                throw ApplyError.syntax
            }
        }
        guard let ids else { throw ApplyError.syntax }
        return (ids, policy ?? .keepRef)
    }

    /// XDEL (KEEPREF, no group), XDELEX and XACKDEL (`ackingGroup`: an id not pending there is skipped).
    static func delete(_ s: inout StreamValue, _ ids: [StreamID], _ policy: DeletePolicy, ackingGroup: Int?) {
        var deleted = false, firstGone = false
        for id in ids {
            if let g = ackingGroup, !dropReference(&s.groups[g], id) { continue }
            switch policy {
            case .keepRef: break
            case .delRef: dropReferences(&s, id)
            case .acked: if isReferenced(s, id) { continue }
            }
            guard let i = index(of: id, in: s.entries) else { continue }
            s.entries.remove(at: i)
            if id == s.firstID { firstGone = true }
            if id > (s.maxDeletedEntryID ?? .zero) { s.maxDeletedEntryID = id }
            deleted = true
        }
        s.length = UInt64(s.entries.count)
        if deleted {
            if s.entries.isEmpty { s.firstID = .zero } else if firstGone { s.firstID = s.entries[0].id }
        }
    }

    /// `streamEntryIsReferenced`: some group has not been delivered `id` yet, or holds it pending.
    static func isReferenced(_ s: StreamValue, _ id: StreamID) -> Bool {
        s.groups.contains { g in id > g.lastDeliveredID || sortedIndex(of: id, in: g.pending, \.id) != nil }
    }

    /// `streamCleanupEntryCGroupRefs`: `id` leaves every group's PEL and its consumer's.
    static func dropReferences(_ s: inout StreamValue, _ id: StreamID) {
        for g in s.groups.indices { dropReference(&s.groups[g], id) }
    }

    /// Removes `id` from the group's PEL and its consumer's PEL (as XACK); false when it was not pending.
    /// Both PELs are kept sorted by id (RDB order, and XCLAIM sorts), so this is a binary search.
    @discardableResult
    static func dropReference(_ g: inout StreamGroup, _ id: StreamID) -> Bool {
        guard let p = sortedIndex(of: id, in: g.pending, \.id) else { return false }
        g.pending.remove(at: p)
        for c in g.consumers.indices {
            if let j = sortedIndex(of: id, in: g.consumers[c].pendingIDs, \.self) {
                g.consumers[c].pendingIDs.remove(at: j)
                break
            }
        }
        if !g.nackedIDs.isEmpty { g.nackedIDs.removeAll { $0 == id } }
        return true
    }

    static func sortedIndex<T>(of id: StreamID, in a: [T], _ key: (T) -> StreamID) -> Int? {
        let lo = lowerBound(of: id, in: a, key)
        return lo < a.count && key(a[lo]) == id ? lo : nil
    }

    /// The first position in `a` (sorted by `key`) whose id is not below `id`: where `id` is, or goes.
    static func lowerBound<T>(of id: StreamID, in a: [T], _ key: (T) -> StreamID) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if key(a[mid]) < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// `streamTrim`, exact, with a policy: drop the oldest entries until the stream is short enough
    /// (MAXLEN) or reaches the id (MINID). ACKED passes over the entries a group still references and
    /// goes on with newer ones; DELREF drops the trimmed entries' references. The first id follows;
    /// max-deleted-entry-id and entries-added stay.
    static func trim(_ s: inout StreamValue, _ t: Trim, _ policy: DeletePolicy) {
        var length = s.entries.count
        var kept: [StreamEntry] = []
        var i = 0
        while i < s.entries.count {
            let id = s.entries[i].id
            if case .maxLen(let max) = t, length <= Int(clamping: max) { break }
            if case .minID(let min) = t, id >= min { break }
            if policy == .acked && isReferenced(s, id) {
                kept.append(s.entries[i])
            } else {
                if policy == .delRef { dropReferences(&s, id) }
                length -= 1
            }
            i += 1
        }
        guard length < s.entries.count else { return }
        s.entries.replaceSubrange(0..<i, with: kept)
        s.length = UInt64(s.entries.count)
        s.firstID = s.entries.first?.id ?? .zero
    }
}
