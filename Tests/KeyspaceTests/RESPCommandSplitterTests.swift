import Testing
import RDB
@testable import Keyspace

/// The splitter that cuts committed stream bytes into commands, drip-fed as the log replay feeds it.
@Suite struct RESPCommandSplitterTests {
    static let set = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    static let select = "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n"

    /// Every command in `bytes`, fed `step` bytes at a time, with the offset just past each.
    static func split(_ bytes: [UInt8], step: Int, from offset: Int64 = 100) throws -> [(String, Int64)] {
        var splitter = RESPCommandSplitter(offset: offset)
        var out: [(String, Int64)] = []
        var i = 0
        while i < bytes.count {
            splitter.append(bytes[i..<min(i + step, bytes.count)])
            i += step
            while let (args, end) = try splitter.next() {
                out.append((args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "), end))
            }
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func emptyArraysAreNoCommandsButCountTowardsTheOffset(step: Int) throws {
        // Redis's processMultibulkBuffer returns on a count <= 0 and runs nothing (`*0`, `*-1`).
        let bytes = Array(("*0\r\n" + Self.set + "*-1\r\n*0\r\n" + Self.select).utf8)
        let got = try Self.split(bytes, step: step)
        #expect(got.map(\.0) == ["SET k v", "SELECT 1"])
        #expect(got.map(\.1) == [100 + 4 + Int64(Self.set.utf8.count), 100 + Int64(bytes.count)])
    }

    @Test func manyEmptyArraysInOneChunkDoNotRecurse() throws {
        let bytes = Array((String(repeating: "*0\r\n", count: 200_000) + Self.set).utf8)
        let got = try Self.split(bytes, step: bytes.count)
        #expect(got.map(\.1) == [100 + Int64(bytes.count)])
    }

    @Test func replayOfAStreamWithEmptyArraysDoesNotDiverge() {
        var replay = StreamReplay(keyspace: Keyspace(), selectedDB: 0, offset: 0)
        let bytes = Array(("*0\r\n" + Self.set + "*0\r\n" + Self.select).utf8)
        for b in bytes { replay.feed([b], nowMs: 0) }
        #expect(replay.divergence == nil)
        #expect(replay.appliedOffset == Int64(bytes.count))
        #expect(replay.applier.selectedDB == 1)
    }

    @Test(arguments: ["*-\r\n", "*--1\r\n", "*1x\r\n", "$3\r\n", "*2\r\n$-1\r\n"])
    func malformedHeadersAreErrorsWithTheirOffset(text: String) {
        var splitter = RESPCommandSplitter(offset: 7)
        splitter.append(Array(text.utf8))
        #expect(throws: RESPSplitError.self) { _ = try splitter.next() }
    }
}
