import Testing
import Foundation
import RDB
import TestSupport
@testable import RDBTools

@Suite struct RESPOutputTests {
    @Test func bulkStringsIntegersIDsAndScores() throws {
        let out = RESPOutput()
        out.command(2)
        out.bulk("SET" as StaticString)
        out.bulk([0, 13, 10, 255])
        out.bulk(int: -1234567890123)
        out.bulk(int: 0)
        out.bulk(uint: UInt64.max)
        out.bulk(id: StreamID(ms: 1_700_000_000_000, seq: 7))
        #expect(out.bytes == Array("*2\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$14\r\n-1234567890123\r\n$1\r\n0\r\n$20\r\n18446744073709551615\r\n$15\r\n1700000000000-7\r\n".utf8))
    }

    /// Every score text parses back (as Redis's strtod would) to the same double, bit for bit.
    @Test func scoresRoundTrip() throws {
        var rng = SeededRandom(seed: 11)
        var scores: [Double] = [0, -0.0, 1, -1, 0.1, 1e-300, 5e-324, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                .infinity, -.infinity, 9_007_199_254_740_992, 9_007_199_254_740_993, 1.5e20, 123456.789]
        for _ in 0..<2000 { scores.append(Double(bitPattern: rng.next()) ) }
        for d in scores where !d.isNaN {
            let out = RESPOutput()
            out.bulk(score: d)
            let text = String(decoding: out.bytes, as: UTF8.self)
            let value = text.split(separator: "\r\n")[1]
            let back = strtod(String(value), nil)
            #expect(back.bitPattern == d.bitPattern, "\(d) written as \(value)")
        }
    }

    @Test func flushesToTheSinkInChunks() throws {
        var chunks: [Int] = []
        let out = RESPOutput(flushThreshold: 4096) { chunks.append($0.count) }
        for i in 0..<1000 {
            out.command(1)
            out.bulk(int: Int64(i))
            try out.flushIfNeeded()
        }
        try out.flush()
        #expect(chunks.count > 1)
        #expect(chunks.dropLast().allSatisfy { $0 >= 4096 })
    }
}
