import Base
import Foundation
import Testing
@testable import RDB
import RDBTools

/// STREAM_LISTPACKS_5 (type 27, Redis 8.8+, RDB 14-15): each group's NACK zone after its consumers
/// (`rdb.c` `rdbLoadObject`), and STREAM_LISTPACKS_4's IDMP section as the writer now writes it for 13+.
@Suite struct StreamNackZoneTests {
    static func b(_ s: String) -> Bytes { Array(s.utf8) }
    static let ids = (1...4).map { StreamID(ms: 1_800_000_000_000, seq: UInt64($0)) }

    static func stream(nacked: [StreamID], owner: [StreamID] = [ids[1]]) -> RDBEntry {
        let group = StreamGroup(
            name: b("workers"), lastDeliveredID: ids[3], entriesReadRaw: 4,
            pending: [StreamPendingEntry(id: ids[0], deliveryTimeMs: 0, deliveryCount: 3),
                      StreamPendingEntry(id: ids[1], deliveryTimeMs: 1_800_000_000_100, deliveryCount: 1),
                      StreamPendingEntry(id: ids[2], deliveryTimeMs: 0, deliveryCount: 2)],
            consumers: [StreamConsumer(name: b("w1"), seenTimeMs: 1, activeTimeMs: 1, pendingIDs: owner)],
            nackedIDs: nacked)
        let s = StreamValue(entries: ids.map { StreamEntry(id: $0, fields: [(b("job"), b("x"))]) }, length: 4,
                            listpackNodes: 1, lastID: ids[3], firstID: ids[0], maxDeletedEntryID: .zero, entriesAdded: 4,
                            groups: [group])
        return RDBEntry(db: 0, key: b("jobs"), value: .stream(s), rdbType: 0)
    }

    /// `rdb dump --format resp` of `bytes` for a target version, CRLFs as spaces.
    static func resp(_ bytes: Bytes, _ version: Int?) throws -> String {
        let out = RESPOutput()
        let exporter = RESPExporter(output: out, options: RESPExportOptions(targetVersion: version))
        for r in try ReaderTestSupport.readAll(bytes) { try exporter.consume(r) }
        try exporter.finish()
        return String(decoding: Array(out.pending), as: UTF8.self).replacingOccurrences(of: "\r\n", with: " ")
    }

    static func entries(_ bytes: Bytes, chunking: MemoryByteSource.Chunking = .all) throws -> [RDBEntry] {
        try ReaderTestSupport.readAll(bytes, chunking: chunking, name: "nack.rdb").compactMap {
            if case .entry(let e) = $0 { return e } else { return nil }
        }
    }

    @Test(arguments: [14, 15])
    func zoneReadsBackInItsOrder(version: Int) throws {
        let (bytes, _) = try WriterSamples.write([Self.stream(nacked: [Self.ids[2], Self.ids[0]])],
                                                 options: RDBWriterOptions(rdbVersion: version))
        for chunking in [MemoryByteSource.Chunking.all, .random(seed: 7, maxChunk: 1)] {
            let e = try #require(try Self.entries(bytes, chunking: chunking).first)
            #expect(e.rdbType == RDBType.streamListpacks5.rawValue)
            guard case .stream(let s) = e.value else { Issue.record("not a stream"); return }
            #expect(s.groups.first?.nackedIDs == [Self.ids[2], Self.ids[0]])
            #expect(s.idmp == StreamIDMP.defaults)
        }
    }

    /// An ID listed twice moves to its later place (Redis unlinks and appends it again).
    @Test func aRepeatedZoneIDTakesItsLaterPlace() throws {
        let (bytes, _) = try WriterSamples.write([Self.stream(nacked: [Self.ids[2], Self.ids[0], Self.ids[2]])],
                                                 options: RDBWriterOptions(rdbVersion: 15))
        guard case .stream(let s)? = try Self.entries(bytes).first?.value else { Issue.record("no stream"); return }
        #expect(s.groups.first?.nackedIDs == [Self.ids[0], Self.ids[2]])
    }

    @Test func zoneIDMissingFromThePELIsRefused() throws {
        let (bytes, _) = try WriterSamples.write([Self.stream(nacked: [Self.ids[3]])], options: RDBWriterOptions(rdbVersion: 15))
        do {
            _ = try Self.entries(bytes)
            Issue.record("read")
        } catch let e as RDBError {
            #expect(e.code == .stream && e.key == Self.b("jobs") && e.file == "nack.rdb" && e.offset > 9)
            #expect(e.message.contains("not in the group PEL"))
        }
    }

