import RDB

/// Which keys to keep: `--db N...`, `--key-pattern GLOB`, `--type T...` of `rdb convert` and `rdb sqlite`.
/// Empty sets mean "all".
public struct KeyFilter: Sendable, Equatable {
    public var databases: Set<Int>
    /// A Redis `KEYS`-style glob over the raw key bytes (`*`, `?`, `[abc]`, `[^a-z]`, `\x`).
    public var keyPattern: Bytes?
    /// Type names as `TYPE` reports them (`string`, `list`, `set`, `zset`, `hash`, `stream`), `module` for any
    /// module value, or a module's 9-character type name.
    public var types: Set<String>

    public init(databases: Set<Int> = [], keyPattern: Bytes? = nil, types: Set<String> = []) {
        self.databases = databases
        self.keyPattern = keyPattern
        self.types = types
    }

    public static let validTypeNames: Set<String> = ["string", "list", "set", "zset", "hash", "stream", "module"]

    public var isEmpty: Bool { databases.isEmpty && keyPattern == nil && types.isEmpty }

    public func accepts(_ entry: RDBEntry) -> Bool {
        if !databases.isEmpty && !databases.contains(entry.db) { return false }
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
        return parts.joined(separator: " ")
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
