import Foundation
import Keyspace
import RDB
@testable import ReplicaServer
import RedisValueOps
import Testing

/// The read commands against a Keyspace built here (no server): Redis's replies byte for byte (RESP2 and
/// RESP3), its error texts, and expired keys and hash fields reading as absent.
struct ReadCommandTests {
    static let now: Int64 = 1_700_000_000_000

    static func b(_ s: String) -> Bytes { Array(s.utf8) }

    /// A keyspace with one key of each kind in db 0 (and one in db 3).
    static func sample() -> Keyspace {
        var k = Keyspace()
        func put(_ key: String, _ v: Value, expire: Int64? = nil, db: Int = 0) {
            k[db, b(key)] = KeyEntry(value: v, expireAtMs: expire)
        }
        put("str", .string(b("hello world")))
        put("num", .string(b("12345")))
        put("long", .string(Array(repeating: UInt8(ascii: "x"), count: 45)))
        put("gone", .string(b("old")), expire: now - 1)
        put("ttl", .string(b("v")), expire: now + 10_400)
        put("edge", .string(b("v")), expire: now)           // expires only when now passes it
        put("list", .list(PackedBytes(["a", "b", "c", "b", "d", "b"].map(b))))
        var h = HashValue()
        h.set(b("f1"), b("v1"))
        h.set(b("f2"), b("value2"))
        h.set(b("dead"), b("x"))
        h.setExpiry(b("dead"), now - 5)
        h.set(b("later"), b("y"))
        h.setExpiry(b("later"), now + 2_500)
        put("hash", .hash(h))
        put("ints", .set(SetValue(["3", "1", "2"].map(b))))
        put("words", .set(SetValue(["a", "b", "c"].map(b))))
        put("words2", .set(SetValue(["b", "c", "d"].map(b))))
        put("z", .zset(ZSetValue([(b("a"), 1), (b("b"), 2), (b("c"), 2.5), (b("d"), 0.1), (b("e"), -3)])))
        put("lex", .zset(ZSetValue(["a", "b", "c", "d", "e"].map { (b($0), 0.0) })))
        put("other", .string(b("db3")), db: 3)
        return k
    }

    static func run(_ k: Keyspace, _ args: [String], resp: Int = 2, db: Int = 0, view: DatasetView? = nil) -> String {
        let s = ClientSession(id: 1, address: "t", localAddress: "t", isLoopback: true, passwordRequired: false)
        s.protocolVersion = resp
        s.db = db
        let name = args[0].lowercased()
        let family = ReadCommands.families[name]!
        let reply = ReadCommands.run(name, args.map(b), family: family, view: view ?? .ready(k), session: s, nowMs: now)
        return String(decoding: reply.encoded(protocolVersion: resp), as: UTF8.self)
    }

    let k = ReadCommandTests.sample()
    func r(_ args: String..., resp: Int = 2) -> String { Self.run(k, args, resp: resp) }

    static let wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

