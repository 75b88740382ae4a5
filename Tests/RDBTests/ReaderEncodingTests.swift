import Testing
@testable import RDB
import TestSupport

/// Handcrafted bytes for each encoding the reader understands (`rdbLoadObject` in Redis `src/rdb.c`).
@Suite struct ReaderEncodingTests {
    // MARK: Header, lengths, strings, key metadata

    @Test func headerAuxSelectResizeAndEOF() throws {
        var w = RDBBuilder(version: 11)
        w.aux("redis-ver", "7.2.0")
        w.byte(250); w.str("bits"); w.int8Str(64)
        w.selectDB(3)
        w.byte(251); w.len(100_000); w.len64(5)
        let bytes = w.finished()
        let recs = try readRecords(bytes)
        #expect(recs.count == 6)
        #expect(recs[0] == .header(RDBHeader(magic: .redis, version: 11)))
        #expect(recs[1] == .aux(key: b("redis-ver"), value: b("7.2.0")))
        #expect(recs[2] == .aux(key: b("bits"), value: b("64")))
        #expect(recs[3] == .selectDB(3))
        #expect(recs[4] == .resizeDB(dbSize: 100_000, expiresSize: 5))
        let crc = CRC64.checksum(Array(bytes.dropLast(8)))
        #expect(recs[5] == .eof(storedChecksum: crc, computedChecksum: crc))
        // bytesConsumed ends at the file end.
        let r = RDBReader(source: MemoryByteSource(bytes: bytes))
        while try r.next() != nil {}
        #expect(r.bytesConsumed == Int64(bytes.count))
    }

    @Test func lengthEncodingsAllWidths() throws {
        var w = RDBBuilder(version: 9)
        w.byte(251)
        w.bytes += [0x3f]              // 6-bit 63
        w.bytes += [0x7f, 0xff]        // 14-bit 16383
        w.byte(251)
        w.len32(0xdead_beef)
        w.len64(0x0102_0304_0506_0708)
        let recs = try readRecords(w.finished())
        #expect(recs[1] == .resizeDB(dbSize: 63, expiresSize: 16383))
        #expect(recs[2] == .resizeDB(dbSize: 0xdead_beef, expiresSize: 0x0102_0304_0506_0708))
        // 0x82 is not a length encoding.
        var bad = RDBBuilder(version: 9)
        bad.byte(251); bad.byte(0x82)
        #expect(readError(bad.finished())?.code == .badLength)
    }

