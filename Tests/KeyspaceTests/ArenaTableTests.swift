import Testing
import TestSupport
@testable import Keyspace

/// The arena-backed table behind large sets, hashes and sorted sets, against a Dictionary model:
/// inserts, value replacements of every size, removals (deleted slots and dead arena bytes, so the
/// rebuilds run), and copy-on-write copies that must not see later changes.
@Suite struct ArenaTableTests {
    static func key(_ r: inout SeededRandom, _ space: Int) -> [UInt8] {
        let n = Int(r.next() % UInt64(space))
        // Keys of 0 to ~200 bytes: LEB128 lengths of one and two bytes, and the empty key.
        let len = n % 7 == 0 ? 0 : (n % 13 == 0 ? 130 + n % 70 : 1 + n % 20)
        return (0..<len).map { UInt8(truncatingIfNeeded: n &* 31 &+ $0) }
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func matchesADictionary(seed: UInt64) {
        var r = SeededRandom(seed: seed)
        var t = ArenaTable()
        var model: [[UInt8]: [UInt8]] = [:]
        var copies: [(ArenaTable, [[UInt8]: [UInt8]])] = []
        for step in 0..<20_000 {
            let k = Self.key(&r, step < 10_000 ? 3000 : 600)
            switch r.next() % 10 {
            case 0..<5:
                let v = (0..<Int(r.next() % 12)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
                #expect(t.set(k, v) == (model.updateValue(v, forKey: k) == nil))
            case 5:
                let v: [UInt8] = [9]
                let isNew = model[k] == nil
                if isNew { model[k] = v }
                #expect(t.set(k, v, replace: false) == isNew)
            default:
                #expect(t.remove(k) == (model.removeValue(forKey: k) != nil))
            }
            #expect(t.count == model.count)
            if step % 4000 == 0 { copies.append((t, model)) }
        }
        for (copy, m) in copies + [(t, model)] {
            #expect(copy.count == m.count)
            var seen = 0
            copy.forEach { k, v in
                seen += 1
                #expect(m[Array(k)] == Array(v))
            }
            #expect(seen == m.count)
            for (k, v) in m { #expect(copy.value(k).map(Array.init) == v) }
        }
        #expect(!t.contains([0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0xFA, 0xF9, 0xF8, 0xF7, 0xF6, 0xF5, 0xF4, 0xF3, 0xF2, 0xF1, 0xF0, 1, 2, 3, 4, 5, 6, 7]))
    }

    @Test func scoresRoundTripBitExact() {
        for d in [0.0, -0.0, 1.5, -1e308, .infinity, -.infinity, .leastNonzeroMagnitude] {
            #expect(decodeScore(encodeScore(d)).bitPattern == d.bitPattern)
        }
    }
}