    @Test func zoneIDOwnedByAConsumerIsRefused() throws {
        let (bytes, _) = try WriterSamples.write([Self.stream(nacked: [Self.ids[1]])], options: RDBWriterOptions(rdbVersion: 15))
        do {
            _ = try Self.entries(bytes)
            Issue.record("read")
        } catch let e as RDBError {
            #expect(e.code == .stream && e.key == Self.b("jobs") && e.message.contains("owned by a consumer"))
        }
    }

    /// Below 14 the zone cannot be written: refused, never saved as entries without an owner.
    @Test(arguments: [9, 10, 11, 12, 13])
    func olderTargetsRefuseTheZone(version: Int) {
        #expect(throws: RDBWriteError.self) {
            _ = try WriterSamples.write([Self.stream(nacked: [Self.ids[0]])], options: RDBWriterOptions(rdbVersion: version))
        }
    }

    /// 13 writes type 26 with the IDMP section; 12 writes type 21 and counts the IDMP state it dropped.
    @Test func idmpByVersion() throws {
        var e = Self.stream(nacked: [])
        guard case .stream(var s) = e.value else { return }
        s.idmp = StreamIDMP(duration: 60, maxEntries: 10,
                            producers: [StreamIDMPProducer(name: Self.b("p"), entries: [StreamIDMPEntry(iid: Self.b("i1"), id: Self.ids[0])])],
                            iidsAdded: 1, iidsDuplicates: 0)
        e.value = .stream(s)
        let (v13, stats13) = try WriterSamples.write([e], options: RDBWriterOptions(rdbVersion: 13))
        let back = try #require(try Self.entries(v13).first)
        #expect(back.rdbType == RDBType.streamListpacks4.rawValue && stats13.droppedStreamIDMP == 0)
        guard case .stream(let s13) = back.value else { return }
        #expect(s13.idmp == s.idmp)
        let (v12, stats12) = try WriterSamples.write([e], options: RDBWriterOptions(rdbVersion: 12))
        let back12 = try #require(try Self.entries(v12).first)
        #expect(back12.rdbType == RDBType.streamListpacks3.rawValue && stats12.droppedStreamIDMP == 1)
    }

    /// The canonical JSON lists the zone; `rdb dump --format resp` rebuilds it with XNACK … FORCE.
    @Test func jsonAndRESP() throws {
        let e = Self.stream(nacked: [Self.ids[2], Self.ids[0]])
        let (bytes, _) = try WriterSamples.write([e], options: RDBWriterOptions(rdbVersion: 15))
        let back = try #require(try Self.entries(bytes).first)
        let w = JSONWriter()
        try CanonicalJSONEncoder.writeValue(back.value, into: w)
        let json = String(decoding: w.buffer, as: UTF8.self)
        #expect(json.contains(#""nacked":["1800000000000-3","1800000000000-1"]"#), "\(json)")

        func resp(_ version: Int?) throws -> String { try Self.resp(bytes, version) }
        let text = try resp(nil)
        let first = try #require(text.range(of: "XNACK $4 jobs $7 workers $4 FAIL $3 IDS $1 1 $15 1800000000000-3 $10 RETRYCOUNT $1 2 $5 FORCE"))
        let second = try #require(text.range(of: "XNACK $4 jobs $7 workers $4 FAIL $3 IDS $1 1 $15 1800000000000-1 $10 RETRYCOUNT $1 3 $5 FORCE"))
        #expect(first.lowerBound < second.lowerBound)
        #expect(throws: RDBWriteError.self) { _ = try resp(12) }
    }

    /// From RDB 13, RESP export rebuilds a stream's IDMP ids: XCFGSET for non-default settings, then XIDMPRECORD
    /// per id whose entry is still in the stream.
    @Test func respRebuildsIDMP() throws {
        var e = Self.stream(nacked: [])
        guard case .stream(var s) = e.value else { return }
        s.idmp = StreamIDMP(duration: 60, maxEntries: 10,
                            producers: [StreamIDMPProducer(name: Self.b("p"), entries: [StreamIDMPEntry(iid: Self.b("gone"), id: StreamID(ms: 5, seq: 0)),
                                                                                       StreamIDMPEntry(iid: Self.b("i1"), id: Self.ids[0])])],
                            iidsAdded: 2, iidsDuplicates: 0)
        e.value = .stream(s)
        let (bytes, _) = try WriterSamples.write([e], options: RDBWriterOptions(rdbVersion: 13))
        func resp(_ version: Int) throws -> String { try Self.resp(bytes, version) }
        let text = try resp(13)
        #expect(text.contains("XCFGSET $4 jobs $13 IDMP-DURATION $2 60 $12 IDMP-MAXSIZE $2 10"))
        #expect(text.contains("XIDMPRECORD $4 jobs $1 p $2 i1 $15 1800000000000-1") && !text.contains("gone"))
        #expect(!(try resp(12)).contains("XIDMPRECORD"))
    }
}
