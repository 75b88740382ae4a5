import Testing
@testable import RDB

@Suite struct WriterEncoderTests {
    @Test func canonicalIntegersFollowString2ll() {
        let yes: [(String, Int64)] = [("0", 0), ("-1", -1), ("127", 127), ("9223372036854775807", .max),
                                      ("-9223372036854775808", .min)]
        for (s, v) in yes { #expect(canonicalInt64(Array(s.utf8)) == v, "\(s)") }
        for s in ["", "-", "-0", "007", "+1", " 1", "1 ", "1.0", "9223372036854775808", "-9223372036854775809", "1e3",
                  "123456789012345678901"] {
            #expect(canonicalInt64(Array(s.utf8)) == nil, "\(s)")
        }
    }

    @Test func lzfRoundTripsSeededInputs() throws {
        var rng = WriterSamples.Rng(seed: 7)
        var compressor = LZFCompressor()
        for round in 0..<300 {
            let n = rng.int(1...20_000)
            // Mix of runs, repeats at various distances, and noise.
            var input: [UInt8] = []
            while input.count < n {
                switch rng.int(0...3) {
                case 0: input += [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: rng.int(1...400))
                case 1: input += rng.bytes(rng.int(1...50))
                default:
                    if input.count > 10 {
                        let start = rng.int(0...(input.count - 1))
                        let len = min(rng.int(3...300), input.count - start)
                        input += Array(input[start..<(start + len)])
                    } else { input += rng.bytes(5) }
                }
            }
            input = Array(input.prefix(n))
            var out = [UInt8](repeating: 0, count: n + n / 16 + 64)
            let c = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { compressor.compress(i, into: $0) } }
            #expect(c > 0, "round \(round)")
            let back = try out.withUnsafeBytes { try LZF.decompress(UnsafeRawBufferPointer(rebasing: $0[0..<c]), expectedLength: n) }
            #expect(back == input, "round \(round), n \(n)")
        }
    }

    @Test func lzfRespectsTheOutputLimit() {
        var rng = WriterSamples.Rng(seed: 9)
        let noise = rng.bytes(1000)
        #expect(LZF.compress(noise) == nil, "random bytes do not shrink by 4")
        let runs = [UInt8](repeating: 1, count: 1000)
        let c = LZF.compress(runs)
        #expect(c != nil && c!.count < 40)
        // A limit one byte below the achievable size fails cleanly.
        if let c {
            #expect(LZF.compress(runs, maxLength: c.count - 1) == nil)
            #expect(LZF.compress(runs, maxLength: c.count) == c)
        }
    }

