// libFuzzer target: the replica applier (Keyspace.ReplicaApplier) fed command arrays.
//
// Input: one command a line ('\n'), arguments separated by ' ', `\xHH` for any byte. An argument that
// starts with byte 0x01 is a DUMP payload made valid: byte 1 is the RDB version, the rest the body,
// and the harness appends the 2-byte version and the CRC-64, so mutations reach the value decoder of
// RESTORE and FUNCTION RESTORE instead of stopping at the checksum. At most 64 commands an input.
//
// Every input starts from the same base dataset (every type, large and small forms, a sparse and a
// dense HLL, a stream with a group and a PEL, a function library; see `setup`), an O(1) copy.
//
// Findings: a crash or trap, a hang; and these invariants:
// - a command that returns `.diverged` leaves the dataset exactly as it was before it (for EXEC: as
//   before MULTI), and every later command is `.skipped` and changes nothing;
// - the dataset after the input saves to RDB and loads back equal (what the applier builds is
//   representable and lossless), checked for inputs whose first byte is a multiple of 8;
// - the shared base dataset never changes (copy-on-write), checked every 512 inputs.
//
// FUZZ_APPLIER_SEEDS=DIR fuzz-applier: writes the seed inputs (one file per command family) to DIR and
// exits (tools/fuzz/run does this).
import FuzzDriver
import Foundation
import Glibc
import Keyspace
import RDB

let nowMs: Int64 = 1_700_000_000_000

func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The value-carrying token of the input format (see the header).
func payloadToken(_ value: RDBValue, version: Int = 10) -> [UInt8] {
    let p = try! DumpPayload.encode(value, rdbVersion: version)
    return [0x01, UInt8(version)] + p.dropLast(DumpPayload.footerSize)
}

func completePayload(_ arg: [UInt8]) -> [UInt8] {
    guard arg.count >= 2, arg[0] == 0x01 else { return arg }
    var p = Array(arg[2...])
    p.append(arg[1])
    p.append(0)
    let crc = CRC64.checksum(p)
    for i in 0..<8 { p.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
    return p
}

func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: return c - 48
    case 65...70: return c - 55
    case 97...102: return c - 87
    default: return nil
    }
}

func decode(_ input: [UInt8]) -> [[[UInt8]]] {
    var commands: [[[UInt8]]] = []
    for line in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        var args: [[UInt8]] = []
        for raw in line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false) {
            var arg: [UInt8] = []
            var i = raw.startIndex
            while i < raw.endIndex {
                if raw[i] == UInt8(ascii: "\\"), raw.endIndex - i >= 4, raw[i + 1] == UInt8(ascii: "x"),
                   let hi = hexDigit(raw[i + 2]), let lo = hexDigit(raw[i + 3]) {
                    arg.append(hi << 4 | lo)
                    i += 4
                } else {
                    arg.append(raw[i])
                    i += 1
                }
            }
            args.append(completePayload(arg))
        }
        commands.append(args)
        if commands.count == 64 { break }
    }
    return commands
}

func encode(_ commands: [[[UInt8]]]) -> [UInt8] {
    var out: [UInt8] = []
    for c in commands {
        for (j, arg) in c.enumerated() {
            if j > 0 { out.append(UInt8(ascii: " ")) }
            for x in arg {
                if x > 0x20 && x < 0x7F && x != UInt8(ascii: "\\") {
                    out.append(x)
                } else {
                    out += b("\\x") + b(String(format: "%02x", x))
                }
            }
        }
        out.append(UInt8(ascii: "\n"))
    }
    return out
}

func cmd(_ parts: String...) -> [[UInt8]] { parts.map(b) }

