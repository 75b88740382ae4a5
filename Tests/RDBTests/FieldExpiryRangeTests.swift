import Testing
import Foundation
import RDB
import TestSupport

/// Hash field expiries beyond 2^48-1 (`EB_EXPIRE_TIME_MAX`) make Redis refuse the whole file
/// (HASH_LISTPACK_EX: listpack integrity check; HASH_METADATA: "invalid expireAt time"), so the
/// reader refuses them too, naming the key; 2^48-1 itself reads. Files are made by our writer at
/// the limit, then patched to one past it; Redis 8.2's redis-check-rdb (when installed) must agree.
@Suite struct FieldExpiryRangeTests {
    static func file(fields: Int) throws -> Bytes {
        let entry = RDBEntry(db: 0, key: Array("h".utf8), value: .hash((0..<fields).map {
            HashField(field: Array("f\($0)".utf8), value: Array("v".utf8), expireAtMs: $0 == 0 ? RDBFieldExpiry.max : nil)
        }), rdbType: 0)
        var options = RDBWriterOptions(rdbVersion: 12, compress: false, checksum: false)
        options.hashMaxListpackEntries = 128
        return try WriterSamples.write([entry], options: options).bytes
    }

    /// Replaces every little-endian 8-byte `from` with `to` (the min-expiry header, and the listpack's
    /// 64-bit integer entry in HASH_LISTPACK_EX); returns how many were replaced.
    static func patch(_ bytes: inout Bytes, _ from: Int64, _ to: Int64) -> Int {
        let a = withUnsafeBytes(of: from.littleEndian) { Array($0) }
        let b = withUnsafeBytes(of: to.littleEndian) { Array($0) }
        var n = 0
        var i = 0
        while i + 8 <= bytes.count {
            if Array(bytes[i..<i + 8]) == a {
                bytes.replaceSubrange(i..<i + 8, with: b)
                n += 1
                i += 8
            } else {
                i += 1
            }
        }
        return n
    }

    /// The file at the limit, and the same file patched to one millisecond past it.
    static func filesAtAndPastTheLimit(fields: Int, type: Int) throws -> (atLimit: Bytes, past: Bytes) {
        let atLimit = try file(fields: fields)
        var past = atLimit
        #expect(patch(&past, RDBFieldExpiry.max, RDBFieldExpiry.max + 1) == (type == 25 ? 2 : 1))
        return (atLimit, past)
    }

    @Test(arguments: [(2, 25), (200, 24)])
    func oneMillisecondPastTheLimitIsRefused(fields: Int, type: Int) throws {
        var bytes = try Self.file(fields: fields)
        #expect(bytes.contains(UInt8(type)))
        let atLimit = try Logical.read(bytes: bytes)
        let read = atLimit.entries.first.flatMap { e -> Int64? in
            if case .hash(let f) = e.value { return f.compactMap(\.expireAtMs).first }
            return nil
        }
        #expect(read == RDBFieldExpiry.max)

        // HASH_METADATA stores ttl relative to the header (1 here): patching the header moves the field.
        #expect(Self.patch(&bytes, RDBFieldExpiry.max, RDBFieldExpiry.max + 1) == (type == 25 ? 2 : 1))
        do {
            _ = try Logical.read(bytes: bytes)
            Issue.record("type \(type): a field expiry of 2^48 was accepted")
        } catch let e as RDBError {
            #expect(e.code == (type == 25 ? .listpack : .corrupt), "\(e)")
            #expect(e.key == Array("h".utf8), "\(e)")
        }
    }

    /// Redis 8.2's redis-check-rdb agrees: the file at the limit is OK, one past it is refused.
    @Test(.enabled(if: RedisServerProcess.redis82CheckRDBBinaryPath != nil,
                   Comment(rawValue: RedisServerProcess.redis82MissingReason)),
          arguments: [(2, 25), (200, 24)])
    func redis82AgreesOnTheLimit(fields: Int, type: Int) throws {
        let check = try #require(RedisServerProcess.redis82CheckRDBBinaryPath)
        let (atLimit, past) = try Self.filesAtAndPastTheLimit(fields: fields, type: type)
        try TestPaths.withTemporaryDirectory { dir in
            for (name, data) in [("limit.rdb", atLimit), ("past.rdb", past)] {
                let url = dir.appendingPathComponent(name)
                try Data(data).write(to: url)
                let (_, out) = try RedisServerProcess.checkRDB(url, binary: check)
                #expect(out.contains("RDB looks OK") == (name == "limit.rdb"), "type \(type) \(name): \(out)")
            }
        }
    }
}
