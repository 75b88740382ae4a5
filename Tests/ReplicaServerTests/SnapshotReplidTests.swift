import Base
import Foundation
import Logging
import RDB
@testable import ReplicaServer
import ReplicaStore
import Testing
import TestSupport

/// After an upstream +CONTINUE with a new replication id, the full sync we serve downstream says the new
/// id in +FULLRESYNC and in the payload's AUX repl-id, with a valid CRC-64 (issue 10: "The snapshot's AUX
/// fields must match what +FULLRESYNC said").
@Suite struct SnapshotReplidTests {
    static let oldID = String(repeating: "a", count: 40)
    static let newID = String(repeating: "b", count: 40)

    /// A version-10 RDB as Redis writes a full-sync payload: AUX fields (repl-id raw, 40 bytes), one db,
    /// `keys` string keys, EOF and Redis's CRC-64 trailer (or a zero one).
    static func rdb(replid: String, offset: Int64, keys: Int = 50, crc: Bool = true) -> [UInt8] {
        func str(_ s: String) -> [UInt8] {
            let b = Array(s.utf8)
            precondition(b.count < 64)
            return [UInt8(b.count)] + b
        }
        var b = Array("REDIS0010".utf8)
        for (k, v) in [("redis-ver", "7.0.15"), ("redis-bits", "64"), ("repl-stream-db", "0"), ("repl-id", replid),
                       ("repl-offset", String(offset)), ("aof-base", "0")] {
            b += [0xFA] + str(k) + str(v)
        }
        b += [0xFE, 0]
        for i in 0..<keys { b += [0] + str("key:\(i)") + str(String(repeating: "v", count: i % 40)) }
        b += [0xFF]
        return b + LittleEndian.bytes(crc ? CRC64.update(0, b) : 0)
    }

    /// The AUX fields and whether the reader accepted the CRC-64.
    static func aux(_ bytes: [UInt8]) throws -> [String: String] {
        let reader = RDBReader(source: MemoryByteSource(bytes: bytes), fileName: "payload",
                               options: RDBReaderOptions(verifyChecksum: true))
        var fields: [String: String] = [:]
        while let r = try reader.next() {
            if case .aux(let k, let v) = r { fields[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self) }
        }
        return fields
    }

    @Test(arguments: [1, 7, 64, 1 << 20]) func rewriteInChunks(chunk: Int) throws {
        for crc in [true, false] {
            let original = Self.rdb(replid: Self.oldID, offset: 1234, crc: crc)
            let dir = try TestPaths.makeTemporaryDirectory(prefix: "rewrite")
            defer { dir.remove() }
            let path = dir.file("snap.rdb").path
            try Data(original).write(to: URL(fileURLWithPath: path))
            let file = try POSIXFileSystem().openForReading(path)
            defer { file.close() }
            var rewrite = try #require(try SnapshotReplidRewrite.make(
                file: file, size: Int64(original.count), oldReplid: Self.oldID, newReplid: Self.newID, hasCRC: crc))
            var sent: [UInt8] = []
            var position = 0
            while position < original.count {
                var part = Array(original[position..<min(original.count, position + chunk)])
                rewrite.apply(&part, at: Int64(position))
                sent += part
                position += part.count
            }
            #expect(sent.count == original.count)
            let fields = try Self.aux(sent)
            #expect(fields["repl-id"] == Self.newID)
            #expect(fields["repl-offset"] == "1234")
            // Only the 40 id bytes and (with a CRC) the trailer differ.
            let differing = zip(original, sent).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(differing.count >= 40 && differing.count <= 48)
            if !crc { #expect(Array(sent.suffix(8)) == [UInt8](repeating: 0, count: 8)) }
        }
    }

    @Test func noRawRecordMeansNoRewrite() throws {
        let original = Self.rdb(replid: Self.oldID, offset: 1)
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "rewrite")
        defer { dir.remove() }
        let path = dir.file("snap.rdb").path
        try Data(original).write(to: URL(fileURLWithPath: path))
        let file = try POSIXFileSystem().openForReading(path)
        defer { file.close() }
        // Another id than the file's: not found, so the caller announces the AUX id instead.
        #expect(try SnapshotReplidRewrite.make(file: file, size: Int64(original.count), oldReplid: Self.newID,
                                               newReplid: Self.oldID, hasCRC: true) == nil)
    }

    /// A store whose snapshot has AUX repl-id A and whose history switched to B (+CONTINUE with a new id):
    /// PSYNC ? -1 on our port gets +FULLRESYNC B <snapshot offset>, and the payload's AUX says B.
    @Test func fullResyncAfterAnUpstreamReplidChange() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "serve-replid")
        defer { dir.remove() }
        let store = try ReplicaStore.open(directory: dir.url.path, fsync: .no)
        defer { try? store.close() }
        let w = try store.beginFullSync(replid: Self.oldID, offset: 100)
        try w.write(Self.rdb(replid: Self.oldID, offset: 100))
        try w.finish()
        _ = try store.publish(w)
        let command = Array("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n".utf8)
        _ = try store.append(command, streamDB: 0)
        try store.recordPartialSync(replid: Self.newID)

        var config = ServerConfiguration(port: 0, masterHost: "127.0.0.1", masterPort: 6379)
        config.pollInterval = .milliseconds(20)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = ReplicaServer(configuration: config, store: store, logger: logger, linkStatus: {
            LinkStatus(roleState: "connected", linkUp: true, syncInProgress: false, downSinceSeconds: nil)
        })
        try server.start()
        defer { server.stop() }
        let c = try RedisClient(port: UInt16(server.boundPort), timeout: 5)
        defer { c.close() }
        #expect(try c.call("REPLCONF", "capa", "eof", "capa", "psync2").string == "OK")
        try c.sendRaw(Array("PSYNC ? -1\r\n".utf8))
        #expect(String(decoding: try c.readLine(), as: UTF8.self) == "+FULLRESYNC \(Self.newID) 100")
        let pre = String(decoding: try c.readLine(), as: UTF8.self)
        let len = try #require(Int(pre.dropFirst()), "preamble \(pre)")
        let payload = try c.readExactly(len)
        let fields = try Self.aux(payload)
        #expect(fields["repl-id"] == Self.newID)
        #expect(fields["repl-offset"] == "100")
        // The log after the snapshot follows, byte for byte.
        #expect(try c.readExactly(command.count) == command)
        // The stored snapshot is unchanged.
        let stored = try Data(contentsOf: URL(fileURLWithPath: dir.url.path + "/" + (store.currentManifest?.snapshot.file ?? "")))
        #expect(try Self.aux(Array(stored))["repl-id"] == Self.oldID)
    }
}
