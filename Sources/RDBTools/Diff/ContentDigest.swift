import RDB

/// A 128-bit digest of a key's logical content, independent of how the file encoded it: the same value
/// stored as a listpack or a hashtable, int-encoded or raw, compressed or not, in RDB 9 or 12, digests alike.
///
/// Lists and stream entries are ordered; sets, hashes, sorted sets, groups, consumers and pending entries are
/// not (each element's digest is mixed, then summed, so the order does not matter; Redis's own `DEBUG DIGEST`
/// does the same with XOR in `debug.c` xorObjectDigest). Two 64-bit lanes with different seeds keep
/// accidental collisions out of reach for any realistic file.
public struct ContentDigest: Hashable, Sendable {
    public var a: UInt64
    public var b: UInt64

    public init(a: UInt64 = 0, b: UInt64 = 0) {
        self.a = a
        self.b = b
    }

    static let seedA: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let seedB: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    @inline(__always) static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k = k &* 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k = k &* 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    /// The digest of one byte string.
    @inline(__always) static func of(_ p: UnsafeRawBufferPointer) -> ContentDigest {
        var ha = seedA ^ UInt64(p.count)
        var hb = seedB &+ UInt64(p.count)
        var i = 0
        let n = p.count
        if let base = p.baseAddress {
            while i &+ 8 <= n {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                ha = (ha ^ fmix(w &+ seedA)) &* 0x87C3_7B91_1142_53D5
                ha = (ha << 27) | (ha >> 37)
                hb = (hb ^ fmix(w ^ seedB)) &* 0x4CF5_AD43_2745_937F
                hb = (hb << 31) | (hb >> 33)
                i &+= 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift &+= 8
                i &+= 1
            }
            ha = (ha ^ fmix(tail &+ seedA)) &* 0x87C3_7B91_1142_53D5
            hb = (hb ^ fmix(tail ^ seedB)) &* 0x4CF5_AD43_2745_937F
        }
        return ContentDigest(a: fmix(ha), b: fmix(hb))
    }

    @inline(__always) static func of(_ bytes: Bytes) -> ContentDigest {
        bytes.withUnsafeBytes { of($0) }
    }

    @inline(__always) static func of(_ v: UInt64) -> ContentDigest {
        ContentDigest(a: fmix(v ^ seedA), b: fmix(v &+ seedB))
    }

    /// Ordered combination: `self` then `next`.
    @inline(__always) mutating func append(_ next: ContentDigest) {
        a = ContentDigest.fmix(a ^ next.a) &+ 0x2545_F491_4F6C_DD1D
        b = ContentDigest.fmix((b &+ next.b) ^ 0x6A09_E667_F3BC_C909)
    }

    /// Unordered combination (a sum of mixed element digests).
    @inline(__always) mutating func add(_ element: ContentDigest) {
        a = a &+ ContentDigest.fmix(element.a ^ 0x94D0_49BB_1331_11EB)
        b = b &+ ContentDigest.fmix(element.b &+ 0xBF58_476D_1CE4_E5B9)
    }

    @inline(__always) static func pair(_ x: ContentDigest, _ y: ContentDigest) -> ContentDigest {
        var d = x
        d.append(y)
        return d
    }

    /// The digest of a value's content (its type included; its key, TTL and LRU/LFU hints not).
    public static func of(_ value: RDBValue) -> ContentDigest {
        switch value {
        case .string(let s):
            return pair(of(1), of(s))
        case .list(let items):
            var d = of(2)
            for x in items { d.append(of(x)) }
            d.append(of(UInt64(items.count)))
            return d
        case .set(let members):
            var sum = ContentDigest()
            for m in members { sum.add(of(m)) }
            return pair(pair(of(3), of(UInt64(members.count))), sum)
        case .sortedSet(let members):
            var sum = ContentDigest()
            for m in members {
                let score = m.score == 0 ? 0 : m.score  // -0 and 0 are the same score
                sum.add(pair(of(m.member), of(score.bitPattern)))
            }
            return pair(pair(of(4), of(UInt64(members.count))), sum)
        case .hash(let fields):
            var sum = ContentDigest()
            for f in fields {
                var d = pair(of(f.field), of(f.value))
                d.append(of(f.expireAtMs.map { UInt64(bitPattern: $0) } ?? UInt64.max))
                sum.add(d)
            }
            return pair(pair(of(5), of(UInt64(fields.count))), sum)
        case .stream(let s):
            return stream(s)
        case .module(let m):
            return pair(pair(of(7), of(m.moduleID)), of(m.raw))
        case .array(let a):
            // In index order; the insert cursor is part of the value (ARINSERT and ARRING write after it).
            var d = pair(of(8), of(a.insertIndex ?? UInt64.max))
            for el in a.elements { d.append(pair(of(el.index), of(el.value))) }
            d.append(of(UInt64(a.elements.count)))
            return d
        }
    }

