import Foundation
import Testing
import CZlib
@testable import RDB

/// File, gzip and memory sources, and `openRDBSource`'s gzip detection.
@Suite struct ReaderSourceTests {
    func tempPath(_ name: String) -> String {
        NSTemporaryDirectory() + "rdb-reader-\(getpid())-\(name)"
    }

    func sample() -> [UInt8] {
        var w = RDBBuilder(version: 11)
        w.aux("redis-ver", "7.2.0")
        for i in 0..<2000 {
            w.key(0, "key:\(i)"); w.str(String(repeating: "v\(i % 7)", count: 1 + i % 50))
        }
        w.key(20, "set"); w.str(makeListpack((0..<100).map { .i(Int64($0)) }))
        return w.finished()
    }

    func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Gzips `bytes` into `path` as `members` concatenated gzip members (what `cat a.gz b.gz` makes).
    func gzip(_ bytes: [UInt8], _ path: String, members: Int = 1) {
        unlink(path)
        let step = (bytes.count + members - 1) / members
        var off = 0
        while off < bytes.count {
            guard let f = gzopen(path, "ab") else { Issue.record("gzopen failed"); return }
            let n = min(step, bytes.count - off)
            bytes.withUnsafeBytes { p in
                if let base = p.baseAddress { _ = gzwrite(f, base + off, UInt32(n)) }
            }
            gzclose(f)
            off += n
        }
    }

    @Test func fileAndGzipSourcesGiveTheSameRecords() throws {
        let bytes = sample()
        let expected = try ReaderTestSupport.readAll(bytes)
        let plain = tempPath("plain.rdb")
        let gz = tempPath("packed.rdb.gz")
        defer { unlink(plain); unlink(gz) }
        try write(bytes, plain)
        gzip(bytes, gz)
        for path in [plain, gz] {
            let r = try AnyRDBReader(path: path)
            var recs: [RDBRecord] = []
            while let rec = try r.next() { recs.append(rec) }
            #expect(recs == expected, "\(path)")
            #expect(r.fileName == path)
        }
        // The concrete file source, too.
        let r = RDBReader(source: try FileByteSource(path: plain), fileName: plain, options: .init(bufferSize: 1))
        var n = 0
        while try r.next() != nil { n += 1 }
        #expect(n == expected.count)
        #expect(try openRDBSource(path: gz) is GzipByteSource)
        #expect(try openRDBSource(path: plain) is FileByteSource)
    }

    @Test func concatenatedGzipMembersAndCorruptGzip() throws {
        let bytes = sample()
        let gz = tempPath("multi.rdb.gz")
        defer { unlink(gz) }
        gzip(bytes, gz, members: 3)
        let packedCount = [UInt8](try Data(contentsOf: URL(fileURLWithPath: gz)))
        #expect(zip(packedCount, packedCount.dropFirst()).filter { $0 == 0x1f && $1 == 0x8b }.count >= 3)
        let r = try AnyRDBReader(path: gz)
        var recs: [RDBRecord] = []
        while let rec = try r.next() { recs.append(rec) }
        #expect(recs == (try ReaderTestSupport.readAll(bytes)))
        // Damage the compressed stream: a clear error, not a crash.
        var packed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: gz)))
        packed = Array(packed.prefix(packed.count / 2)) + Array(repeating: 0x55, count: 64)
        try write(packed, gz)
        let r2 = try AnyRDBReader(path: gz)
        #expect(throws: RDBError.self) { while try r2.next() != nil {} }
        // Truncated gzip.
        try write(Array(packed.prefix(40)), gz)
        let r3 = try AnyRDBReader(path: gz)
        #expect(throws: RDBError.self) { while try r3.next() != nil {} }
    }

    @Test func missingFileIsAnIOError() {
        do {
            _ = try AnyRDBReader(path: "/nonexistent/dir/dump.rdb")
            Issue.record("opened a missing file")
        } catch let e as RDBError {
            #expect(e.code == .io)
            #expect(e.file == "/nonexistent/dir/dump.rdb")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func memorySourceChunkings() throws {
        let bytes = Array(0..<200).map { UInt8($0) }
        for c in [MemoryByteSource.Chunking.all, .oneByte, .random(seed: 3, maxChunk: 13)] {
            var src = MemoryByteSource(bytes: bytes, chunking: c)
            var out: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 64)
            while true {
                let n = try buf.withUnsafeMutableBytes { try src.read(into: $0) }
                if n == 0 { break }
                if c == .oneByte { #expect(n == 1) }
                out += buf[..<n]
            }
            #expect(out == bytes)
        }
    }

    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func aofPreambleStopsAtEOF() throws {
        let root = try #require(ReaderTestSupport.corpusRoot)
        let bytes = try #require(ReaderTestSupport.load(root + "/redis/rdb-preamble.aof"))
        let r = RDBReader(source: MemoryByteSource(bytes: bytes))
        var keys: [Bytes] = []
        while let rec = try r.next() { if case .entry(let e) = rec { keys.append(e.key) } }
        #expect(keys == [b("k1"), b("k2")] || keys == [b("k2"), b("k1")])
        #expect(r.bytesConsumed == Int64(bytes.count - 52))
        #expect(Array(bytes[Int(r.bytesConsumed)...]).starts(with: b("*")))
        #expect(try r.next() == nil)
    }
}