    @Test func stringEncodingsRawIntLZF() throws {
        var w = RDBBuilder(version: 11)
        w.key(0, "raw"); w.str("hello")
        w.key(0, "i8"); w.int8Str(-5)
        w.key(0, "i16"); w.int16Str(-30000)
        w.key(0, "i32"); w.int32Str(2_000_000_000)
        w.key(0, "lzf"); w.lzfStr(compressed: [2, 0x61, 0x62, 0x63, 0x80, 2], length: 9)
        w.key(0, "empty"); w.str("")
        w.byte(0); w.int16Str(300); w.str("intkey")
        let es = try readEntries(w.finished())
        #expect(es.map(\.value) == [.string(b("hello")), .string(b("-5")), .string(b("-30000")),
                                    .string(b("2000000000")), .string(b("abcabcabc")), .string([]), .string(b("intkey"))])
        #expect(es[6].key == b("300"))
        #expect(es.allSatisfy { $0.rdbType == 0 && $0.db == 0 })
        // Unknown special encoding 4.
        var bad = RDBBuilder(version: 11)
        bad.key(0, "k"); bad.byte(0xc4)
        #expect(readError(bad.finished())?.code == .badStringEncoding)
        // LZF that expands to the wrong size.
        var badLZF = RDBBuilder(version: 11)
        badLZF.key(0, "k"); badLZF.lzfStr(compressed: [2, 0x61, 0x62, 0x63], length: 4)
        let e = readError(badLZF.finished())
        #expect(e?.code == .lzf)
        #expect(e?.key == b("k"))
    }

    @Test func expiryIdleFreqAndOffsets() throws {
        var w = RDBBuilder(version: 9)
        w.selectDB(2)
        let firstKeyAt = w.bytes.count
        w.byte(253); w.u32le(1_700_000_000)             // EXPIRETIME, seconds
        w.key(0, "a"); w.str("1")
        let secondKeyAt = w.bytes.count
        w.byte(252); w.i64le(1_700_000_000_123)         // EXPIRETIME_MS
        w.byte(248); w.len(16384)                       // IDLE
        w.key(0, "b"); w.str("2")
        let thirdKeyAt = w.bytes.count
        w.byte(249); w.byte(200)                        // FREQ > 127 is unsigned
        w.key(0, "c"); w.str("3")
        let end = w.bytes.count
        let es = try readEntries(w.finished())
        #expect(es.count == 3)
        #expect(es[0].expireAtMs == 1_700_000_000_000 && es[0].db == 2)
        #expect(es[1].expireAtMs == 1_700_000_000_123 && es[1].lruIdleSeconds == 16384)
        #expect(es[2].lfuFreq == 200 && es[2].expireAtMs == nil)
        #expect(es[0].startOffset == Int64(firstKeyAt))
        #expect(es[0].serializedSize == Int64(secondKeyAt - firstKeyAt))
        #expect(es[1].startOffset == Int64(secondKeyAt))
        #expect(es[2].startOffset == Int64(thirdKeyAt))
        #expect(es[2].serializedSize == Int64(end - thirdKeyAt))
    }

    // MARK: Lists

    @Test func listsLinkedZiplistQuicklists() throws {
        let zl = makeZiplist([.str("a"), .i(7), .i(-100), .i(30000), .i(-8_000_000), .i(2_000_000_000),
                              .i(-9_000_000_000), .s(Array(repeating: 0x78, count: 300)), .i(12), .i(0)])
        var w = RDBBuilder(version: 10)
        w.key(1, "linked"); w.len(2); w.str("x"); w.int8Str(9)
        w.key(10, "zl"); w.str(zl)
        w.key(14, "ql1"); w.len(2); w.str(makeZiplist([.str("p"), .str("q")])); w.str(makeZiplist([.i(1)]))
        // quicklist 2: PACKED listpack, PLAIN element, LZF-compressed PACKED node, empty PACKED node (skipped).
        let lp = makeListpack([.str("m"), .i(-1), .i(5000), .i(70000), .i(1 << 40)])
        w.key(18, "ql2"); w.len(4)
        w.len(2); w.str(lp)
        w.len(1); w.str("plain-node")
        let lp2 = makeListpack([.str("aaaaaaaaaaaa")])
        w.len(2); w.lzfStr(compressed: [UInt8(lp2.count - 1)] + lp2, length: lp2.count)
        w.len(2); w.str(makeListpack([]))
        let es = try readEntries(w.finished())
        #expect(es[0].value == .list([b("x"), b("9")]))
        #expect(es[1].value == .list([b("a"), b("7"), b("-100"), b("30000"), b("-8000000"), b("2000000000"),
                                      b("-9000000000"), Array(repeating: 0x78, count: 300), b("12"), b("0")]))
        #expect(es[2].value == .list([b("p"), b("q"), b("1")]))
        #expect(es[3].value == .list([b("m"), b("-1"), b("5000"), b("70000"), b(String(1 << 40)), b("plain-node"),
                                      b("aaaaaaaaaaaa")]))
        // Bad container.
        var bad = RDBBuilder(version: 10)
        bad.key(18, "q"); bad.len(1); bad.len(3); bad.str(lp)
        #expect(readError(bad.finished())?.code == .quicklist)
    }

    @Test func ziplistValidation() throws {
        func check(_ blob: [UInt8], _ code: RDBError.Code = .ziplist) {
            var w = RDBBuilder(version: 9)
            w.key(10, "zl"); w.str(blob)
            let e = readError(w.finished())
            #expect(e?.code == code, "\(blob)")
            #expect(e?.key == b("zl"))
        }
        let good = makeZiplist([.str("ab"), .i(5)])
        var wrongBytes = good; wrongBytes[0] &+= 1
        check(wrongBytes)
        var wrongTail = good; wrongTail[4] &+= 1
        check(wrongTail)
        var wrongCount = good; wrongCount[8] = 3
        check(wrongCount)
        var noEnd = good; noEnd[noEnd.count - 1] = 0
        check(noEnd)
        var badPrev = good; badPrev[14] = 9   // second entry's prevlen
        check(badPrev)
        var badEnc = good; badEnc[15] = 0xc5
        check(badEnc)
        check([1, 2, 3])
    }

    // MARK: Sets

    @Test func setsPlainIntsetListpack() throws {
        var w = RDBBuilder(version: 11)
        w.key(2, "plain"); w.len(2); w.str("m1"); w.int16Str(1000)
        w.key(11, "is16"); w.str(makeIntset([-3, 7, 300], width: 2))
        w.key(11, "is32"); w.str(makeIntset([-70000, 70000], width: 4))
        w.key(11, "is64"); w.str(makeIntset([Int64.min, 0, Int64.max], width: 8))
        w.key(20, "lp"); w.str(makeListpack([.str("a"), .i(-4096), .i(4095)]))
        let es = try readEntries(w.finished())
        #expect(es[0].value == .set([b("m1"), b("1000")]))
        #expect(es[1].value == .set([b("-3"), b("7"), b("300")]))
        #expect(es[2].value == .set([b("-70000"), b("70000")]))
        #expect(es[3].value == .set([b("-9223372036854775808"), b("0"), b("9223372036854775807")]))
        #expect(es[4].value == .set([b("a"), b("-4096"), b("4095")]))
        for blob in [makeIntset([1, 2], width: 3), makeIntset([2, 1], width: 2), makeIntset([1, 1], width: 4),
                     Array(makeIntset([1, 2], width: 2).dropLast())] {
            var bad = RDBBuilder(version: 11)
            bad.key(11, "is"); bad.str(blob)
            #expect(readError(bad.finished())?.code == .intset)
        }
    }

    @Test func listpackValidation() throws {
        let good = makeListpack([.str("ab"), .i(5)])
        for mutate in [{ (x: inout [UInt8]) in x[0] &+= 1 },        // total bytes
                       { (x: inout [UInt8]) in x[4] = 7 },          // count
                       { (x: inout [UInt8]) in x[9] = 2 },          // back-length of "ab"
                       { (x: inout [UInt8]) in x[10] = 0xf7 },      // invalid encoding
                       { (x: inout [UInt8]) in x[x.count - 1] = 1 }] {
            var blob = good
            mutate(&blob)
            var w = RDBBuilder(version: 11)
            w.key(20, "s"); w.str(blob)
            #expect(readError(w.finished())?.code == .listpack)
        }
        // Header count 65535 means "unknown": accepted.
        var w = RDBBuilder(version: 11)
        w.key(20, "s"); w.str(makeListpack([.i(1), .i(2)], headerCount: 65535))
        #expect(try readEntries(w.finished())[0].value == .set([b("1"), b("2")]))
    }

    // MARK: Sorted sets

    @Test func sortedSetsAllEncodings() throws {
        var w = RDBBuilder(version: 10)
        w.key(3, "z3"); w.len(4)
        w.str("a"); w.byte(4); w.raw(b("1.25"))
        w.str("b"); w.byte(254)
        w.str("c"); w.byte(255)
        w.str("d"); w.byte(6); w.raw(b("-1e300"))
        w.key(5, "z5"); w.len(2)
        w.str("x"); w.raw(le((2.5).bitPattern, 8))
        w.str("y"); w.raw(le((-0.0).bitPattern, 8))
        w.key(12, "zzl"); w.str(makeZiplist([.str("m"), .str("3.5"), .str("n"), .i(-2)]))
        w.key(17, "zlp"); w.str(makeListpack([.str("m"), .str("0.1"), .str("n"), .i(7)]))
        let es = try readEntries(w.finished())
        #expect(es[0].value == .sortedSet([SortedSetMember(member: b("a"), score: 1.25),
                                           SortedSetMember(member: b("b"), score: .infinity),
                                           SortedSetMember(member: b("c"), score: -.infinity),
                                           SortedSetMember(member: b("d"), score: -1e300)]))
        #expect(es[1].value == .sortedSet([SortedSetMember(member: b("x"), score: 2.5),
                                           SortedSetMember(member: b("y"), score: -0.0)]))
        #expect(es[2].value == .sortedSet([SortedSetMember(member: b("m"), score: 3.5),
                                           SortedSetMember(member: b("n"), score: -2)]))
        #expect(es[3].value == .sortedSet([SortedSetMember(member: b("m"), score: 0.1),
                                           SortedSetMember(member: b("n"), score: 7)]))
        // NaN scores are rejected (Redis: "Zset with NAN score detected"); so is non-numeric text.
        var nan = RDBBuilder(version: 10)
        nan.key(3, "z"); nan.len(1); nan.str("a"); nan.byte(253)
        #expect(readError(nan.finished())?.code == .badScore)
        var text = RDBBuilder(version: 10)
        text.key(17, "z"); text.str(makeListpack([.str("m"), .str("abc")]))
        #expect(readError(text.finished())?.code == .listpack)
        var odd = RDBBuilder(version: 10)
        odd.key(17, "z"); odd.str(makeListpack([.str("m")]))
        #expect(readError(odd.finished())?.code == .listpack)
    }

    // MARK: Hashes

    @Test func hashesPlainZipmapZiplistListpack() throws {
        // zipmap: zmlen 2, "f1"->"v1" (free 1), "f2"->"" , end.
        let zipmap: [UInt8] = [2, 2] + b("f1") + [2, 1] + b("v1") + [0x00] + [2] + b("f2") + [0, 0] + [0xff]
        var big: [UInt8] = [254]   // zmlen >= 254: count by walking
        big += [1] + b("k") + [254] + le(300, 4) + [0] + Array(repeating: 0x41, count: 300) + [0xff]
        var w = RDBBuilder(version: 6)
        w.key(4, "h"); w.len(1); w.str("f"); w.str("v")
        w.key(9, "zm"); w.str(zipmap)
        w.key(9, "zmbig"); w.str(big)
        w.key(13, "hzl"); w.str(makeZiplist([.str("a"), .i(1), .str("b"), .str("2")]))
        let es = try readEntries(w.finished())
        #expect(es[0].value == .hash([HashField(field: b("f"), value: b("v"))]))
        #expect(es[1].value == .hash([HashField(field: b("f1"), value: b("v1")), HashField(field: b("f2"), value: [])]))
        #expect(es[2].value == .hash([HashField(field: b("k"), value: Array(repeating: 0x41, count: 300))]))
        #expect(es[3].value == .hash([HashField(field: b("a"), value: b("1")), HashField(field: b("b"), value: b("2"))]))
        var lpw = RDBBuilder(version: 10)
        lpw.key(16, "hlp"); lpw.str(makeListpack([.str("f"), .str("v"), .str("g"), .i(-7)]))
        #expect(try readEntries(lpw.finished())[0].value
                == .hash([HashField(field: b("f"), value: b("v")), HashField(field: b("g"), value: b("-7"))]))
        // zipmap with a wrong count, and one whose terminator is not last.
        for blob in [[3] + Array(zipmap.dropFirst()), zipmap + [0]] {
            var bad = RDBBuilder(version: 6)
            bad.key(9, "zm"); bad.str(blob)
            #expect(readError(bad.finished())?.code == .zipmap)
        }
    }

    @Test func hashFieldExpiryEncodings() throws {
        var w = RDBBuilder(version: 12)
        // HASH_METADATA (24): minExpire 1000; ttl 0 = none; ttl 5 -> 1000 + 5 - 1.
        w.key(24, "hm"); w.i64le(1000); w.len(2)
        w.len(0); w.str("a"); w.str("1")
        w.len(5); w.str("b"); w.str("2")
        // HASH_LISTPACK_EX (25): minExpire, then (field, value, absolute ttl) triplets.
        w.key(25, "hlx"); w.i64le(1_800_000_000_000)
        w.str(makeListpack([.str("f"), .str("v"), .i(0), .str("g"), .i(1), .i(1_800_000_000_000)]))
        // Redis 7.4 release candidate type 22: absolute TTLs, no min-expire.
        w.key(22, "pre"); w.len(1); w.len(1_900_000_000_000); w.str("p"); w.str("q")
        // Pre-GA type 23: listpack triplets without the min-expire prefix.
        w.key(23, "prelp"); w.str(makeListpack([.str("x"), .str("y"), .i(42)]))
        let es = try readEntries(w.finished())
        #expect(es[0].value == .hash([HashField(field: b("a"), value: b("1")),
                                      HashField(field: b("b"), value: b("2"), expireAtMs: 1004)]))
        #expect(es[1].value == .hash([HashField(field: b("f"), value: b("v")),
                                      HashField(field: b("g"), value: b("1"), expireAtMs: 1_800_000_000_000)]))
        #expect(es[2].value == .hash([HashField(field: b("p"), value: b("q"), expireAtMs: 1_900_000_000_000)]))
        #expect(es[3].value == .hash([HashField(field: b("x"), value: b("y"), expireAtMs: 42)]))
        var bad = RDBBuilder(version: 12)
        bad.key(25, "hlx"); bad.i64le(0); bad.str(makeListpack([.str("f"), .str("v")]))
        #expect(readError(bad.finished())?.code == .listpack)
    }

    @Test func valkeyHash2AndSlotImport() throws {
        var w = RDBBuilder(version: 80, valkey: true)
        w.key(22, "h2"); w.len(2)
        w.str("a"); w.str("1"); w.i64le(-1)
        w.str("b"); w.str("2"); w.i64le(2_000_000_000_000)
        let slotImportAt = w.bytes.count
        w.byte(243); w.str("job-1"); w.len(2); w.len(0); w.len(100); w.len(16383); w.len(16383)
        let slotImportEnd = w.bytes.count
        let recs = try readRecords(w.finished())
        #expect(recs[0] == .header(RDBHeader(magic: .valkey, version: 80)))
        #expect(entries(recs)[0].value == .hash([HashField(field: b("a"), value: b("1")),
                                                 HashField(field: b("b"), value: b("2"), expireAtMs: 2_000_000_000_000)]))
        #expect(recs[2] == .valkeySlotImport(raw: Array(w.bytes[(slotImportAt + 1)..<slotImportEnd])))
        // Type 23 under VALKEY is PATH_HASH: not supported, said clearly.
        var p = RDBBuilder(version: 81, valkey: true)
        p.key(23, "x")
        #expect(readError(p.finished())?.code == .unknownType)
    }

    // MARK: Modules, functions, slot info

    static func moduleID(_ name: String, _ encver: UInt64) -> UInt64 {
        let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var id: UInt64 = 0
        for c in name.utf8 { id = (id << 6) | UInt64(charset.firstIndex(of: c) ?? 0) }
        return (id << 10) | encver
    }

    @Test func moduleValueAuxFunctionSlotInfo() throws {
        let id = Self.moduleID("ReJSON-RL", 3)
        var w = RDBBuilder(version: 11)
        let auxBodyStart: Int
        w.byte(247); w.len(id)
        auxBodyStart = w.bytes.count
        w.len(2); w.len(1)                    // when: UINT 1
        w.len(5); w.str("aux-data")           // STRING
        w.len(0)                              // EOF
        let auxBodyEnd = w.bytes.count
        w.byte(245); w.str("#!lua name=lib\nreturn 1")
        w.byte(244); w.len(12182); w.len(1); w.len(0)
        w.key(7, "json"); w.len(id)
        let valueStart = w.bytes.count
        w.len(1); w.len(5)                    // SINT
        w.len(2); w.len(1 << 40)              // UINT
        w.len(3); w.raw([0, 0, 0x80, 0x3f])   // FLOAT
        w.len(4); w.raw(le((1.5).bitPattern, 8)) // DOUBLE
        w.len(5); w.lzfStr(compressed: [2, 0x61, 0x62, 0x63, 0x80, 2], length: 9)
        w.len(0)
        let valueEnd = w.bytes.count
        let recs = try readRecords(w.finished())
        #expect(recs[1] == .moduleAux(ModuleAux(moduleID: id, moduleName: "ReJSON-RL", encodingVersion: 3,
                                                raw: Array(w.bytes[auxBodyStart..<auxBodyEnd]))))
        #expect(recs[2] == .function(code: b("#!lua name=lib\nreturn 1")))
        #expect(recs[3] == .slotInfo(slot: 12182, keys: 1, expires: 0))
        let e = entries(recs)[0]
        #expect(e.value == .module(ModuleValue(moduleID: id, moduleName: "ReJSON-RL", encodingVersion: 3,
                                               raw: Array(w.bytes[valueStart..<valueEnd]))))
        #expect(e.value.typeName == "ReJSON-RL")
        // Unknown module opcode.
        var bad = RDBBuilder(version: 11)
        bad.key(7, "m"); bad.len(id); bad.len(9)
        #expect(readError(bad.finished())?.code == .module)
    }

    // MARK: Streams

    /// A stream node listpack: master entry, then entries given as (flags, msDelta, seqDelta, fields?, values).
    static func streamNode(masterFields: [String], entries: [(Int64, Int64, Int64, [String]?, [String])],
                           count: Int64, deleted: Int64) -> [UInt8] {
        var items: [PackItem] = [.i(count), .i(deleted), .i(Int64(masterFields.count))]
        items += masterFields.map { PackItem.str($0) }
        items.append(.i(0))
        for (flags, ms, seq, fields, values) in entries {
            items += [.i(flags), .i(ms), .i(seq)]
            if let fields {
                items.append(.i(Int64(fields.count)))
                for (f, v) in zip(fields, values) { items += [.str(f), .str(v)] }
                items.append(.i(Int64(fields.count * 2 + 4)))
            } else {
                items += values.map { PackItem.str($0) }
                items.append(.i(Int64(values.count + 3)))
            }
        }
        return makeListpack(items)
    }

    @Test func streamV3WithGroupsSameFieldsDeletedAndNegativeDelta() throws {
        let master = StreamID(ms: 1000, seq: 5)
        let node = Self.streamNode(masterFields: ["f"], entries: [
            (2, 0, 0, nil, ["v0"]),                 // 1000-5, same fields
            (1 | 2, 0, 1, nil, ["gone"]),           // 1000-6, deleted
            (0, 3, -5, ["a", "b"], ["1", "2"]),     // 1003-0: seq delta negative
        ], count: 2, deleted: 1)
        var w = RDBBuilder(version: 11)
        w.key(21, "s"); w.len(1)
        w.str(be(master.ms, 8) + be(master.seq, 8)); w.str(node)
        w.len(2)                                    // length
        w.len(1003); w.len(0)                       // last id
        w.len(1000); w.len(5)                       // first id
        w.len(1000); w.len(6)                       // max deleted
        w.len(3)                                    // entries added
        w.len(1)                                    // groups
        w.str("g"); w.len(1003); w.len(0); w.len(2) // name, last delivered, entries read
        w.len(1); w.raw(be(1000, 8) + be(5, 8)); w.i64le(1_700_000_000_000); w.len(2)
        w.len(1); w.str("c"); w.i64le(11); w.i64le(-1); w.len(1); w.raw(be(1000, 8) + be(5, 8))
        let es = try readEntries(w.finished())
        guard case .stream(let s) = es[0].value else { Issue.record("not a stream"); return }
        #expect(s.entries == [StreamEntry(id: StreamID(ms: 1000, seq: 5), fields: [(b("f"), b("v0"))]),
                              StreamEntry(id: StreamID(ms: 1003, seq: 0), fields: [(b("a"), b("1")), (b("b"), b("2"))])])
        #expect(s.length == 2 && s.listpackNodes == 1 && s.lastID == StreamID(ms: 1003, seq: 0))
        #expect(s.firstID == StreamID(ms: 1000, seq: 5) && s.maxDeletedEntryID == StreamID(ms: 1000, seq: 6))
        #expect(s.entriesAdded == 3)
        #expect(s.groups == [StreamGroup(name: b("g"), lastDeliveredID: StreamID(ms: 1003, seq: 0), entriesReadRaw: 2,
                                         pending: [StreamPendingEntry(id: StreamID(ms: 1000, seq: 5),
                                                                      deliveryTimeMs: 1_700_000_000_000, deliveryCount: 2)],
                                         consumers: [StreamConsumer(name: b("c"), seenTimeMs: 11, activeTimeMs: -1,
                                                                    pendingIDs: [StreamID(ms: 1000, seq: 5)])])])
    }

    @Test func streamValidationErrors() {
        func stream(_ node: [UInt8], key: [UInt8] = be(1000, 8) + be(0, 8), consumerPEL: UInt64 = 0) -> [UInt8] {
            var w = RDBBuilder(version: 10)
            w.key(19, "s"); w.len(1); w.str(key); w.str(node)
            w.len(1); w.len(2000); w.len(0); w.len(0); w.len(0); w.len(0); w.len(0); w.len(1)
            w.len(1); w.str("g"); w.len(0); w.len(0); w.len(0); w.len(0)
            w.len(1); w.str("c"); w.i64le(0); w.len(1); w.raw(be(consumerPEL, 8) + be(0, 8))
            return w.finished()
        }
        let good = Self.streamNode(masterFields: ["f"], entries: [(2, 0, 0, nil, ["v"])], count: 1, deleted: 0)
        // Consumer owns an ID missing from the group PEL.
        #expect(readError(stream(good, consumerPEL: 1))?.code == .stream)
        // Node key not 16 bytes.
        #expect(readError(stream(good, key: [1, 2, 3]))?.code == .stream)
        // Wrong live count in the master entry.
        let wrongCount = Self.streamNode(masterFields: ["f"], entries: [(2, 0, 0, nil, ["v"])], count: 2, deleted: 0)
        #expect(readError(stream(wrongCount))?.code == .stream)
        // IDs going backwards.
        let backwards = Self.streamNode(masterFields: ["f"], entries: [(2, 5, 0, nil, ["v"]), (2, 1, 0, nil, ["w"])],
                                        count: 2, deleted: 0)
        #expect(readError(stream(backwards))?.code == .stream)
        // Empty listpack.
        #expect(readError(stream(makeListpack([])))?.code == .stream)
    }

    /// RDB 14 and 15 (Redis 8.10): the older types read as before, and type 27 (streams with a NACK zone,
    /// see StreamNackZoneTests), 28 (arrays, ArrayReaderTests) and 29-32 (hash templates, HashTemplateTests);
    /// 33 (GCRA) is an error naming the type, at the type byte.
    @Test func rdb15ReadsTheOlderTypesAndNamesTheNewOnes() throws {
        for version in [14, 15] {
            var b = RDBBuilder(version: version); b.key(0, "k"); b.str("v")
            let records = try readRecords(b.finished())
            #expect(records.contains { if case .entry = $0 { return true } else { return false } }, "RDB \(version)")
        }
        var s = RDBBuilder(version: 15); s.key(33, "x"); s.len(0)
        let e = readError(s.finished())
        #expect(e?.code == .unknownType && e?.description.contains("value type 33 GCRA") == true, "\(String(describing: e))")
        #expect(e?.offset == 9)
    }

    // MARK: Rejections

    @Test func clearRejections() {
        #expect(readError(Array("REDIS0016".utf8) + [255])?.code == .unsupportedVersion)
        #expect(readError(Array("REDIS0000".utf8) + [255])?.code == .unsupportedVersion)
        #expect(readError(Array("VALKEY079".utf8) + [255])?.code == .unsupportedVersion)
        #expect(readError(Array("RODIS0009".utf8) + [255])?.code == .badMagic)
        #expect(readError(Array("REDIS00".utf8))?.code == .truncated)
        var t6 = RDBBuilder(version: 8); t6.key(6, "m"); t6.len(1)
        let e6 = readError(t6.finished())
        #expect(e6?.code == .preRelease)
        #expect(e6?.description.contains("Pre-release") == true)
        #expect(e6?.key == b("m"))
        var f = RDBBuilder(version: 10); f.byte(246); f.str("lib")
        #expect(readError(f.finished())?.code == .preRelease)
        var ent = RDBBuilder(version: 12); ent.byte(0x6b); ent.len(67)
        let ee = readError(ent.finished())
        #expect(ee?.code == .unknownOpcode)
        #expect(ee?.description.contains("Redis Enterprise") == true)
        var unk = RDBBuilder(version: 12); unk.byte(8)
        #expect(readError(unk.finished())?.code == .unknownType)
        var update = RDBBuilder(version: 81, valkey: true); update.byte(242)
        #expect(readError(update.finished())?.code == .unknownOpcode)
        var meta = RDBBuilder(version: 12); meta.byte(243)
        #expect(readError(meta.finished())?.code == .unknownOpcode)
    }

    @Test func keyMetaIsSkippedInVersion13() throws {
        var w = RDBBuilder(version: 13)
        let start = w.bytes.count
        w.byte(243); w.len(1); w.raw([0, 0, 0, 1]); w.len(2); w.len(77); w.len(0)
        w.key(0, "k"); w.str("v")
        let es = try readEntries(w.finished())
        #expect(es.count == 1 && es[0].value == .string(b("v")))
        #expect(es[0].startOffset == Int64(start))
    }

    @Test func checksumMismatchDisabledAndIgnored() throws {
        var w = RDBBuilder(version: 9)
        w.key(0, "k"); w.str("v")
        var bytes = w.finished()
        bytes[bytes.count - 3] ^= 0x40
        let e = readError(bytes)
        #expect(e?.code == .checksumMismatch)
        #expect(e?.offset == Int64(bytes.count - 8))
        var noVerify = RDBReaderOptions()
        noVerify.verifyChecksum = false
        #expect(try readRecords(bytes, options: noVerify).count == 3)
        // Stored 0 = checksum disabled.
        let zero = w.finished(checksum: false)
        guard case .eof(let stored, let computed)? = try readRecords(zero).last else { Issue.record("no eof"); return }
        #expect(stored == 0 && computed != 0)
        // Version < 5: no trailer at all.
        var old = RDBBuilder(version: 4)
        old.key(0, "k"); old.str("v")
        #expect(try readRecords(old.finished()).last == .eof(storedChecksum: nil, computedChecksum: nil))
    }

    @Test func errorsNameFileOffsetKeyAndDB() {
        var w = RDBBuilder(version: 9)
        w.selectDB(4)
        w.key(11, "my-set"); w.str(makeIntset([5, 1], width: 2))
        guard let e = readError(w.finished()) else { Issue.record("no error"); return }
        #expect(e.file == "test.rdb")
        #expect(e.key == b("my-set") && e.db == 4)
        #expect(e.description.hasPrefix("test.rdb: error at byte "))
        #expect(e.description.contains("(key \"my-set\", db 4)"))
    }

    @Test func decodeValuesFalseValidatesButKeepsPlaceholders() throws {
        var w = RDBBuilder(version: 11)
        w.key(0, "s"); w.lzfStr(compressed: [2, 0x61, 0x62, 0x63, 0x80, 2], length: 9)
        w.key(20, "set"); w.str(makeListpack([.str("a")]))
        w.key(5, "z"); w.len(1); w.str("m"); w.raw(le((1.0).bitPattern, 8))
        let bytes = w.finished()
        var opts = RDBReaderOptions()
        opts.decodeValues = false
        let es = try readEntries(bytes, options: opts)
        #expect(es.map(\.key) == [b("s"), b("set"), b("z")])
        #expect(es.map(\.value) == [.string([]), .set([]), .sortedSet([])])
        // Still validated: a bad LZF payload fails even when values are not decoded.
        var bad = RDBBuilder(version: 11)
        bad.key(0, "s"); bad.lzfStr(compressed: [2, 0x61, 0x62, 0x63, 0x80, 9], length: 9)
        #expect(readError(bad.finished(), options: opts)?.code == .lzf)
    }

    @Test func lengthsAreBoundedBeforeAllocation() {
        // A 4 GB string claimed by a 20-byte file: rejected by the limit, nothing allocated.
        var w = RDBBuilder(version: 9)
        w.key(0, "k"); w.len32(0xffff_fff0)
        #expect(readError(w.bytes)?.code == .badLength)
        // Within the limit but beyond the input: truncated.
        var t = RDBBuilder(version: 9)
        t.key(0, "k"); t.len32(10_000_000)
        #expect(readError(t.bytes)?.code == .truncated)
        // A huge element count with no elements: truncated, no reservation.
        var c = RDBBuilder(version: 9)
        c.key(1, "l"); c.len64(1 << 62)
        #expect(readError(c.bytes)?.code == .truncated)
        // LZF claiming an absurd expansion.
        var l = RDBBuilder(version: 9)
        l.key(0, "k"); l.byte(0xc3); l.len(2); l.len(100_000_000); l.raw([0, 0x61])
        #expect(readError(l.bytes)?.code == .lzf)
    }
}