let many = (0..<200).map { "m\($0)" }
let setup: [[[UInt8]]] = [
    cmd("SET", "s", "hello"), cmd("SET", "n", "10"), cmd("SET", "f", "1.5"),
    cmd("RPUSH", "l", "a", "b", "c", "3", "1", "2"), cmd("RPUSH", "w_a", "1"),
    cmd("SET", "w_a", "3"), cmd("SET", "w_b", "1"), cmd("SET", "w_c", "2"),
    cmd("HSET", "h_a", "f", "x"), cmd("HSET", "h_b", "f", "y"),
    cmd("SADD", "set", "a", "b", "c"), [b("SADD"), b("bigset")] + many.map(b),
    [b("SADD"), b("ints")] + (0..<300).map { b("\($0 * 7)") },
    cmd("ZADD", "z", "1", "a", "2", "b", "-0", "c"),
    [b("ZADD"), b("bigz")] + many.enumerated().flatMap { [b("\($0.offset % 17)"), b($0.element)] },
    cmd("HSET", "h", "f1", "v1", "f2", "2", "f3", "1.5"),
    [b("HSET"), b("bigh")] + many.flatMap { [b($0), b("v" + $0)] },
    cmd("HSET", "hlong", "f", String(repeating: "x", count: 100)),
    cmd("HPEXPIREAT", "h", "1800000000000", "FIELDS", "1", "f1"),
    cmd("HPEXPIREAT", "bigh", "1800000000000", "FIELDS", "2", "m1", "m2"),
    cmd("XADD", "st", "1-1", "f", "v"), cmd("XADD", "st", "2-1", "f", "w", "g", "x"),
    cmd("XGROUP", "CREATE", "st", "g", "0"), cmd("XGROUP", "CREATECONSUMER", "st", "g", "c"),
    cmd("XCLAIM", "st", "g", "c", "0", "1-1", "TIME", "1700000000000", "RETRYCOUNT", "1", "FORCE", "JUSTID", "LASTID", "1-1"),
    cmd("PFADD", "hll", "a", "b", "c"), [b("PFADD"), b("hlld")] + (0..<3000).map { b("e\($0)") },
    cmd("SETBIT", "bits", "100", "1"), cmd("PEXPIREAT", "s", "1800000000000"),
    cmd("SELECT", "1"), cmd("SET", "k", "v"), cmd("SADD", "set", "x"), cmd("SELECT", "0"),
    cmd("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
]

/// One file per command family: tools/fuzz/run writes them as the seed corpus.
func seeds() -> [String: [[[UInt8]]]] {
    let lp = payloadToken(.list([b("a"), b("b")]))
    return [
        "strings": [cmd("SET", "s", "x", "PXAT", "1800000000000", "GET"), cmd("SET", "n", "5", "KEEPTTL"), cmd("INCRBY", "n", "3"),
                    cmd("DECR", "n"), cmd("APPEND", "s", "yy"), cmd("SETRANGE", "s", "10", "zz"), cmd("MSET", "a", "1", "b", "2"),
                    cmd("MSETNX", "c", "1"), cmd("GETDEL", "a"), cmd("GETEX", "b", "PXAT", "1800000000000"), cmd("SETEX", "e", "10", "v"),
                    cmd("PSETEX", "e", "10", "v"), cmd("SETNX", "e", "w"), cmd("GETSET", "e", "z")],
        "keys": [cmd("RENAME", "s", "s2"), cmd("RENAMENX", "n", "s2"), cmd("MOVE", "z", "1"), cmd("COPY", "h", "h9", "DB", "2", "REPLACE"),
                 cmd("SWAPDB", "0", "1"), cmd("EXPIRE", "l", "100"), cmd("PERSIST", "s2"), cmd("DEL", "bits", "x"), cmd("UNLINK", "n"),
                 cmd("FLUSHDB"), cmd("SELECT", "1"), cmd("FLUSHALL")],
        "multi": [cmd("MULTI"), cmd("SET", "a", "1"), cmd("INCR", "a"), cmd("LPUSH", "a", "x"), cmd("EXEC"), cmd("SET", "b", "2")],
        "multi-ok": [cmd("MULTI"), cmd("SADD", "bigset", "new"), cmd("ZINCRBY", "bigz", "1.5", "m3"), cmd("HDEL", "bigh", "m4"), cmd("EXEC")],
        "lists": [cmd("LPUSH", "l", "x", "y"), cmd("RPOP", "l", "2"), cmd("LPOP", "l"), cmd("LSET", "l", "-1", "q"),
                  cmd("LINSERT", "l", "BEFORE", "b", "n"), cmd("LREM", "l", "-1", "a"), cmd("LTRIM", "l", "0", "-2"),
                  cmd("LMOVE", "l", "l2", "LEFT", "RIGHT"), cmd("RPOPLPUSH", "l2", "l"), cmd("RPUSHX", "l", "t"), cmd("LPUSHX", "nol", "t")],
        "sets": [cmd("SADD", "bigset", "x", "m1"), cmd("SREM", "bigset", "m2", "m3"), cmd("SMOVE", "bigset", "set", "m5"),
                 cmd("SINTERSTORE", "d", "bigset", "set"), cmd("SUNIONSTORE", "d", "bigset", "ints"), cmd("SDIFFSTORE", "d", "ints", "set"),
                 cmd("SADD", "ints", "x"), cmd("SREM", "ints", "7")],
        "zsets": [cmd("ZADD", "bigz", "GT", "CH", "5", "m1", "1", "m2"), cmd("ZADD", "z", "NX", "INCR", "2", "a"), cmd("ZINCRBY", "z", "inf", "b"),
                  cmd("ZREM", "bigz", "m7"), cmd("ZREMRANGEBYSCORE", "bigz", "(1", "3"), cmd("ZREMRANGEBYRANK", "bigz", "0", "5"),
                  cmd("ZREMRANGEBYLEX", "z", "[a", "(c"), cmd("ZUNIONSTORE", "d", "2", "z", "bigz", "WEIGHTS", "1", "2", "AGGREGATE", "MAX"),
                  cmd("ZINTERSTORE", "d", "2", "z", "bigset"), cmd("ZDIFFSTORE", "d", "2", "bigz", "z"),
                  cmd("ZRANGESTORE", "d", "bigz", "(1", "+inf", "BYSCORE", "LIMIT", "1", "10"), cmd("ZPOPMIN", "bigz", "3"), cmd("ZPOPMAX", "z")],
        "hashes": [cmd("HSET", "bigh", "m1", "new", "x", "y"), cmd("HMSET", "h", "f1", "z"), cmd("HSETNX", "h", "f9", "1"), cmd("HDEL", "bigh", "m1", "m9"),
                   cmd("HINCRBY", "h", "f2", "5"), cmd("HPEXPIREAT", "bigh", "1900000000000", "FIELDS", "1", "m3"),
                   cmd("HPERSIST", "bigh", "FIELDS", "1", "m1"), cmd("HSETEX", "h", "PXAT", "1800000000000", "FIELDS", "1", "a", "b"),
                   cmd("HGETEX", "h", "PERSIST", "FIELDS", "1", "a"), cmd("HGETDEL", "h", "FIELDS", "1", "f3"), cmd("HSET", "hlong", "g", "1")],
        "streams": [cmd("XADD", "st", "3-1", "a", "b"), cmd("XADD", "st", "MAXLEN", "=", "2", "4-0", "c", "d"), cmd("XDEL", "st", "1-1"),
                    cmd("XTRIM", "st", "MINID", "=", "3-0"), cmd("XSETID", "st", "9-0", "ENTRIESADDED", "10", "MAXDELETEDID", "2-0"),
                    cmd("XGROUP", "SETID", "st", "g", "0", "ENTRIESREAD", "1"), cmd("XGROUP", "CREATE", "st", "g2", "$", "MKSTREAM"),
                    cmd("XCLAIM", "st", "g", "c2", "0", "3-1", "TIME", "1700000000000", "RETRYCOUNT", "2", "FORCE", "JUSTID", "LASTID", "3-1"),
                    cmd("XACK", "st", "g", "1-1", "3-1"), cmd("XGROUP", "DELCONSUMER", "st", "g", "c"), cmd("XGROUP", "DESTROY", "st", "g2")],
        "streams-8.6": [cmd("XADD", "st", "IDMP", "p", "i1", "5-0", "a", "b"), cmd("XADD", "st", "IDMP", "p", "i1", "*", "a", "b"),
                        cmd("XADD", "st", "IDMPAUTO", "q", "6-0", "a", "b", "c", "d"), cmd("XCFGSET", "st", "IDMP-MAXSIZE", "2", "IDMP-DURATION", "9"),
                        cmd("XIDMPRECORD", "st", "r", "i9", "5-0"),
                        cmd("XNACK", "st", "g", "FAIL", "IDS", "2", "1-1", "3-1", "RETRYCOUNT", "4"), cmd("XNACK", "st", "g", "FATAL", "IDS", "1", "5-0", "FORCE"),
                        cmd("XCLAIM", "st", "g", "c3", "0", "1-1", "TIME", "1700000000000", "JUSTID")],
        "arrays-8.10": [cmd("ARSET", "ar", "0", "a", "1.5", "7"), cmd("ARMSET", "ar", "4096", "x", "007", "y"), cmd("ARINSERT", "ar", "p", "q"),
                        cmd("ARRING", "ar", "3", "r1", "r2", "r3", "r4"), cmd("ARRING", "ar", "5", "r5"), cmd("ARSEEK", "ar", "18446744073709551615"),
                        cmd("ARDEL", "ar", "1", "4096"), cmd("ARDELRANGE", "ar", "9", "0", "100", "200"), cmd("ARSEEK", "ar", "0"),
                        [b("RESTORE"), b("ra"), b("0"), payloadToken(.array(ArrayValue(elements: [ArrayElement(index: 3, value: b("v"))], insertIndex: 3)), version: 15)],
                        cmd("COPY", "ar", "ac"), cmd("ARSET", "s", "0", "x")],
        "hll": [cmd("PFADD", "hll", "x", "y"), cmd("PFMERGE", "hm", "hll", "hlld"), cmd("PFMERGE", "hll", "hll"), cmd("PFCOUNT", "hll"),
                [b("PFADD"), b("hll")] + (0..<1500).map { b("p\($0)") }, cmd("PFADD", "s", "x")],
        "sort-bits": [cmd("SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->f", "STORE", "dst"), cmd("SORT", "l", "ALPHA", "DESC", "LIMIT", "0", "2", "STORE", "dst"),
                      cmd("SORT", "ints", "STORE", "dst"), cmd("BITFIELD", "bits", "SET", "i8", "0", "100", "OVERFLOW", "SAT", "INCRBY", "u4", "2", "100"),
                      cmd("BITOP", "XOR", "bo", "bits", "s"), cmd("SETBIT", "bits", "7", "0"),
                      cmd("GEOSEARCHSTORE", "gd", "bigz", "FROMLONLAT", "0", "0", "BYRADIUS", "100", "km", "STOREDIST")],
        "restore": [[b("RESTORE"), b("r1"), b("0"), lp], [b("RESTORE"), b("s"), b("0"), payloadToken(.set(many.map(b))), b("REPLACE"), b("ABSTTL")],
                    [b("RESTORE"), b("r2"), b("5000"), payloadToken(.sortedSet(many.enumerated().map { SortedSetMember(member: b($0.element), score: Double($0.offset)) }), version: 9),
                     b("IDLETIME"), b("5")],
                    [b("RESTORE"), b("r3"), b("0"), payloadToken(.hash([HashField(field: b("a"), value: b("b"), expireAtMs: 1800000000000)]), version: 12), b("FREQ"), b("3")],
                    [b("RESTORE"), b("r4"), b("0"), payloadToken(.string(b("12345")))],
                    cmd("FUNCTION", "DELETE", "lib"), cmd("FUNCTION", "FLUSH"),
                    cmd("FUNCTION", "LOAD", "REPLACE", "#!lua name=lib2\nredis.register_function('g', function() return 2 end)")],
        "noops": [cmd("PING"), cmd("REPLCONF", "GETACK", "*"), cmd("PUBLISH", "ch", "m"), cmd("SELECT", "15"), cmd("BOGUS", "x")],
    ]
}

if let dir = ProcessInfo.processInfo.environment["FUZZ_APPLIER_SEEDS"] {
    for (name, commands) in seeds() {
        _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(encode(commands)))
    }
    exit(0)
}

