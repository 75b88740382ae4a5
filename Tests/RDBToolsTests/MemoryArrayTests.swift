import Foundation
import RDB
import RDBTools
import Testing
import TestSupport

/// The memory estimate of Redis 8.10 arrays against what 8.10.2's `MEMORY USAGE key SAMPLES 0` answered after
/// loading Fixtures/redis-8.10/arrays.rdb (recorded here): each within 20%.
@Suite struct MemoryArrayTests {
    static let measured: [String: Int] = [
        "ar:values": 852, "ar:sparse": 692, "ar:inserted": 214, "ar:ring": 210, "ar:big": 40505, "ar:ttl": 217,
        "ar:restored": 854,
    ]

    @Test func estimatesAreNearRedis() throws {
        let path = TestPaths.fixturesDirectory.appendingPathComponent("redis-8.10/arrays.rdb").path
        let reader = try AnyRDBReader(path: path)
        var seen = 0
        while let record = try reader.next() {
            guard case .entry(let e) = record, let want = Self.measured[String(decoding: e.key, as: UTF8.self)] else { continue }
            let got = MemoryEstimator.usage(of: e)
            let error = Double(got - want) / Double(want)
            #expect(abs(error) <= 0.20, "\(String(decoding: e.key, as: UTF8.self)): estimate \(got), Redis \(want)")
            seen += 1
        }
        #expect(seen == Self.measured.count)
    }
}
