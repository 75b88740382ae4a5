import RDB
import RedisValueOps

/// Argument parsing with Redis's rules (`util.c` `string2ll`, `object.c` `getDoubleFromObject`).
enum Arg {
    /// Redis `string2ll`: optional '-', no '+', no leading zeros or spaces, fits in Int64.
    static func int64(_ b: Bytes) -> Int64? { RedisArgument.int64(b) }

    static func int(_ b: Bytes) throws -> Int64 {
        guard let v = int64(b) else { throw ApplyError("value is not an integer or out of range") }
        return v
    }

    /// `strtod` over the whole argument, no leading space, not NaN (scores, weights, BY values).
    static func double(_ b: Bytes) throws -> Double {
        guard let v = doubleOrNil(b) else { throw ApplyError("value is not a valid float") }
        return v
    }

    static func doubleOrNil(_ b: Bytes) -> Double? {
        guard !b.isEmpty, b.count < 256, !(b[0] == 32 || (b[0] >= 9 && b[0] <= 13)) else { return nil }
        guard let v = Double(String(decoding: b, as: UTF8.self)), !v.isNaN else { return nil }
        return v
    }

    static func upper(_ b: Bytes) -> String {
        String(decoding: b.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
    }

    /// Decimal text of an integer, as Redis stores the result of INCR and friends.
    static func text(_ v: Int64) -> Bytes { Array(String(v).utf8) }
}

extension ApplyContext {
    func entry(_ key: Bytes) -> KeyEntry? { ks[db, key] }

    func exists(_ key: Bytes) -> Bool { ks[db, key] != nil }

    func string(_ key: Bytes) throws -> Bytes? {
        guard let e = entry(key) else { return nil }
        guard case .string(let s) = e.value else { throw ApplyError.wrongType }
        return s
    }

    func list(_ key: Bytes) throws -> PackedBytes? {
        guard let e = entry(key) else { return nil }
        guard case .list(let l) = e.value else { throw ApplyError.wrongType }
        return l
    }

    func set(_ key: Bytes) throws -> SetValue? {
        guard let e = entry(key) else { return nil }
        guard case .set(let s) = e.value else { throw ApplyError.wrongType }
        return s
    }

    func zset(_ key: Bytes) throws -> ZSetValue? {
        guard let e = entry(key) else { return nil }
        guard case .zset(let z) = e.value else { throw ApplyError.wrongType }
        return z
    }

    func hash(_ key: Bytes) throws -> HashValue? {
        guard let e = entry(key) else { return nil }
        guard case .hash(let h) = e.value else { throw ApplyError.wrongType }
        return h
    }

    /// Checks that `key` is absent or of the type `matches` accepts, before anything is changed.
    func requireType(_ key: Bytes, _ matches: (Value) -> Bool) throws {
        if let e = entry(key), !matches(e.value) { throw ApplyError.wrongType }
    }

    /// Replaces `key`'s value, dropping its TTL unless `keepTTL` (Redis `setKey` / `dbAdd`): one walk.
    mutating func put(_ key: Bytes, _ value: Value, keepTTL: Bool = false) {
        if keepTTL {
            ks.modify(db, key) { $0 = KeyEntry(value: value, expireAtMs: $0?.expireAtMs) }
        } else {
            ks[db, key] = KeyEntry(value: value)
        }
    }

    mutating func delete(_ key: Bytes) -> Bool { ks.remove(db, key) }

    /// Stores a collection result, or deletes the key when it is empty (as every *STORE does).
    mutating func store(_ key: Bytes, _ value: Value?) {
        if let value { put(key, value) } else { _ = delete(key) }
    }

    /// Mutates `key`'s value in place (taken out of the dictionary so it is uniquely referenced); the
    /// key is removed when `body` leaves an empty collection. `make` creates a missing key (nil: no-op).
    /// The type was checked by the caller; a mismatch here is reported as WRONGTYPE.
    @discardableResult
    mutating func mutate<T>(_ key: Bytes, create make: (() -> Value)?, _ body: (inout Value) throws -> T) throws -> T? {
        try ks.modify(db, key) { slot -> T? in
            if slot == nil {
                guard let make else { return nil }
                slot = KeyEntry(value: make())
            }
            var v = slot!.value
            slot!.value = .string([])
            defer {
                if v.isEmptyCollection { slot = nil } else { slot!.value = v }
            }
            return try body(&v)
        }
    }
}

extension Value {
    /// Redis deletes a list, set, zset, hash or array when its last element goes.
    var isEmptyCollection: Bool {
        switch self {
        case .array(let a): return a.isEmpty
        case .list(let l): return l.isEmpty
        case .set(let s): return s.isEmpty
        case .zset(let z): return z.isEmpty
        case .hash(let h): return h.isEmpty
        default: return false
        }
    }
}
