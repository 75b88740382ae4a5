import Foundation
import RDB
@testable import RDBTools
import Testing
import TestSupport

/// The JSON writer and the canonical encoder, record by record (no reader involved).
@Suite("Canonical JSON writer and encoder")
struct CanonicalJSONTests {
    func written(_ body: (JSONWriter) -> Void) -> String {
        let w = JSONWriter()
        body(w)
        return String(decoding: w.buffer, as: UTF8.self)
    }

    @Test("strings: escapes, \\u0000, UTF-8 kept as is")
    func escapes() throws {
        #expect(written { $0.bytes(Array("a\"b\\c\n\r\t\u{8}\u{c}".utf8)) } == #""a\"b\\c\n\r\t\b\f""#)
        #expect(written { $0.bytes([0, 1, 0x1f, 0x7f]) } == "\"\\u0000\\u0001\\u001f\u{7f}\"")
        #expect(written { $0.bytes(Array("é中😀".utf8)) } == "\"é中😀\"")
        #expect(written { $0.bytes([]) } == "\"\"")
        // Every string round-trips through a JSON parser to the same bytes.
        var rng = SeededRandom(seed: 20261130)
        for _ in 0..<200 {
            let s = String((0..<Int.random(in: 0..<40, using: &rng)).map { _ in
                Character(Unicode.Scalar([0, 9, 10, 0x22, 0x5c, 0x41, 0xe9, 0x4e2d, 0x1f600, 0x7f, 0x1f].randomElement(using: &rng)!)!)
            })
            let json = written { $0.bytes(Array(s.utf8)) }
            let back = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed) as? String
            #expect(back == s, "\(json)")
        }
    }

    @Test("invalid UTF-8 becomes {\"b64\": ...}", arguments: [
        [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x61, 0x80],
        [0xf0, 0x8f, 0xbf, 0xbf], [0xe0, 0x9f, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80],
    ] as [[UInt8]])
    func invalidUTF8(_ bytes: [UInt8]) throws {
        let json = written { $0.bytes(bytes) }
        let obj = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        #expect(obj?["b64"] == Data(bytes).base64EncodedString(), "\(json)")
    }

    @Test("base64 matches Foundation for every length 0...64")
    func base64() throws {
        for n in 0...64 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 0x80) }
            let json = written { $0.base64String(bytes) }
            #expect(json == "\"" + Data(bytes).base64EncodedString() + "\"")
        }
    }

    @Test("numbers: integers, shortest round-trip doubles, inf as strings")
    func numbers() throws {
        #expect(written { $0.int(Int64.min) } == "-9223372036854775808")
        #expect(written { $0.int(Int64.max) } == "9223372036854775807")
        #expect(written { $0.uint(UInt64.max) } == "18446744073709551615")
        #expect(written { $0.int(0) } == "0")
        #expect(written { $0.double(.leastNonzeroMagnitude) } == "5e-324")
        #expect(written { $0.double(1.7976931348623157e+308) } == "1.7976931348623157e+308")
        #expect(written { $0.double(2.2250738585072014e-308) } == "2.2250738585072014e-308")
        #expect(written { $0.double(1) } == "1.0")
        #expect(written { $0.double(-0.0) } == "-0.0")
        #expect(written { $0.double(2.718) } == "2.718")
        #expect(written { $0.double(.infinity) } == "\"inf\"")
        #expect(written { $0.double(-.infinity) } == "\"-inf\"")
        for v in [Double.leastNonzeroMagnitude, 1e-300, 0.1, 1.0 / 3, -1e308, 123456789012345680, 9007199254740992, 1e16, 6000000000] {
            let json = written { $0.double(v) }
            let back = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed) as? NSNumber
            #expect(back?.doubleValue == v, "\(json)")
            #expect(Double(json) == v, "\(json)")
        }
    }

    @Test("a sink receives the same bytes in chunks as the in-memory buffer")
    func chunkedSink() throws {
        var chunks: [UInt8] = []
        let w = JSONWriter(flushThreshold: 7) { chunks += Array($0) }
        let reference = JSONWriter()
        let encoderA = CanonicalJSONEncoder(format: .jsonl, writer: w)
        let encoderB = CanonicalJSONEncoder(format: .jsonl, writer: reference)
        for r in Self.records() {
            try encoderA.consume(r)
            try encoderB.consume(r)
        }
        try encoderA.finish()
        try encoderB.finish()
        #expect(w.buffer.isEmpty)
        #expect(chunks == reference.buffer)
        #expect(w.bytesFlushed == Int64(chunks.count))
    }

    static func records() -> [RDBRecord] {
        let b = { (s: String) in Array(s.utf8) }
        let stream = StreamValue(
            entries: [StreamEntry(id: StreamID(ms: 1, seq: 1), fields: [(b("f"), b("v")), (b("f"), b("w"))])],
            length: 1, listpackNodes: 1, lastID: StreamID(ms: 5, seq: 0), firstID: StreamID(ms: 1, seq: 1),
            maxDeletedEntryID: StreamID(ms: 0, seq: 0), entriesAdded: 2,
            groups: [
                StreamGroup(name: b("g2"), lastDeliveredID: .zero, entriesReadRaw: UInt64.max, pending: [], consumers: []),
                StreamGroup(name: b("g1"), lastDeliveredID: StreamID(ms: 1, seq: 1), entriesReadRaw: 1,
                            pending: [StreamPendingEntry(id: StreamID(ms: 1, seq: 1), deliveryTimeMs: 77, deliveryCount: 2),
                                      StreamPendingEntry(id: StreamID(ms: 3, seq: 0), deliveryTimeMs: 78, deliveryCount: 1)],
                            consumers: [StreamConsumer(name: b("bob"), seenTimeMs: 9, activeTimeMs: -1, pendingIDs: [StreamID(ms: 3, seq: 0)]),
                                        StreamConsumer(name: b("alice"), seenTimeMs: 8, activeTimeMs: 8, pendingIDs: [StreamID(ms: 1, seq: 1)])]),
            ])
        return [
            .header(RDBHeader(magic: .redis, version: 12)),
            .aux(key: b("redis-ver"), value: b("7.4.1")),
            .function(code: b("#!lua name=x\n")),
            .selectDB(0),
            .resizeDB(dbSize: 4, expiresSize: 0),
            .entry(RDBEntry(db: 0, key: b("s"), value: .set([b("b"), b("a"), b("ab"), []]), rdbType: 2)),
            .entry(RDBEntry(db: 0, key: b("z"), value: .sortedSet([
                SortedSetMember(member: b("b"), score: 1), SortedSetMember(member: b("a"), score: 1),
                SortedSetMember(member: b("c"), score: -.infinity), SortedSetMember(member: b("d"), score: 0.5),
            ]), lfuFreq: 5, rdbType: 17)),
            .entry(RDBEntry(db: 0, key: b("h"), value: .hash([
                HashField(field: b("y"), value: b("2"), expireAtMs: 1000), HashField(field: b("x"), value: b("1")),
            ]), lruIdleSeconds: 3, rdbType: 25)),
            .entry(RDBEntry(db: 0, key: b("st"), value: .stream(stream), expireAtMs: 42, rdbType: 21)),
            .selectDB(2),
            .entry(RDBEntry(db: 2, key: b("l"), value: .list([b("3"), b("1")]), rdbType: 18)),
            .eof(storedChecksum: 0xabc, computedChecksum: 0xabc),
        ]
    }

    @Test("json output: canonical orders, joins stream PELs, file fields at the end")
    func encoderJSON() throws {
        let w = JSONWriter()
        let e = CanonicalJSONEncoder(format: .json, writer: w)
        for r in Self.records() { try e.consume(r) }
        try e.finish()
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(w.buffer)) as? [String: Any])
        let dbs = try #require(doc["databases"] as? [[String: Any]])
        #expect(dbs.map { ($0["db"] as? NSNumber)?.intValue } == [0, 2])
        let keys = try #require(dbs[0]["keys"] as? [[String: Any]])
        #expect(keys.map { $0["key"] as? String } == ["s", "z", "h", "st"])
        #expect(keys[0]["value"] as? [String] == ["", "a", "ab", "b"])
        #expect((keys[1]["value"] as? [[Any]])?.map { $0[0] as? String } == ["c", "d", "a", "b"])
        #expect((keys[1]["lfu_freq"] as? NSNumber)?.intValue == 5)
        #expect(keys[1]["lru_idle_s"] == nil)
        #expect(keys[0]["field_expire_at_ms"] == nil)
        #expect((keys[2]["value"] as? [[String]]) == [["x", "1"], ["y", "2"]])
        #expect((keys[2]["field_expire_at_ms"] as? [[Any]])?.first?.first as? String == "y")
        #expect((keys[2]["lru_idle_s"] as? NSNumber)?.intValue == 3)
        let s = try #require(keys[3]["value"] as? [String: Any])
        #expect((s["entries"] as? [[Any]])?.first?.first as? String == "1-1")
        #expect(((s["entries"] as? [[Any]])?.first?[1] as? [[String]]) == [["f", "v"], ["f", "w"]])
        #expect(s["last_generated_id"] as? String == "5-0")
        let groups = try #require(s["groups"] as? [[String: Any]])
        #expect(groups.map { $0["name"] as? String } == ["g1", "g2"])
        #expect((groups[0]["entries_read"] as? NSNumber)?.intValue == 1)
        #expect(groups[1]["entries_read"] is NSNull)
        #expect((groups[1]["entries_read_rdb_raw"] as? NSNumber)?.uint64Value == UInt64.max)
        let pending = try #require(groups[0]["pending"] as? [[Any]])
        #expect(pending.map { $0[1] as? String } == ["alice", "bob"])
        #expect((pending[0][3] as? NSNumber)?.intValue == 2)
        let consumers = try #require(groups[0]["consumers"] as? [[String: Any]])
        #expect(consumers.map { $0["name"] as? String } == ["alice", "bob"])
        #expect((consumers[1]["active_time"] as? NSNumber)?.intValue == -1)
        #expect(((consumers[1]["pending"] as? [[Any]])?.first?[1] as? NSNumber)?.intValue == 78)
        let file = try #require(doc["rdb_file"] as? [String: Any])
        #expect(file["checksum"] as? String == "0000000000000abc")
        #expect(file["magic"] as? String == "REDIS0012")
        #expect((doc["functions"] as? [[String: String]])?.first?["library_code"] == "#!lua name=x\n")
        #expect(e.keyCount == 5)
    }

    @Test("short strings from a sort key's prefix: the bytes bytes() writes, or nothing when an escape is needed")
    func shortStrings() {
        var rng = SeededRandom(seed: 20261201)
        let alphabet: [UInt8] = [0x41, 0x7a, 0x30, 0x20, 0x7e, 0x3a, 0x22, 0x5c, 0x00, 0x0a, 0x1f, 0x7f, 0x80, 0xc3, 0xa9]
        for round in 0..<20_000 {
            let n = round % 17
            // Mostly plain ASCII (then written from the words), sometimes a byte that needs attention.
            let e = (0..<n).map { _ in rng.next() % 4 == 0 ? alphabet.randomElement(using: &rng)! : UInt8(0x21 + rng.next() % 90) }
            let key = e.withUnsafeBytes { LentSortKey($0, index: 0) }
            #expect(key.shortCount == n)
            let w = JSONWriter()
            w.raw("[")
            let done = w.shortString(key.high, key.low, count: n)
            w.raw("]")
            let plain = e.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5c }
            #expect(done == plain, "\(e)")
            let expected = done ? "[" + written { $0.bytes(e) } + "]" : "[]"
            #expect(String(decoding: w.buffer, as: UTF8.self) == expected, "\(e)")
        }
        let long = Array(repeating: UInt8(0x61), count: 17)
        #expect(long.withUnsafeBytes { LentSortKey($0, index: 3) }.shortCount == nil)
        #expect(long.withUnsafeBytes { LentSortKey($0, index: 3) }.index == 3)
    }

    @Test("an empty file is a valid document")
    func emptyDocument() throws {
        let w = JSONWriter()
        let e = CanonicalJSONEncoder(format: .json, writer: w)
        try e.consume(.header(RDBHeader(magic: .valkey, version: 80)))
        try e.consume(.eof(storedChecksum: nil, computedChecksum: nil))
        try e.finish()
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(w.buffer)) as? [String: Any])
        #expect((doc["databases"] as? [Any])?.isEmpty == true)
        #expect((doc["rdb_file"] as? [String: Any])?["magic"] as? String == "VALKEY080")
        #expect((doc["rdb_file"] as? [String: Any])?["checksum"] is NSNull)
    }
}
