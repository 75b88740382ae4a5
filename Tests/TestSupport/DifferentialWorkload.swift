/// A seeded random workload of the write commands the applier covers, as a client would send them to a
/// master (the master rewrites them for its replicas). Errors from the master (wrong types, …) are fine:
/// nothing is propagated for them.
public struct DifferentialWorkload {
    public var rng: SeededRandom
    /// Also sends the newer string commands: SET IFEQ (Valkey 8.1, Redis 8.4), and Valkey 9's DELIFEQ
    /// and MSETEX (9.1). Off, the workload draws exactly what it drew before (the same seeds, the same runs).
    public var newStringCommands: Bool
    /// Also sends Redis 8.10's array commands and LMOVEM / BLMOVEM (12% of steps), and the key commands name
    /// arrays too. Off, the workload draws exactly what it drew before.
    public var arrays: Bool
    public init(seed: UInt64, newStringCommands: Bool = false, arrays: Bool = false) {
        rng = SeededRandom(seed: seed)
        self.newStringCommands = newStringCommands
        self.arrays = arrays
    }

    public mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    public mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    public mutating func chance(_ percent: Int) -> Bool { int(100) < percent }

    public mutating func key(_ type: String) -> String { "\(type):\(int(5))" }
    public mutating func value() -> String {
        switch int(6) {
        case 0: return String(int(1000))
        case 1: return String(repeating: "x", count: 65 + int(40))  // past the packed-value limit
        default: return "v\(int(50))"
        }
    }
    public mutating func score() -> String { pick(["1", "2.5", "-3", "0", "inf", "-inf", "1e300", "0.1", "7", "-0"]) }
    public mutating func member() -> String { "m\(int(12))" }

    /// One command (or a short list sent back to back, e.g. MULTI … EXEC).
    /// The next client command(s): one, or a MULTI … EXEC block, or a script/function call.
    public mutating func next() -> [[String]] {
        if arrays && int(100) < 12 { return [int(6) == 0 ? listMoveM() : arrayCommand()] }
        switch int(100) {
        case 0..<14: return [strings()]
        case 14..<22: return [keys()]
        case 22..<36: return [lists()]
        case 36..<46: return [sets()]
        case 46..<62: return [zsets()]
        case 62..<72: return [hashes()]
        case 72..<84: return [streams()]
        case 84..<88: return [pick([["PFADD", key("hll"), member(), member()], ["PFMERGE", key("hll"), key("hll"), key("hll")],
                                    ["PFCOUNT", key("hll")], ["GEOADD", key("geo"), String(13 + int(3)), String(38 + int(3)), member()],
                                    ["GEOSEARCHSTORE", key("geo"), key("geo"), "FROMLONLAT", "14", "39", "BYRADIUS", "200", "km"] + pick([[], ["STOREDIST"], ["COUNT", "1"]]),
                                    ["GEORADIUS", key("geo"), "14", "39", "150", "km", "STORE", key("geo")],
                                    ["SETBIT", key("bits"), String(int(64)), String(int(2))],
                                    ["BITFIELD", key("bits"), "INCRBY", "u8", "#\(int(4))", "100", "SET", "i5", "3", "9"],
                                    ["BITOP", pick(["AND", "OR", "XOR"]), key("bits"), key("bits"), key("bits")],
                                    ["SORT", key(pick(["list", "set", "zset"])), "STORE", key("list")] + pick([[], ["ALPHA"], ["ALPHA", "DESC", "LIMIT", "1", "3"], ["BY", "nosort"], ["BY", "hash:*->cnt", "GET", "#", "GET", "str:*"]])])]
        case 88..<93: return [["SELECT", String(int(3))]]
        case 93..<96: return [["MULTI"], strings(), lists(), zsets(), ["EXEC"]]
        case 96..<98:
            return [["EVAL", "redis.call('SET', KEYS[1], ARGV[1]); redis.call('RPUSH', KEYS[2], ARGV[1]); return 1", "2",
                     key("str"), key("list"), value()]]
        default:
            return [["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib\nredis.register_function('f', function(k, a) redis.call('INCR', k[1]); return redis.call('HSET', k[2], 'f', a[1]) end)"],
                    ["FCALL", "f", "2", key("cnt"), key("hash"), value()]]
        }
    }

