/// A seeded random workload of Redis 8.2's stream deletion commands (XDELEX, XACKDEL, and XADD/XTRIM
/// with KEEPREF | DELREF | ACKED), mixed with XADD, XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XDEL and every
/// XGROUP subcommand, on three streams with three groups and consumers each. Only an 8.2+ master takes
/// it. Separate from `DifferentialWorkload` so that workload's seeds keep their sequences.
///
/// Ids are explicit (`n-s`, n counting up per key), so deletions and acks can name ids that exist, were
/// deleted, or never existed.
public struct StreamWorkload82 {
    public var rng: SeededRandom
    /// The last `ms` given to XADD on each key.
    var top: [Int] = [0, 0, 0]
    public init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }

    mutating func policy() -> [String] { pick([[], ["KEEPREF"], ["DELREF"], ["ACKED"], ["ACKED"]]) }
    mutating func group() -> String { "g\(int(3))" }
    mutating func consumer() -> String { "c\(int(3))" }

    /// Up to four ids around the key's range: mostly recent ones, some older or never added.
    mutating func ids(_ k: Int) -> [String] {
        (0...int(4)).map { _ in "\(max(1, top[k] - int(14) + 2))-\(int(3) == 0 ? 1 : 0)" }
    }

    mutating func trim(_ k: Int) -> [String] {
        switch int(5) {
        case 0: return ["MAXLEN", String(int(12))]
        case 1: return ["MAXLEN", "=", String(int(12))]
        case 2: return ["MAXLEN", "~", String(int(12))]
        case 3: return ["MINID", String(max(0, top[k] - int(12)))]
        default: return ["MINID", "~", String(max(0, top[k] - int(12)))]
        }
    }

    /// The next client command(s).
    public mutating func next() -> [[String]] {
        let k = int(3)
        let key = "xs:\(k)"
        switch int(100) {
        case 0..<26:
            top[k] += 1 + int(2)
            let options = int(2) == 0 ? [] : pick([policy() + trim(k), trim(k) + policy(), policy()])
            return [["XADD", key] + options + ["\(top[k])-0", "f", "v\(int(50))"]]
        case 26..<33: return [["XTRIM", key] + trim(k) + policy()]
        case 33..<43:
            let ids = ids(k)
            return [["XDELEX", key] + policy() + ["IDS", String(ids.count)] + ids]
        case 43..<53:
            let ids = ids(k)
            return [["XACKDEL", key, group()] + policy() + ["IDS", String(ids.count)] + ids]
        case 53..<68: return [["XREADGROUP", "GROUP", group(), consumer(), "COUNT", String(1 + int(3)), "STREAMS", key, ">"]]
        case 68..<74: return [["XACK", key, group()] + ids(k)]
        case 74..<78: return [["XCLAIM", key, group(), consumer(), "0"] + ids(k) + pick([[], ["JUSTID"]])]
        case 78..<80: return [["XAUTOCLAIM", key, group(), consumer(), "0", "0-0", "COUNT", "2"]]
        case 80..<83: return [["XDEL", key] + ids(k)]
        case 83..<90: return [["XGROUP", "CREATE", key, group(), pick(["$", "0", "\(max(0, top[k] - 5))-0"]), "MKSTREAM"]]
        case 90..<94: return [["XGROUP", "SETID", key, group(), pick(["$", "0", "\(max(0, top[k] - 5))-0"])]]
        case 94..<97: return [["XGROUP", pick(["CREATECONSUMER", "DELCONSUMER"]), key, group(), consumer()]]
        case 97: return [["XGROUP", "DESTROY", key, group()]]
        default:
            let acked = "\(max(1, top[k] - int(6)))-0"
            top[k] += 1
            return [["MULTI"], ["XACKDEL", key, group(), "DELREF", "IDS", "1", acked],
                    ["XADD", key, "ACKED", "MAXLEN", "4", "\(top[k])-0", "f", "multi"], ["EXEC"]]
        }
    }
}