    @Test func strings() {
        #expect(r("GET", "str") == "$11\r\nhello world\r\n")
        #expect(r("GET", "nokey") == "$-1\r\n")
        #expect(r("GET", "nokey", resp: 3) == "_\r\n")
        #expect(r("GET", "list") == Self.wrongType)
        #expect(r("MGET", "str", "list", "nokey") == "*3\r\n$11\r\nhello world\r\n$-1\r\n$-1\r\n")
        #expect(r("GETRANGE", "str", "0", "4") == "$5\r\nhello\r\n")
        #expect(r("GETRANGE", "str", "-5", "-1") == "$5\r\nworld\r\n")
        #expect(r("GETRANGE", "str", "-1", "-5") == "$0\r\n\r\n")
        #expect(r("GETRANGE", "str", "5", "100") == "$6\r\n world\r\n")
        #expect(r("SUBSTR", "nokey", "0", "1") == "$0\r\n\r\n")
        #expect(r("GETRANGE", "str", "x", "1") == "-ERR value is not an integer or out of range\r\n")
        #expect(r("STRLEN", "str") == ":11\r\n")
        #expect(r("STRLEN", "nokey") == ":0\r\n")
        // 'h' = 0x68 = 01101000
        #expect(r("GETBIT", "str", "1") == ":1\r\n")
        #expect(r("GETBIT", "str", "0") == ":0\r\n")
        #expect(r("GETBIT", "str", "-1") == "-ERR bit offset is not an integer or out of range\r\n")
        #expect(r("BITCOUNT", "num") == ":\(Array("12345".utf8).reduce(0) { $0 + $1.nonzeroBitCount })\r\n")
        #expect(r("BITCOUNT", "str", "0", "0") == ":3\r\n")
        #expect(r("BITCOUNT", "str", "1", "5", "BIT") == ":3\r\n")
        #expect(r("BITPOS", "str", "1") == ":1\r\n")
        #expect(r("BITPOS", "nokey", "0") == ":0\r\n")
        #expect(r("BITPOS", "str", "2") == "-ERR The bit argument must be 1 or 0.\r\n")
    }

    @Test func expiredKeysReadAsAbsent() {
        #expect(r("GET", "gone") == "$-1\r\n")
        #expect(r("EXISTS", "gone", "str", "str") == ":2\r\n")
        #expect(r("TYPE", "gone") == "+none\r\n")
        #expect(r("TTL", "gone") == ":-2\r\n")
        // Expired once now is past the expiry (db.c keyIsExpired: now > when).
        #expect(r("GET", "edge") == "$1\r\nv\r\n")
        // DBSIZE counts the dictionary, as Redis does; KEYS and SCAN skip expired keys.
        #expect(r("DBSIZE") == ":13\r\n")
        #expect(!r("KEYS", "*").contains("gone"))
        #expect(r("KEYS", "g*") == "*0\r\n")
    }

    @Test func keys() {
        #expect(r("TYPE", "z") == "+zset\r\n")
        #expect(r("TYPE", "words") == "+set\r\n")
        #expect(r("TTL", "str") == ":-1\r\n")
        #expect(r("TTL", "ttl") == ":10\r\n")          // 10.4 s rounds to 10
        #expect(r("PTTL", "ttl") == ":10400\r\n")
        #expect(r("EXPIRETIME", "ttl") == ":\((Self.now + 10_400 + 500) / 1000)\r\n")
        #expect(r("PEXPIRETIME", "ttl") == ":\(Self.now + 10_400)\r\n")
        #expect(r("PEXPIRETIME", "nokey") == ":-2\r\n")
        #expect(r("OBJECT", "ENCODING", "num") == "$3\r\nint\r\n")
        #expect(r("OBJECT", "ENCODING", "str") == "$6\r\nembstr\r\n")
        #expect(r("OBJECT", "ENCODING", "long") == "$3\r\nraw\r\n")
        #expect(r("OBJECT", "ENCODING", "list") == "$9\r\nquicklist\r\n")
        #expect(r("OBJECT", "ENCODING", "ints") == "$6\r\nintset\r\n")
        #expect(r("OBJECT", "ENCODING", "words") == "$9\r\nhashtable\r\n")
        #expect(r("OBJECT", "ENCODING", "hash") == "$8\r\nlistpack\r\n")
        #expect(r("OBJECT", "ENCODING", "z") == "$8\r\nlistpack\r\n")
        #expect(r("OBJECT", "ENCODING", "nokey") == "$-1\r\n")
        #expect(r("OBJECT", "NOPE", "x") == "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n")
        #expect(Self.run(k, ["DBSIZE"], db: 3) == ":1\r\n")
        #expect(Self.run(k, ["GET", "other"], db: 3) == "$3\r\ndb3\r\n")
        #expect(r("RANDOMKEY").hasPrefix("$"))
        #expect(Self.run(Keyspace(), ["RANDOMKEY"]) == "$-1\r\n")
    }

