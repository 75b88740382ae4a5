import Testing
@testable import RDB

/// Redis 8.10 hash templates (RDB 15): HASH_TEMPLATE records (opcode 242), the reference types an RDB file
/// saves (30, 32) and the self-contained types of DUMP payloads (29, 31), read as plain hashes, drip-fed, with
/// every refusal Redis's loader makes (`rdb.c` `rdbLoadHashTemplate`, `rdbLoadTemplateFields`, `rdbLoadObject`).
@Suite struct HashTemplateTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    static func pairs(_ p: [(String, String)]) -> RDBValue { .hash(p.map { HashField(field: b($0.0), value: b($0.1)) }) }

    /// A HASH_TEMPLATE record: opcode, id, count, names.
    static func template(_ r: inout RDBBuilder, id: UInt64, _ names: [String]) {
        r.byte(242)
        r.len(id)
        r.len(UInt64(names.count))
        for n in names { r.str(n) }
    }

    /// Templates 7 (a, bb, cc: shorter names first) and 0 (one name), a HASH_TMPL_LP_REF and a
    /// HASH_TMPL_ARRAY_REF naming them, and a plain string after.
    static func file(version: Int = 15, lpItems: [PackItem]? = nil, arrayID: UInt64 = 7) -> [UInt8] {
        var r = RDBBuilder(version: version)
        r.aux("redis-ver", "8.10.2")
        template(&r, id: 7, ["a", "bb", "cc"])
        template(&r, id: 0, ["x"])
        r.selectDB(0)
        r.key(30, "lp")
        r.str(makeListpack(lpItems ?? [.i(7), .str("1"), .i(-20), .str("three")]))
        r.key(32, "arr")
        r.len(arrayID)
        r.str("v1"); r.int8Str(5); r.str("")
        r.key(30, "one")
        r.str(makeListpack([.i(0), .str("only")]))
        r.key(0, "after")
        r.str("ok")
        return r.finished()
    }

    static func entries(_ bytes: [UInt8], chunking: MemoryByteSource.Chunking = .all) throws -> [RDBEntry] {
        try ReaderTestSupport.readAll(bytes, chunking: chunking, name: "tmpl.rdb").compactMap {
            if case .entry(let e) = $0 { return e } else { return nil }
        }
    }

    static func refusal(_ bytes: [UInt8]) -> RDBError? {
        do { _ = try entries(bytes) } catch let e as RDBError { return e } catch { return nil }
        return nil
    }

    @Test func referencesReadAsPlainHashesInTemplateOrder() throws {
        let bytes = Self.file()
        for chunking in [MemoryByteSource.Chunking.all, .oneByte, .random(seed: 3, maxChunk: 5)] {
            let e = try Self.entries(bytes, chunking: chunking)
            #expect(e.map(\.key) == [Self.b("lp"), Self.b("arr"), Self.b("one"), Self.b("after")])
            #expect(e[0].value == Self.pairs([("a", "1"), ("bb", "-20"), ("cc", "three")]))
            #expect(e[0].rdbType == 30 && e[0].elementCount == 3)
            #expect(e[1].value == Self.pairs([("a", "v1"), ("bb", "5"), ("cc", "")]))
            #expect(e[1].rdbType == 32 && e[1].elementCount == 3)
            #expect(e[2].value == Self.pairs([("x", "only")]))
            #expect(e[3].value == .string(Self.b("ok")))
        }
        // The lending path lends the same pairs, keys lent or not, drip-fed.
        for lendsKeys in [false, true] {
            let lent = try ReaderLendingTests.readLent(bytes, chunking: .oneByte, options: .init(), lendsKeys: lendsKeys)
            #expect(lent == (try ReaderTestSupport.readAll(bytes)))
        }
        // Validation without values (rdb check) and with duplicate checks reads the same keys.
        var check = RDBReaderOptions()
        check.decodeValues = false
        check.rejectDuplicates = true
        #expect(try ReaderTestSupport.readAll(bytes, options: check).count == (try ReaderTestSupport.readAll(bytes)).count)
    }

    /// DUMP payloads from a real Redis 8.10.2 (`hash-min-template-entries 2`): HASH_TMPL_LP with FIELDS_LP names,
    /// HASH_TMPL_ARRAY with an LZF value, and a template whose values listpack uses integer encodings.
    @Test(arguments: [
        ("1d0010100000000300816102816202816302ff121200000004000001817802817902817a02ff0f00c78a9a67cc2e3feb",
         [("a", "x"), ("b", "y"), ("c", "z")]),
        ("1f0013130000000300826631038266320382663303ff027631027632c3094064017878e057000178780f00c3ec66a25d82fc0f",
         [("f1", "v1"), ("f2", "v2"), ("f3", String(repeating: "x", count: 100))]),
        ("1d000d0d0000000200817902817a02ff0d0d0000000300010102010101ff0f00b275c624d54cab92",
         [("y", "2"), ("z", "1")]),
    ])
    func realDumpPayloads(hex: String, expected: [(String, String)]) throws {
        let payload = try #require(hexBytes(hex))
        let d = try DumpPayload.decode(payload, key: Self.b("k"))
        #expect(d.value == Self.pairs(expected))
        #expect(d.rdbVersion == 15 && (d.rdbType == 29 || d.rdbType == 31))
    }

    /// FIELDS_RAW (format 1: a count, then names), for both self-contained types.
    @Test func selfContainedRawFieldNames() throws {
        var body: [UInt8] = [31, 1, 2]
        body += [1] + Self.b("p") + [2] + Self.b("qq")
        body += [2] + Self.b("v1") + [2] + Self.b("v2")
        #expect(try DumpPayload.decode(Self.payload(body)).value == Self.pairs([("p", "v1"), ("qq", "v2")]))
        var lp: [UInt8] = [29, 1, 1, 1] + Self.b("n")
        let values = makeListpack([.i(-3), .str("val")])
        lp += [UInt8(values.count)] + values
        #expect(try DumpPayload.decode(Self.payload(lp)).value == Self.pairs([("n", "val")]))
    }

    static func payload(_ body: [UInt8], version: UInt16 = 15) -> [UInt8] {
        var p = body + [UInt8(version & 0xff), UInt8(version >> 8)]
        let c = CRC64.checksum(p)
        p += le(c, 8)
        return p
    }

    @Test func referencesAreRefusedInDumpPayloads() {
        let lp = makeListpack([.i(0), .str("v")])
        for body in [[30, UInt8(lp.count)] + lp, [32, 0, 1, 0x76]] {
            do {
                _ = try DumpPayload.decode(Self.payload(body))
                Issue.record("decoded")
            } catch let e as RDBError {
                #expect(e.code == .unknownType && e.message.contains("not valid in a DUMP payload"))
            } catch { Issue.record("\(error)") }
        }
    }

    @Test func badSelfContainedFieldListsAreRefused() {
        let cases: [([UInt8], String)] = [
            ([31, 2, 1, 1, 0x61], "unknown template fields format 2"),
            ([31, 1, 0], "zero fields"),
            ([31, 1, 2, 2, 0x62, 0x62, 1, 0x61, 0, 0], "does not sort after"),   // "bb" before "a": longer first
            ([31, 1, 2, 1, 0x61, 1, 0x61, 0, 0], "does not sort after"),         // repeated
        ]
        for (body, message) in cases {
            do {
                _ = try DumpPayload.decode(Self.payload(body))
                Issue.record("decoded: \(message)")
            } catch let e as RDBError {
                #expect(e.message.contains(message), "\(e)")
            } catch { Issue.record("\(error)") }
        }
    }

    @Test func badFilesAreRefusedWithTheirOffsetAndKey() throws {
        // A values listpack one value short, one too long, without its id, with a string id, a negative id.
        let lpCases: [([PackItem], String)] = [
            ([.i(7), .str("1"), .str("2")], "holds 2 value(s) for 3 template field(s)"),
            ([.i(7), .str("1"), .str("2"), .str("3"), .str("4")], "holds 4 value(s) for 3 template field(s)"),
            ([], "template listpack is empty"),
            ([.str("x7"), .str("1"), .str("2"), .str("3")], "first entry is not an integer"),
            ([.i(-1), .str("1"), .str("2"), .str("3")], "is negative"),
            ([.i(9), .str("1"), .str("2"), .str("3")], "hash template id 9 was never defined"),
        ]
        for (items, message) in lpCases {
            let e = try #require(Self.refusal(Self.file(lpItems: items)), "\(message)")
            #expect(e.code == .listpack && e.message.contains(message) && e.key == Self.b("lp") && e.file == "tmpl.rdb", "\(e)")
        }
        let e = try #require(Self.refusal(Self.file(arrayID: 8)))
        #expect(e.code == .corrupt && e.message.contains("id 8 was never defined") && e.key == Self.b("arr"))

        // Records: a repeated id, zero fields, names out of order, the opcode before RDB 15.
        func withTemplates(_ version: Int = 15, _ add: (inout RDBBuilder) -> Void) -> [UInt8] {
            var r = RDBBuilder(version: version)
            add(&r)
            return r.finished()
        }
        let dup = try #require(Self.refusal(withTemplates { Self.template(&$0, id: 1, ["a"]); Self.template(&$0, id: 1, ["b"]) }))
        #expect(dup.code == .corrupt && dup.message.contains("id 1 appears twice") && dup.offset == 9 + 5)
        let zero = try #require(Self.refusal(withTemplates { Self.template(&$0, id: 1, []) }))
        #expect(zero.message.contains("zero fields"))
        let order = try #require(Self.refusal(withTemplates { Self.template(&$0, id: 1, ["b", "a"]) }))
        #expect(order.message.contains("field 1 does not sort after") && order.offset == 9 + 5)
        let old = try #require(Self.refusal(withTemplates(14) { Self.template(&$0, id: 1, ["a"]) }))
        #expect(old.code == .unknownOpcode && old.message.contains("not valid in RDB version 14") && old.offset == 9)
        // Under the VALKEY magic, 242 is Valkey's UPDATE and 30 is no type.
        var v = RDBBuilder(version: 81, valkey: true)
        Self.template(&v, id: 1, ["a"])
        #expect(Self.refusal(v.finished())?.message.contains("Valkey UPDATE opcode 242") == true)
        var v2 = RDBBuilder(version: 80, valkey: true)
        v2.key(30, "k")
        #expect(Self.refusal(v2.finished())?.code == .unknownType)
        // 33 stays refused by name.
        var g = RDBBuilder(version: 15)
        g.key(33, "k")
        #expect(Self.refusal(g.finished())?.message.contains("GCRA") == true)
    }

    /// `sdscmplen`: by length first, then bytes.
    @Test func templateOrderIsLengthThenBytes() {
        func less(_ a: String, _ b: String) -> Bool {
            Array(a.utf8).withUnsafeBytes { x in Array(b.utf8).withUnsafeBytes { y in RDBHashTemplate.less(x, y) } }
        }
        #expect(less("", "a") && less("z", "aa") && less("age", "name") && less("email", "phone"))
        #expect(!less("name", "age") && !less("a", "a") && !less("aa", "z"))
    }
}

func hexBytes(_ s: String) -> [UInt8]? {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let h = it.next() {
        guard let l = it.next(), let v = UInt8(String([h, l]), radix: 16) else { return nil }
        out.append(v)
    }
    return out
}
