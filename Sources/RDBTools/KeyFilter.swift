import RDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which keys to keep: the one filter of every `rdb` command that reads keys (`dump`, `convert`, `sqlite`, ...).
/// Every condition set must hold; an empty filter keeps everything. See docs/filters.md.
///
/// Expiry is judged against a reference time: `now` when given, else the file's `ctime` AUX field (the
/// moment the RDB was saved, seconds since the epoch), else the wall clock when the file was opened. Call
/// `observe(_:)` with every record so the filter sees the header and the AUX fields before the keys.
public struct KeyFilter: Sendable, Equatable {
    /// `--expired` / `--not-expired`.
    public enum Expiry: String, Sendable, CaseIterable {
        /// Keys with a TTL that lies before the reference time (Redis `rdbLoad` skips these on a master).
        case expired
        /// Keys without a TTL, or whose TTL has not passed at the reference time.
        case notExpired = "not-expired"
    }

    public var databases: Set<Int>
    /// A Redis `KEYS`-style glob over the raw key bytes (`*`, `?`, `[abc]`, `[^a-z]`, `\x`).
    public var keyPattern: Bytes?
    /// Type names as `TYPE` reports them (`string`, `list`, `set`, `zset`, `hash`, `stream`, `array`), `module` for any
    /// module value, or a module's 9-character type name.
    public var types: Set<String>
    public var expiry: Expiry?
    /// The reference time for `expiry`, Unix milliseconds; nil: the file's `ctime` AUX field, else the wall clock.
    public var now: Int64?
    /// Keep only keys whose serialized size in the RDB (`RDBEntry.serializedSize`: from the key's first
    /// opcode, expiry or LRU/LFU, through the end of its value, key name included, compressed bytes as stored)
    /// is at least this many bytes.
    public var minSize: Int64?
    /// The file's `ctime` AUX field in milliseconds, once `observe(_:)` has seen it.
    public private(set) var fileCtimeMs: Int64?
    /// The wall clock when `observe(_:)` saw the header: the last fallback for the reference time.
    public private(set) var openedAtMs: Int64?

    public init(databases: Set<Int> = [], keyPattern: Bytes? = nil, types: Set<String> = [],
                expiry: Expiry? = nil, now: Int64? = nil, minSize: Int64? = nil) {
        self.databases = databases
        self.keyPattern = keyPattern
        self.types = types
        self.expiry = expiry
        self.now = now
        self.minSize = minSize
    }

    public static let validTypeNames: Set<String> = ["string", "list", "set", "zset", "hash", "stream", "array", "module"]

    /// The one check of a `--type` value: a `TYPE` name, `module`, or a 9-character module type name
    /// (`RedisModule_CreateDataType` names are exactly 9 characters). Returns an error message, or nil when valid.
    public static func typeNameProblem(_ name: String) -> String? {
        if validTypeNames.contains(name) { return nil }
        if name.utf8.count == 9 { return nil }
        return "unknown type '\(name)' (one of: \(validTypeNames.sorted().joined(separator: ", ")), or a 9-character module type name)"
    }

    public var isEmpty: Bool {
        databases.isEmpty && keyPattern == nil && types.isEmpty && expiry == nil && minSize == nil
    }

    /// Notes what the filter needs from records before the keys: the open time at the header, the
    /// `ctime` AUX field. Cheap; call it for every record.
    @inline(__always)
    public mutating func observe(_ record: RDBRecord) {
        switch record {
        case .header:
            if openedAtMs == nil { openedAtMs = Self.wallClockMs() }
        case .aux(let key, let value):
            if key == Self.ctimeKey, let seconds = Self.parseInt(value) { fileCtimeMs = seconds &* 1000 }
        default:
            break
        }
    }

    /// The time expiry is judged against, Unix milliseconds.
    public var referenceTimeMs: Int64 { now ?? fileCtimeMs ?? openedAtMs ?? Self.wallClockMs() }

    public func accepts(_ entry: RDBEntry) -> Bool {
        if !databases.isEmpty && !databases.contains(entry.db) { return false }
        if let minSize, entry.serializedSize < minSize { return false }
        if let expiry {
            // Redis: expired when the expiry time is before now (`rdbLoad`: `expiretime < now`).
            let expired = entry.expireAtMs.map { $0 < referenceTimeMs } ?? false
            if expired != (expiry == .expired) { return false }
        }
        if !types.isEmpty {
            let name = entry.value.typeName
            var ok = types.contains(name)
            if !ok, case .module = entry.value { ok = types.contains("module") }
            if !ok { return false }
        }
        if let keyPattern, !RedisGlob.matches(pattern: keyPattern, entry.key) { return false }
        return true
    }

