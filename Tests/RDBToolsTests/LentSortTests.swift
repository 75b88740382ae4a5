import Testing
@testable import RDB
import TestSupport
@testable import RDBTools

/// `CanonicalJSONEncoder.sortByBytes` (prefix keys, run merging or introsort, then ties by bytes and index)
/// against a stable sort by raw bytes, on the shapes stored orders take: sorted, reversed, a few runs (intsets:
/// one per sign and digit count), random, long shared prefixes and duplicates.
@Suite struct LentSortTests {
    static func reference(_ elements: [[UInt8]]) -> [Int] {
        elements.indices.sorted { i, j in
            let a = elements[i], b = elements[j]
            if a.lexicographicallyPrecedes(b) { return true }
            if b.lexicographicallyPrecedes(a) { return false }
            return i < j
        }
    }

    static func sorted(_ elements: [[UInt8]], stride: Int = 1) -> [Int] {
        let arena = RDBValueArena()
        arena.reset(stride == 1 ? .set : .hash, keepsBytes: true)
        for e in elements {
            e.withUnsafeBytes { arena.append($0) }
            if stride == 2 { arena.append(int: 7) }  // a hash value, never compared
        }
        var keys: [LentSortKey] = []
        // Scratch left over from a bigger sort: stale keys are never read.
        var scratch = Array(repeating: LentSortKey(high: .max, low: 1, index: 3), count: elements.count + 7)
        arena.withElements { el in
            CanonicalJSONEncoder.sortByBytes(el, first: 0, stride: stride, count: elements.count, &keys, &scratch)
        }
        // A key's prefix holds a short element whole: what `JSONWriter.shortString` writes from.
        for k in keys {
            let e = elements[k.index]
            guard let n = k.shortCount else {
                #expect(e.count > 16)
                continue
            }
            #expect(n == e.count)
            let whole = withUnsafeBytes(of: (k.high.bigEndian, k.low.bigEndian)) { Array($0) }
            #expect(Array(whole[..<n]) == e)
            #expect(whole[n...].allSatisfy { $0 == 0 })
        }
        return keys.map(\.index)
    }

    static func shapes(_ rng: inout SeededRandom, count: Int) -> [(String, [[UInt8]])] {
        func word() -> [UInt8] {
            let prefix = Array(["member:", "field:", "a-very-long-shared-prefix:", ""][Int(rng.next() % 4)].utf8)
            return prefix + Array(String(rng.next() % 1000).utf8)
        }
        var ints = (0..<count).map { _ in Int64(bitPattern: rng.next()) >> Int64(rng.next() % 63) }
        ints.sort()
        let intset = ints.map { Array(String($0).utf8) }
        let words = (0..<count).map { _ in word() }
        func runs(_ k: Int) -> [[UInt8]] {
            var out: [[UInt8]] = []
            for r in 0..<k {
                let chunk = words[(r * count / k)..<((r + 1) * count / k)].sorted { $0.lexicographicallyPrecedes($1) }
                out += r % 3 == 1 ? chunk.reversed() : chunk
            }
            return out
        }
        let dupes = (0..<count).map { _ in Array(String(rng.next() % 5).utf8) + [UInt8](repeating: 0x61, count: 16) }
        return [
            ("intset order", intset),
            ("random words", words),
            ("sorted", words.sorted { $0.lexicographicallyPrecedes($1) }),
            ("reversed", words.sorted { $1.lexicographicallyPrecedes($0) }),
            ("a long run, then a short one", words.dropLast(count / 10).sorted { $0.lexicographicallyPrecedes($1) }
                + words.suffix(count / 10).sorted { $0.lexicographicallyPrecedes($1) }),
            ("2 runs", runs(2)), ("3 runs", runs(3)), ("5 runs", runs(5)), ("16 runs", runs(16)), ("17 runs", runs(17)),
            ("duplicates past 16 bytes", dupes),
            ("empty and short", (0..<count).map { _ in [UInt8](repeating: 0x30, count: Int(rng.next() % 3)) }),
        ]
    }

    @Test func equalsAStableByteSortOnEveryShape() {
        var rng = SeededRandom(seed: 2012)
        for count in Array(0...40) + [100, 257, 512, 1023, 1024, 3000, 5000] {
            for (name, elements) in Self.shapes(&rng, count: count) {
                let expected = Self.reference(elements)
                #expect(Self.sorted(elements) == expected, "\(name), \(count) elements")
                #expect(Self.sorted(elements, stride: 2) == expected, "\(name), \(count) hash fields")
            }
        }
    }
}
