import Testing
import Foundation
@testable import RDB
import TestSupport

/// DUMP payloads (Redis `cluster.c` createDumpPayload / verifyDumpPayload): encode, decode, refuse damage.
@Suite struct DumpPayloadTests {
    /// Every sample value, for every version that can hold it (Valkey 9's 80 too), decodes to what it was encoded from.
    @Test(arguments: Array(7...15) + [RDBWriterOptions.valkeyVersion])
    func samplesRoundTrip(version: Int) throws {
        let entries = WriterSamples.entries(fieldTTL: version >= 12, streams: version >= 9,
                                            idmp: version >= 13 && version < 80, nackZone: version >= 14 && version < 80)
        for e in entries {
            if case .module = e.value, version < 8 { continue }
            let payload = try DumpPayload.encode(e.value, key: e.key, rdbVersion: version)
            // Footer: version LE, then the CRC-64 of everything before the CRC.
            let n = payload.count
            #expect(Int(payload[n - 10]) | Int(payload[n - 9]) << 8 == version)
            let crc = CRC64.checksum(Array(payload[0..<(n - 8)]))
            #expect(payload[(n - 8)...].elementsEqual((0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt64($0))) }))
            let decoded = try DumpPayload.decode(payload, key: e.key)
            #expect(decoded.rdbVersion == version)
            var back = e
            back.value = decoded.value
            #expect(Logical.line(back, version: version) == Logical.line(e, version: version), "key \(String(decoding: e.key, as: UTF8.self))")
        }
    }

    /// Values larger than the writer's 1 MiB flush threshold stay whole in the payload (an array's writer flushed
    /// inside the value once, losing its head), and one `Encoder` writing payload after payload, big and small,
    /// compressed and not, writes what a fresh one writes each time.
    @Test func bigValuesAndAReusedEncoder() throws {
        var rng = SeededRandom(seed: 42)
        // Random bytes: LZF cannot shrink them, so the values really are over 1 MiB.
        let big = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let values: [RDBValue] = [
            .array(ArrayValue(elements: (0..<3000).map { ArrayElement(index: UInt64($0) * 3, value: big) })),
            .string(Array("small".utf8)),
            .list((0..<2000).map { _ in big }),
            .string(big),
            .hash((0..<1500).map { HashField(field: Array("f\($0)".utf8), value: big) }),
        ]
        let encoder = DumpPayload.Encoder()
        for _ in 0..<2 {
            for v in values {
                let fresh = try DumpPayload.encode(v, rdbVersion: 15)
                #expect(try encoder.encode(v, rdbVersion: 15) == fresh)
                #expect(try DumpPayload.decode(fresh).value == v)
            }
        }
    }

    /// The body of a payload is the value exactly as the RDB file holds it after the key.
    @Test func bodyMatchesTheFileEncoding() throws {
        let e = RDBEntry(db: 0, key: Array("k".utf8), value: .list((0..<10).map { Array("v\($0)".utf8) }), rdbType: 0)
        let (file, _) = try WriterSamples.write([e], options: RDBWriterOptions(rdbVersion: 11))
        let payload = try DumpPayload.encode(e.value, key: e.key, rdbVersion: 11)
        let body = Array(payload.dropLast(10))
        // type byte + (key "k" as 0x01 'k') + value in the file.
        let typeAt = file.firstIndex(of: body[0])!
        #expect(Array(file[(typeAt + 3)..<(typeAt + 3 + body.count - 1)]) == Array(body.dropFirst()))
    }