    mutating func strings() -> [String] {
        let k = key("str")
        switch int(14) {
        case 0: return ["SET", k, value()] + pick([[], ["EX", "100"], ["PX", String(50 + int(400))], ["KEEPTTL"], ["NX"], ["XX"], ["GET"], ["XX", "PXAT", "4102444800000"]])
        case 1: return ["SETEX", k, "100", value()]
        case 2: return ["PSETEX", k, String(100 + int(300)), value()]
        case 3: return ["SETNX", k, value()]
        case 4: return ["GETSET", k, value()]
        case 5: return ["GETDEL", k]
        case 6: return ["GETEX", k] + pick([["PX", "250"], ["PERSIST"], ["EXAT", "4102444800"]])
        case 7: return [pick(["INCR", "DECR"]), key("cnt")]
        case 8: return [pick(["INCRBY", "DECRBY"]), key("cnt"), String(int(2000) - 1000)]
        case 9: return ["INCRBYFLOAT", key("flt"), pick(["1.5", "-0.25", "3e2", "0.1"])]
        case 10: return ["APPEND", k, value()]
        case 11: return ["SETRANGE", k, String(int(10)), value()]
        case 12:
            if newStringCommands && chance(60) {
                return pick([["SET", k, value(), "IFEQ", value()], ["DELIFEQ", k, value()],
                             ["MSETEX", "2", key("str"), value(), key("str"), value()]
                                + pick([[], ["NX"], ["XX"]]) + pick([[], ["PX", String(50 + int(400))], ["EX", "100"], ["KEEPTTL"], ["PXAT", "4102444800000"]])])
            }
            return ["MSET", key("str"), value(), key("str"), value()]
        default: return ["MSETNX", key("str"), value(), key("str"), value()]
        }
    }

    mutating func keys() -> [String] {
        let t = pick(arrays ? ["str", "list", "set", "zset", "hash", "stream", "arr"] : ["str", "list", "set", "zset", "hash", "stream"])
        switch int(13) {
        case 0: return ["EXPIRE", key(t), String(50 + int(100))]
        case 1: return ["PEXPIRE", key(t), String(30 + int(400))]
        case 2: return ["PERSIST", key(t)]
        case 3: return ["DEL", key(t), key(t)]
        case 4: return ["UNLINK", key(t)]
        case 5: return ["RENAME", key(t), key(t)]
        case 6: return ["RENAMENX", key(t), key(t)]
        case 7: return ["COPY", key(t), key(t), "REPLACE"]
        case 8: return ["MOVE", key(t), String(int(3))]
        case 9: return ["SWAPDB", "0", String(1 + int(2))]
        case 10: return chance(20) ? ["FLUSHDB"] : ["PEXPIREAT", key(t), "4102444800000"]
        case 11: return ["EXPIRE", key(t), "100", pick(["NX", "XX", "GT", "LT"])]
        default: return ["COPY", key(t), key(t), "DB", String(int(3))]
        }
    }

    mutating func lists() -> [String] {
        let k = key("list")
        switch int(13) {
        case 0: return ["LPUSH", k, value(), value()]
        case 1: return ["RPUSH", k, value(), value(), value()]
        case 2: return [pick(["LPUSHX", "RPUSHX"]), k, value()]
        case 3: return ["LPOP", k] + (chance(50) ? [String(1 + int(3))] : [])
        case 4: return ["RPOP", k] + (chance(50) ? [String(1 + int(3))] : [])
        case 5: return ["LSET", k, String(int(4) - 2), value()]
        case 6: return ["LINSERT", k, pick(["BEFORE", "AFTER"]), value(), value()]
        case 7: return ["LREM", k, String(int(5) - 2), value()]
        case 8: return ["LTRIM", k, String(int(3)), String(int(8) - 2)]
        case 9: return ["LMOVE", k, key("list"), pick(["LEFT", "RIGHT"]), pick(["LEFT", "RIGHT"])]
        case 10: return ["RPOPLPUSH", k, key("list")]
        case 11: return ["LMPOP", "2", k, key("list"), pick(["LEFT", "RIGHT"]), "COUNT", "2"]
        default: return ["BLPOP", k, key("list"), "0.01"]
        }
    }

