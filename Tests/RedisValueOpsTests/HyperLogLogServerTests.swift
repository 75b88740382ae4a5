import Testing
import Foundation
import RedisValueOps
import TestSupport

/// PFADD / PFCOUNT / PFMERGE against real servers: a seeded random sequence runs on the server and
/// through `HyperLogLog`, and after every step the replies and every key's bytes (`GET`) must be
/// equal. The sequence crosses the sparse -> dense promotion by size (hll-sparse-max-bytes 3000 by
/// default, also a small value set with CONFIG SET), refreshes the cache with PFCOUNT, and feeds
/// the commands corrupted HLL strings (SET with mutated bytes), which must give the same error.
@Suite(.serialized) struct HyperLogLogServerTests {
    static let v62 = RedisServerProcess.redis62BinaryPath
    static let v82 = RedisServerProcess.redis82BinaryPath

    @Test("PFADD/PFCOUNT/PFMERGE bytes equal Redis 7.0's", arguments: [1 as UInt64, 2, 5, 6])
    func redis70(seed: UInt64) throws {
        try Self.run(binary: RedisServerProcess.defaultBinaryPath, seed: seed, steps: 400)
    }

    @Test("PFADD/PFCOUNT/PFMERGE bytes equal Redis 6.2's", .enabled(if: v62 != nil, "no Redis 6.2 binary (tools/install-deps)"))
    func redis62() throws {
        try Self.run(binary: Self.v62!, seed: 3, steps: 300)
    }

    @Test("PFADD/PFCOUNT/PFMERGE bytes equal Redis 8.2's", .enabled(if: v82 != nil, "no Redis 8.2 binary (tools/install-deps)"))
    func redis82() throws {
        try Self.run(binary: Self.v82!, seed: 4, steps: 300)
    }

    struct Model {
        var values: [String: [UInt8]] = [:]
    }

