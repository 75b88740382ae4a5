import RDB
import Testing
@testable import Keyspace

/// A -0 score in a small sorted set: Redis 7.0+ listpacks store it as the integer 0, while 6.2 and older
/// ziplists keep the text "-0" (found by the end-to-end differential test against a 6.2 master). The
/// keyspace takes the rule from the version of the file it was loaded from.
@Suite struct ZSetNegativeZeroTests {
    func scores(_ r: Run, _ key: String) -> [Double] {
        guard case .zset(let z)? = r.entry(key)?.value else { return [] }
        return z.sorted.map(\.score)
    }

    @Test func redis7ListpackStoresZero() {
        var r = Run()
        r.callAll(["ZADD k -0 a", "ZADD k 1 b", "ZUNIONSTORE u 1 k", "ZRANGESTORE s k 0 -1"])
        for key in ["k", "u", "s"] { #expect(scores(r, key).map(\.sign) == [.plus, .plus], "\(key)") }
    }

    @Test func before7ZiplistKeepsNegativeZero() throws {
        var ks = Keyspace()
        ks.zsetKeepsNegativeZero = true
        var r = Run(applier: ReplicaApplier(keyspace: ks))
        r.callAll(["ZADD k -0 a", "ZADD k 1 b", "ZUNIONSTORE u 1 k", "ZRANGESTORE s k 0 -1", "ZADD k 0 a"])
        for key in ["k", "u", "s"] { #expect(scores(r, key).map(\.sign) == [.minus, .plus], "\(key)") }
    }

    @Test func theRuleComesFromTheFileVersion() throws {
        var ks = Keyspace()
        ks[0, Array("k".utf8)] = KeyEntry(value: .string(Array("v".utf8)))
        for version in [9, 10] {
            let loaded = try Keyspace.load(rdb: try ks.rdbBytes(options: RDBWriterOptions(rdbVersion: version)))
            #expect(loaded.zsetKeepsNegativeZero == (version <= 9), "RDB \(version)")
        }
    }
}
