import Testing
import RDB
@testable import Keyspace

/// Redis 8.2's XDELEX, XACKDEL and the KEEPREF | DELREF | ACKED option of XADD and XTRIM. Every expected
/// state below was read from a real Redis 8.2.3 (XRANGE, XINFO STREAM, XPENDING) after the same commands.
@Suite struct ApplierStreamDeletionTests {
    /// Entries 1-1…6-1; groups g1 (c1 read 1-1…4-1 and acked 2-1 and 3-1) and g2 (c2 read 1-1 and 2-1),
    /// in the forms a master propagates XREADGROUP and XACK.
    func twoGroups() -> Run {
        var r = Run()
        r.callAll((1...6).map { "XADD s \($0)-1 f v\($0)" } + ["XGROUP CREATE s g1 0", "XGROUP CREATE s g2 0"])
        for id in 1...4 { r.call("XCLAIM s g1 c1 0 \(id)-1 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID \(id)-1") }
        r.call("XGROUP SETID s g1 4-1 ENTRIESREAD 4")
        for id in 1...2 { r.call("XCLAIM s g2 c2 0 \(id)-1 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID \(id)-1") }
        r.callAll(["XGROUP SETID s g2 2-1 ENTRIESREAD 2", "XACK s g1 2-1 3-1"])
        return r
    }

    /// "ids | first | max-deleted | g1 pending / its consumers' | g2 pending / …".
    func state(_ r: Run) -> String {
        guard case .stream(let s)? = r.entry("s")?.value else { return "no stream" }
        var parts = [s.entries.map(\.id.description).joined(separator: ","), "\(s.firstID ?? .zero)", "\(s.maxDeletedEntryID ?? .zero)"]
        for g in s.groups {
            parts.append(g.pending.map(\.id.description).joined(separator: ",") + " / "
                         + g.consumers.map { $0.pendingIDs.map(\.description).joined(separator: ",") }.joined(separator: ";"))
        }
        #expect(s.length == UInt64(s.entries.count))
        return parts.joined(separator: " | ")
    }

    @Test(arguments: [
        ("XDELEX s KEEPREF IDS 3 1-1 2-1 9-1", "3-1,4-1,5-1,6-1 | 3-1 | 2-1 | 1-1,4-1 / 1-1,4-1 | 1-1,2-1 / 1-1,2-1"),
        ("XDELEX s IDS 3 1-1 2-1 9-1", "3-1,4-1,5-1,6-1 | 3-1 | 2-1 | 1-1,4-1 / 1-1,4-1 | 1-1,2-1 / 1-1,2-1"),
        ("XDELEX s DELREF IDS 3 1-1 2-1 9-1", "3-1,4-1,5-1,6-1 | 3-1 | 2-1 | 4-1 / 4-1 |  / "),
        ("XDELEX s ACKED IDS 4 1-1 2-1 3-1 9-1", "1-1,2-1,3-1,4-1,5-1,6-1 | 1-1 | 0-0 | 1-1,4-1 / 1-1,4-1 | 1-1,2-1 / 1-1,2-1"),
        ("XDELEX s IDS 1 6-1 DELREF", "1-1,2-1,3-1,4-1,5-1 | 1-1 | 6-1 | 1-1,4-1 / 1-1,4-1 | 1-1,2-1 / 1-1,2-1"),
        ("XACKDEL s g1 IDS 3 1-1 5-1 9-1", "2-1,3-1,4-1,5-1,6-1 | 2-1 | 1-1 | 4-1 / 4-1 | 1-1,2-1 / 1-1,2-1"),
        ("XACKDEL s g2 ACKED IDS 3 1-1 2-1 9-1", "1-1,3-1,4-1,5-1,6-1 | 1-1 | 2-1 | 1-1,4-1 / 1-1,4-1 |  / "),
        ("XACKDEL s g1 ACKED IDS 3 1-1 4-1 2-1", "1-1,2-1,3-1,4-1,5-1,6-1 | 1-1 | 0-0 |  /  | 1-1,2-1 / 1-1,2-1"),
        ("XACKDEL s g1 DELREF IDS 4 1-1 3-1 6-1 9-1", "2-1,3-1,4-1,5-1,6-1 | 2-1 | 1-1 | 4-1 / 4-1 | 2-1 / 2-1"),
        ("XACKDEL s nog IDS 1 1-1", "1-1,2-1,3-1,4-1,5-1,6-1 | 1-1 | 0-0 | 1-1,4-1 / 1-1,4-1 | 1-1,2-1 / 1-1,2-1"),
        ("XACKDEL s g1 ACKED IDS 1 5-1", "1-1,2-1,3-1,4-1,5-1,6-1 | 1-1 | 0-0 | 1-1,4-1 / 1-1,4-1 | 1-1,2-1 / 1-1,2-1"),
    ])
    func deleteWithPolicy(_ command: String, _ expected: String) {
        var r = twoGroups()
        r.call(command)
        #expect(!r.diverged)
        #expect(state(r) == expected)
    }

    @Test func delrefDropsReferencesOfAnIDNoLongerInTheStream() {
        var r = twoGroups()
        r.callAll(["XDEL s 1-1", "XDELEX s DELREF IDS 1 1-1"])
        #expect(state(r) == "2-1,3-1,4-1,5-1,6-1 | 2-1 | 1-1 | 4-1 / 4-1 | 2-1 / 2-1" && !r.diverged)
    }

