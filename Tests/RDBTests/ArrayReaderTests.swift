import Testing
@testable import RDB

/// Redis 8.10 arrays (RDB type 28): every element tag, the insert cursor, Redis's refusals, drip-fed; and the
/// float text (`arFormatFloat`, `d2string`, `fpconv_dtoa`) the FLOAT tag is shown with.
@Suite struct ArrayReaderTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// One array key "a": count, cursor, then the elements as (index, tag, value bytes) exactly as given.
    static func file(count: UInt64? = nil, flag: UInt64 = 1, cursor: UInt64 = 9,
                     _ elements: [(UInt64, UInt64, (inout RDBBuilder) -> Void)]) -> [UInt8] {
        var r = RDBBuilder(version: 15)
        r.key(28, "a")
        r.len(count ?? UInt64(elements.count))
        r.len(flag)
        if flag == 1 { r.len(cursor) }
        for (index, tag, value) in elements {
            r.len(index)
            r.len(tag)
            value(&r)
        }
        r.key(0, "after")
        r.str("ok")
        return r.finished()
    }

    static var sample: [(UInt64, UInt64, (inout RDBBuilder) -> Void)] { [
        (0, 1, { $0.i64le(-17) }),
        (1, 2, { $0.raw(le(1.5.bitPattern, 8)) }),
        (2, 2, { $0.raw(le(1.0.bitPattern, 8)) }),
        (3, 3, { $0.str("seven!!") }),
        (4096, 0, { $0.str("a heap string") }),
        (UInt64.max - 1, 0, { $0.int8Str(5) }),
    ] }

    static func entries(_ bytes: [UInt8], chunking: MemoryByteSource.Chunking = .all,
                        options: RDBReaderOptions = .init()) throws -> [RDBEntry] {
        try ReaderTestSupport.readAll(bytes, chunking: chunking, options: options, name: "ar.rdb").compactMap {
            if case .entry(let e) = $0 { return e } else { return nil }
        }
    }

    @Test func everyTagReadsAsTheServerReplies() throws {
        let bytes = Self.file(Self.sample)
        let want = ArrayValue(elements: [
            ArrayElement(index: 0, value: Self.b("-17")), ArrayElement(index: 1, value: Self.b("1.5")),
            ArrayElement(index: 2, value: Self.b("1.0")), ArrayElement(index: 3, value: Self.b("seven!!")),
            ArrayElement(index: 4096, value: Self.b("a heap string")), ArrayElement(index: UInt64.max - 1, value: Self.b("5")),
        ], insertIndex: 9)
        for chunking in [MemoryByteSource.Chunking.all, .oneByte, .random(seed: 5, maxChunk: 3)] {
            let e = try Self.entries(bytes, chunking: chunking)
            #expect(e.count == 2 && e[0].value == .array(want) && e[0].rdbType == 28 && e[0].elementCount == 6)
            #expect(e[1].value == .string(Self.b("ok")))
        }
        // Lent path: arrays come materialized; the same records.
        let lent = try ReaderLendingTests.readLent(bytes, chunking: .oneByte, options: .init(), lendsKeys: true)
        #expect(lent == (try ReaderTestSupport.readAll(bytes)))
        // Validation only (rdb check): the same keys, the count kept.
        var check = RDBReaderOptions()
        check.decodeValues = false
        let checked = try Self.entries(bytes, options: check)
        #expect(checked.count == 2 && checked[0].elementCount == 6)
        // No cursor.
        guard case .array(let a)? = try Self.entries(Self.file(flag: 0, Self.sample)).first?.value else { Issue.record("no array"); return }
        #expect(a.insertIndex == nil)
    }

    /// Another order loads (Redis's `arSet` per element); a repeated index keeps its last value.
    @Test func unorderedAndRepeatedIndexes() throws {
        let bytes = Self.file([(7, 0, { $0.str("x") }), (2, 0, { $0.str("y") }), (7, 0, { $0.str("z") })])
        let e = try #require(try Self.entries(bytes).first)
        #expect(e.value == .array(ArrayValue(elements: [ArrayElement(index: 2, value: Self.b("y")),
                                                        ArrayElement(index: 7, value: Self.b("z"))], insertIndex: 9)))
    }

    @Test func refusalsNameTheOffsetAndKey() throws {
        let cases: [([UInt8], String)] = [
            (Self.file(count: 0, []), "empty array"),
            (Self.file(flag: 2, Self.sample), "insert index flag 2"),
            (Self.file(cursor: UInt64.max, Self.sample), "insert index 2^64-1"),
            (Self.file([(UInt64.max, 0, { $0.str("x") })]), "invalid array index 18446744073709551615"),
            (Self.file([(0, 4, { $0.str("x") })]), "unknown array element tag 4"),
            (Self.file([(0, 3, { $0.str("eight ch") })]), "small string of 8 bytes"),
            // A count above the elements: the next key's bytes are read as an element (type 0, then "after"'s length 5).
            (Self.file(count: 3, Array(Self.sample.prefix(2))), "unknown array element tag 5"),
        ]
        for (bytes, message) in cases {
            do {
                _ = try Self.entries(bytes)
                Issue.record("read: \(message)")
            } catch let e as RDBError {
                #expect((e.message.contains(message) || e.code.rawValue == message) && e.file == "ar.rdb" && e.offset > 9, "\(e)")
                #expect(e.key == Self.b("a"), "\(e)")
            }
        }
        // An encoded length as an index.
        var r = RDBBuilder(version: 15)
        r.key(28, "a"); r.len(1); r.len(0); r.int8Str(1); r.len(0); r.str("x")
        do { _ = try Self.entries(r.finished()); Issue.record("read") } catch let e as RDBError {
            #expect(e.message.contains("an encoded length"))
        }
    }

    /// `arFormatFloat` against what Redis 8.10.2 answered to ARGET for values it stored as doubles, and
    /// `d2string` / `fpconv_dtoa`'s three layouts.
    @Test func floatText() {
        let cases: [(Double, String)] = [
            (1.5, "1.5"), (1.0, "1.0"), (-0.0, "-0.0"), (0.001, "0.001"), (3.14159, "3.14159"),
            (12345678901234567000.0, "12345678901234567000.0"), (4611686018427387904.0, "4611686018427387904.0"),
            (0.1, "0.1"), (-2.5, "-2.5"), (100.25, "100.25"),
        ]
        for (d, text) in cases { #expect(String(decoding: RedisDoubleText.arrayFloat(d), as: UTF8.self) == text, "\(d)") }
        // Checked against Redis 8.10.2's ZSCORE replies (also `d2string`; more in RedisDoubleTextTests). 1e23:
        // Grisu2's digits are not the shortest there, and Redis prints them.
        #expect(String(decoding: RedisDoubleText.arrayFloat(1e23), as: UTF8.self) == "99999999999999990000000.0")
        let d2: [(Double, String)] = [
            (1e20, "1e+20"), (1.5e-7, "1.5e-7"), (1e-7, "1e-7"), (0.0000012, "1.2e-6"),
            (1.2345e-5, "1.2345e-5"), (123456789.125, "123456789.125"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-1e100, "-1e+100"), (.infinity, "inf"), (-.infinity, "-inf"), (0, "0"), (-0.0, "-0"), (42, "42"),
            (9007199254740993, "9007199254740992"),
        ]
        for (d, text) in d2 { #expect(String(decoding: RedisDoubleText.d2string(d), as: UTF8.self) == text, "\(d)") }
        #expect(String(decoding: RedisDoubleText.arrayFloat(.infinity), as: UTF8.self) == "inf")
    }
}
