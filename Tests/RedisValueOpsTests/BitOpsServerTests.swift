import Testing
import Foundation
import RedisValueOps
import TestSupport

/// SETBIT, BITFIELD (and BITFIELD_RO), BITOP, BITCOUNT and BITPOS against real servers: a seeded
/// random sequence, valid and invalid arguments mixed, runs on the server and through `BitOps` /
/// `BitField`; replies and every key's bytes (`GET`) must be equal after every step. The 8.2 run
/// adds BITOP DIFF, DIFF1, ANDOR and ONE.
@Suite(.serialized) struct BitOpsServerTests {
    static let v82 = RedisServerProcess.redis82BinaryPath

    @Test("bit commands equal Redis 7.0's", arguments: [1 as UInt64, 2, 3])
    func redis70(seed: UInt64) throws {
        try Self.run(binary: RedisServerProcess.defaultBinaryPath, seed: seed, steps: 1500, redis82: false)
    }

    @Test("bit commands equal Redis 8.2's, BITOP DIFF/DIFF1/ANDOR/ONE included",
          .enabled(if: v82 != nil, "no Redis 8.2 binary (tools/install-deps)"), arguments: [4 as UInt64, 5])
    func redis82(seed: UInt64) throws {
        try Self.run(binary: Self.v82!, seed: seed, steps: 1500, redis82: true)
    }

    static let v62 = RedisServerProcess.redis62BinaryPath

    @Test("SETBIT, BITFIELD and BITOP equal Redis 6.2's (no BIT ranges in 6.2's BITCOUNT/BITPOS)",
          .enabled(if: v62 != nil, "no Redis 6.2 binary (tools/install-deps)"))
    func redis62() throws {
        try Self.run(binary: Self.v62!, seed: 6, steps: 1500, redis82: false, reads: false)
    }

    static func pick<T>(_ xs: [T], _ rng: inout SeededRandom) -> T { xs.randomElement(using: &rng)! }

