import Foundation
import Keyspace
import RDB
import RedisValueOps

/// What a read command sees: the dataset at a command boundary, or why there is none.
public enum DatasetView: Sendable {
    /// `follow --no-dataset`: no dataset is kept.
    case notKept
    /// The first dataset is still loading (snapshot and log replay).
    case loading
    /// The snapshot or the log could not be read.
    case failed(String)
    /// The applier met a command it cannot apply: the dataset stopped being the master's.
    case diverged(offset: Int64, command: String)
    /// A copy-on-write copy of the dataset, taken in O(1), and the RDB version of the master's full sync
    /// (replies that differ by server version follow it: 7.2's XINFO consumer active times, 8.6's IDMP fields).
    case ready(Keyspace, rdbVersion: Int = 12)
}

/// A read command's failure: the error reply to send.
struct ReadError: Error {
    let reply: Reply
    init(_ reply: Reply) { self.reply = reply }
    static func err(_ message: String) -> ReadError { ReadError(.err(message)) }
}

enum ReadErrors {
    static let wrongType = ReadError(.error("WRONGTYPE Operation against a key holding the wrong kind of value"))
    static let notInteger = ReadError(.err("value is not an integer or out of range"))
    static let syntax = ReadError(.err("syntax error"))
    static let notFloat = ReadError(.err("value is not a valid float"))
    static let minMaxNotFloat = ReadError(.err("min or max is not a float"))
    static let outOfRange = ReadError(.err("value is out of range, must be positive"))
}

/// One read command's view: the keyspace copy, the client's db, the time expiries are judged by, and the
/// client's protocol. Keys whose TTL has passed read as absent (db.c `lookupKeyReadWithFlags` on a replica:
/// `expireIfNeeded` answers "expired" without deleting; the master's DEL removes them later).
///
/// A class, built once per batch of pipelined commands: each read then shares it with one retain, and finds
/// keys in `database`, the client's db taken from the keyspace once.
final class ReadContext {
    let keyspace: Keyspace
    let db: Int
    let nowMs: Int64
    let resp3: Bool
    /// The RDB version of the master's full sync (80+: Valkey).
    let rdbVersion: Int
    /// The client's database (nil when it has no keys).
    let database: Database?

    init(keyspace: Keyspace, db: Int, nowMs: Int64, resp3: Bool, rdbVersion: Int = 12) {
        self.keyspace = keyspace
        self.db = db
        self.nowMs = nowMs
        self.resp3 = resp3
        self.rdbVersion = rdbVersion
        database = keyspace.databases[db]
    }

    /// db.c `keyIsExpired`: expired once now is past the expiry (`now > when`).
    func isExpired(_ e: KeyEntry) -> Bool {
        guard let at = e.expireAtMs else { return false }
        return nowMs > at
    }

    /// The live entry of `key`, nil when absent or expired.
    func entry(_ key: Bytes) -> KeyEntry? {
        guard let e = database?[key], !isExpired(e) else { return nil }
        return e
    }

    func string(_ key: Bytes) throws -> Bytes? {
        guard let e = entry(key) else { return nil }
        guard case .string(let s) = e.value else { throw ReadErrors.wrongType }
        return s
    }

    func list(_ key: Bytes) throws -> PackedBytes? {
        guard let e = entry(key) else { return nil }
        guard case .list(let l) = e.value else { throw ReadErrors.wrongType }
        return l
    }

    func set(_ key: Bytes) throws -> SetValue? {
        guard let e = entry(key) else { return nil }
        guard case .set(let s) = e.value else { throw ReadErrors.wrongType }
        return s
    }

    func zset(_ key: Bytes) throws -> ZSetValue? {
        guard let e = entry(key) else { return nil }
        guard case .zset(let z) = e.value else { throw ReadErrors.wrongType }
        return z
    }

    func hash(_ key: Bytes) throws -> HashValue? {
        guard let e = entry(key) else { return nil }
        guard case .hash(let h) = e.value else { throw ReadErrors.wrongType }
        return h
    }

    func stream(_ key: Bytes) throws -> StreamValue? {
        guard let e = entry(key) else { return nil }
        guard case .stream(let s) = e.value else { throw ReadErrors.wrongType }
        return s
    }

    /// A RESP3 double, or its RESP2 bulk form.
    func double(_ d: Double) -> Reply { .double(d) }

    /// A null array in RESP2 (`*-1`), a null in RESP3.
    var nullArray: Reply { .nullArray }
}

/// How Redis reads numeric arguments.
enum Arg {
    /// util.c `string2ll`: strict base 10, optional '-', no leading zeros or spaces, fewer than 21 bytes.
    static func int64(_ s: Bytes) -> Int64? { RedisArgument.int64(s) }

    /// `getLongLongFromObjectOrReply`: the integer or `-ERR value is not an integer or out of range`.
    static func integer(_ s: Bytes) throws -> Int64 {
        guard let v = int64(s) else { throw ReadErrors.notInteger }
        return v
    }

    /// `getPositiveLongFromObjectOrReply` (COUNT options): `-ERR value is out of range, must be positive`.
    static func positive(_ s: Bytes) throws -> Int64 {
        let v = try integer(s)
        guard v >= 0 else { throw ReadErrors.outOfRange }
        return v
    }

    /// util.c `string2d` / `getDoubleFromObject`: strtod over the whole argument, no spaces, not NaN.
    static func double(_ s: Bytes) -> Double? {
        guard let first = s.first, s.count < 256, first != 0x20, !(first >= 0x09 && first <= 0x0d), !s.contains(0) else { return nil }
        let text = String(decoding: s, as: UTF8.self)
        var end: UnsafeMutablePointer<CChar>?
        let v: Double? = text.withCString { p in
            let d = strtod(p, &end)
            guard let end, end == p + strlen(p), strlen(p) == s.count else { return nil }
            return d
        }
        guard let v, !v.isNaN else { return nil }
        return v
    }

    static func equals(_ a: Bytes, _ word: String) -> Bool {
        let w = word.utf8
        guard a.count == w.count else { return false }
        for (x, y) in zip(a, w) {
            let lx = x >= 65 && x <= 90 ? x + 32 : x
            let ly = y >= 65 && y <= 90 ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }

    static func text(_ s: Bytes) -> String { String(decoding: s, as: UTF8.self) }
}

/// Redis's `%.17g` (7.0's `addReplyDouble`), `inf`/`-inf` for infinities.
func formatDouble17g(_ d: Double) -> String {
    if d.isInfinite { return d > 0 ? "inf" : "-inf" }
    return String(format: "%.17g", d)
}
