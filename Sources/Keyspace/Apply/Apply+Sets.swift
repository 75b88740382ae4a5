import RDB

/// Sets (`t_set.c`): SADD, SREM (SPOP arrives as SREM), SMOVE, SINTERSTORE, SUNIONSTORE, SDIFFSTORE.
extension ApplyContext {
    static func registerSets(_ h: inout [String: Handler]) {
        h["SADD"] = { c, a in
            guard a.count >= 3 else { throw ApplyError.arity("sadd") }
            _ = try c.set(a[1])
            try c.mutate(a[1], create: { .set(SetValue()) }) { v in
                guard case .set(var s) = v else { return }
                v = .string([])
                for m in a[2...] { s.insert(m) }
                v = .set(s)
            }
        }
        h["SREM"] = { c, a in
            guard a.count >= 3 else { throw ApplyError.arity("srem") }
            guard try c.set(a[1]) != nil else { return }
            try c.mutate(a[1], create: nil) { v in
                guard case .set(var s) = v else { return }
                v = .string([])
                for m in a[2...] { s.remove(m) }
                v = .set(s)
            }
        }
        h["SMOVE"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("smove") }
            guard let s = try c.set(a[1]) else { return }
            _ = try c.set(a[2])
            guard a[1] != a[2], s.contains(a[3]) else { return }
            try c.mutate(a[1], create: nil) { v in
                guard case .set(var s) = v else { return }
                v = .string([])
                s.remove(a[3])
                v = .set(s)
            }
            try c.mutate(a[2], create: { .set(SetValue()) }) { v in
                guard case .set(var s) = v else { return }
                v = .string([])
                s.insert(a[3])
                v = .set(s)
            }
        }
        h["SINTERSTORE"] = { try $0.setStore($1, .inter) }
        h["SUNIONSTORE"] = { try $0.setStore($1, .union) }
        h["SDIFFSTORE"] = { try $0.setStore($1, .diff) }
    }

    enum SetOp { case inter, union, diff }

    /// The members of `key` read as a set (`SINTERSTORE` and the Z*STORE commands also take sets).
    func setMembers(_ key: Bytes) throws -> SetValue? { try set(key) }

    mutating func setStore(_ a: [Bytes], _ op: SetOp) throws {
        guard a.count >= 3 else { throw ApplyError.arity("setstore") }
        let sources = try a[2...].map { try set($0) }
        var result = SetValue()
        switch op {
        case .inter:
            if sources.contains(where: { $0 == nil }) { break }
            let sets = sources.map { $0! }.sorted { $0.count < $1.count }
            for m in sets[0].members where sets.dropFirst().allSatisfy({ $0.contains(m) }) { result.insert(m) }
        case .union:
            for s in sources { for m in s?.members ?? [] { result.insert(m) } }
        case .diff:
            guard let first = sources[0] else { break }
            for m in first.members where !sources.dropFirst().contains(where: { $0?.contains(m) ?? false }) { result.insert(m) }
        }
        store(a[1], result.isEmpty ? nil : .set(result))
    }
}
