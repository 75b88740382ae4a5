import RDB
import Testing
@testable import Keyspace

/// XNACK (Redis 8.8+, `t_stream.c` `xnackCommand`) and the group NACK zone it fills, as a master
/// propagates them: the command as sent, and XCLAIM / XACK taking entries back out of the zone.
@Suite struct ApplierStreamNackTests {
    func group(_ r: Run, _ key: String = "s") -> StreamGroup? {
        guard case .stream(let s)? = r.entry(key)?.value else { return nil }
        return s.groups.first
    }

    func id(_ ms: UInt64) -> StreamID { StreamID(ms: ms, seq: 0) }

    func setUp() -> Run {
        var r = Run()
        r.callAll(["XADD s 1-0 f v", "XADD s 2-0 f v", "XADD s 3-0 f v", "XADD s 4-0 f v", "XGROUP CREATE s g 0",
                   "XCLAIM s g alice 0 1-0 TIME 1699999999000 RETRYCOUNT 2 FORCE JUSTID LASTID 2-0",
                   "XCLAIM s g alice 0 2-0 TIME 1699999999000 RETRYCOUNT 5 FORCE JUSTID LASTID 2-0",
                   "XCLAIM s g bob 0 3-0 TIME 1699999999500 RETRYCOUNT 1 FORCE JUSTID LASTID 3-0"])
        return r
    }

    @Test func modesMoveEntriesIntoTheZoneInOrder() throws {
        var r = setUp()
        r.callAll(["XNACK s g FAIL IDS 1 2-0", "XNACK s g SILENT IDS 2 1-0 3-0"])
        var g = try #require(group(r))
        #expect(!r.diverged)
        #expect(g.nackedIDs == [id(2), id(1), id(3)])
        #expect(g.pending.map(\.deliveryCount) == [1, 5, 0] && g.pending.allSatisfy { $0.deliveryTimeMs == 0 })
        #expect(g.consumers.allSatisfy { $0.pendingIDs.isEmpty })
        // Released again: to the zone's end. FATAL: 2^63-1, and XCLAIM does not count past it.
        r.callAll(["XNACK s g FATAL IDS 1 2-0"])
        g = try #require(group(r))
        #expect(g.nackedIDs == [id(1), id(3), id(2)] && g.pending[1].deliveryCount == UInt64(Int64.max))
        r.callAll(["XCLAIM s g carol 0 2-0 TIME 1700000000000"])
        g = try #require(group(r))
        #expect(g.nackedIDs == [id(1), id(3)] && g.pending[1].deliveryCount == UInt64(Int64.max))
        #expect(g.consumers.first { $0.name == Array("carol".utf8) }?.pendingIDs == [id(2)])
        // XACK and XCLAIM of a deleted entry (propagated as XACK for an unowned one) leave the zone too.
        r.callAll(["XACK s g 1-0"])
        #expect(try #require(group(r)).nackedIDs == [id(3)])
        r.callAll(["XDEL s 3-0", "XACK s g 3-0"])
        g = try #require(group(r))
        #expect(g.nackedIDs.isEmpty && g.pending.map(\.id) == [id(2)] && !r.diverged)
    }

    @Test func retryCountAndForce() throws {
        var r = setUp()
        // FORCE makes an unowned entry for 4-0 (exists, not pending) from count 0; 9-0 has no entry: skipped.
        r.callAll(["XNACK s g SILENT IDS 3 4-0 9-0 1-0 RETRYCOUNT 7 FORCE", "XNACK s g FATAL IDS 1 3-0 RETRYCOUNT 0"])
        let g = try #require(group(r))
        #expect(!r.diverged)
        #expect(g.nackedIDs == [id(4), id(1), id(3)])
        #expect(g.pending.map(\.id) == [id(1), id(2), id(3), id(4)])
        #expect(g.pending.map(\.deliveryCount) == [7, 5, 0, 7])
        #expect(g.consumers.first { $0.name == Array("alice".utf8) }?.pendingIDs == [id(2)])
    }

    /// An id named twice in one XNACK takes the place of its last mention, as Redis's one-by-one moves leave it.
    @Test func anIDRepeatedInOneCommand() throws {
        var r = setUp()
        r.callAll(["XNACK s g FAIL IDS 1 3-0", "XNACK s g FAIL IDS 3 1-0 3-0 1-0"])
        let g = try #require(group(r))
        #expect(!r.diverged && g.nackedIDs == [id(3), id(1)])
    }

    @Test func badFormsDiverge() {
        for bad in ["XNACK s g MAYBE IDS 1 1-0", "XNACK s g FAIL 1-0", "XNACK s g FAIL IDS 2 1-0",
                    "XNACK s g FAIL IDS 0", "XNACK s g FAIL IDS 1 1-0 RETRYCOUNT -1", "XNACK s nogroup FAIL IDS 1 1-0",
                    "XNACK nokey g FAIL IDS 1 1-0", "XNACK s g FAIL IDS 1 1-0 BOGUS"] {
            var r = setUp()
            r.call(bad)
            #expect(r.diverged, "\(bad)")
        }
    }

    /// The zone survives a snapshot: saved as RDB 15 (type 27) and loaded back, and refused by RDB 12.
    @Test func zoneSurvivesSaveAndLoad() throws {
        var r = setUp()
        r.callAll(["XNACK s g FAIL IDS 2 3-0 1-0"])
        let saved = try r.ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 15))
        let back = try Keyspace.load(rdb: saved)
        guard case .stream(let s)? = back[0, Array("s".utf8)]?.value else { Issue.record("no stream"); return }
        #expect(s.groups.first?.nackedIDs == [id(3), id(1)])
        #expect(throws: RDBWriteError.self) { _ = try r.ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 12)) }
    }
}