extension ReaderEncodingTests {
    /// The background checksum (slots reused many times over a ~3 MB input) equals the synchronous one,
    /// for any input split, and both catch a flipped byte.
    @Test func backgroundAndSynchronousChecksumsAgree() throws {
        var w = RDBBuilder(version: 11)
        var rng = SeededRandom(seed: 5)
        for i in 0..<3000 {
            w.key(0, "k\(i)")
            w.str((0..<(1000 + Int(rng.next() % 100))).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        let bytes = w.finished()
        var sync = RDBReaderOptions()
        sync.backgroundChecksum = false
        var background = RDBReaderOptions()
        background.backgroundChecksum = true  // the default only where the CRC is table-driven
        let expected = CRC64.checksum(Array(bytes.dropLast(8)))
        for (options, chunking) in [(background, MemoryByteSource.Chunking.all),
                                    (background, .random(seed: 9, maxChunk: 300_000)),
                                    (sync, .random(seed: 10, maxChunk: 100_000))] {
            let recs = try ReaderTestSupport.readAll(bytes, chunking: chunking, options: options)
            #expect(recs.last == .eof(storedChecksum: expected, computedChecksum: expected))
            var bad = bytes
            bad[bytes.count / 2] ^= 1
            #expect(throws: RDBError.self) { _ = try ReaderTestSupport.readAll(bad, chunking: chunking, options: options) }
        }
        // A reader dropped half-way (background work still queued) cleans up without trouble.
        let r = RDBReader(source: MemoryByteSource(bytes: bytes), options: background)
        for _ in 0..<1500 { _ = try r.next() }
    }
}

extension ReaderEncodingTests {
    @Test func decimalTextMatchesStringConversion() {
        var rng = SeededRandom(seed: 77)
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.min + 1]
        for _ in 0..<2000 { values.append(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)) }
        for v in values { #expect(readerDecimalBytes(v) == Array(String(v).utf8), "\(v)") }
    }
}

extension ReaderEncodingTests {
    /// Values larger than the read buffer: a raw string is copied out chunk by chunk, a blob (listpack) grows
    /// the buffer for itself, an LZF string compressed to more than the buffer is decompressed whole; later
    /// small values still read fine (the buffer shrinks back).
    @Test func valuesLargerThanTheBuffer() throws {
        var rng = SeededRandom(seed: 11)
        let big = (0..<1_000_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let items = (0..<30_000).map { PackItem.str("member-\($0)") }
        let lp = makeListpack(items, headerCount: 65535)
        #expect(lp.count > 300_000)
        let runs = Array(repeating: UInt8(0x41), count: 400_000)
        let compressed = LZF.compress(runs) ?? []
        var w = RDBBuilder(version: 11)
        w.key(0, "big"); w.str(big)
        w.key(20, "set"); w.str(lp)
        w.key(0, "lzf"); w.lzfStr(compressed: compressed, length: runs.count)
        w.key(0, "small"); w.str("x")
        let bytes = w.finished()
        let options = RDBReaderOptions(bufferSize: 64 * 1024)
        for chunking in [MemoryByteSource.Chunking.all, .random(seed: 4, maxChunk: 50_000)] {
            let es = entries(try ReaderTestSupport.readAll(bytes, chunking: chunking, options: options))
            #expect(es.count == 4)
            #expect(es[0].value == .string(big))
            #expect(es[1].elementCount == 30_000)
            #expect(es[2].value == .string(runs))
            #expect(es[3].value == .string(b("x")))
        }
    }
}