let base: ReplicaApplier = {
    var a = ReplicaApplier()
    for (i, c) in setup.enumerated() {
        let o = a.apply(c, at: Int64(i), nowMs: nowMs)
        if case .diverged(let d) = o { fatalError("fuzz-applier set-up: \(d)") }
    }
    return a
}()
let baseCopy = try! Keyspace.load(rdb: base.keyspace.rdbBytes())

/// Drives `input` from the base; checks the invariants.
func run(_ input: [UInt8]) {
    var a = base
    for (i, c) in decode(input).enumerated() {
        let before = a.keyspace
        let outcome = a.apply(c, at: Int64(i), nowMs: nowMs)
        if case .diverged(let d) = outcome {
            guard a.keyspace == before else { finding("\(d) changed the dataset") }
            let after = a.keyspace
            guard a.apply(cmd("SET", "k", "v"), at: Int64(i + 1), nowMs: nowMs) == .skipped, a.keyspace == after else {
                finding("a command after \(d) was applied")
            }
            break
        }
    }
    // The save + load round trip costs more than the commands: one input in 8 (by its first byte).
    // At the newest version written (15), which holds everything the applier keeps (IDMP state, NACK zones).
    if input.first.map({ $0 % 8 == 0 }) ?? true, !a.inTransaction,
       let bytes = try? a.keyspace.rdbBytes(options: RDBWriterOptions(rdbVersion: RDBWriterOptions.newestWritable)) {
        let back: Keyspace
        do { back = try Keyspace.load(rdb: bytes) } catch { finding("the dataset saved an RDB it cannot load: \(error)") }
        guard back == a.keyspace else { finding("save + load changed the dataset") }
    }
}

nonisolated(unsafe) var inputs = 0


func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    run(Array(UnsafeBufferPointer(start: data, count: size)))
    inputs += 1
    if inputs % 512 == 0, base.keyspace != baseCopy { finding("the shared base dataset changed") }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(data, size)
}

runFuzzer { data, size in fuzzOne(data, size) }
