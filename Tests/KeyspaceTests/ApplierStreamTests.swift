import Testing
import RDB
@testable import Keyspace

@Suite struct ApplierStreamTests {
    func stream(_ r: Run, _ key: String) -> StreamValue? {
        guard case .stream(let s)? = r.entry(key)?.value else { return nil }
        return s
    }

    @Test func addTrimDeleteSetID() {
        var r = Run()
        r.callAll(["XADD s 1-1 f v", "XADD s 1-* f v", "XADD s 5 a b c d", "XADD s MAXLEN = 2 6-0 f v", "XDEL s 5-0 9-9"])
        var s = stream(r, "s")!
        #expect(s.entries.map(\.id.description) == ["6-0"])
        #expect(s.lastID.description == "6-0" && s.firstID?.description == "6-0")
        #expect(s.entriesAdded == 4 && s.maxDeletedEntryID?.description == "5-0")
        r.callAll(["XADD s MINID = 8 7-0 f v", "XSETID s 10-0 ENTRIESADDED 12 MAXDELETEDID 9-0", "XADD s NOMKSTREAM 11-0 x y",
                   "XADD nope NOMKSTREAM 1-0 a b"])
        s = stream(r, "s")!
        #expect(s.entries.isEmpty == false && s.entries.map(\.id.description) == ["11-0"])
        #expect(s.entriesAdded == 13 && s.maxDeletedEntryID?.description == "9-0" && r.entry("nope") == nil)
        r.call("XADD s 3-0 too old")
        #expect(r.applier.divergence?.command == "XADD")
    }

    @Test func groupsClaimsAcks() throws {
        var r = Run()
        r.callAll(["XADD s 1-0 f v", "XADD s 2-0 f v", "XADD s 3-0 f v", "XGROUP CREATE s g 0 ENTRIESREAD 0",
                   "XGROUP CREATE t g2 $ MKSTREAM", "XGROUP CREATECONSUMER s g alice",
                   "XCLAIM s g alice 0 1-0 TIME 1699999999000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-0",
                   "XCLAIM s g bob 0 2-0 TIME 1699999999500 RETRYCOUNT 1 FORCE JUSTID LASTID 2-0",
                   "XGROUP SETID s g 2-0 ENTRIESREAD 2", "XCLAIM s g bob 0 1-0 TIME 1700000000000 JUSTID", "XACK s g 2-0 7-0"])
        #expect(r.applier.divergence == nil)
        let g = try #require(stream(r, "s")?.groups.first)
        #expect(g.lastDeliveredID.description == "2-0" && g.entriesReadRaw == 2)
        #expect(g.pending == [StreamPendingEntry(id: StreamID(ms: 1, seq: 0), deliveryTimeMs: 1_700_000_000_000, deliveryCount: 1)])
        #expect(g.consumers.map { String(decoding: $0.name, as: UTF8.self) } == ["alice", "bob"])
        #expect(g.consumers[0].pendingIDs.isEmpty && g.consumers[1].pendingIDs == [StreamID(ms: 1, seq: 0)])
        #expect(stream(r, "t")?.groups.first?.entriesReadRaw == UInt64.max)
        r.callAll(["XDEL s 1-0", "XCLAIM s g bob 0 1-0 TIME 1700000000000 JUSTID", "XGROUP DELCONSUMER s g bob", "XGROUP DESTROY t g2"])
        let g2 = try #require(stream(r, "s")?.groups.first)
        #expect(g2.pending.isEmpty && g2.consumers.count == 1 && stream(r, "t")?.groups.isEmpty == true && !r.diverged)
    }
}
