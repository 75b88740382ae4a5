import Testing
import TestSupport
@testable import RDBTools

/// `rdb memory` sizes a listpack sorted set's scores from the length of their `%.17g` text, computed without
/// printf (`PackedSize.fixedScoreTextLength`): it must equal the length printf gives, and the entry size the
/// same as from printf's text, for every double.
@Suite struct ScoreTextLengthTests {
    static func values() -> [Double] {
        var v: [Double] = [0.0001, -0.0001, 0.00010000000000000002, 0.1, 0.5, 1.5, 2.675, 123.456, 1e15 + 0.5,
                           4_503_599_627_370_496, 4_503_599_627_370_497, 9_007_199_254_740_991, 0.3, 1 / 3.0,
                           99_999_999_999_999.99, 9.999999999999999e-5, 1e-4.nextDown, 1e-4.nextUp]
        var rng = SeededRandom(seed: 17)
        for _ in 0..<30_000 {
            // Random bit patterns across the whole range, and short decimals as scores usually are.
            v.append(Double(bitPattern: rng.next()))
            let scale = [1.0, 10, 100, 1000, 1e4, 1e6][Int(rng.next() % 6)]
            v.append(Double(Int64(bitPattern: rng.next()) % 10_000_000_000) / scale)
            v.append(Double(rng.next() % 1_000_000) * 0.0001 + Double(rng.next() % 7))
        }
        return v.filter { $0.isFinite }
    }

    @Test func lengthsMatchPrintf() throws {
        guard #available(macOS 15.0, *) else { return }
        var checked = 0
        for d in Self.values() {
            guard let n = PackedSize.fixedScoreTextLength(d) else { continue }
            let text = PackedSize.scoreText(d)
            if d == d.rounded(.towardZero) && d.magnitude < 4_503_599_627_370_496 { continue }  // d2string's integers
            #expect(n == text.count, "\(d): \(n) vs \(String(decoding: text, as: UTF8.self))")
            checked += 1
        }
        #expect(checked > 20_000)
    }

    @Test func entrySizesMatchPrintfText() {
        for d in Self.values() {
            #expect(PackedSize.scoreEntry(d) == PackedSize.entry(PackedSize.scoreText(d)), "\(d)")
        }
    }
}
