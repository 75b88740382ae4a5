import Testing
@testable import RedisValueOps
import TestSupport

/// Seeded random and hostile arguments for the bit and geo commands: every call returns a value
/// or an error value, never traps, and never grows a string past the bulk-length bound it is given.
@Suite struct ValueOpsFuzzTests {
    static let words = ["GET", "SET", "INCRBY", "OVERFLOW", "WRAP", "SAT", "FAIL", "i64", "u63", "i1", "u1", "i65",
                        "u64", "#0", "#9223372036854775807", "-1", "0", "1", "7", "63", "64", "4096", "9223372036854775807",
                        "-9223372036854775808", "", "x", "BIT", "BYTE", "inf", "-inf", "nan", "1e308", "1e-320",
                        "0x1p3", " 1", "1 ", "180", "-180", "85.05112878", "85.06", "m", "km", "FT", "mi",
                        "COUNT", "ANY", "ASC", "DESC", "STORE", "STOREDIST", "FROMMEMBER", "FROMLONLAT",
                        "BYRADIUS", "BYBOX", "WITHDIST", "a", "b", "dst"]

    static func args(_ rng: inout SeededRandom, _ n: Int) -> [[UInt8]] {
        (0..<n).map { _ in
            Int.random(in: 0..<8, using: &rng) == 0
                ? (0..<Int.random(in: 0...6, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : Array(words.randomElement(using: &rng)!.utf8)
        }
    }

    @Test("bit commands on random arguments", arguments: [21 as UInt64, 22, 23])
    func bits(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let bound: Int64 = 4096
        for _ in 0..<3000 {
            let value: [UInt8]? = Bool.random(using: &rng) ? nil : (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let a = Self.args(&rng, Int.random(in: 0...9, using: &rng))
            if case .success(let ops) = BitField.parse(a, maxBulkLength: bound) {
                let out = BitField.apply(value, ops)
                #expect((out.value?.count ?? 0) <= max(value?.count ?? 0, Int(bound) + 8))
                #expect(out.replies.count == ops.count)
            }
            if a.count >= 2, case .success(let op) = BitOps.parseSetBit(offset: a[0], bit: a[1], maxBulkLength: bound) {
                #expect(BitOps.setBit(value, op).value.count <= max(value?.count ?? 0, Int(bound)))
            }
            _ = BitOps.bitCount(value, a, redis8Order: Bool.random(using: &rng))
            _ = BitOps.bitPos(value, a, redis8Order: Bool.random(using: &rng))
            if let first = a.first, case .success(let op) = BitOps.parseBitOp(operation: first, sourceCount: max(1, a.count - 1)) {
                _ = BitOps.bitOp(op, sources: [value] + Array(repeating: value, count: max(0, a.count - 2)))
            }
        }
    }

    @Test("geo searches on random arguments", arguments: [31 as UInt64, 32])
    func geo(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var members: [(member: [UInt8], score: Double)] = [(Array("a".utf8), 0), (Array("b".utf8), 4503599627370495),
                                                            (Array("c".utf8), -1), (Array("d".utf8), 1e300)]
        for i in 0..<200 {
            let s = Geo.score(longitude: Double.random(in: -180...180, using: &rng), latitude: Double.random(in: -85...85, using: &rng))!
            members.append((Array("m\(i)".utf8), s))
        }
        let source = GeoMemberList(members)
        let names = ["GEOSEARCHSTORE", "GEOSEARCH", "GEORADIUS", "GEORADIUSBYMEMBER", "georadius", "GEOADD"]
        for _ in 0..<3000 {
            let argv = [Array(names.randomElement(using: &rng)!.utf8)] + Self.args(&rng, Int.random(in: 0...12, using: &rng))
            _ = GeoSearch.run(argv, source: Bool.random(using: &rng) ? source : nil, redis62: Bool.random(using: &rng))
        }
        for score in [0, -1, 1e300, -1e300, .infinity, -.infinity, .nan, 4503599627370496, 1.8446744073709552e19] as [Double] {
            let (lon, lat) = Geo.decode(score: score)
            #expect(lon >= -180 && lon <= 180 && lat >= -85.05112878 && lat <= 85.05112878)
        }
    }
}
