import Foundation
import Testing
@testable import RDB
import TestSupport

/// Sets, sorted sets and hashes that repeat a member or field: Redis refuses the file ("Duplicate set
/// members detected", "Duplicate zset fields detected", "Duplicate hash fields detected" for the table
/// encodings on every load; the blob's integrity check for listpacks and ziplists, which redis-check-rdb
/// always runs deeply). With `rejectDuplicates` (what `rdb check` sets) the reader refuses them too,
/// naming the key, at the repeated member (table encodings) or the blob (packed ones). Files are made by
/// our writer, which writes members as given.
@Suite struct DuplicateMemberTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var version: Int
        var packed: Bool
        var type: UInt8
        /// What the file's repeat makes Redis print. A small table-encoded hash (these have 4 fields) is
        /// refused by redis-check-rdb while it still builds a listpack, with "Hash with dup elements".
        var redisMessage: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "set", version: 9, packed: false, type: 2, redisMessage: "Duplicate set members detected"),
        Case(name: "zset", version: 7, packed: false, type: 3, redisMessage: "Duplicate zset fields detected"),
        Case(name: "zset2", version: 9, packed: false, type: 5, redisMessage: "Duplicate zset fields detected"),
        Case(name: "hash", version: 9, packed: false, type: 4, redisMessage: "Hash with dup elements"),
        Case(name: "hash with field TTLs", version: 12, packed: false, type: 24, redisMessage: "Hash with dup elements"),
        Case(name: "set listpack", version: 11, packed: true, type: 20, redisMessage: "Set listpack integrity check failed"),
        Case(name: "zset ziplist", version: 9, packed: true, type: 12, redisMessage: "Zset ziplist integrity check failed"),
        Case(name: "zset listpack", version: 10, packed: true, type: 17, redisMessage: "Zset listpack integrity check failed"),
        Case(name: "hash ziplist", version: 9, packed: true, type: 13, redisMessage: "Hash ziplist integrity check failed"),
        Case(name: "hash listpack", version: 10, packed: true, type: 16, redisMessage: "Hash listpack integrity check failed"),
        Case(name: "hash listpack with field TTLs", version: 12, packed: true, type: 25, redisMessage: "Hash listpack"),
    ]

    static let key = Array("k".utf8)
    static func b(_ s: String) -> Bytes { Array(s.utf8) }

    /// The case's file with `count` members or fields; `repeated`: the last is the second's ("dup") again.
    /// Above 8 members, packed blobs are checked through the hash table rather than pairwise.
    static func file(_ c: Case, repeated: Bool, count: Int = 4) throws -> Bytes {
        var names = (0..<count).map { b("m\($0)") }
        names[1] = b("dup")
        if repeated { names[count - 1] = b("dup") }
        let value: RDBValue
        switch c.name {
        case let n where n.hasPrefix("set"):
            value = .set(names)
        case let n where n.hasPrefix("zset"):
            value = .sortedSet(names.enumerated().map { SortedSetMember(member: $1, score: Double($0 + 1)) })
        default:
            let ttl = c.name.hasSuffix("TTLs")
            value = .hash(names.enumerated().map {
                HashField(field: $1, value: b("v\($0)"), expireAtMs: ttl && $0 == 0 ? 1_900_000_000_000 : nil)
            })
        }
        var options = RDBWriterOptions(rdbVersion: c.version, compress: false, checksum: true)
        let limit = c.packed ? 1000 : 0
        options.hashMaxListpackEntries = limit
        options.setMaxListpackEntries = limit
        options.zsetMaxListpackEntries = limit
        let entry = RDBEntry(db: 0, key: key, value: value, rdbType: 0)
        return try WriterSamples.write([entry], options: options).bytes
    }

    static var rejecting: RDBReaderOptions {
        var o = RDBReaderOptions()
        o.rejectDuplicates = true
        return o
    }

    /// Where the second "dup" string (length byte 3, then the bytes) starts.
    static func secondDupOffset(_ bytes: Bytes) -> Int? {
        let needle: Bytes = [3] + b("dup")
        let hits = (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<$0 + needle.count]) == needle }
        return hits.count >= 2 ? hits[1] : nil
    }

    @Test(arguments: cases, [4, 300])
    func aRepeatedMemberIsRefusedWithKeyAndOffset(_ c: Case, count: Int) throws {
        let bytes = try Self.file(c, repeated: true, count: count)
        // Without the option (every other command) the file still reads, as before; check its encoding.
        let plain = try ReaderTestSupport.readAll(bytes)
        let entry = try #require(plain.compactMap { if case .entry(let e) = $0 { return e } else { return nil } }.first)
        #expect(entry.rdbType == c.type, "\(c.name): written as type \(entry.rdbType)")

        for chunking in [MemoryByteSource.Chunking.all, .oneByte] {
            do {
                _ = try ReaderTestSupport.readAll(bytes, chunking: chunking, options: Self.rejecting, name: "f.rdb")
                Issue.record("\(c.name): a repeated member was accepted")
            } catch let e as RDBError {
                #expect(e.key == Self.key, "\(e)")
                #expect(e.description.contains("\"dup\" repeated"), "\(e)")
                if c.packed {
                    #expect([.listpack, .ziplist].contains(e.code), "\(e)")
                    #expect(e.offset > 9 && e.offset < Int64(bytes.count), "\(e)")
                } else {
                    #expect(e.code == .corrupt, "\(e)")
                    #expect(e.offset == Int64(try #require(Self.secondDupOffset(bytes))), "\(e)")
                }
                #expect(e.description.hasPrefix("f.rdb: error at byte \(e.offset): "), "\(e)")
            }
        }
    }

    @Test(arguments: cases, [4, 300])
    func distinctMembersPass(_ c: Case, count: Int) throws {
        let bytes = try Self.file(c, repeated: false, count: count)
        for chunking in [MemoryByteSource.Chunking.all, .oneByte] {
            var o = Self.rejecting
            let records = try ReaderTestSupport.readAll(bytes, chunking: chunking, options: o)
            #expect(records.contains { if case .entry = $0 { return true } else { return false } })
            o.decodeValues = false  // rdb check's mode: bytes kept only for the check
            _ = try ReaderTestSupport.readAll(bytes, chunking: chunking, options: o)
        }
    }

    /// A field equal to an earlier one only as text (integer-encoded 12 and the raw string "12") is a repeat,
    /// as Redis compares the decoded strings.
    @Test func integerEncodedFieldRepeatsItsText() throws {
        var options = RDBWriterOptions(rdbVersion: 9, compress: false, checksum: false)
        options.hashMaxListpackEntries = 0
        let entry = RDBEntry(db: 0, key: Self.key, value: .hash([HashField(field: Self.b("12"), value: Self.b("a")),
                                                                  HashField(field: Self.b("x"), value: Self.b("b"))]),
                             rdbType: 0)
        var bytes = try WriterSamples.write([entry], options: options).bytes
        _ = try ReaderTestSupport.readAll(bytes, options: Self.rejecting)
        func find(_ needle: Bytes) -> Int? {
            (0...(bytes.count - needle.count)).first { Array(bytes[$0..<$0 + needle.count]) == needle }
        }
        let asInteger: Bytes = [0xc0, 12], asText: Bytes = [2] + Self.b("12")
        // Whichever form the writer chose for the first field, the second becomes the other one.
        let other = find(asInteger) != nil ? asText : asInteger
        let at = try #require(find([1] + Self.b("x")))
        bytes.replaceSubrange(at..<at + 2, with: other)  // no checksum to fix
        do {
            _ = try ReaderTestSupport.readAll(bytes, options: Self.rejecting)
            Issue.record("12 and \"12\" were accepted as distinct fields")
        } catch let e as RDBError {
            #expect(e.offset == Int64(at), "\(e)")
            #expect(e.description.contains("\"12\" repeated"), "\(e)")
        }
    }

    static func runCheck(_ binary: String, _ bytes: Bytes, _ name: String) throws -> (Int32, String) {
        try TestPaths.withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return try RedisServerProcess.checkRDB(url, binary: binary)
        }
    }

    /// Redis 7.0's redis-check-rdb refuses the files it can read (RDB <= 10) and accepts them without the
    /// repeat; Redis 8.2's does the same for the RDB 11 and 12 ones.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: RedisServerProcess.checkRDBBinaryPath),
                   "no redis-check-rdb 7.0 (REDIS_CHECK_RDB_BIN, default /usr/bin/redis-check-rdb)"),
          arguments: cases.filter { $0.version <= 10 })
    func redisCheckRDB70Agrees(_ c: Case) throws {
        let check = RedisServerProcess.checkRDBBinaryPath
        let (status, out) = try Self.runCheck(check, try Self.file(c, repeated: true), "bad.rdb")
        #expect(status != 0 && !out.contains("RDB looks OK"), "\(c.name): \(out)")
        #expect(out.contains(c.redisMessage), "\(c.name): \(out)")
        let (okStatus, okOut) = try Self.runCheck(check, try Self.file(c, repeated: false), "good.rdb")
        #expect(okStatus == 0 && okOut.contains("RDB looks OK"), "\(c.name): \(okOut)")
    }

    @Test(.enabled(if: RedisServerProcess.redis82CheckRDBBinaryPath != nil,
                   Comment(rawValue: RedisServerProcess.redis82MissingReason)),
          arguments: cases.filter { $0.version > 10 })
    func redisCheckRDB82Agrees(_ c: Case) throws {
        let check = try #require(RedisServerProcess.redis82CheckRDBBinaryPath)
        let (status, out) = try Self.runCheck(check, try Self.file(c, repeated: true), "bad.rdb")
        #expect(status != 0 && !out.contains("RDB looks OK"), "\(c.name): \(out)")
        #expect(out.contains(c.redisMessage), "\(c.name): \(out)")
        let (okStatus, okOut) = try Self.runCheck(check, try Self.file(c, repeated: false), "good.rdb")
        #expect(okStatus == 0 && okOut.contains("RDB looks OK"), "\(c.name): \(okOut)")
    }
}
