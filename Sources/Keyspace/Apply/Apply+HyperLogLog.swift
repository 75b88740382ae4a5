import RDB
import RedisValueOps

/// HyperLogLog (`hyperloglog.c`) through RedisValueOps' byte-exact implementation: PFADD, PFMERGE, and
/// PFCOUNT, which a master propagates when it rewrites the cached cardinality. The key keeps its TTL.
extension ApplyContext {
    static func registerHyperLogLog(_ h: inout [String: Handler]) {
        h["PFADD"] = { c, a in
            guard a.count >= 2 else { throw ApplyError.arity("pfadd") }
            let old = try c.string(a[1])
            switch HyperLogLog.add(to: old, elements: Array(a[2...])) {
            case .success(let r): if r.changed { c.put(a[1], .string(r.value), keepTTL: true) }
            case .failure(let e): throw ApplyError("\(e)")
            }
        }
        h["PFCOUNT"] = { c, a in
            guard a.count >= 2 else { throw ApplyError.arity("pfcount") }
            guard a.count == 2 else { return }  // several keys: a union, never written
            guard let old = try c.string(a[1]) else { return }
            switch HyperLogLog.count(old) {
            case .success(let r): if let v = r.updatedValue { c.put(a[1], .string(v), keepTTL: true) }
            case .failure(let e): throw ApplyError("\(e)")
            }
        }
        h["PFMERGE"] = { c, a in
            guard a.count >= 2 else { throw ApplyError.arity("pfmerge") }
            let dest = try c.string(a[1])
            let sources = try a[2...].map { try c.string($0) }
            switch HyperLogLog.merge(destination: dest, sources: sources) {
            case .success(let v): c.put(a[1], .string(v), keepTTL: true)
            case .failure(let e): throw ApplyError("\(e)")
            }
        }
    }
}