    static func element(_ rng: inout SeededRandom) -> [UInt8] {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 1: return Array("dup\(Int.random(in: 0..<50, using: &rng))".utf8)
        default: return Array("e\(UInt64.random(in: 0...UInt64.max, using: &rng))".utf8)
        }
    }

    static func hex(_ b: [UInt8]?) -> String {
        guard let b else { return "nil" }
        return b.prefix(48).map { String($0, radix: 16) }.joined(separator: " ") + (b.count > 48 ? " ..." : "")
    }

    static func run(binary: String, seed: UInt64, steps: Int) throws {
        let server = try RedisServerProcess(binary: binary)
        defer { server.stop() }
        let client = try server.client()
        var rng = SeededRandom(seed: seed)
        var model = Model()
        var sparseMax = HyperLogLog.defaultSparseMaxBytes
        let keys = ["h0", "h1", "h2", "h3"]
        var log: [String] = []

        var longestSparse = 0
        var promotionsAt3000 = 0
        var before: [String: [UInt8]] = [:]
        func check(_ what: String) throws {
            for key in keys {
                if let v = model.values[key], HyperLogLog.validate(v) == nil {
                    if !HyperLogLog.isDense(v) { longestSparse = max(longestSparse, v.count) }
                    if HyperLogLog.isDense(v), let old = before[key], HyperLogLog.validate(old) == nil, !HyperLogLog.isDense(old),
                       sparseMax == 3000, old.count > 2800 { promotionsAt3000 += 1 }
                }
                before[key] = model.values[key]
                let got = try client.call("GET", key).bytes
                let want = model.values[key]
                if got != want {
                    let first = zip(got ?? [], want ?? []).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    Issue.record("seed \(seed) after \(what): \(key) differs (server \(got?.count ?? -1) bytes, ours \(want?.count ?? -1), first difference at \(first.map(String.init) ?? "-")); last steps: \(log.suffix(5)); server \(hex(got)), ours \(hex(want))")
                    throw CancellationError()
                }
            }
        }

        for step in 0..<steps {
            // First grow h0 alone at the default limit until the size promotes it, then mix.
            let growing = model.values["h0"].map { !HyperLogLog.isDense($0) } ?? true
            let roll = growing ? Int.random(in: 0..<60, using: &rng) : Int.random(in: 0..<100, using: &rng)
            let key = growing ? "h0" : keys.randomElement(using: &rng)!
            var what = ""
            if roll < 50 {
                let n = Int.random(in: 0...Int.random(in: 1...(growing ? 200 : 120), using: &rng), using: &rng)
                let elements = (0..<n).map { _ in element(&rng) }
                what = "PFADD \(key) (\(n) elements)"
                let reply = try client.command([Array("PFADD".utf8), Array(key.utf8)] + elements)
                switch HyperLogLog.add(to: model.values[key], elements: elements, sparseMaxBytes: sparseMax) {
                case .success(let r):
                    #expect(reply == .integer(r.changed ? 1 : 0), "seed \(seed) step \(step): \(what): \(reply)")
                    model.values[key] = r.value
                case .failure(let e):
                    #expect(reply == .error(e.description), "seed \(seed) step \(step): \(what): \(reply)")
                    if case .corruptedAfterPartialWrite(let v) = e { model.values[key] = v }
                }
            } else if roll < 70 {
                what = "PFCOUNT \(key)"
                let reply = try client.command("PFCOUNT", key)
                if let value = model.values[key] {
                    switch HyperLogLog.count(value) {
                    case .success(let r):
                        #expect(reply == .integer(Int64(bitPattern: r.cardinality)), "seed \(seed) step \(step): \(what): \(reply) vs \(r.cardinality)")
                        if let v = r.updatedValue { model.values[key] = v }
                    case .failure(let e):
                        #expect(reply == .error(e.description), "seed \(seed) step \(step): \(what): \(reply)")
                    }
                } else {
                    #expect(reply == .integer(0))
                }
            } else if roll < 78 {
                let ks = (0..<Int.random(in: 2...4, using: &rng)).map { _ in keys.randomElement(using: &rng)! }
                what = "PFCOUNT \(ks)"
                let reply = try client.command(["PFCOUNT"] + ks)
                switch HyperLogLog.countUnion(ks.map { model.values[$0] }) {
                case .success(let c): #expect(reply == .integer(Int64(bitPattern: c)), "seed \(seed) step \(step): \(what): \(reply) vs \(c)")
                case .failure(let e): #expect(reply == .error(e.description), "seed \(seed) step \(step): \(what): \(reply)")
                }
            } else if roll < 92 {
                let sources = (0..<Int.random(in: 0...3, using: &rng)).map { _ in keys.randomElement(using: &rng)! }
                what = "PFMERGE \(key) \(sources)"
                let reply = try client.command(["PFMERGE", key] + sources)
                switch HyperLogLog.merge(destination: model.values[key], sources: sources.map { model.values[$0] },
                                         sparseMaxBytes: sparseMax) {
                case .success(let v):
                    #expect(reply == .simple("OK"), "seed \(seed) step \(step): \(what): \(reply)")
                    model.values[key] = v
                case .failure(let e):
                    #expect(reply == .error(e.description), "seed \(seed) step \(step): \(what): \(reply)")
                }
            } else if roll < 95 {
                sparseMax = [3000, 3000, 200, 60, 0, 16000].randomElement(using: &rng)!
                what = "CONFIG SET hll-sparse-max-bytes \(sparseMax)"
                try client.call("CONFIG", "SET", "hll-sparse-max-bytes", String(sparseMax))
            } else {
                // A damaged or foreign string under the key: SET it on both sides.
                guard var value = model.values.sorted(by: { $0.key < $1.key }).map(\.value).randomElement(using: &rng) else { continue }
                let kind = Int.random(in: 0..<5, using: &rng)
                if kind == 0 {
                    value = Array("not an hll".utf8)
                } else if kind == 1 && value.count > 16 {
                    value.removeLast(Int.random(in: 1...min(3, value.count - 16), using: &rng))
                } else if value.count > 16 {
                    for _ in 0..<Int.random(in: 1...2, using: &rng) {
                        value[Int.random(in: 16..<value.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    }
                }
                what = "SET \(key) <damaged \(kind)>"
                try client.call([Array("SET".utf8), Array(key.utf8), value])
                model.values[key] = value
            }
            log.append(what)
            try check("step \(step): \(what)")
        }
        // The run must have crossed the promotion by size at the default limit.
        #expect(longestSparse > 2800 && promotionsAt3000 > 0, "seed \(seed): longest sparse \(longestSparse) bytes, \(promotionsAt3000) promotions at 3000")
    }
}
