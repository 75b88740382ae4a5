import Testing
import RDB
@testable import Keyspace
import TestSupport

/// Random and mutated command arrays: the applier never traps, a failing command changes nothing, and
/// nothing after it is applied.
@Suite struct ApplierFuzzTests {
    static let names = ["SET", "SETEX", "PSETEX", "SETNX", "GETSET", "GETDEL", "GETEX", "MSET", "MSETNX", "APPEND", "INCR",
                        "DECR", "INCRBY", "DECRBY", "SETRANGE", "DEL", "UNLINK", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT",
                        "PERSIST", "RENAME", "RENAMENX", "MOVE", "COPY", "SWAPDB", "FLUSHDB", "SELECT", "MULTI", "EXEC",
                        "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LSET", "LINSERT", "LREM", "LTRIM", "LMOVE",
                        "RPOPLPUSH", "SADD", "SREM", "SMOVE", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "ZADD", "ZINCRBY",
                        "ZREM", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYLEX", "ZUNIONSTORE", "ZINTERSTORE",
                        "ZDIFFSTORE", "ZRANGESTORE", "ZPOPMIN", "ZPOPMAX", "HSET", "HSETNX", "HDEL", "HINCRBY", "HPEXPIREAT",
                        "HPERSIST", "HSETEX", "HGETEX", "HGETDEL", "XADD", "XDEL", "XTRIM", "XSETID", "XGROUP", "XACK",
                        "XCLAIM", "SORT", "FUNCTION", "PING", "BOGUS", ""]
    static let words = ["k1", "k2", "k3", "0", "1", "-1", "2", "3", "10", "-5", "1.5", "inf", "-inf", "+inf", "nan", "(1", "[a",
                        "(b", "-", "+", "NX", "XX", "GT", "LT", "CH", "INCR", "KEEPTTL", "PXAT", "EX", "PX", "GET", "LEFT",
                        "RIGHT", "BEFORE", "AFTER", "WEIGHTS", "AGGREGATE", "MAX", "MIN", "SUM", "BYSCORE", "BYLEX", "REV",
                        "LIMIT", "FIELDS", "MAXLEN", "MINID", "=", "~", "*", "1-1", "2-0", "0-1", "CREATE", "SETID", "$",
                        "MKSTREAM", "STORE", "BY", "ALPHA", "DESC", "a", "b", "", "99999999999999999999", "1700000000000"]

    static func randomCommand(_ rng: inout SeededRandom) -> [Bytes] {
        var args: [Bytes] = [Array(names[Int(rng.next() % UInt64(names.count))].utf8)]
        let n = Int(rng.next() % 8)
        for _ in 0..<n {
            if rng.next() % 20 == 0 {
                args.append((0..<Int(rng.next() % 5)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            } else {
                args.append(Array(words[Int(rng.next() % UInt64(words.count))].utf8))
            }
        }
        return args
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func randomCommandsNeverTrapAndStopAtTheFirstError(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var runs = 0, divergences = 0, applied = 0
        while runs < 300 {
            runs += 1
            var a = ReplicaApplier()
            for i in 0..<60 {
                let before = a.keyspace
                let wasInMulti = a.inTransaction
                let outcome = a.apply(Self.randomCommand(&rng), at: Int64(i), nowMs: 1_700_000_000_000)
                if case .diverged(let d) = outcome {
                    divergences += 1
                    #expect(a.keyspace == before, "seed \(seed): \(d) changed the dataset")
                    #expect(d.offset <= Int64(i))
                    let after = a.keyspace
                    #expect(a.apply([Array("SET".utf8), [1], [2]], at: Int64(i + 1), nowMs: 0) == .skipped)
                    #expect(a.keyspace == after)
                    break
                }
                if outcome == .applied && !wasInMulti { applied += 1 }
            }
        }
        #expect(divergences > 50 && applied > 50, "the fuzz reached both outcomes")
    }
}