    /// One group, c1 read 1-1…4-1 and acked 2-1 and 3-1: an ACKED trim passes over 1-1 (pending) and
    /// deletes 2-1 and 3-1, stops at 4-1 (pending), 5-1 and 6-1 (not delivered); max-deleted stays 0-0.
    @Test(arguments: ["XTRIM s MAXLEN 0 ACKED", "XTRIM s MAXLEN 4 ACKED", "XTRIM s MINID 4-1 ACKED", "XTRIM s ACKED MAXLEN = 0",
                      "XADD s ACKED MAXLEN 0 7-1 f v"])
    func ackedTrimPassesOverReferencedEntries(_ command: String) {
        var r = Run()
        r.callAll((1...6).map { "XADD s \($0)-1 f v\($0)" } + ["XGROUP CREATE s g1 0"])
        for id in 1...4 { r.call("XCLAIM s g1 c1 0 \(id)-1 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID \(id)-1") }
        r.callAll(["XGROUP SETID s g1 4-1 ENTRIESREAD 4", "XACK s g1 2-1 3-1", command])
        let tail = command.hasPrefix("XADD") ? ",7-1" : ""
        #expect(state(r) == "1-1,4-1,5-1,6-1\(tail) | 1-1 | 0-0 | 1-1,4-1 / 1-1,4-1" && !r.diverged)
    }

    @Test func trimPolicies() {
        var r = Run()
        r.callAll((1...10).map { "XADD s \($0)-1 f v\($0)" } + ["XGROUP CREATE s g1 0"])
        for id in 1...2 { r.call("XCLAIM s g1 c1 0 \(id)-1 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID \(id)-1") }
        r.call("XGROUP SETID s g1 2-1 ENTRIESREAD 2")
        // The forms an 8.2 master propagated for XADD … ACKED MAXLEN ~ 2, DELREF MAXLEN 8, MAXLEN 7 KEEPREF.
        r.callAll(["XADD s ACKED MAXLEN = 11 11-1 f v", "XADD s DELREF MAXLEN 8 12-1 f v"])
        #expect(state(r) == "5-1,6-1,7-1,8-1,9-1,10-1,11-1,12-1 | 5-1 | 0-0 |  / ")
        r.callAll(["XCLAIM s g1 c1 0 5-1 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID 5-1", "XADD s MAXLEN 7 KEEPREF 13-1 f v",
                   "XADD s ACKED MAXLEN 1 14-1 f v"])
        #expect(state(r) == "7-1,8-1,9-1,10-1,11-1,12-1,13-1,14-1 | 7-1 | 0-0 | 5-1 / 5-1" && !r.diverged)
    }

    @Test func withoutGroupsNothingIsReferenced() {
        var r = Run()
        r.callAll(["XADD s 1-1 f v", "XADD s 2-1 f v", "XADD s 3-1 f v", "XTRIM s MAXLEN 1 ACKED"])
        #expect(state(r) == "3-1 | 3-1 | 0-0")
        r.call("XDELEX s ACKED IDS 1 3-1")
        #expect(state(r) == " | 0-0 | 3-1" && !r.diverged)
    }

    @Test(arguments: ["XDELEX s IDS 2 1-1", "XDELEX s ACKED DELREF IDS 1 1-1", "XDELEX s IDS 0", "XDELEX s KEEPREF 1-1 2-1",
                      "XACKDEL s g IDS 1 1-1 ACKED DELREF", "XTRIM s MAXLEN 0 ACKED DELREF"])
    func malformedFormsDiverge(_ command: String) {
        var r = Run()
        r.callAll(["XADD s 1-1 f v", command])
        #expect(r.applier.divergence?.command == String(command.prefix { $0 != " " }))
        #expect(state(r) == "1-1 | 1-1 | 0-0")
    }

    /// As the 8.2.3 master does: its replica keeps 1-0 in g2's PEL here (a divergence inside Redis).
    @Test func delrefAfterXackdelInAnotherGroup() {
        var r = Run()
        r.callAll(["XADD s 1-0 f v", "XADD s 2-0 f v", "XGROUP CREATE s g1 0", "XGROUP CREATE s g2 0",
                   "XCLAIM s g1 c1 0 1-0 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-0", "XGROUP SETID s g1 1-0 ENTRIESREAD 1",
                   "XCLAIM s g2 c2 0 1-0 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-0", "XGROUP SETID s g2 1-0 ENTRIESREAD 1",
                   "XACKDEL s g1 IDS 1 1-0", "XDELEX s DELREF IDS 1 1-0"])
        #expect(state(r) == "2-0 | 2-0 | 1-0 |  /  |  / " && !r.diverged)
    }

    @Test func theLastIDSBlockCounts() {
        var r = Run()
        r.callAll(["XADD s 1-1 f v", "XADD s 2-1 f v", "XDELEX s IDS 1 1-1 IDS 2 2-1 3-1"])
        #expect(state(r) == "1-1 | 1-1 | 2-1" && !r.diverged)
    }

    @Test func missingKeyAndWrongType() {
        var r = Run()
        r.callAll(["XDELEX nope IDS 1 1-1", "XACKDEL nope g IDS 1 1-1"])
        #expect(r.entry("nope") == nil && !r.diverged)
        r.callAll(["SET str x", "XDELEX str IDS 1 1-1"])
        #expect(r.applier.divergence?.reason.hasPrefix("WRONGTYPE") == true)
    }
}
