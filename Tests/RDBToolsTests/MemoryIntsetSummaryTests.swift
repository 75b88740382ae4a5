import Testing
import RDB
import TestSupport
@testable import RDBTools

/// `rdb memory` reads intsets in summary (`RDBValueArena.summarizesIntsets`: count and extremes, no member as
/// text); its estimates must equal those of the materialized sets, on both sides of the 512-member limit and for
/// 16-, 32- and 64-bit members.
@Suite struct MemoryIntsetSummaryTests {
    static func sets() -> [RDBEntry] {
        var out: [RDBEntry] = []
        var rng = SeededRandom(seed: 512)
        let ranges: [ClosedRange<Int64>] = [-100...100, -40_000...40_000, -3_000_000_000...3_000_000_000, Int64.min...Int64.max]
        for (r, range) in ranges.enumerated() {
            for n in [1, 2, 511, 512, 513, 1500] {
                var members = Set<Int64>()
                let (span, overflow) = range.upperBound.subtractingReportingOverflow(range.lowerBound)
                let wanted = overflow ? n : min(n, Int(span) + 1)
                while members.count < wanted {
                    members.insert(Int64.random(in: range, using: &rng))
                }
                out.append(RDBEntry(db: 0, key: Array("set:\(r):\(n)".utf8),
                                    value: .set(members.map { Array(String($0).utf8) }), rdbType: 0))
            }
        }
        // Extremes only at the ends of the ascending intset.
        out.append(RDBEntry(db: 0, key: Array("set:edges".utf8),
                            value: .set([Int64.min, -1, 0, Int64.max].map { Array(String($0).utf8) }), rdbType: 0))
        return out
    }

    @Test func summarizedIntsetsEstimateAsMaterialized() throws {
        var options = RDBWriterOptions(rdbVersion: 11)
        options.setMaxIntsetEntries = 4096  // intsets past Redis's 512 as well, as a server configured so writes
        let w = try RDBWriter(sink: MemoryByteSink(), options: options)
        try w.writeHeader()
        try w.writeAuxFields()
        try w.selectDB(0)
        for e in Self.sets() { try w.writeEntry(e) }
        try w.finish()
        let bytes = w.sink.bytes

        var model: [Int] = []
        let plain = RDBReader(source: MemoryByteSource(bytes: bytes))
        while let r = try plain.next() {
            if case .entry(let e) = r { model.append(MemoryEstimator.usage(of: e)) }
        }

        var summarized: [Int] = []
        var intsets = 0, inSummary = 0
        let arena = RDBValueArena()
        arena.summarizesIntsets = true
        let lending = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: .random(seed: 11, maxChunk: 97)))
        while let r = try lending.next(lendingInto: arena) {
            guard case .entry(let e) = r else { continue }
            summarized.append(MemoryEstimator.usage(of: e, lent: arena))
            if e.rdbType == RDBType.setIntset.rawValue {
                intsets += 1
                if let s = arena.intsetSummary {
                    inSummary += 1
                    #expect(s.count <= RDBValueArena.summarizedIntsetLimit && arena.count == 0)
                    #expect(s.count == e.elementCount)
                } else {
                    #expect(arena.count == e.elementCount ?? -1, "an intset past the limit is lent member by member")
                }
            }
        }
        #expect(summarized == model)
        #expect(model.count == Self.sets().count)
        #expect(intsets == Self.sets().count && inSummary >= 14, "intsets \(intsets), in summary \(inSummary)")
    }
}