    static func offsetArg(_ rng: inout SeededRandom) -> String {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: return pick(["-1", "abc", "", "01", "+5", "4294967296", "#-1", "9223372036854775807"], &rng)
        case 1, 2: return "#\(Int.random(in: 0..<40, using: &rng))"
        default: return String(Int.random(in: 0..<Int.random(in: 1...3000, using: &rng), using: &rng))
        }
    }

    static func typeArg(_ rng: inout SeededRandom) -> String {
        if Int.random(in: 0..<25, using: &rng) == 0 { return pick(["u64", "i65", "i0", "x8", "I8", "u", "i08"], &rng) }
        return (Bool.random(using: &rng) ? "i" : "u") + String(pick([1, 2, 3, 7, 8, 9, 15, 16, 31, 32, 33, 62, 63, 64], &rng))
    }

    static func valueArg(_ rng: inout SeededRandom) -> String {
        switch Int.random(in: 0..<12, using: &rng) {
        case 0: return pick(["9223372036854775807", "-9223372036854775808", "18446744073709551615", "1.5", "x"], &rng)
        case 1: return String(Int64.random(in: .min ... .max, using: &rng))
        case 2: return pick(["0", "1", "-1", "127", "128", "-128", "255", "256", "65535", "4294967295"], &rng)
        default: return String(Int64.random(in: -300...300, using: &rng))
        }
    }

    static func bitfieldArgs(_ rng: inout SeededRandom, readOnly: Bool) -> [String] {
        var args: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let r = Int.random(in: 0..<40, using: &rng)
            if r < 6 {
                args += ["OVERFLOW", pick(["WRAP", "sat", "FAIL", "fail", "wrap", "SAT", "bogus"], &rng)]
            } else if r < 14 || readOnly {
                args += [pick(["GET", "get"], &rng), typeArg(&rng), offsetArg(&rng)]
            } else if r < 27 {
                args += [pick(["SET", "set"], &rng), typeArg(&rng), offsetArg(&rng), valueArg(&rng)]
            } else if r < 39 {
                args += [pick(["INCRBY", "incrby"], &rng), typeArg(&rng), offsetArg(&rng), valueArg(&rng)]
            } else {
                args += [pick(["GET", "SET", "INCRBY", "NOPE"], &rng)]  // short or unknown
            }
        }
        return args
    }

    static func rangeArgs(_ rng: inout SeededRandom, count: Int) -> [String] {
        func n() -> String {
            Int.random(in: 0..<15, using: &rng) == 0 ? pick(["x", "-9223372036854775808", "9223372036854775807"], &rng)
                : String(Int.random(in: -300...300, using: &rng))
        }
        switch count {
        case 0: return []
        case 1: return [n()]
        case 2: return [n(), n()]
        default: return [n(), n(), pick(["BIT", "byte", "BYTE", "bit", "bits"], &rng)]
        }
    }

    static func run(binary: String, seed: UInt64, steps: Int, redis82: Bool, reads: Bool = true) throws {
        let server = try RedisServerProcess(binary: binary)
        defer { server.stop() }
        let client = try server.client()
        var rng = SeededRandom(seed: seed)
        var model: [String: [UInt8]] = [:]
        let keys = ["b0", "b1", "b2", "b3"]
        let ops = redis82 ? ["AND", "or", "XOR", "NOT", "DIFF", "diff1", "ANDOR", "ONE", "nand"] : ["AND", "or", "Xor", "NOT", "nand"]
        var counts: [String: Int] = [:]

        func expectSame(_ reply: RedisReply, _ ours: RedisReply, _ what: String, _ step: Int) -> Bool {
            if reply == ours { return true }
            Issue.record("seed \(seed) step \(step): \(what): server \(reply), ours \(ours)")
            return false
        }
        func errorReply<T>(_ r: Result<T, BitOpsError>, _ ok: (T) -> RedisReply) -> RedisReply {
            switch r {
            case .success(let v): return ok(v)
            case .failure(let e): return .error(e.description)
            }
        }

        for step in 0..<steps {
            let key = pick(keys, &rng)
            var roll = Int.random(in: 0..<100, using: &rng)
            if !reads && roll >= 72 && roll < 92 { roll = 0 }  // SETBIT instead of BITCOUNT/BITPOS
            var args: [String]
            let ours: RedisReply
            if roll < 25 {
                args = ["SETBIT", key, offsetArg(&rng), Int.random(in: 0..<20, using: &rng) == 0 ? pick(["2", "-1", "x", ""], &rng) : pick(["0", "1"], &rng)]
                ours = errorReply(BitOps.parseSetBit(offset: Array(args[2].utf8), bit: Array(args[3].utf8))) { op in
                    let r = BitOps.setBit(model[key], op)
                    model[key] = r.value
                    return .integer(r.previous ? 1 : 0)
                }
            } else if roll < 55 {
                let ro = roll < 30
                args = [ro ? "BITFIELD_RO" : "BITFIELD", key] + bitfieldArgs(&rng, readOnly: ro && Int.random(in: 0..<5, using: &rng) > 0)
                ours = errorReply(BitField.parse(args.dropFirst(2).map { Array($0.utf8) }, readOnly: ro)) { parsed in
                    let out = BitField.apply(model[key], parsed)
                    if let v = out.value { model[key] = v }
                    return .array(out.replies.map { $0.map(RedisReply.integer) ?? .bulk(nil) })
                }
            } else if roll < 72 {
                let sources = (0..<Int.random(in: 1...3, using: &rng)).map { _ in pick(keys + ["missing"], &rng) }
                args = ["BITOP", pick(ops, &rng), key] + sources
                ours = errorReply(BitOps.parseBitOp(operation: Array(args[1].utf8), sourceCount: sources.count)) { op in
                    let result = BitOps.bitOp(op, sources: sources.map { model[$0] })
                    model[key] = result
                    return .integer(Int64(result?.count ?? 0))
                }
            } else if roll < 82 {
                args = ["BITCOUNT", key] + rangeArgs(&rng, count: pick([0, 0, 1, 2, 2, 3, 3], &rng))
                ours = errorReply(BitOps.bitCount(model[key], args.dropFirst(2).map { Array($0.utf8) }, redis8Order: redis82)) { .integer($0) }
            } else if roll < 92 {
                let bitArg = Int.random(in: 0..<20, using: &rng) == 0 ? pick(["2", "x", "-1"], &rng) : pick(["0", "1"], &rng)
                args = ["BITPOS", key, bitArg] + rangeArgs(&rng, count: pick([0, 1, 2, 2, 3, 3, 3], &rng))
                ours = errorReply(BitOps.bitPos(model[key], args.dropFirst(2).map { Array($0.utf8) }, redis8Order: redis82)) { .integer($0) }
            } else if roll < 97 {
                // Fresh contents: short random bytes, all ones, or all zeros.
                let n = Int.random(in: 0...40, using: &rng)
                let kind = Int.random(in: 0..<3, using: &rng)
                let bytes: [UInt8] = (0..<n).map { _ in kind == 0 ? 0xff : kind == 1 ? 0 : UInt8.random(in: 0...255, using: &rng) }
                try client.call([Array("SET".utf8), Array(key.utf8), bytes])
                model[key] = bytes
                continue
            } else {
                try client.call("DEL", key)
                model[key] = nil
                continue
            }
            counts[args[0], default: 0] += 1
            let reply = try client.command(args)
            if !expectSame(reply, ours, args.joined(separator: " "), step) { return }
            for k in keys {
                let got = try client.call("GET", k).bytes
                if got != model[k] {
                    Issue.record("seed \(seed) step \(step) after \(args.joined(separator: " ")): \(k) server \(got ?? []) ours \(model[k] ?? [])")
                    return
                }
            }
        }
        #expect(counts.count >= (reads ? 6 : 4), "seed \(seed): \(counts)")
    }
}