    /// A one-line description for `meta.filter`.
    public var summary: String {
        var parts: [String] = []
        if !databases.isEmpty { parts.append("db=" + databases.sorted().map(String.init).joined(separator: ",")) }
        if let keyPattern { parts.append("key-pattern=" + String(decoding: keyPattern, as: UTF8.self)) }
        if !types.isEmpty { parts.append("type=" + types.sorted().joined(separator: ",")) }
        if let expiry { parts.append(expiry.rawValue + (now.map { " now=\($0)" } ?? "")) }
        if let minSize { parts.append("min-size=\(minSize)") }
        return parts.joined(separator: " ")
    }

    static let ctimeKey: Bytes = Array("ctime".utf8)

    /// A decimal integer (AUX values are strings; integer-encoded ones reach us as their decimal text).
    static func parseInt(_ bytes: Bytes) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var v: Int64 = 0
        var negative = false
        for (i, b) in bytes.enumerated() {
            if i == 0 && b == UInt8(ascii: "-") && bytes.count > 1 { negative = true; continue }
            guard b >= 48 && b <= 57 else { return nil }
            v = v * 10 + Int64(b - 48)
        }
        return negative ? -v : v
    }

    static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// Redis's glob over raw bytes, as `KEYS`/`SCAN MATCH` use it: Redis `util.c` `stringmatchlen`.
/// `*`, `?`, `[abc]`, `[^a-z]` (reversed ranges allowed), `\x` escapes (also inside a class); case-sensitive,
/// binary-safe; a class with no closing `]` runs to the end of the pattern, and so does `[x-]` (the range x...]).
/// Iterative with single-star backtracking: linear memory, O(pattern x string) time at worst.
public enum RedisGlob {
    public static func matches(pattern: Bytes, _ string: Bytes) -> Bool {
        var p = 0, s = 0
        var starP = -1, starS = 0
        let pn = pattern.count, sn = string.count
        while s < sn {
            if p < pn {
                let c = pattern[p]
                if c == UInt8(ascii: "*") {
                    while p < pn && pattern[p] == UInt8(ascii: "*") { p += 1 }
                    if p == pn { return true }
                    starP = p
                    starS = s
                    continue
                }
                if let next = matchOne(pattern, at: p, string[s]) {
                    p = next
                    s += 1
                    continue
                }
            }
            // Mismatch: let the last star absorb one more byte.
            guard starP >= 0 else { return false }
            starS += 1
            s = starS
            p = starP
        }
        while p < pn && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pn
    }

    /// Matches one pattern element (`?`, a class, an escaped or plain byte) at `p` against `ch`;
    /// returns the index after the element on a match, nil otherwise.
    private static func matchOne(_ pattern: Bytes, at start: Int, _ ch: UInt8) -> Int? {
        let pn = pattern.count
        var p = start
        switch pattern[p] {
        case UInt8(ascii: "?"):
            return p + 1
        case UInt8(ascii: "["):
            p += 1
            var negate = false
            if p < pn && pattern[p] == UInt8(ascii: "^") {
                negate = true
                p += 1
            }
            var matched = false
            while p < pn && pattern[p] != UInt8(ascii: "]") {
                if pattern[p] == UInt8(ascii: "\\") && p + 1 < pn {
                    p += 1
                    if pattern[p] == ch { matched = true }
                    p += 1
                } else if p + 2 < pn && pattern[p + 1] == UInt8(ascii: "-") {  // `[a-]` is the range a...] (as in Redis)
                    var lo = pattern[p], hi = pattern[p + 2]
                    if lo > hi { swap(&lo, &hi) }
                    if ch >= lo && ch <= hi { matched = true }
                    p += 3
                } else {
                    if pattern[p] == ch { matched = true }
                    p += 1
                }
            }
            if p < pn { p += 1 }  // the closing ']'
            return matched != negate ? p : nil
        case UInt8(ascii: "\\") where p + 1 < pn:
            return pattern[p + 1] == ch ? p + 2 : nil
        default:
            return pattern[p] == ch ? p + 1 : nil
        }
    }
}
