import Testing
@testable import RedisValueOps

/// Server-free checks of the argument rules and edge cases of the bit commands (the differential
/// suite covers the rest against real servers).
@Suite struct BitOpsTests {
    @Test func string2ll() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("-0", nil), ("01", nil), ("+1", nil), (" 1", nil), ("", nil), ("-", nil),
            ("9223372036854775807", Int64.max), ("9223372036854775808", nil),
            ("-9223372036854775808", Int64.min), ("-9223372036854775809", nil), ("12a", nil),
            ("000000000000000000001", nil),
        ]
        for (text, want) in cases { #expect(RedisArgument.int64(Array(text.utf8)) == want, "\(text)") }
    }

    @Test func setBitGrowsWithZeros() throws {
        let op = try BitOps.parseSetBit(offset: Array("17".utf8), bit: Array("1".utf8)).get()
        let r = BitOps.setBit(nil, op)
        #expect(r.value == [0, 0, 0x40] && !r.previous && r.changed)
        let again = BitOps.setBit(r.value, op)
        #expect(again.value == r.value && again.previous && !again.changed)
        #expect(BitOps.parseSetBit(offset: Array("4294967296".utf8), bit: Array("1".utf8)) == .failure(.bitOffset))
        #expect(BitOps.parseSetBit(offset: Array("4294967295".utf8), bit: Array("1".utf8), maxBulkLength: 1024) == .failure(.bitOffset))
    }

    @Test func bitfieldOverflowExamples() throws {
        // From the BITFIELD documentation: u2 at 102, INCRBY 1 four times; WRAP 1 2 3 0, SAT 1 2 3 3.
        let wrap = try BitField.parse(["incrby", "u2", "100", "1"].map { Array($0.utf8) }).get()
        let sat = try BitField.parse(["overflow", "sat", "incrby", "u2", "102", "1"].map { Array($0.utf8) }).get()
        var v: [UInt8]? = nil
        var seen: [[Int64?]] = []
        for _ in 0..<4 {
            let a = BitField.apply(v, wrap + sat)
            v = a.value
            seen.append(a.replies)
        }
        #expect(seen == [[1, 1], [2, 2], [3, 3], [0, 3]])
        let fail = try BitField.parse(["overflow", "fail", "set", "i8", "#1", "200"].map { Array($0.utf8) }).get()
        let f = BitField.apply(nil, fail)
        #expect(f.replies == [nil] && f.value == [0, 0] && !f.changed)
        #expect(BitField.parse(["set", "u64", "0", "1"].map { Array($0.utf8) }) == .failure(.bitfieldType))
        #expect(BitField.parse(["get", "u8", "0", "set"].map { Array($0.utf8) }) == .failure(.syntax))
        #expect(BitField.parse(["set", "u8", "0", "1"].map { Array($0.utf8) }, readOnly: true) == .failure(.bitfieldReadOnly))
    }

    @Test func bitopEmptyDeletes() {
        #expect(BitOps.bitOp(.or, sources: [nil, []]) == nil)
        #expect(BitOps.bitOp(.not, sources: [[0x0f]]) == [0xf0])
        #expect(BitOps.bitOp(.one, sources: [[0b1100], [0b1010], [0b1001]]) == [0b0111])
        #expect(BitOps.parseBitOp(operation: Array("diff".utf8), sourceCount: 1) == .failure(.bitopTwoSources("DIFF")))
    }
}
