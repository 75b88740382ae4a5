import Testing
import Foundation
import RedisValueOps
import TestSupport

/// GEOADD scores, and GEOSEARCHSTORE / GEORADIUS ... STORE|STOREDIST / GEORADIUSBYMEMBER ... STORE
/// against a real Redis 7.0 (and 8.2 when present): seeded random points (clusters at several
/// scales, near the poles' limit and the antimeridian) and random queries; the reply and the
/// destination's members and scores (ZRANGE ... WITHSCORES) must be equal.
@Suite(.serialized) struct GeoServerTests {
    static let v82 = RedisServerProcess.redis82BinaryPath
    static let v62 = RedisServerProcess.redis62BinaryPath

    @Test("geo stores equal Redis 7.0's", arguments: [1 as UInt64, 2])
    func redis70(seed: UInt64) throws {
        try Self.run(binary: RedisServerProcess.defaultBinaryPath, seed: seed, queries: 400)
    }

    @Test("geo stores equal Redis 6.2's (6.2's distance and box test)", .enabled(if: v62 != nil, "no Redis 6.2 binary (tools/install-deps)"))
    func redis62() throws {
        try Self.run(binary: Self.v62!, seed: 5, queries: 400, redis62: true)
    }

    @Test("geo stores equal Redis 8.2's", .enabled(if: v82 != nil, "no Redis 8.2 binary (tools/install-deps)"))
    func redis82() throws {
        try Self.run(binary: Self.v82!, seed: 3, queries: 300)
    }

    static func pick<T>(_ xs: [T], _ rng: inout SeededRandom) -> T { xs.randomElement(using: &rng)! }

    static func fmt(_ d: Double) -> String { String(d) }

    static func run(binary: String, seed: UInt64, queries: Int, redis62: Bool = false) throws {
        let server = try RedisServerProcess(binary: binary)
        defer { server.stop() }
        let client = try server.client()
        var rng = SeededRandom(seed: seed)
        var points: [(member: [UInt8], score: Double)] = []
        let centers: [(Double, Double)] = [(13.36, 38.11), (-0.12, 51.5), (179.99, -16.5), (-179.95, 65.0),
                                           (2.35, 84.9), (-70.6, -84.8), (0, 0), (151.2, -33.86)]
        var placed: [(Double, Double)] = []
        for n in 0..<600 {
            var (cx, cy) = pick(centers, &rng)
            // One point in ten shares another's place exactly: ties in distance, cut by COUNT.
            let duplicate = !placed.isEmpty && Int.random(in: 0..<10, using: &rng) == 0
            if duplicate { (cx, cy) = pick(placed, &rng) }
            let scale = duplicate ? 0 : pick([0.001, 0.01, 0.1, 1, 5, 30], &rng)
            let lon = min(180, max(-180, cx + Double.random(in: -scale...scale, using: &rng)))
            let lat = min(85.05112878, max(-85.05112878, cy + Double.random(in: -scale...scale, using: &rng)))
            placed.append((lon, lat))
            let member = Array("p\(n)".utf8)
            try client.call([Array("GEOADD".utf8), Array("src".utf8), Array(fmt(lon).utf8), Array(fmt(lat).utf8), member])
            let ours = try #require(Geo.score(longitude: lon, latitude: lat))
            let theirs = try client.call([Array("ZSCORE".utf8), Array("src".utf8), member]).string.flatMap(Double.init)
            #expect(theirs == ours, "GEOADD \(lon) \(lat): server \(theirs ?? -1), ours \(ours)")
            points.append((member, ours))
        }
        let source = GeoMemberList(points)
        var nonEmpty = 0

        for q in 0..<queries {
            let (cx, cy) = pick(centers, &rng)
            let lon = fmt(min(180, max(-180, cx + Double.random(in: -2...2, using: &rng))))
            let lat = fmt(min(85, max(-85, cy + Double.random(in: -2...2, using: &rng))))
            let unit = pick(["m", "km", "ft", "mi", "KM"], &rng)
            let perUnit = ["m": 1.0, "km": 1000, "KM": 1000, "ft": 0.3048, "mi": 1609.34][unit]!
            let meters = pick([50.0, 500, 5000, 50_000, 300_000, 2_000_000, 6_000_000], &rng) * Double.random(in: 0.5...1.5, using: &rng)
            let r = fmt((meters / perUnit * 1000).rounded() / 1000)
            var args: [String]
            let shape = Bool.random(using: &rng) ? ["BYRADIUS", r, unit] : ["BYBOX", r, fmt((meters * Double.random(in: 0.2...3, using: &rng) / perUnit).rounded()), unit]
            let from = Int.random(in: 0..<4, using: &rng) == 0 ? ["FROMMEMBER", "p\(Int.random(in: 0..<650, using: &rng))"] : ["FROMLONLAT", lon, lat]
            var opts: [String] = []
            if Bool.random(using: &rng) { opts.append(pick(["ASC", "DESC"], &rng)) }
            if Int.random(in: 0..<3, using: &rng) == 0 {
                opts += ["COUNT", String(Int.random(in: 1...20, using: &rng))]
                if Bool.random(using: &rng) { opts.append("ANY") }
            }
            switch Int.random(in: 0..<4, using: &rng) {
            case 0, 1:
                args = ["GEOSEARCHSTORE", "dst", pick(["src", "src", "nosrc"], &rng)] + from + shape + opts
                if Bool.random(using: &rng) { args.append("STOREDIST") }
            case 2:
                args = ["GEORADIUS", "src", lon, lat, r, unit] + opts + [pick(["STORE", "STOREDIST"], &rng), "dst"]
            default:
                args = ["GEORADIUSBYMEMBER", "src", "p\(Int.random(in: 0..<620, using: &rng))", r, unit] + opts + [pick(["STORE", "STOREDIST"], &rng), "dst"]
            }
            let reply = try client.command(args)
            let srcName = args[0] == "GEOSEARCHSTORE" ? args[2] : args[1]
            let outcome = GeoSearch.run(args.map { Array($0.utf8) }, source: srcName == "src" ? source : nil, redis62: redis62)
            switch outcome {
            case .failure(let e):
                #expect(reply == .error(e.message), "seed \(seed) query \(q): \(args.joined(separator: " "))")
                continue
            case .success(let o):
                #expect(reply == .integer(Int64(o.stored.count)), "seed \(seed) query \(q): \(args.joined(separator: " ")): server \(reply), ours \(o.stored.count)")
                if !o.stored.isEmpty { nonEmpty += 1 }
                let got = try client.call("ZRANGE", "dst", "0", "-1", "WITHSCORES").array ?? []
                var theirs: [String: Double] = [:]
                var k = 0
                while k + 1 < got.count { theirs[got[k].string!] = got[k + 1].string.flatMap(Double.init); k += 2 }
                var ours: [String: Double] = [:]
                for (m, s) in o.stored { ours[String(decoding: m, as: UTF8.self)] = s }
                if theirs != ours {
                    let missing = Set(theirs.keys).subtracting(ours.keys), extra = Set(ours.keys).subtracting(theirs.keys)
                    let scoreDiffs = theirs.filter { ours[$0.key] != nil && ours[$0.key] != $0.value }.prefix(3).map { "\($0.key): \($0.value) vs \(ours[$0.key]!)" }
                    Issue.record("seed \(seed) query \(q): \(args.joined(separator: " ")): only server \(missing.sorted().prefix(5)), only ours \(extra.sorted().prefix(5)), scores \(scoreDiffs)")
                    return
                }
            }
        }
        #expect(nonEmpty > queries / 4, "seed \(seed): only \(nonEmpty) non-empty results")
    }
}
