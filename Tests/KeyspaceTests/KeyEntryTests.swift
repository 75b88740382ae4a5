import Testing
@testable import Keyspace

/// KeyEntry packs its expiry, LRU idle time and LFU counter into two words: each is kept and cleared
/// independently of the others, and equality sees exactly what the accessors report.
@Suite struct KeyEntryTests {
    @Test func metadataFieldsAreIndependent() {
        let expiries: [Int64?] = [nil, 0, -1, .min, .max, 1_700_000_000_000]
        let idles: [UInt64?] = [nil, 0, 1, 86_400, KeyEntry.maxIdleSeconds]
        let freqs: [UInt8?] = [nil, 0, 5, 255]
        for e in expiries {
            for i in idles {
                for f in freqs {
                    var k = KeyEntry(value: .string([1]), expireAtMs: e, lruIdleSeconds: i, lfuFreq: f)
                    #expect(k.expireAtMs == e && k.lruIdleSeconds == i && k.lfuFreq == f)
                    k.lfuFreq = nil
                    #expect(k.expireAtMs == e && k.lruIdleSeconds == i && k.lfuFreq == nil)
                    k.lruIdleSeconds = nil
                    k.expireAtMs = nil
                    #expect(k == KeyEntry(value: .string([1])))
                }
            }
        }
        // Idle times past 2^53-1 seconds are clamped (Redis keeps a 24-bit LRU clock).
        #expect(KeyEntry(value: .string([]), lruIdleSeconds: .max).lruIdleSeconds == KeyEntry.maxIdleSeconds)
        #expect(MemoryLayout<KeyEntry>.size <= MemoryLayout<Value>.stride + 16)
    }
}