    /// The digest `of(_:)` gives the materialized value, from a value lent by `RDBReader.next(lendingInto:)`;
    /// nil when nothing was lent (`.none`: streams and modules come materialized).
    public static func of(lent a: RDBValueArena) -> ContentDigest? {
        @inline(__always) func element(_ i: Int) -> ContentDigest {
            a.length(i) == 0 ? of(emptyBytes) : of(a[i])
        }
        switch a.kind {
        case .none, .stream:
            return nil
        case .string:
            return pair(of(1), a.count > 0 ? element(0) : of(emptyBytes))
        case .list:
            var d = of(2)
            for i in 0..<a.count { d.append(element(i)) }
            d.append(of(UInt64(a.count)))
            return d
        case .set:
            var sum = ContentDigest()
            for i in 0..<a.count { sum.add(element(i)) }
            return pair(pair(of(3), of(UInt64(a.count))), sum)
        case .sortedSet:
            var sum = ContentDigest()
            let scores = a.scores
            for i in 0..<a.count {
                let score = scores[i] == 0 ? 0 : scores[i]  // -0 and 0 are the same score
                sum.add(pair(element(i), of(score.bitPattern)))
            }
            return pair(pair(of(4), of(UInt64(a.count))), sum)
        case .hash:
            var sum = ContentDigest()
            let n = a.count / 2
            for f in 0..<n {
                var d = pair(element(2 &* f), element(2 &* f &+ 1))
                let at = a.hasFieldExpiries ? a.fieldExpiries[f] : RDBValueArena.noExpiry
                d.append(of(at == RDBValueArena.noExpiry ? UInt64.max : UInt64(bitPattern: at)))
                sum.add(d)
            }
            return pair(pair(of(5), of(UInt64(n))), sum)
        }
    }

    /// Empty elements digest exactly as an empty array does (whatever its buffer's address).
    private static let emptyBytes: Bytes = []

    /// Entries in order, the last ID, and per group (unordered) its name, last-delivered ID, pending entries
    /// (ID, delivery time, count) and consumers (name, seen time, owned IDs). Metadata that older RDB versions
    /// cannot hold (first ID, max deleted ID, entries added, entries read, consumer active time) is left out,
    /// so a stream converted down and back compares equal.
    static func stream(_ s: StreamValue) -> ContentDigest {
        var d = of(6)
        for e in s.entries {
            d.append(pair(of(e.id.ms), of(e.id.seq)))
            for (f, v) in e.fields { d.append(pair(of(f), of(v))) }
            d.append(of(UInt64(e.fields.count)))
        }
        d.append(pair(of(s.lastID.ms), of(s.lastID.seq)))
        var groups = ContentDigest()
        for g in s.groups {
            var gd = pair(of(g.name), pair(of(g.lastDeliveredID.ms), of(g.lastDeliveredID.seq)))
            var pel = ContentDigest()
            for p in g.pending {
                var pd = pair(of(p.id.ms), of(p.id.seq))
                pd.append(of(UInt64(bitPattern: p.deliveryTimeMs)))
                pd.append(of(p.deliveryCount))
                pel.add(pd)
            }
            gd.append(pel)
            var consumers = ContentDigest()
            for c in g.consumers {
                var cd = pair(of(c.name), of(UInt64(bitPattern: c.seenTimeMs)))
                var owned = ContentDigest()
                for id in c.pendingIDs { owned.add(pair(of(id.ms), of(id.seq))) }
                cd.append(owned)
                consumers.add(cd)
            }
            gd.append(consumers)
            if !g.nackedIDs.isEmpty {  // the NACK zone is ordered
                var zone = of(7)
                for id in g.nackedIDs { zone.append(pair(of(id.ms), of(id.seq))) }
                gd.append(zone)
            }
            groups.add(gd)
        }
        d.append(groups)
        return d
    }
}
