import RDB
import RedisValueOps
import Testing
@testable import Keyspace

/// Idempotent producers (Redis 8.6+) as a master propagates them: XADD IDMP / IDMPAUTO with the id the
/// master gave a new entry, the same XADD with `*` for a duplicate, XCFGSET and XIDMPRECORD.
@Suite struct ApplierStreamIDMPTests {
    func idmp(_ r: Run, _ key: String = "s") -> StreamIDMP? {
        guard case .stream(let s)? = r.entry(key)?.value else { return nil }
        return s.idmp
    }

    func b(_ s: String) -> Bytes { Array(s.utf8) }

    @Test func newEntriesAndDuplicates() throws {
        var r = Run()
        r.now = 1_800_000_000_000
        r.callAll(["XADD s IDMP p1 i1 1800000000000-0 f v", "XADD s IDMP p1 i1 * f v",
                   "XADD s IDMPAUTO p0 1800000000001-0 job j1 n 7", "XADD s MAXLEN = 10 IDMP p1 i2 1800000000002-0 f w",
                   "XADD s IDMPAUTO p0 * n 7 job j1"])
        #expect(!r.diverged)
        let state = try #require(idmp(r))
        #expect(state.iidsAdded == 3 && state.iidsDuplicates == 2 && state.duration == 100 && state.maxEntries == 100)
        // Producers in byte order (the master's rax), entries oldest first.
        #expect(state.producers.map(\.name) == [b("p0"), b("p1")])
        #expect(state.producers[0].entries == [StreamIDMPEntry(iid: XXH3.idempotencyID([(b("job"), b("j1")), (b("n"), b("7"))]),
                                                               id: StreamID(ms: 1_800_000_000_001, seq: 0))])
        #expect(state.producers[1].entries.map(\.iid) == [b("i1"), b("i2")])
        guard case .stream(let s)? = r.entry("s")?.value else { return }
        #expect(s.entries.count == 3)
        // A duplicate for a stream that does not exist cannot come from a master.
        r.call("XADD nostream IDMP p1 i1 * f v")
        #expect(r.diverged)
    }

    @Test func configClearsAndCapsAndExpiry() throws {
        var r = Run()
        r.now = 1_800_000_000_000
        r.callAll(["XADD s IDMP p i1 1800000000000-0 f v", "XCFGSET s IDMP-MAXSIZE 2",
                   "XADD s IDMP p i2 1800000000000-1 f v", "XADD s IDMP p i3 1800000000000-2 f v",
                   "XADD s IDMP p i4 1800000000000-3 f v"])
        var state = try #require(idmp(r))
        #expect(!r.diverged && state.maxEntries == 2 && state.producers.first?.entries.map(\.iid) == [b("i3"), b("i4")])
        // The same value again keeps the history; another clears it.
        r.call("XCFGSET s IDMP-MAXSIZE 2")
        #expect(try #require(idmp(r)).producers.count == 1)
        r.call("XCFGSET s IDMP-DURATION 5 IDMP-MAXSIZE 2")
        state = try #require(idmp(r))
        #expect(state.duration == 5 && state.producers.isEmpty && state.iidsAdded == 4)
        // Entries 5 s old go when the producer is next touched.
        r.call("XIDMPRECORD s q i9 1800000000000-0")
        r.now += 5_000
        r.call("XADD s IDMP p i5 1800000005000-0 f v")
        state = try #require(idmp(r))
        #expect(state.producers.map(\.name) == [b("p")] && state.producers[0].entries.map(\.iid) == [b("i5")])
        #expect(!r.diverged)
    }

    @Test func recordAndBadForms() throws {
        var r = Run()
        r.callAll(["XADD s 1-0 f v", "XIDMPRECORD s p i 1-0", "XIDMPRECORD s p i 1-0"])
        #expect(!r.diverged && idmp(r)?.iidsAdded == 1)
        for bad in ["XIDMPRECORD s p i 2-0", "XIDMPRECORD s p i2 9-0", "XIDMPRECORD nokey p i 1-0", "XCFGSET s IDMP-DURATION 0",
                    "XCFGSET s IDMP-MAXSIZE 10001", "XCFGSET s BOGUS 1", "XADD s IDMP p 3-0 f v", "XADD s IDMPAUTO p IDMP p i 3-0 f v"] {
            var copy = r
            copy.call(bad)
            #expect(copy.diverged, "\(bad)")
        }
    }

    /// The state goes into RDB 13+ snapshots and comes back.
    @Test func stateSurvivesSaveAndLoad() throws {
        var r = Run()
        r.callAll(["XADD s IDMP p1 i1 1-0 f v", "XADD s IDMP p1 i1 * f v", "XCFGSET s IDMP-DURATION 300"])
        r.call("XADD s IDMPAUTO p2 2-0 a b")
        let back = try Keyspace.load(rdb: try r.ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 13)))
        guard case .stream(let s)? = back[0, b("s")]?.value else { Issue.record("no stream"); return }
        #expect(s.idmp == idmp(r) && s.idmp?.duration == 300 && s.idmp?.iidsDuplicates == 1)
    }
}
