import Testing
@testable import RDB
import TestSupport

@Suite struct CRC64Tests {
    @Test func checkValue() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6d914c4b8d9ca)
        #expect(CRC64.checksum([]) == 0)
    }

    @Test func incrementalEqualsOneShotAtEverySplit() {
        var rng = SeededRandom(seed: 7)
        let data = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let whole = CRC64.checksum(data)
        for split in [0, 1, 7, 8, 9, 63, 500, 999, 1000] {
            let a = CRC64.update(0, Array(data[..<split]))
            #expect(CRC64.update(a, Array(data[split...])) == whole)
        }
        // Byte-at-a-time reference.
        var ref: UInt64 = 0
        for b in data {
            ref ^= UInt64(b)
            for _ in 0..<8 { ref = (ref & 1) != 0 ? (ref >> 1) ^ CRC64.reflectedPolynomial : ref >> 1 }
        }
        #expect(ref == whole)
    }

    /// The bit-at-a-time definition (reflected Jones, init 0, no final xor), the reference for the fast paths.
    static func bitwise(_ data: [UInt8], from start: UInt64 = 0) -> UInt64 {
        var ref = start
        for b in data {
            ref ^= UInt64(b)
            for _ in 0..<8 { ref = (ref & 1) != 0 ? (ref >> 1) ^ CRC64.reflectedPolynomial : ref >> 1 }
        }
        return ref
    }

    /// Known vectors: Redis's `crc64Test` check value, and the CRC of its "long" test text (src/crc64.c, which
    /// hashes `sizeof(li)` bytes: the text and its terminating NUL).
    @Test func knownVectors() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6d914c4b8d9ca)
        let li = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."
        #expect(CRC64.checksum(Array(li.utf8) + [0]) == 0xc7794709e69683b3)
    }

    /// The three-chain loop (inputs of 3 x `stripe` bytes and more) and its joins, at every length around the
    /// block boundaries and from nonzero starting registers, against the bitwise definition.
    @Test func interleavedBlocksMatchBitwise() {
        var rng = SeededRandom(seed: 11)
        let s = CRC64.stripe
        let data = (0..<(7 * s + 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for len in [3 * s - 1, 3 * s, 3 * s + 1, 3 * s + 7, 3 * s + 8, 6 * s - 9, 6 * s, 6 * s + 15, 7 * s + 64] {
            let slice = Array(data[..<len])
            #expect(CRC64.checksum(slice) == Self.bitwise(slice), "length \(len)")
            let start: UInt64 = 0x0123_4567_89ab_cdef
            #expect(CRC64.update(start, slice) == Self.bitwise(slice, from: start), "length \(len), nonzero start")
        }
        // Split anywhere: the joined CRC of the halves equals the whole's.
        let whole = CRC64.checksum(data)
        for split in [1, s - 1, s, 3 * s - 1, 3 * s + 1, 4 * s + 3] {
            #expect(CRC64.update(CRC64.update(0, Array(data[..<split])), Array(data[split...])) == whole)
        }
    }
}

@Suite struct LZFTests {
    func decompress(_ input: [UInt8], _ n: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try LZF.decompress($0, expectedLength: n) }
    }

    @Test func literalAndOverlappingBackReference() throws {
        // literal "abc", then back-reference length 6 at distance 3 (overlapping copy).
        let input: [UInt8] = [2, 0x61, 0x62, 0x63, 0x80, 2]
        #expect(try decompress(input, 9) == Array("abcabcabc".utf8))
        // Long back-reference (len field 7 + extra byte): "a" then 1+... copies of it.
        let long: [UInt8] = [0, 0x61, 0xE0, 3, 0] // len = 7 + 3 + 2 = 12, distance 1
        #expect(try decompress(long, 13) == Array(repeating: 0x61, count: 13))
    }

    @Test func rejectsBadInput() {
        // Back-reference before output start.
        #expect(throws: LZF.DecompressError.self) { try decompress([0x20, 5], 3) }
        // Output larger than declared.
        #expect(throws: LZF.DecompressError.self) { try decompress([2, 1, 2, 3], 2) }
        // Output shorter than declared.
        #expect(throws: LZF.DecompressError.self) { try decompress([2, 1, 2, 3], 4) }
        // Literal run past input end.
        #expect(throws: LZF.DecompressError.self) { try decompress([5, 1, 2], 6) }
        // Truncated back-reference.
        #expect(throws: LZF.DecompressError.self) { try decompress([0, 1, 0xE0], 20) }
    }
}

extension LZFTests {
    /// Round trip through the writer's compressor: text-like, run-heavy and random inputs of many sizes, each
    /// decompressed into an exact-size buffer, and validated without output.
    @Test func roundTripWithCompressorManySizes() throws {
        var rng = SeededRandom(seed: 99)
        let words = ["alpha ", "beta ", "gamma ", "aaaaaaa", "xyz", "0123456789"].map { Array($0.utf8) }
        for size in [1, 2, 7, 8, 9, 31, 32, 33, 100, 257, 1000, 4096, 10_000, 70_000] {
            for kind in 0..<3 {
                var data: [UInt8] = []
                while data.count < size {
                    switch kind {
                    case 0: data += words[Int(rng.next() % UInt64(words.count))]
                    case 1: data += Array(repeating: UInt8(rng.next() % 3), count: Int(rng.next() % 40) + 1)
                    default: data.append(UInt8(truncatingIfNeeded: rng.next()))
                    }
                }
                data = Array(data.prefix(size))
                guard let c = LZF.compress(data) else { continue }
                let out = try c.withUnsafeBytes { try LZF.decompress($0, expectedLength: data.count) }
                #expect(out == data, "size \(size) kind \(kind)")
                try c.withUnsafeBytes { try LZF.validate($0, expectedLength: data.count) }
                #expect(throws: LZF.DecompressError.self) {
                    try c.withUnsafeBytes { try LZF.validate($0, expectedLength: data.count + 1) }
                }
            }
        }
    }
}
