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

@Suite struct ApplierRestoreSortTests {
    @Test func restoreTakesADumpPayload() throws {
        var r = Run()
        let payload = try DumpPayload.encode(.list([[1], [2, 3]]), rdbVersion: 10)
        r.call([Array("RESTORE".utf8), Array("k".utf8), Array("1800000000000".utf8), payload, Array("ABSTTL".utf8)])
        r.call([Array("RESTORE".utf8), Array("k2".utf8), Array("0".utf8), payload, Array("IDLETIME".utf8), Array("7".utf8)])
        #expect(r.entry("k")?.expireAtMs == 1_800_000_000_000 && r.entry("k2")?.lruIdleSeconds == 7)
        guard case .list(let l)? = r.entry("k")?.value else { Issue.record("not a list"); return }
        #expect(l.elements == [[1], [2, 3]] && !r.diverged)
        var bad = payload
        bad[bad.count - 1] ^= 1
        r.call([Array("RESTORE".utf8), Array("k3".utf8), Array("0".utf8), bad])
        #expect(r.applier.divergence?.command == "RESTORE" && r.entry("k3") == nil)
    }

    @Test func functionRestoreReadsFunction2Records() {
        var r = Run()
        let code = Array("#!lua name=lib2\nredis.register_function('g', function() return 2 end)".utf8)
        var body: [UInt8] = [245, UInt8(code.count >> 8) | 0x40, UInt8(code.count & 0xFF)] + code + [10, 0]
        let crc = CRC64.checksum(body)
        for i in 0..<8 { body.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
        r.call([Array("FUNCTION".utf8), Array("RESTORE".utf8), body])
        #expect(r.ks.functions == [code] && !r.diverged)
        r.call([Array("FUNCTION".utf8), Array("RESTORE".utf8), body])  // APPEND: the library exists
        #expect(r.applier.divergence?.command == "FUNCTION")
    }

    @Test func sortStoreWithPatterns() {
        var r = Run()
        r.callAll(["RPUSH l 3 1 2", "SET w_1 30", "SET w_2 10", "SET w_3 20", "HSET h_1 f a", "HSET h_3 f c",
                   "SORT l STORE o1", "SORT l BY w_* GET # GET h_*->f STORE o2", "SORT l DESC LIMIT 0 2 STORE o3",
                   "SADD s b a c", "SORT s BY nosort STORE o4", "SORT l BY nosort DESC STORE o5", "SORT missing STORE o1"])
        #expect(r.list("o2") == ["2", "", "3", "c", "1", "a"] && r.list("o3") == ["3", "2"])
        #expect(r.list("o4") == ["a", "b", "c"] && r.list("o5") == ["2", "1", "3"] && r.entry("o1") == nil && !r.diverged)
        r.callAll(["RPUSH t x", "SORT t STORE o6"])
        #expect(r.applier.divergence?.reason == "One or more scores can't be converted into double")
    }
}