    @Test func listpackLayoutMatchesRedis() {
        // Header, a 7-bit uint, a 13-bit negative, a 6-bit string, terminator.
        let lp = RDBEncoders.listpack([Array("5".utf8), Array("-1".utf8), Array("ab".utf8)])
        #expect(lp == [16, 0, 0, 0, 3, 0,
                       0x05, 1,
                       0xDF, 0xFF, 2,
                       0x82, 0x61, 0x62, 3,
                       0xFF])
        // 12-bit string length and a 2-byte backlen.
        let long = [UInt8](repeating: 0x41, count: 200)
        let lp2 = RDBEncoders.listpack([long])
        #expect(Array(lp2[6..<8]) == [0xE0, 200])
        let l = 2 + 200
        #expect(Array(lp2[(6 + l)..<(6 + l + 2)]) == [UInt8(l >> 7), UInt8(l & 127) | 128])
        #expect(lp2.last == 0xFF && lp2.count == 6 + l + 2 + 1)
        // Integer widths.
        let widths: [(String, UInt8, Int)] = [("4095", 0xCF, 2), ("32767", 0xF1, 3), ("-8388608", 0xF2, 4),
                                              ("2147483647", 0xF3, 5), ("-2147483649", 0xF4, 9)]
        for (s, first, size) in widths {
            let lp = RDBEncoders.listpack([Array(s.utf8)])
            #expect(lp[6] == first || (s == "4095" && lp[6] & 0xE0 == 0xC0), "\(s)")
            #expect(lp.count == 6 + size + 1 + 1, "\(s)")
        }
    }

    @Test func ziplistLayoutMatchesRedis() {
        let zl = RDBEncoders.ziplist([Array("7".utf8), Array("hello".utf8), Array("-200".utf8)])
        // zlbytes, zltail, zllen
        #expect(zl.count == 10 + 2 + 7 + 4 + 1)
        #expect(Array(zl[0..<4]) == [UInt8(zl.count), 0, 0, 0])
        #expect(Array(zl[4..<8]) == [UInt8(10 + 2 + 7), 0, 0, 0])
        #expect(Array(zl[8..<10]) == [3, 0])
        #expect(Array(zl[10..<12]) == [0, 0xF8])            // prevlen 0, immediate 7
        #expect(Array(zl[12..<19]) == [2, 5] + Array("hello".utf8))
        #expect(Array(zl[19..<23]) == [7, 0xC0, 0x38, 0xFF]) // int16 -200 LE
        #expect(zl.last == 0xFF)
        // A 300-byte entry makes the next prevlen 5 bytes.
        let big = [UInt8](repeating: 0x61, count: 300)
        let zl2 = RDBEncoders.ziplist([big, Array("x".utf8)])
        let second = 10 + 1 + 2 + 300
        #expect(zl2[second] == 0xFE)
        #expect(Array(zl2[(second + 1)..<(second + 5)]) == [UInt8((303) & 0xff), UInt8(303 >> 8), 0, 0])
    }

    @Test func intsetPicksTheSmallestWidthAndSorts() {
        #expect(RDBEncoders.intset([3, -1, 2, 3]) == [2, 0, 0, 0, 3, 0, 0, 0, 0xFF, 0xFF, 2, 0, 3, 0])
        #expect(RDBEncoders.intset([70000])[0] == 4)
        #expect(RDBEncoders.intset([Int64.min, 1])[0] == 8)
    }

    @Test func scoreTextRoundTrips() {
        for d in [0.0, -0.0, 1, -1, 2.5, 1e-300, 1e300, 3.141592653589793, 123456789012345.0, 0.1, -7.25e-10] {
            let t = String(decoding: scoreText(d), as: UTF8.self)
            let back = Double(t)
            #expect(back == d && back?.sign == d.sign, "\(d) -> \(t)")
        }
        #expect(scoreText(2) == Array("2".utf8))
        #expect(scoreText(.infinity) == Array("inf".utf8))
    }

    @Test func stringsAreEncodedAsRedisDoes() throws {
        func encode(_ s: Bytes, compress: Bool = true) throws -> Bytes {
            let w = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 10, compress: compress))
            w.emitString(s, to: w.out)
            return w.out.array
        }
        #expect(try encode(Array("-12".utf8)) == [0xC0, 0xF4])
        #expect(try encode(Array("300".utf8)) == [0xC1, 0x2C, 0x01])
        #expect(try encode(Array("-2147483648".utf8)) == [0xC2, 0, 0, 0, 0x80])
        #expect(try encode(Array("2147483648".utf8)) == [10] + Array("2147483648".utf8))
        #expect(try encode(Array("007".utf8)) == [3] + Array("007".utf8))
        let a = [UInt8](repeating: 97, count: 100)
        let c = try encode(a)
        #expect(c[0] == 0xC3)
        #expect(try encode(a, compress: false) == [0x40, 100] + a)
        // 20 bytes are never compressed.
        let twenty = [UInt8](repeating: 97, count: 20)
        #expect(try encode(twenty) == [20] + twenty)
        #expect(try encode([UInt8](repeating: 0, count: 70_000)).prefix(1) == [0xC3])
    }

    @Test func unrepresentableValuesNameTheKey() throws {
        let stream = WriterSamples.entries().first { $0.key == Array("st:events".utf8) }!
        let w = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 8))
        try w.writeHeader()
        #expect(throws: RDBWriteError.self) { try w.writeEntry(stream) }
        do {
            try w.writeEntry(stream)
        } catch let e as RDBWriteError {
            #expect(e.code == .notRepresentable)
            #expect(e.description.contains("st:events"))
        }
        let ttl = WriterSamples.entries().first { $0.key == Array("h:ttl-small".utf8) }!
        let w11 = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 11))
        try w11.writeHeader()
        #expect(throws: RDBWriteError.self) { try w11.writeEntry(ttl) }
        #expect(throws: Never.self) { try w11.writeFunction(code: WriterSamples.functionCode) }
        let w9 = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 9))
        try w9.writeHeader()
        #expect(throws: RDBWriteError.self) { try w9.writeFunction(code: WriterSamples.functionCode) }
        let drop = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 11, dropFieldTTL: true))
        try drop.writeHeader()
        try drop.writeEntry(ttl)
        #expect(drop.stats.droppedFieldTTLs == 2)
        #expect(throws: RDBWriteError.self) { try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 6)) }
    }
}