    mutating func sets() -> [String] {
        let k = key("set")
        switch int(8) {
        case 0, 1: return ["SADD", k, member(), member(), member()] + (chance(10) ? (0..<130).map { "n\($0)" } : [])
        case 2: return ["SREM", k, member(), member()]
        case 3: return ["SPOP", k] + (chance(50) ? [String(1 + int(3))] : [])
        case 4: return ["SMOVE", k, key("set"), member()]
        default: return [pick(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key("set"), k, key("set")]
        }
    }

    mutating func zsets() -> [String] {
        let k = key("zset")
        switch int(14) {
        case 0, 1, 2:
            let flags = pick([[], ["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["XX", "GT", "CH"], ["NX", "CH"]])
            return ["ZADD", k] + flags + [score(), member(), score(), member()]
        case 3:
            let flags: [String] = pick([[], ["XX"], ["NX"], ["GT"]])
            return ["ZADD", k] + flags + ["INCR", score(), member()]
        case 4: return ["ZINCRBY", k, score(), member()]
        case 5: return ["ZREM", k, member(), member()]
        case 6: return ["ZREMRANGEBYSCORE", k, pick(["-inf", "(0", "1"]), pick(["+inf", "(2.5", "7"])]
        case 7: return ["ZREMRANGEBYRANK", k, String(int(3)), String(int(4) - 2)]
        // Lex ranges only on sets whose scores are all equal (what BYLEX is for): on mixed scores Redis's
        // answer depends on the encoding, and for a skiplist on its random node levels.
        case 8: return chance(50) ? ["ZADD", key("lex"), "0", member(), "0", member()]
            : ["ZREMRANGEBYLEX", key("lex"), pick(["-", "[m3", "(m1"]), pick(["+", "[m7", "(m9"])]
        case 9:
            return [pick(["ZUNIONSTORE", "ZINTERSTORE"]), key("zset"), "2", k, pick([key("zset"), key("set")])]
                + pick([[], ["WEIGHTS", score(), score()], ["AGGREGATE", pick(["SUM", "MIN", "MAX"])], ["WEIGHTS", "2", "-1", "AGGREGATE", "MAX"]])
        case 10: return ["ZDIFFSTORE", key("zset"), "2", k, key("zset")]
        case 11:
            if chance(25) { return ["ZRANGESTORE", key("lex"), key("lex"), pick(["[m2", "-"]), "+", "BYLEX"] + pick([[], ["REV"], ["LIMIT", "1", "2"]]) }
            return ["ZRANGESTORE", key("zset"), k] + pick([["0", "-1"], ["1", "2", "REV"], ["(0", "+inf", "BYSCORE", "LIMIT", "0", "2"]])
        case 12: return [pick(["ZPOPMIN", "ZPOPMAX"]), k] + (chance(50) ? [String(1 + int(3))] : [])
        default: return ["ZMPOP", "2", k, key("zset"), pick(["MIN", "MAX"]), "COUNT", "2"]
        }
    }

    mutating func hashes() -> [String] {
        let k = key("hash")
        switch int(12) {
        // Field TTLs (Redis 7.4+/8.x; a 7.0 master refuses these and propagates nothing).
        case 6: return ["HEXPIRE", k, String(50 + int(100)), "FIELDS", "2", member(), member()]
        case 7: return ["HPEXPIRE", k, String(30 + int(300)), pick(["NX", "XX", "GT", "LT"]), "FIELDS", "1", member()]
        case 8: return ["HPERSIST", k, "FIELDS", "1", member()]
        case 9: return ["HSETEX", k] + pick([[], ["FNX"], ["FXX"]]) + pick([["PX", "200"], ["EX", "100"], ["KEEPTTL"], []]) + ["FIELDS", "1", member(), value()]
        case 10: return ["HGETEX", k] + pick([["PX", "150"], ["PERSIST"], ["EXAT", "4102444800"]]) + ["FIELDS", "1", member()]
        case 11: return ["HGETDEL", k, "FIELDS", "1", member()]
        case 0, 1: return ["HSET", k, member(), value(), member(), value()]
        case 2: return ["HSETNX", k, member(), value()]
        case 3: return ["HDEL", k, member(), member()]
        case 4: return ["HINCRBY", k, "cnt", String(int(100))]
        default: return ["HINCRBYFLOAT", k, "flt", pick(["1.5", "0.1", "-2e3"])]
        }
    }

    mutating func streams() -> [String] {
        let k = key("stream")
        switch int(12) {
        case 0, 1, 2: return ["XADD", k] + pick([[], ["MAXLEN", "~", "5"], ["MAXLEN", "8"], ["MINID", "0-1"]]) + ["*", "f", value()]
        case 3: return ["XTRIM", k, "MAXLEN", String(int(10))]
        case 4: return ["XDEL", k, "0-1", "9999999999999-0"]
        case 5: return ["XGROUP", "CREATE", k, "g\(int(2))", pick(["$", "0"]), "MKSTREAM"]
        case 6, 7: return ["XREADGROUP", "GROUP", "g\(int(2))", "c\(int(3))", "COUNT", "2", "STREAMS", k, ">"]
        case 8: return ["XAUTOCLAIM", k, "g\(int(2))", "c\(int(3))", "0", "0-0", "COUNT", "2"]
        case 9: return ["XGROUP", pick(["CREATECONSUMER", "DELCONSUMER"]), k, "g\(int(2))", "c\(int(3))"]
        case 10: return ["XGROUP", "SETID", k, "g\(int(2))", pick(["0", "$"])]
        default: return ["XGROUP", "DESTROY", k, "g\(int(2))"]
        }
    }

    /// An index for the array commands: mostly small, sometimes far (a sparse array), and now and then a form
    /// only `strtoull` accepts (leading zeros, a plus sign, leading spaces). Never near 2^64: Redis 8.10's
    /// DEBUG DIGEST walks every index below the largest (`xorObjectDigest`), which would not end.
    mutating func arrayIndex() -> String {
        switch int(20) {
        case 0: return String(1_000 + int(100_000))
        case 1: return pick(["007", "+3", " 5", "00"])
        default: return String(int(40))
        }
    }

    /// An array value: integers, floats that round-trip (stored inline by Redis) and ones that do not, short
    /// and long strings, the empty string.
    mutating func arrayValue() -> String {
        pick([String(int(1000)), "-17", "1.5", "1.0", "-0.0", "0.1", "2.50", "1e5", "007", "", "abc", "eight by",
              "a longer array value", String(repeating: "y", count: 70), "9223372036854775807", "3.14159"])
    }

    /// One Redis 8.10 array write (`t_array.c`), sometimes a bad one the master refuses.
    public mutating func arrayCommand() -> [String] {
        let k = key("arr")
        switch int(10) {
        case 0, 1: return ["ARSET", k, arrayIndex()] + (0..<(1 + int(4))).map { _ in arrayValue() }
        case 2: return ["ARMSET", k] + (0..<(1 + int(4))).flatMap { _ in [arrayIndex(), arrayValue()] }
        case 3: return ["ARDEL", k] + (0..<(1 + int(3))).map { _ in arrayIndex() }
        case 4: return ["ARDELRANGE", k, arrayIndex(), arrayIndex()] + (chance(20) ? ["0", "5"] : [])
        case 5, 6: return ["ARINSERT", k] + (0..<(1 + int(4))).map { _ in arrayValue() }
        case 7, 8: return ["ARRING", k, String(pick([1, 3, 5, 8, 12, 0]))] + (0..<(1 + int(5))).map { _ in arrayValue() }
        // ARSEEK 2^64-1: the cursor's last state, where ARINSERT is refused (overflow) and ARRING wraps.
        default: return ["ARSEEK", k, pick([String(int(30)), "0", String(int(30)), String(UInt64.max)])]
        }
    }

    /// Redis 8.10's LMOVEM, or BLMOVEM with a short timeout (propagated as LMOVEM EXACTLY).
    public mutating func listMoveM() -> [String] {
        let ends = [pick(["LEFT", "RIGHT"]), pick(["LEFT", "RIGHT"])]
        let how = chance(50) ? [] : [pick(["COUNT", "EXACTLY"]), String(1 + int(4)), pick(["OBO", "BULK"])]
        if chance(25) { return ["BLMOVEM", key("list"), key("list")] + ends + ["0.01"] + how }
        return ["LMOVEM", key("list"), key("list")] + ends + how
    }
}