    @Test func dumpRoundTrips() throws {
        for key in ["str", "list", "hash", "words", "z"] {
            let reply = ReadCommands.run("dump", [Self.b("DUMP"), Self.b(key)], family: .keys, view: .ready(k),
                                         session: ClientSession(id: 1, address: "", localAddress: "", isLoopback: true, passwordRequired: false),
                                         nowMs: Self.now)
            guard case .bulk(let payload) = reply else { Issue.record("DUMP \(key): \(reply)"); continue }
            let decoded = try DumpPayload.decode(payload)
            #expect(decoded.rdbVersion == 10 || key == "hash")   // field TTLs need RDB 12
            #expect(decoded.rdbType != 255)
        }
        #expect(r("DUMP", "nokey") == "$-1\r\n")
    }

    @Test func scanVisitsEveryLiveKeyOnce() {
        var seen: [String] = []
        var cursor = "0"
        var rounds = 0
        repeat {
            let s = ClientSession(id: 1, address: "", localAddress: "", isLoopback: true, passwordRequired: false)
            let reply = ReadCommands.run("scan", ["SCAN", cursor, "COUNT", "3"].map(Self.b), family: .keys, view: .ready(k), session: s, nowMs: Self.now)
            guard case .array(let parts) = reply, case .bulk(let c) = parts[0], case .array(let keys) = parts[1] else {
                Issue.record("\(reply)"); return
            }
            cursor = String(decoding: c, as: UTF8.self)
            for case .bulk(let key) in keys { seen.append(String(decoding: key, as: UTF8.self)) }
            rounds += 1
        } while cursor != "0" && rounds < 100
        #expect(seen.sorted() == ["edge", "hash", "ints", "lex", "list", "long", "num", "str", "ttl", "words", "words2", "z"])
        #expect(r("SCAN", "0", "MATCH", "w*", "COUNT", "100") == "*2\r\n$1\r\n0\r\n*2\r\n$5\r\nwords\r\n$6\r\nwords2\r\n"
                || r("SCAN", "0", "MATCH", "w*", "COUNT", "100") == "*2\r\n$1\r\n0\r\n*2\r\n$6\r\nwords2\r\n$5\r\nwords\r\n")
        #expect(r("SCAN", "0", "TYPE", "zset", "COUNT", "100").contains("$3\r\nlex\r\n"))
        #expect(r("SCAN", "0", "COUNT", "0") == "-ERR syntax error\r\n")
        #expect(r("SCAN", "x") == "-ERR invalid cursor\r\n")
    }

    @Test func hashes() {
        // The expired field "dead" reads as absent; HLEN still counts it (hashTypeLength without expiry).
        #expect(r("HGET", "hash", "f1") == "$2\r\nv1\r\n")
        #expect(r("HGET", "hash", "dead") == "$-1\r\n")
        #expect(r("HEXISTS", "hash", "dead") == ":0\r\n")
        #expect(r("HLEN", "hash") == ":4\r\n")
        #expect(r("HMGET", "hash", "f1", "nope") == "*2\r\n$2\r\nv1\r\n$-1\r\n")
        #expect(r("HGETALL", "hash") == "*6\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$6\r\nvalue2\r\n$5\r\nlater\r\n$1\r\ny\r\n")
        #expect(r("HGETALL", "hash", resp: 3) == "%3\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$6\r\nvalue2\r\n$5\r\nlater\r\n$1\r\ny\r\n")
        #expect(r("HGETALL", "nokey", resp: 3) == "%0\r\n")
        #expect(r("HKEYS", "hash") == "*3\r\n$2\r\nf1\r\n$2\r\nf2\r\n$5\r\nlater\r\n")
        #expect(r("HSTRLEN", "hash", "f2") == ":6\r\n")
        #expect(r("HTTL", "hash", "FIELDS", "3", "f1", "later", "nope") == "*3\r\n:-1\r\n:3\r\n:-2\r\n")
        #expect(r("HPTTL", "hash", "FIELDS", "1", "later") == "*1\r\n:2500\r\n")
        #expect(r("HTTL", "hash", "FIELDS", "2", "f1") == "-ERR The `numfields` parameter must match the number of arguments\r\n")
        #expect(r("HTTL", "hash", "FIELD", "1", "f1") == "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n")
        #expect(r("HSCAN", "hash", "0") == "*2\r\n$1\r\n0\r\n*6\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$6\r\nvalue2\r\n$5\r\nlater\r\n$1\r\ny\r\n")
        #expect(r("HGET", "z", "a") == Self.wrongType)
        #expect(r("HRANDFIELD", "nokey") == "$-1\r\n")
        #expect(r("HRANDFIELD", "hash", "-5").hasPrefix("*5\r\n"))
        #expect(r("HRANDFIELD", "hash", "2", "WITHVALUES", resp: 3).hasPrefix("*2\r\n*2\r\n"))
    }

    @Test func lists() {
        #expect(r("LRANGE", "list", "0", "-1") == "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\nb\r\n")
        #expect(r("LRANGE", "list", "-2", "100") == "*2\r\n$1\r\nd\r\n$1\r\nb\r\n")
        #expect(r("LRANGE", "list", "4", "2") == "*0\r\n")
        #expect(r("LLEN", "list") == ":6\r\n")
        #expect(r("LINDEX", "list", "-1") == "$1\r\nb\r\n")
        #expect(r("LINDEX", "list", "6") == "$-1\r\n")
        #expect(r("LPOS", "list", "b") == ":1\r\n")
        #expect(r("LPOS", "list", "b", "RANK", "2") == ":3\r\n")
        #expect(r("LPOS", "list", "b", "RANK", "-1") == ":5\r\n")
        #expect(r("LPOS", "list", "b", "COUNT", "0") == "*3\r\n:1\r\n:3\r\n:5\r\n")
        #expect(r("LPOS", "list", "b", "COUNT", "2", "RANK", "-1") == "*2\r\n:5\r\n:3\r\n")
        #expect(r("LPOS", "list", "b", "MAXLEN", "2", "COUNT", "0") == "*1\r\n:1\r\n")
        #expect(r("LPOS", "list", "z") == "$-1\r\n")
        #expect(r("LPOS", "nokey", "z", "COUNT", "1") == "*0\r\n")
        #expect(r("LPOS", "list", "b", "RANK", "0").hasPrefix("-ERR RANK can't be zero"))
        #expect(r("LPOS", "list", "b", "COUNT", "-1") == "-ERR COUNT can't be negative\r\n")
        #expect(r("LRANGE", "str", "0", "1") == Self.wrongType)
    }

    @Test func sets() {
        #expect(r("SMEMBERS", "words", resp: 3) == "~3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
        #expect(r("SMEMBERS", "nokey") == "*0\r\n")
        #expect(r("SISMEMBER", "words", "b") == ":1\r\n")
        #expect(r("SMISMEMBER", "words", "b", "z") == "*2\r\n:1\r\n:0\r\n")
        #expect(r("SCARD", "ints") == ":3\r\n")
        #expect(r("SINTER", "words", "words2") == "*2\r\n$1\r\nb\r\n$1\r\nc\r\n")
        #expect(r("SINTER", "words", "nokey") == "*0\r\n")
        #expect(r("SINTER", "words", "nokey", "str") == Self.wrongType)
        #expect(r("SDIFF", "words", "words2") == "*1\r\n$1\r\na\r\n")
        #expect(r("SUNION", "words", "words2", resp: 3) == "~4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n")
        #expect(r("SINTERCARD", "2", "words", "words2", "LIMIT", "1") == ":1\r\n")
        #expect(r("SINTERCARD", "0", "words") == "-ERR numkeys should be greater than 0\r\n")
        #expect(r("SINTERCARD", "3", "words") == "-ERR Number of keys can't be greater than number of args\r\n")
        #expect(r("SRANDMEMBER", "words", "-7").hasPrefix("*7\r\n"))
        #expect(r("SRANDMEMBER", "words", "10").hasPrefix("*3\r\n"))
    }

    @Test func sortedSets() {
        #expect(r("ZRANGE", "z", "0", "-1") == "*5\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
        #expect(r("ZRANGE", "z", "0", "1", "WITHSCORES") == "*4\r\n$1\r\ne\r\n$2\r\n-3\r\n$1\r\nd\r\n$19\r\n0.10000000000000001\r\n")
        #expect(r("ZRANGE", "z", "0", "0", "WITHSCORES", resp: 3) == "*1\r\n*2\r\n$1\r\ne\r\n,-3\r\n")
        #expect(r("ZSCORE", "z", "c") == "$3\r\n2.5\r\n")
        #expect(r("ZSCORE", "z", "c", resp: 3) == ",2.5\r\n")
        #expect(r("ZMSCORE", "z", "a", "nope") == "*2\r\n$1\r\n1\r\n$-1\r\n")
        #expect(r("ZRANGE", "z", "(1", "+inf", "BYSCORE") == "*2\r\n$1\r\nb\r\n$1\r\nc\r\n")
        #expect(r("ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "1", "1") == "*1\r\n$1\r\nb\r\n")
        #expect(r("ZRANGEBYSCORE", "z", "-inf", "2", "LIMIT", "-1", "5") == "*0\r\n")
        #expect(r("ZREVRANGE", "z", "0", "1") == "*2\r\n$1\r\nc\r\n$1\r\nb\r\n")
        #expect(r("ZRANGEBYLEX", "lex", "[b", "(d") == "*2\r\n$1\r\nb\r\n$1\r\nc\r\n")
        #expect(r("ZREVRANGEBYLEX", "lex", "+", "[d") == "*2\r\n$1\r\ne\r\n$1\r\nd\r\n")
        #expect(r("ZLEXCOUNT", "lex", "-", "+") == ":5\r\n")
        #expect(r("ZCOUNT", "z", "(0", "2") == ":3\r\n")
        #expect(r("ZCARD", "z") == ":5\r\n")
        #expect(r("ZRANK", "z", "a") == ":2\r\n")
        #expect(r("ZREVRANK", "z", "a", "WITHSCORE", resp: 3) == "*2\r\n:2\r\n,1\r\n")
        #expect(r("ZRANK", "z", "nope", "WITHSCORE") == "*-1\r\n")
        #expect(r("ZRANGE", "z", "0", "1", "LIMIT", "0", "1") == "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n")
        #expect(r("ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES") == "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n")
        #expect(r("ZRANGEBYSCORE", "z", "x", "1") == "-ERR min or max is not a float\r\n")
        #expect(r("ZRANGEBYLEX", "lex", "b", "c") == "-ERR min or max not valid string range item\r\n")
        #expect(r("ZSCAN", "z", "0", "MATCH", "[ab]") == "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")
        #expect(r("ZRANDMEMBER", "z", "-3", "WITHSCORES").hasPrefix("*6\r\n"))
    }

    static func streamKeyspace() -> Keyspace {
        var k = Keyspace()
        let entries = (1...5).map { StreamEntry(id: StreamID(ms: 1000, seq: UInt64($0)), fields: [(b("f"), b("v\($0)"))]) }
        let group = StreamGroup(name: b("g"), lastDeliveredID: StreamID(ms: 1000, seq: 3), entriesReadRaw: 3,
                                pending: [StreamPendingEntry(id: StreamID(ms: 1000, seq: 2), deliveryTimeMs: now - 100, deliveryCount: 1),
                                          StreamPendingEntry(id: StreamID(ms: 1000, seq: 3), deliveryTimeMs: now - 50, deliveryCount: 2)],
                                consumers: [StreamConsumer(name: b("alice"), seenTimeMs: now - 50, activeTimeMs: now - 50,
                                                           pendingIDs: [StreamID(ms: 1000, seq: 2), StreamID(ms: 1000, seq: 3)])])
        let s = StreamValue(entries: entries, length: 5, listpackNodes: 1, lastID: StreamID(ms: 1000, seq: 5),
                            firstID: StreamID(ms: 1000, seq: 1), maxDeletedEntryID: .zero, entriesAdded: 5, groups: [group])
        k[0, b("s")] = KeyEntry(value: .stream(s))
        return k
    }

    @Test func streams() {
        let k = Self.streamKeyspace()
        #expect(Self.run(k, ["XLEN", "s"]) == ":5\r\n")
        #expect(Self.run(k, ["XRANGE", "s", "(1000-3", "+"]) == "*2\r\n*2\r\n$6\r\n1000-4\r\n*2\r\n$1\r\nf\r\n$2\r\nv4\r\n*2\r\n$6\r\n1000-5\r\n*2\r\n$1\r\nf\r\n$2\r\nv5\r\n")
        #expect(Self.run(k, ["XREVRANGE", "s", "+", "-", "COUNT", "1"]) == "*1\r\n*2\r\n$6\r\n1000-5\r\n*2\r\n$1\r\nf\r\n$2\r\nv5\r\n")
        #expect(Self.run(k, ["XRANGE", "s", "-", "+", "COUNT", "0"]) == "*-1\r\n")
        #expect(Self.run(k, ["XRANGE", "s", "x", "+"]) == "-ERR Invalid stream ID specified as stream command argument\r\n")
        #expect(Self.run(k, ["XREAD", "COUNT", "1", "STREAMS", "s", "1000-4"], resp: 3) == "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$6\r\n1000-5\r\n*2\r\n$1\r\nf\r\n$2\r\nv5\r\n")
        #expect(Self.run(k, ["XREAD", "STREAMS", "s", "$"]) == "*-1\r\n")
        #expect(Self.run(k, ["XREAD", "STREAMS", "s"]).hasPrefix("-ERR Unbalanced XREAD list of streams"))
        // Where the client cannot block, a BLOCK with nothing to serve answers as a timeout does (the connection
        // blocks instead: ServeReadsTests); with entries to serve it answers at once.
        #expect(Self.run(k, ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]) == "*-1\r\n")
        #expect(Self.run(k, ["XREAD", "BLOCK", "5", "STREAMS", "s", "$"], resp: 3) == "_\r\n")
        #expect(Self.run(k, ["XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", "1000-4"]) == "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$6\r\n1000-5\r\n*2\r\n$1\r\nf\r\n$2\r\nv5\r\n")
        #expect(Self.run(k, ["XREAD", "BLOCK", "1x", "STREAMS", "s", "$"]) == "-ERR timeout is not an integer or out of range\r\n")
        #expect(Self.run(k, ["XREAD", "BLOCK", "-5", "STREAMS", "s", "$"]) == "-ERR timeout is negative\r\n")
        #expect(Self.run(k, ["XPENDING", "s", "g"]) == "*4\r\n:2\r\n$6\r\n1000-2\r\n$6\r\n1000-3\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n2\r\n")
        #expect(Self.run(k, ["XPENDING", "s", "g", "-", "+", "1"]) == "*1\r\n*4\r\n$6\r\n1000-2\r\n$5\r\nalice\r\n:100\r\n:1\r\n")
        #expect(Self.run(k, ["XPENDING", "s", "nog"]) == "-NOGROUP No such key 's' or consumer group 'nog'\r\n")
        #expect(Self.run(k, ["XINFO", "GROUPS", "s"]) == "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:2\r\n$17\r\nlast-delivered-id\r\n$6\r\n1000-3\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n:2\r\n")
        #expect(Self.run(k, ["XINFO", "STREAM", "nokey"]) == "-ERR no such key\r\n")
        #expect(Self.run(k, ["XINFO", "STREAM", "s"], resp: 3).hasPrefix("%10\r\n$6\r\nlength\r\n:5\r\n"))
        // From a master whose full sync is RDB 13+ (Redis 8.6+): the IDMP fields (a stream without IDMP state has
        // the defaults); from 14 (8.8+) FULL's groups also count their NACK zone. Not for Valkey (80+).
        let v15 = Self.run(k, ["XINFO", "STREAM", "s"], resp: 3, view: .ready(k, rdbVersion: 15))
        #expect(v15.hasPrefix("%16\r\n") && v15.contains("$13\r\nidmp-duration\r\n:100\r\n$12\r\nidmp-maxsize\r\n:100\r\n$12\r\npids-tracked\r\n:0\r\n"))
        #expect(Self.run(k, ["XINFO", "STREAM", "s", "FULL"], view: .ready(k, rdbVersion: 15)).contains("nacked-count\r\n:0\r\n"))
        #expect(!Self.run(k, ["XINFO", "STREAM", "s", "FULL"], view: .ready(k, rdbVersion: 13)).contains("nacked-count"))
        #expect(!Self.run(k, ["XINFO", "STREAM", "s"], view: .ready(k, rdbVersion: 80)).contains("idmp"))
        // Consumers: 7.2+ (RDB 11+, Valkey too) add `inactive` (since the last successful read) and FULL's
        // `active-time`; a 7.0 master's replica answers without them.
        let alice = "$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:2\r\n$4\r\nidle\r\n:50\r\n"
        #expect(Self.run(k, ["XINFO", "CONSUMERS", "s", "g"], view: .ready(k, rdbVersion: 12)) == "*1\r\n*8\r\n" + alice + "$8\r\ninactive\r\n:50\r\n")
        #expect(Self.run(k, ["XINFO", "CONSUMERS", "s", "g"], view: .ready(k, rdbVersion: 10)) == "*1\r\n*6\r\n" + alice)
        #expect(Self.run(k, ["XINFO", "STREAM", "s", "FULL"], view: .ready(k, rdbVersion: 80)).contains("active-time"))
        #expect(!Self.run(k, ["XINFO", "STREAM", "s", "FULL"], view: .ready(k, rdbVersion: 10)).contains("active-time"))
    }

    /// XINFO STREAM's IDMP counts leave out ids at or before now - duration (and producers left without ids), as
    /// every Redis's cron drops them by its clock without propagating it.
    @Test func idmpCountsLeaveOutExpiredIDs() {
        var k = Self.streamKeyspace()
        guard case .stream(var s)? = k[0, Self.b("s")]?.value else { Issue.record("no stream"); return }
        func id(_ agoMs: Int64) -> StreamID { StreamID(ms: UInt64(Self.now - agoMs), seq: 0) }
        s.idmp = StreamIDMP(duration: 10, maxEntries: 100, producers: [
            StreamIDMPProducer(name: Self.b("p1"), entries: [StreamIDMPEntry(iid: Self.b("a"), id: id(20_000)), StreamIDMPEntry(iid: Self.b("b"), id: id(5_000))]),
            StreamIDMPProducer(name: Self.b("p2"), entries: [StreamIDMPEntry(iid: Self.b("c"), id: id(10_000))]),
        ], iidsAdded: 3, iidsDuplicates: 0)
        k[0, Self.b("s")] = KeyEntry(value: .stream(s))
        let reply = Self.run(k, ["XINFO", "STREAM", "s"], view: .ready(k, rdbVersion: 15))
        #expect(reply.contains("$12\r\npids-tracked\r\n:1\r\n$12\r\niids-tracked\r\n:1\r\n$10\r\niids-added\r\n:3\r\n"), "\(reply)")
    }

    @Test func hyperLogLogAndGeo() throws {
        var k = Keyspace()
        let hll = try HyperLogLog.add(to: nil, elements: ["a", "b", "c"].map(Self.b)).get().value
        k[0, Self.b("hll")] = KeyEntry(value: .string(hll))
        k[0, Self.b("notahll")] = KeyEntry(value: .string(Self.b("plain")))
        // Redis's documented example: Palermo and Catania.
        let palermo = Geo.score(longitude: 13.361389, latitude: 38.115556)!
        let catania = Geo.score(longitude: 15.087269, latitude: 37.502669)!
        k[0, Self.b("Sicily")] = KeyEntry(value: .zset(ZSetValue([(Self.b("Palermo"), palermo), (Self.b("Catania"), catania)])))
        #expect(Self.run(k, ["PFCOUNT", "hll"]) == ":3\r\n")
        #expect(Self.run(k, ["PFCOUNT", "hll", "nokey"]) == ":3\r\n")
        #expect(Self.run(k, ["PFCOUNT", "notahll"]) == "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n")
        #expect(Self.run(k, ["GEODIST", "Sicily", "Palermo", "Catania"]) == "$11\r\n166274.1516\r\n")
        #expect(Self.run(k, ["GEODIST", "Sicily", "Palermo", "Catania", "km"]) == "$8\r\n166.2742\r\n")
        #expect(Self.run(k, ["GEODIST", "Sicily", "Palermo", "Catania", "parsec"]) == "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n")
        #expect(Self.run(k, ["GEOHASH", "Sicily", "Palermo", "Catania", "x"]) == "*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n")
        #expect(Self.run(k, ["GEOPOS", "Sicily", "Palermo", "x"]) == "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n")
        #expect(Self.run(k, ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"]) == "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n")
        #expect(Self.run(k, ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"]) == "-ERR syntax error\r\n")
    }

    @Test func datasetStates() {
        let k = Keyspace()
        #expect(Self.run(k, ["GET", "a"], view: .loading) == "-LOADING Redis is loading the dataset in memory\r\n")
        #expect(Self.run(k, ["GET", "a"], view: .diverged(offset: 1234, command: "XADD")).contains("offset 1234 on XADD"))
        #expect(Self.run(k, ["GET", "a"], view: .notKept).contains("--no-dataset"))
        #expect(Self.run(k, ["EVAL_RO", "return 1", "0"]).contains("no Lua"))
        #expect(Self.run(k, ["FCALL_RO", "f", "0"], view: .loading).contains("no Lua"))
    }

    @Test func functions() {
        var k = Keyspace()
        k.functions = [Self.b("#!lua name=mylib\nredis.register_function('f1', function() return 1 end)\nredis.register_function{function_name='f2', callback=function() return 2 end, flags={'no-writes'}}")]
        let list = Self.run(k, ["FUNCTION", "LIST"], resp: 3)
        #expect(list.contains("$5\r\nmylib\r\n"))
        #expect(list.contains("$2\r\nf1\r\n") && list.contains("$2\r\nf2\r\n") && list.contains("~1\r\n$9\r\nno-writes\r\n"))
        #expect(Self.run(k, ["FUNCTION", "DUMP"]).hasPrefix("$"))
        #expect(Self.run(k, ["FUNCTION", "LOAD", "x"]) == "-READONLY You can't write against a read only replica.\r\n")
        // As a real 7.0 replica answers: no script ever runs here.
        #expect(Self.run(k, ["FUNCTION", "KILL"]) == "-NOTBUSY No scripts in execution right now.\r\n")
    }

    /// XGROUP's non-write answers, as a real 8.2.3 replica gives them (its write subcommands are refused
    /// before the read handler runs: ServerCommandTests).
    @Test func xgroupHelpAndUnknownSubcommand() {
        let help = r("XGROUP", "HELP")
        #expect(help.hasPrefix("*17\r\n+XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"))
        #expect(help.hasSuffix("+HELP\r\n+    Print this help.\r\n"))
        #expect(r("XGROUP", "FOO") == "-ERR unknown subcommand 'FOO'. Try XGROUP HELP.\r\n")
    }
}
