import Testing
import Foundation
@testable import RDB
import RDBTools
import TestSupport

/// `RDBConvert`: filters, exact RESIZEDB counts, downgrades, refusals, and the temp-file + rename contract.
@Suite struct WriterConvertTests {
    static func writeSample(_ dir: URL, version: Int = 12) throws -> (path: String, entries: [RDBEntry]) {
        let entries = WriterSamples.entries(fieldTTL: version >= 12, streams: version >= 9)
        let bytes = try WriterSamples.write(entries, options: RDBWriterOptions(rdbVersion: version),
                                            functions: version >= 10 ? [WriterSamples.functionCode] : []).bytes
        let path = dir.appendingPathComponent("in-v\(version).rdb").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, entries)
    }

    @Test func filtersByDatabaseKeyPatternAndType() throws {
        try TestPaths.withTemporaryDirectory { dir in
            let (input, entries) = try Self.writeSample(dir)
            let out = dir.appendingPathComponent("out.rdb").path

            let s = try RDBConvert.convert(input: input, output: out, options: RDBConvertOptions(databases: [3], sync: false))
            var back = try Logical.read(path: out)
            let db3 = entries.filter { $0.db == 3 }
            #expect(back.lines == db3.map { Logical.line($0, version: 12) })
            #expect(back.resize.keys.sorted() == [3])
            #expect(back.resize[3]?.0 == UInt64(db3.count))
            #expect(back.resize[3]?.1 == UInt64(db3.filter { $0.expireAtMs != nil }.count))
            #expect(s.keysWritten == db3.count && s.keysRead == entries.count)
            #expect(back.functions == [WriterSamples.functionCode], "functions are not keys: kept")

            _ = try RDBConvert.convert(input: input, output: out,
                                       options: RDBConvertOptions(keyPattern: Array("s:[ir]*".utf8), types: ["string"], sync: false))
            back = try Logical.read(path: out)
            let want = entries.filter { e in
                let k = String(decoding: e.key, as: UTF8.self)
                return k.hasPrefix("s:i") || k.hasPrefix("s:r")
            }
            #expect(back.lines == want.map { Logical.line($0, version: 12) })
            #expect(back.resize[0]?.0 == UInt64(want.count))

            _ = try RDBConvert.convert(input: input, output: out, options: RDBConvertOptions(types: ["zset", "stream"], sync: false))
            back = try Logical.read(path: out)
            #expect(Set(back.entries.map(\.value.typeName)) == ["zset", "stream"])
            #expect(back.entries.count == entries.filter { ["zset", "stream"].contains($0.value.typeName) }.count)
        }
    }

    @Test func downgradeRefusesFieldTTLsNamingTheKeyAndLeavesOutputAlone() throws {
        try TestPaths.withTemporaryDirectory { dir in
            let (input, entries) = try Self.writeSample(dir)
            let out = dir.appendingPathComponent("out.rdb").path
            try Data("previous".utf8).write(to: URL(fileURLWithPath: out))
            #expect {
                try RDBConvert.convert(input: input, output: out, options: RDBConvertOptions(rdbVersion: 11, sync: false))
            } throws: { error in
                guard let e = error as? RDBWriteError else { return false }
                return e.code == .notRepresentable && e.description.contains("h:ttl-small") && e.description.contains("--drop-field-ttl")
            }
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "previous")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
            #expect(leftovers.isEmpty)

            let s = try RDBConvert.convert(input: input, output: out,
                                           options: RDBConvertOptions(rdbVersion: 11, dropFieldTTL: true, sync: true))
            #expect(s.writer.droppedFieldTTLs > 0)
            let back = try Logical.read(path: out)
            #expect(back.header?.version == 11)
            #expect(back.lines == entries.map { Logical.line($0, version: 11) })
        }
    }

    @Test func downgradeTo9And7() throws {
        try TestPaths.withTemporaryDirectory { dir in
            let (input, _) = try Self.writeSample(dir, version: 10)
            let out = dir.appendingPathComponent("out.rdb").path
            #expect(throws: RDBWriteError.self) {
                try RDBConvert.convert(input: input, output: out, options: RDBConvertOptions(rdbVersion: 9, sync: false))
            }
            let s = try RDBConvert.convert(input: input, output: out,
                                           options: RDBConvertOptions(rdbVersion: 9, dropFunctions: true, sync: false))
            #expect(s.writer.droppedFunctions == 1)
            #expect(s.writer.droppedConsumerActiveTimes == 0)
            let original = try Logical.read(path: input)
            var back = try Logical.read(path: out)
            #expect(back.lines == original.entries.map { Logical.line($0, version: 9) })
            #expect(back.functions.isEmpty)
            // RDB 7 has no streams: refuse, or keep the rest with --type.
            #expect(throws: RDBWriteError.self) {
                try RDBConvert.convert(input: out, output: out + "7", options: RDBConvertOptions(rdbVersion: 7, sync: false))
            }
            let noStreams = KeyFilter.validTypeNames.subtracting(["stream"])
            let s7 = try RDBConvert.convert(input: out, output: out + "7", options: RDBConvertOptions(rdbVersion: 7, types: noStreams, sync: false))
            back = try Logical.read(path: out + "7")
            #expect(back.header?.version == 7)
            #expect(back.lines == original.entries.filter { $0.value.typeName != "stream" }.map { Logical.line($0, version: 7) })
            #expect(s7.writer.droppedEvictionHints > 0)
        }
    }
}

