import CCRC64Fold
import Testing
@testable import RDB
import TestSupport

/// The carry-less multiplication fold (`CCRC64Fold`) against the table CRC and the bitwise definition.
@Suite struct CRC64FoldTests {
    /// x^e mod P for the Jones polynomial (P = x^64 + 0xad93d23594c935a9), bit i the coefficient of x^i.
    static func xPowerMod(_ e: Int) -> UInt64 {
        var r: UInt64 = 1
        for _ in 0..<e {
            let carry = r >> 63
            r <<= 1
            if carry != 0 { r ^= CRC64.polynomial }
        }
        return r
    }

    /// The constants in crc64_fold.c are { reflect(x^(64+D-1) mod P), reflect(x^(D-1) mod P) } for D = 512, 384,
    /// 256 and 128 bits (the derivation is in that file's comment).
    @Test func constantsFollowFromThePolynomial() {
        var k = [UInt64](repeating: 0, count: 8)
        k.withUnsafeMutableBufferPointer { rr_crc64_jones_fold_constants($0.baseAddress!) }
        var derived: [UInt64] = []
        for d in [512, 384, 256, 128] {
            derived.append(Self.xPowerMod(64 + d - 1).bitSwapped)
            derived.append(Self.xPowerMod(d - 1).bitSwapped)
        }
        #expect(k == derived)
    }

    /// Every length from 0 to 600 and some long ones, at every alignment mod 16, from zero and nonzero registers:
    /// `update` (the fold where the CPU has it) equals the tables alone, and the bitwise definition.
    @Test func foldEqualsTablesAtEveryLengthAndAlignment() {
        var rng = SeededRandom(seed: 20)
        let data = (0..<(70_000 + 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { all in
            for len in Array(0...600) + [1023, 1024, 1025, 4095, 65_536, 70_000] {
                let align = len % 16
                let p = all.baseAddress! + align
                let start: UInt64 = len % 3 == 0 ? 0 : rng.next()
                let fast = CRC64.update(start, p, len)
                #expect(fast == CRC64.updatePortable(start, p, len), "length \(len), offset \(align)")
                if len <= 1025 {
                    #expect(fast == CRC64Tests.bitwise(Array(UnsafeRawBufferPointer(start: p, count: len)), from: start),
                            "length \(len), offset \(align)")
                }
            }
        }
    }

    /// On x86-64 (all of which this project's CI runs on have PCLMULQDQ) the fold really runs: it consumes the
    /// input in 16-byte steps and its 16-byte remainder carries the CRC.
    @Test(.enabled(if: isX86_64, "skipped: the fold is x86-64 only; other CPUs use the tables (checked above)"))
    func foldRunsOnThisCPU() {
        var rng = SeededRandom(seed: 21)
        let data = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var out = [UInt8](repeating: 0, count: 16)
        let done = data.withUnsafeBytes { d in
            out.withUnsafeMutableBufferPointer { rr_crc64_jones_fold(0x55, d.baseAddress!, 1000, $0.baseAddress!) }
        }
        #expect(done == 992)
        let c = CRC64.updatePortable(0, out, 16)
        #expect(data.withUnsafeBytes { CRC64.updatePortable(c, $0.baseAddress! + 992, 8) }
                == data.withUnsafeBytes { CRC64.updatePortable(0x55, $0.baseAddress!, 1000) })
    }

    #if arch(x86_64)
    static let isX86_64 = true
    #else
    static let isX86_64 = false
    #endif
}

extension UInt64 {
    /// Bit i moved to bit 63 - i.
    var bitSwapped: UInt64 {
        var v = self, r: UInt64 = 0
        for _ in 0..<64 {
            r = r << 1 | v & 1
            v >>= 1
        }
        return r
    }
}
