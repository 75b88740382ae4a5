import Testing
@testable import RedisValueOps
import TestSupport

/// Server-free checks of the HyperLogLog code: the hash, the empty value's bytes, promotion of a
/// register above 32, header validation, and seeded random damage that must give an error value
/// or bytes, never a trap.
@Suite struct HyperLogLogTests {
    @Test func emptyValueIsCreateHLLObject() {
        // "HYLL", sparse, 3 unused, cached cardinality 0, XZERO(16384) = 0x7f 0xff.
        #expect(HyperLogLog.empty() == Array("HYLL".utf8) + [1, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0x7f, 0xff])
        #expect(HyperLogLog.count(HyperLogLog.empty()) == .success(.init(cardinality: 0, updatedValue: nil)))
    }

    @Test func murmurTailAndBlocks() {
        // Element "a" lands in register 2 ... whatever Redis says; cross-checked with the server suite.
        // Here: the hash is deterministic and uses every byte (tail and 8-byte blocks).
        let base = HLL.murmurHash64A(Array("abcdefghijk".utf8), seed: 0xadc8_3b19)
        for i in 0..<11 {
            var k = Array("abcdefghijk".utf8)
            k[i] ^= 1
            #expect(HLL.murmurHash64A(k, seed: 0xadc8_3b19) != base)
        }
    }

    @Test func registerAbove32PromotesToDense() {
        var buffer = HLLBuffer(HyperLogLog.empty())
        #expect(buffer.sparseSet(index: 100, count: 5, sparseMaxBytes: 3000) == .changed)
        #expect(buffer.encoding == HLL.encodingSparse)
        #expect(buffer.sparseSet(index: 7, count: 40, sparseMaxBytes: 3000) == .changed)
        #expect(buffer.encoding == HLL.encodingDense)
        let value = buffer.value
        #expect(value.count == HyperLogLog.denseSize)
        value.withUnsafeBufferPointer { all in
            let regs = UnsafeBufferPointer(rebasing: all[16...])
            #expect(HLL.denseGet(regs, 7) == 40)
            #expect(HLL.denseGet(regs, 100) == 5)
            #expect(HLL.denseGet(regs, 16383) == 0)
        }
    }

    @Test func validation() {
        #expect(HyperLogLog.validate(Array("HYLL".utf8)) == .notHyperLogLog)
        var v = HyperLogLog.empty()
        #expect(HyperLogLog.validate(v) == nil)
        v[4] = 2
        #expect(HyperLogLog.validate(v) == .notHyperLogLog)
        v[4] = 0  // dense but 18 bytes long
        #expect(HyperLogLog.validate(v) == .notHyperLogLog)
        #expect(HyperLogLog.add(to: v, elements: [[1]]) == .failure(.notHyperLogLog))
        var truncated = HyperLogLog.empty()
        truncated.removeLast()  // XZERO cut in half: Redis reads the NUL terminator, 0x7f00 + 1 registers
        truncated[15] = 0x80
        #expect(HyperLogLog.count(truncated) == .failure(.corrupted))
    }

    @Test("random damage never traps", arguments: [11 as UInt64, 12, 13])
    func damage(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var good = HyperLogLog.empty()
        for i in 0..<3000 {
            if case .success(let r) = HyperLogLog.add(to: good, elements: [Array("x\(i)".utf8)], sparseMaxBytes: 2000) { good = r.value }
            if good.count > 1000 { break }
        }
        for _ in 0..<300 {
            var v = Bool.random(using: &rng) ? good : HyperLogLog.empty()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                v[Int.random(in: 16..<v.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { v.removeLast(Int.random(in: 0...min(2, v.count - 16), using: &rng)) }
            v[15] |= 0x80
            _ = HyperLogLog.count(v)
            _ = HyperLogLog.countUnion([v, good])
            _ = HyperLogLog.add(to: v, elements: (0..<20).map { _ in [UInt8.random(in: 0...255, using: &rng)] })
            _ = HyperLogLog.merge(destination: v, sources: [good], sparseMaxBytes: 3000)
        }
    }
}