/// Fault injection: a sink that fails part-way, and outputs that cannot be created.
@Suite struct WriterFaultTests {
    struct FailingSink: ByteSink {
        struct Boom: Error {}
        var budget: Int
        var chunks: [Int] = []
        mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
            chunks.append(bytes.count)
            if bytes.count > budget { throw Boom() }
            budget -= bytes.count
        }
    }

    @Test(arguments: [0, 9, 100, 30_000, 65_000])
    func sinkFailureSurfacesAsIOError(budget: Int) throws {
        let entries = WriterSamples.entries()
        let w = try RDBWriter(sink: FailingSink(budget: budget), options: RDBWriterOptions(rdbVersion: 12))
        var caught: RDBWriteError?
        do {
            try w.writeHeader()
            try w.writeAuxFields()
            for e in entries { try w.writeEntry(e) }
            try w.finish()
        } catch let e as RDBWriteError {
            caught = e
        }
        #expect(caught?.code == .io, "budget \(budget)")
        #expect(w.sink.chunks.allSatisfy { $0 > 0 })
    }

    @Test func writerRejectsCallsOutOfOrder() throws {
        let w = try RDBWriter(sink: MemoryByteSink())
        #expect(throws: RDBWriteError.self) { try w.writeAux("a", "b") }
        try w.writeHeader()
        #expect(throws: RDBWriteError.self) { try w.writeHeader() }
        try w.finish()
        #expect(throws: RDBWriteError.self) { try w.writeEntry(WriterSamples.entries()[0]) }
        #expect(throws: RDBWriteError.self) { try w.finish() }
        // Header + EOF + 8-byte CRC of "REDIS0012\xff".
        let expected = CRC64.update(0, Array("REDIS0012".utf8) + [0xFF])
        #expect(w.sink.bytes.count == 9 + 1 + 8)
        #expect(w.sink.bytes.suffix(8) == withUnsafeBytes(of: expected.littleEndian) { Array($0) })
    }

    @Test func convertIntoAMissingDirectoryFailsCleanly() throws {
        try TestPaths.withTemporaryDirectory { dir in
            let (input, _) = try WriterConvertTests.writeSample(dir)
            let out = dir.appendingPathComponent("no/such/dir/out.rdb").path
            #expect(throws: RDBWriteError.self) { try RDBConvert.convert(input: input, output: out) }
            // A corrupt input: the error is the reader's, naming the file; nothing is left behind.
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: input)))
            bytes[bytes.count / 2] ^= 0xFF
            let bad = dir.appendingPathComponent("bad.rdb").path
            try Data(bytes).write(to: URL(fileURLWithPath: bad))
            let target = dir.appendingPathComponent("out.rdb").path
            #expect(throws: RDBError.self) { try RDBConvert.convert(input: bad, output: target) }
            #expect(!FileManager.default.fileExists(atPath: target))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }.isEmpty)
        }
    }
}

@Suite struct WriterValidationTests {
    @Test func invalidValuesAreRefusedNamingTheKey() throws {
        let w = try RDBWriter(sink: MemoryByteSink())
        try w.writeHeader()
        let nan = RDBEntry(db: 0, key: Array("z".utf8), value: .sortedSet([SortedSetMember(member: [1], score: .nan)]), rdbType: 0)
        #expect(throws: RDBWriteError.self) { try w.writeEntry(nan) }
        let ids = [StreamID(ms: 2, seq: 0), StreamID(ms: 1, seq: 5)]
        let unordered = RDBEntry(db: 0, key: Array("s".utf8), value: .stream(StreamValue(
            entries: ids.map { StreamEntry(id: $0, fields: [([1], [2])]) }, length: 2, listpackNodes: 1, lastID: ids[0])), rdbType: 0)
        do {
            try w.writeEntry(unordered)
            Issue.record("accepted out-of-order stream IDs")
        } catch let e as RDBWriteError {
            #expect(e.code == .invalidValue && e.key == Array("s".utf8))
        }
        // Nothing of the refused keys was written.
        try w.finish()
        #expect(w.sink.bytes.count == 9 + 1 + 8)
    }
}
