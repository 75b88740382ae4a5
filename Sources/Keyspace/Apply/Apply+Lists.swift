import RDB

/// Lists (`t_list.c`): LPUSH/RPUSH(X), LPOP/RPOP with count, LSET, LINSERT, LREM, LTRIM, LMOVE,
/// RPOPLPUSH, Redis 8.10's LMOVEM (the blocking forms arrive rewritten as these; BLMOVEM as LMOVEM EXACTLY).
extension ApplyContext {
    static func registerLists(_ h: inout [String: Handler]) {
        h["LPUSH"] = { try $0.push($1, left: true, onlyIfExists: false) }
        h["RPUSH"] = { try $0.push($1, left: false, onlyIfExists: false) }
        h["LPUSHX"] = { try $0.push($1, left: true, onlyIfExists: true) }
        h["RPUSHX"] = { try $0.push($1, left: false, onlyIfExists: true) }
        h["LPOP"] = { try $0.pop($1, left: true) }
        h["RPOP"] = { try $0.pop($1, left: false) }
        h["LSET"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("lset") }
            let index = try Arg.int(a[2])
            guard let l = try c.list(a[1]) else { throw ApplyError("no such key") }
            let i = index < 0 ? Int64(l.count) + index : index
            guard i >= 0 && i < Int64(l.count) else { throw ApplyError("index out of range") }
            try c.mutate(a[1], create: nil) { v in
                guard case .list(var l) = v else { return }
                v = .string([])
                l.replace(at: Int(i), with: a[3])
                v = .list(l)
            }
        }
        h["LINSERT"] = { c, a in
            guard a.count == 5 else { throw ApplyError.arity("linsert") }
            let where_ = Arg.upper(a[2])
            guard where_ == "BEFORE" || where_ == "AFTER" else { throw ApplyError.syntax }
            guard let l = try c.list(a[1]), let p = l.firstIndex(of: a[3]) else { return }
            try c.mutate(a[1], create: nil) { v in
                guard case .list(var l) = v else { return }
                v = .string([])
                l.insert(a[4], at: where_ == "BEFORE" ? p : p + 1)
                v = .list(l)
            }
        }
        h["LREM"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("lrem") }
            let count = try Arg.int(a[2])
            guard let l = try c.list(a[1]) else { return }
            var items = l.elements
            var removed: Int64 = 0
            if count >= 0 {
                var out: [Bytes] = []
                for x in items {
                    if x == a[3] && (count == 0 || removed < count) { removed += 1 } else { out.append(x) }
                }
                items = out
            } else {
                var out: [Bytes] = []
                for x in items.reversed() {
                    if x == a[3] && removed < -count { removed += 1 } else { out.append(x) }
                }
                items = out.reversed()
            }
            if removed > 0 { c.store(a[1], items.isEmpty ? nil : .list(PackedBytes(items)), keepTTL: true) }
        }
        h["LTRIM"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("ltrim") }
            var start = try Arg.int(a[2]), end = try Arg.int(a[3])
            guard let l = try c.list(a[1]) else { return }
            let n = Int64(l.count)
            if start < 0 { start += n }
            if end < 0 { end += n }
            if start < 0 { start = 0 }
            let items = l.elements
            if start > end || start >= n {
                _ = c.delete(a[1])
                return
            }
            if end >= n { end = n - 1 }
            c.store(a[1], .list(PackedBytes(items[Int(start)...Int(end)])), keepTTL: true)
        }
        h["LMOVE"] = { c, a in
            guard a.count == 5 else { throw ApplyError.arity("lmove") }
            let from = Arg.upper(a[3]), to = Arg.upper(a[4])
            guard ["LEFT", "RIGHT"].contains(from), ["LEFT", "RIGHT"].contains(to) else { throw ApplyError.syntax }
            try c.move(a[1], a[2], fromLeft: from == "LEFT", toLeft: to == "LEFT")
        }
        h["RPOPLPUSH"] = { c, a in
            guard a.count == 3 else { throw ApplyError.arity("rpoplpush") }
            try c.move(a[1], a[2], fromLeft: false, toLeft: true)
        }
        h["LMOVEM"] = { try $0.lmovem($1) }
    }

    /// LMOVEM source destination LEFT|RIGHT LEFT|RIGHT [COUNT|EXACTLY n OBO|BULK] (Redis 8.10 `lmovemCommand`):
    /// pops up to n (EXACTLY: n or nothing) from the source and pushes them as one block that reads, left to
    /// right, as OBO (one by one, as popped) or BULK (the source's own order) leaves it.
    mutating func lmovem(_ a: [Bytes]) throws {
        guard a.count >= 5 else { throw ApplyError.arity("lmovem") }
        let from = Arg.upper(a[3]), to = Arg.upper(a[4])
        guard ["LEFT", "RIGHT"].contains(from), ["LEFT", "RIGHT"].contains(to) else { throw ApplyError.syntax }
        let fromLeft = from == "LEFT", toLeft = to == "LEFT"
        var count: Int64 = 1, exactly = false, oneByOne = false
        if a.count != 5 {
            guard a.count == 8 else { throw ApplyError.syntax }
            switch Arg.upper(a[5]) {
            case "COUNT": exactly = false
            case "EXACTLY": exactly = true
            default: throw ApplyError.syntax
            }
            count = try Arg.int(a[6])
            guard count >= 1 else { throw ApplyError("count should be greater than 0") }
            switch Arg.upper(a[7]) {
            case "OBO": oneByOne = true
            case "BULK": oneByOne = false
            default: throw ApplyError.syntax
            }
        }
        let source = try list(a[1]) ?? PackedBytes()
        if exactly && Int64(source.count) < count { return }
        let n = Int(min(count, Int64(source.count)))
        guard n > 0 else { return }
        _ = try list(a[2])
        let all = source.elements
        var block = fromLeft ? Array(all[0..<n]) : Array(all[(all.count - n)...].reversed())
        if oneByOne ? toLeft : !fromLeft { block.reverse() }
        let popped = fromLeft ? 0..<n : (all.count - n)..<all.count
        if a[1] == a[2] {
            try mutate(a[1], create: nil) { v in
                guard case .list(var l) = v else { return }
                v = .string([])
                l.removeSubrange(popped)
                l = toLeft ? PackedBytes(block + l.elements) : PackedBytes(l.elements + block)
                v = .list(l)
            }
            return
        }
        try mutate(a[1], create: nil) { v in
            guard case .list(var l) = v else { return }
            v = .string([])
            l.removeSubrange(popped)
            v = .list(l)
        }
        try mutate(a[2], create: { .list(PackedBytes()) }) { v in
            guard case .list(var l) = v else { return }
            v = .string([])
            if toLeft {
                var merged = PackedBytes(block)
                merged.appendPacked(l)
                l = merged
            } else {
                for x in block { l.append(x) }
            }
            v = .list(l)
        }
    }

    mutating func store(_ key: Bytes, _ value: Value?, keepTTL: Bool) {
        if let value { put(key, value, keepTTL: keepTTL) } else { _ = delete(key) }
    }

    mutating func push(_ a: [Bytes], left: Bool, onlyIfExists: Bool) throws {
        guard a.count >= 3 else { throw ApplyError.arity("push") }
        guard try list(a[1]) != nil || !onlyIfExists else { return }
        try mutate(a[1], create: { .list(PackedBytes()) }) { v in
            guard case .list(var l) = v else { return }
            v = .string([])
            if left {
                // LPUSH a b c leaves c first: build the prefix once, then one insertion.
                var prefix = PackedBytes()
                for x in a[2...].reversed() { prefix.append(x) }
                var merged = prefix
                merged.appendPacked(l)
                l = merged
            } else {
                for x in a[2...] { l.append(x) }
            }
            v = .list(l)
        }
    }

    mutating func pop(_ a: [Bytes], left: Bool) throws {
        guard a.count == 2 || a.count == 3 else { throw ApplyError.arity("pop") }
        var count: Int64 = 1
        if a.count == 3 {
            count = try Arg.int(a[2])
            guard count >= 0 else { throw ApplyError("value is out of range, must be positive") }
        }
        guard let l = try list(a[1]), count > 0 else { return }
        let n = Int(min(count, Int64(l.count)))
        try mutate(a[1], create: nil) { v in
            guard case .list(var l) = v else { return }
            v = .string([])
            if left { l.removeSubrange(0..<n) } else { l.removeSubrange((l.count - n)..<l.count) }
            v = .list(l)
        }
    }

    mutating func move(_ src: Bytes, _ dst: Bytes, fromLeft: Bool, toLeft: Bool) throws {
        guard let s = try list(src), !s.isEmpty else { return }
        _ = try list(dst)
        let item = fromLeft ? s[0] : s[s.count - 1]
        if src == dst {
            // Rotation within one list: never empty in between, so the key and its TTL stay.
            try mutate(src, create: nil) { v in
                guard case .list(var l) = v else { return }
                v = .string([])
                l.remove(at: fromLeft ? 0 : l.count - 1)
                if toLeft { l.insert(item, at: 0) } else { l.append(item) }
                v = .list(l)
            }
            return
        }
        try mutate(src, create: nil) { v in
            guard case .list(var l) = v else { return }
            v = .string([])
            l.remove(at: fromLeft ? 0 : l.count - 1)
            v = .list(l)
        }
        try mutate(dst, create: { .list(PackedBytes()) }) { v in
            guard case .list(var l) = v else { return }
            v = .string([])
            if toLeft { l.insert(item, at: 0) } else { l.append(item) }
            v = .list(l)
        }
    }
}

extension PackedBytes {
    /// Appends every element of `other`, buffer to buffer.
    mutating func appendPacked(_ other: PackedBytes) {
        appendRaw(other.storage, count: other.count)
    }
}