    /// Valkey 9.1.2's own DUMP payloads carry its RDB version, 80, and its type byte 22 is HASH_2 (field
    /// expiries), not Redis 7.4's pre-GA hash metadata. Captured from `valkey-server` 9.1.2:
    /// `HSET hf a 1 b 2`, `HPEXPIREAT hf 4102444800123 FIELDS 1 a`, `DUMP hf`; `RPUSH l x y z`, `DUMP l`.
    @Test func valkeyPayloads() throws {
        func bytes(_ hex: String) -> Bytes {
            var out: Bytes = []
            var it = hex.makeIterator()
            while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
            return out
        }
        let hash = try DumpPayload.decode(bytes("16020161c0017bd8c32cbb0300000162c002ffffffffffffffff500055b14e3c9dc212bc"), key: Array("hf".utf8))
        #expect(hash.rdbVersion == 80 && hash.rdbType == 22)
        #expect(hash.value == .hash([HashField(field: Array("a".utf8), value: Array("1".utf8), expireAtMs: 4102444800123),
                                     HashField(field: Array("b".utf8), value: Array("2".utf8))]))
        let list = try DumpPayload.decode(bytes("12010210100000000300817802817902817a02ff50002e59faf2e63e16ef"), key: Array("l".utf8))
        #expect(list.rdbVersion == 80)
        #expect(list.value == .list(["x", "y", "z"].map { Array($0.utf8) }))
        // A version between Redis's newest and Valkey's first is nobody's.
        var other = try DumpPayload.encode(.string(Array("v".utf8)), rdbVersion: 12)
        other[other.count - 10] = 40
        #expect(throws: RDBError.self) { try DumpPayload.decode(other, verifyChecksum: false) }
    }

    @Test func damagedPayloadsAreRefused() throws {
        let payload = try DumpPayload.encode(.string(Array("hello world".utf8)), rdbVersion: 10)
        var flipped = payload
        flipped[2] ^= 0x40
        #expect(throws: RDBError.self) { try DumpPayload.decode(flipped) }
        do { _ = try DumpPayload.decode(flipped) } catch let e as RDBError { #expect(e.code == .checksumMismatch) }
        // Too new for the reader's limit.
        do { _ = try DumpPayload.decode(payload, maxRDBVersion: 9) } catch let e as RDBError { #expect(e.code == .unsupportedVersion) }
        // Every truncation is an error value, never a crash.
        for cut in 0..<payload.count {
            #expect(throws: RDBError.self) { try DumpPayload.decode(Array(payload[0..<cut]), verifyChecksum: false) }
        }
        // Trailing bytes between the value and the footer.
        var body = Array(payload.dropLast(10))
        body.append(0)
        body += [10, 0]
        let crc = CRC64.checksum(body)
        body += (0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt64($0))) }
        do { _ = try DumpPayload.decode(body) ; Issue.record("trailing byte accepted") } catch let e as RDBError { #expect(e.code == .corrupt) }
    }

    @Test func unrepresentableValuesNameTheKey() throws {
        let stream = RDBValue.stream(StreamValue(entries: [], length: 0, listpackNodes: 0, lastID: .zero))
        do {
            _ = try DumpPayload.encode(stream, key: Array("s".utf8), rdbVersion: 8)
            Issue.record("stream at RDB 8 accepted")
        } catch let e as RDBWriteError {
            #expect(e.code == .notRepresentable && e.key == Array("s".utf8))
        }
    }

    /// A payload from a real server's DUMP decodes, and the server RESTOREs ours.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: RedisServerProcess.defaultBinaryPath), "no redis-server"))
    func realServerDumpAndRestore() throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = try server.client()
        _ = try client.command(["RPUSH", "l", "a", "b", "12345"])
        _ = try client.command(["HSET", "h", "f", "v"])
        guard case .bulk(let dumped?) = try client.command(["DUMP", "l"]) else { Issue.record("no DUMP reply"); return }
        let d = try DumpPayload.decode(Array(dumped))
        #expect(d.value == .list([Array("a".utf8), Array("b".utf8), Array("12345".utf8)]))
        let ours = try DumpPayload.encode(.hash([HashField(field: Array("x".utf8), value: Array("y".utf8))]), rdbVersion: 10)
        #expect(try client.command([Array("RESTORE".utf8), Array("h2".utf8), Array("0".utf8), ours]) == .simple("OK"))
        #expect(try client.command(["HGET", "h2", "x"]) == .bulk(Array("y".utf8)))
    }
}
