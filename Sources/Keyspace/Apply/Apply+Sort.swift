import RDB

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern …] [ASC|DESC] [ALPHA] [STORE dest]`, which a
/// master propagates verbatim (`sort.c` `sortCommandGeneric`): BY and GET patterns read other keys
/// (`prefix*suffix`, `prefix*->field` for hash fields, `#` for the element). With STORE, comparisons are
/// binary (no `strcoll`), a set sorted BY a constant is sorted ALPHA (so the result is deterministic),
/// and missing GET values are stored as empty strings.
extension ApplyContext {
    static func registerSort(_ h: inout [String: Handler]) {
        h["SORT"] = { try $0.sort($1) }
    }

    /// `lookupKeyByPattern`: the string (or hash field) the pattern names for `element`, nil when absent.
    func lookup(pattern: Bytes, element: Bytes) -> Bytes? {
        if pattern == [UInt8(ascii: "#")] { return element }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var field: Bytes?
        var keyEnd = pattern.count
        var j = star + 1
        while j + 1 < pattern.count {
            if pattern[j] == UInt8(ascii: "-") && pattern[j + 1] == UInt8(ascii: ">") {
                if j + 2 < pattern.count {
                    field = Array(pattern[(j + 2)...])
                    keyEnd = j
                }
                break
            }
            j += 1
        }
        let key = Array(pattern[..<star]) + element + Array(pattern[(star + 1)..<keyEnd])
        guard let e = entry(key) else { return nil }
        if let field {
            guard case .hash(let h) = e.value else { return nil }
            return h[field]
        }
        guard case .string(let s) = e.value else { return nil }
        return s
    }

    /// `strtod` over the whole text (leading spaces allowed), refusing overflow and NaN.
    static func sortScore(_ b: Bytes) -> Double? {
        var s = b[...]
        while let f = s.first, f == 32 || (f >= 9 && f <= 13) { s = s.dropFirst() }
        guard !s.isEmpty, let v = Double(String(decoding: s, as: UTF8.self)), !v.isNaN else { return nil }
        if v.isInfinite && !String(decoding: s, as: UTF8.self).lowercased().contains("inf") { return nil }  // ERANGE
        return v
    }

    mutating func sort(_ a: [Bytes]) throws {
        guard a.count >= 2 else { throw ApplyError.arity("sort") }
        var desc = false, alpha = false
        var limitStart: Int64 = 0, limitCount: Int64 = -1
        var by: Bytes?
        var dontSort = false
        var gets: [Bytes] = []
        var storeKey: Bytes?
        var j = 2
        while j < a.count {
            let left = a.count - j - 1
            switch Arg.upper(a[j]) {
            case "ASC": desc = false
            case "DESC": desc = true
            case "ALPHA": alpha = true
            case "LIMIT" where left >= 2:
                limitStart = try Arg.int(a[j + 1])
                limitCount = try Arg.int(a[j + 2])
                j += 2
            case "STORE" where left >= 1:
                storeKey = a[j + 1]
                j += 1
            case "BY" where left >= 1:
                by = a[j + 1]
                if !a[j + 1].contains(UInt8(ascii: "*")) { dontSort = true }
                j += 1
            case "GET" where left >= 1:
                gets.append(a[j + 1])
                j += 1
            default: throw ApplyError.syntax
            }
            j += 1
        }
        guard let storeKey else { return }  // a plain SORT changes nothing
        var elements: [Bytes] = []
        var isSet = false
        if let e = entry(a[1]) {
            switch e.value {
            case .list(let l): elements = l.elements
            case .set(let s): elements = s.members; isSet = true
            case .zset(let z):
                elements = z.sorted.map(\.member)
                // "Destructively convert encoded sorted sets for SORT" (sort.c): a small sorted set that was
                // sorted is a skiplist from then on, and keeps a later -0 score as -0.
                try mutateZSet(a[1], create: false) { $0.convertToTable() }
            default: throw ApplyError.wrongType
            }
        }
        if dontSort && isSet {
            dontSort = false
            alpha = true
            by = nil
        }
        let n = Int64(elements.count)
        var start = limitStart < 0 ? 0 : limitStart
        var end = limitCount < 0 ? n - 1 : start + limitCount - 1
        if start >= n { start = n - 1; end = n - 2 }
        if end >= n { end = n - 1 }
        if !dontSort {
            // Sort keys, checked before anything is stored.
            var keyed: [(element: Bytes, score: Double, cmp: Bytes?)] = []
            for el in elements {
                var score = 0.0
                var cmp: Bytes?
                let byValue = by.map { lookup(pattern: $0, element: el) } ?? el
                if alpha {
                    cmp = by == nil ? el : byValue
                } else if let v = byValue {
                    guard let s = ApplyContext.sortScore(v) else { throw ApplyError("One or more scores can't be converted into double") }
                    score = s
                }
                keyed.append((el, score, cmp))
            }
            keyed.sort { x, y in
                var c: Int
                if alpha {
                    switch (x.cmp, y.cmp) {
                    case (nil, nil): c = 0
                    case (nil, _): c = -1
                    case (_, nil): c = 1
                    case let (p?, q?): c = p == q ? 0 : (p.lexicographicallyPrecedes(q) ? -1 : 1)
                    }
                } else {
                    c = x.score > y.score ? 1 : x.score < y.score ? -1
                        : (x.element == y.element ? 0 : (x.element.lexicographicallyPrecedes(y.element) ? -1 : 1))
                }
                return desc ? c > 0 : c < 0
            }
            elements = keyed.map(\.element)
        } else if desc {
            elements.reverse()  // a list or zset left unsorted is read from its tail for DESC
        }
        var out: [Bytes] = []
        if start <= end {
            for el in elements[Int(start)...Int(end)] {
                if gets.isEmpty { out.append(el) } else {
                    for g in gets { out.append(lookup(pattern: g, element: el) ?? []) }
                }
            }
        }
        store(storeKey, out.isEmpty ? nil : .list(PackedBytes(out)))
    }
}
