import RDB

/// Per-key memory estimates of a file (`MemoryEstimator`), aggregated as `rdb memory` shows them: the N largest
/// keys and sums by type, database and key prefix. Memory: N keys plus one counter per distinct prefix.
public final class MemoryReport {
    public struct KeyUsage: Sendable {
        public var db: Int
        public var key: Bytes
        public var type: String
        public var bytes: Int
        /// File order, to keep ties stable.
        public var ordinal: Int
    }

    public struct Sum: Sendable {
        public var keys = 0
        public var bytes = 0
    }

    public let top: Int
    public let separator: Bytes?
    @exclusivity(unchecked) public private(set) var keys = 0
    @exclusivity(unchecked) public private(set) var totalBytes = 0
    /// Sums of the built-in types, indexed by `typeIndex`; module types by name in `moduleSums`.
    @exclusivity(unchecked) private var typeSums = [Sum](repeating: Sum(), count: MemoryReport.typeNames.count)
    @exclusivity(unchecked) private var moduleSums: [String: Sum] = [:]
    /// Sums of databases 0..<`dbSums.count` (grown as seen); larger numbers in `otherDBSums`.
    @exclusivity(unchecked) private var dbSums: [Sum] = []
    @exclusivity(unchecked) private var otherDBSums: [Int: Sum] = [:]
    @exclusivity(unchecked) private var prefixSums = PrefixSums()
    /// Min-heap of the `top` largest keys.
    @exclusivity(unchecked) private var heap: [KeyUsage] = []

    static let typeNames = ["string", "list", "set", "zset", "hash", "stream", "array"]
    /// Databases numbered below this are summed in an array.
    static let arrayDBs = 1024

    /// Sums by type name (`RDBValue.typeName`: module values by module name).
    public var byType: [String: Sum] {
        var out = moduleSums
        for (i, s) in typeSums.enumerated() where s.keys > 0 { out[Self.typeNames[i], default: Sum()].merge(s) }
        return out
    }

    /// Sums by key prefix (with `separator`).
    public var byPrefix: [Bytes: Sum] {
        var out: [Bytes: Sum] = [:]
        out.reserveCapacity(prefixSums.names.count)
        for (i, name) in prefixSums.names.enumerated() { out[name] = prefixSums.sums[i] }
        return out
    }

    public var byDB: [Int: Sum] {
        var out = otherDBSums
        for (db, s) in dbSums.enumerated() where s.keys > 0 { out[db] = s }
        return out
    }

    /// `top`: how many of the largest keys to keep (0: none); `separator`: sum by the key up to and including its
    /// first occurrence (keys without it sum under their whole name); nil: no prefix sums.
    public init(top: Int, separator: Bytes?) {
        self.top = max(0, top)
        self.separator = separator
    }

    /// Adds one key; returns its estimate.
    @discardableResult
    public func add(_ e: RDBEntry) -> KeyUsage {
        let bytes = MemoryEstimator.usage(of: e)
        account(e, bytes: bytes)
        return KeyUsage(db: e.db, key: e.key, type: e.value.typeName, bytes: bytes, ordinal: keys &- 1)
    }

    /// Adds a key read by `RDBReader.next(lendingInto:)`, whose value is lent in `lent`.
    @discardableResult
    public func add(_ e: RDBEntry, lent: RDBValueArena) -> KeyUsage {
        let bytes = account(e, lent: lent)
        return KeyUsage(db: e.db, key: lent.key(of: e), type: e.value.typeName, bytes: bytes, ordinal: keys &- 1)
    }

    /// Like `add(_:lent:)` without building the key's `KeyUsage` (nothing is allocated per key unless it
    /// enters the top N or starts a new prefix); returns the estimate. With `lent.lendsKeys`, the key is read
    /// from `lent.lentKey` in place.
    @discardableResult
    public func account(_ e: RDBEntry, lent: RDBValueArena) -> Int {
        let bytes = MemoryEstimator.usage(of: e, lent: lent)
        if lent.kind != .none && lent.lendsKeys {
            account(e, key: lent.lentKey, bytes: bytes)
        } else {
            e.key.withUnsafeBytes { account(e, key: $0, bytes: bytes) }
        }
        return bytes
    }

    private func account(_ e: RDBEntry, bytes: Int) {
        e.key.withUnsafeBytes { account(e, key: $0, bytes: bytes) }
    }

    private func account(_ e: RDBEntry, key: UnsafeRawBufferPointer, bytes: Int) {
        let ordinal = keys
        keys &+= 1
        totalBytes &+= bytes
        if let t = Self.typeIndex(e.value) {
            typeSums[t].add(bytes)
        } else {
            moduleSums[e.value.typeName, default: Sum()].add(bytes)
        }
        if e.db >= 0 && e.db < Self.arrayDBs {
            if e.db >= dbSums.count { dbSums.append(contentsOf: repeatElement(Sum(), count: e.db + 1 - dbSums.count)) }
            dbSums[e.db].add(bytes)
        } else {
            otherDBSums[e.db, default: Sum()].add(bytes)
        }
        if let separator { prefixSums.add(UnsafeRawBufferPointer(rebasing: key[0..<Self.prefixEnd(key, separator)]), bytes) }
        // A key enters the heap when it is not full, or beats its smallest (ties keep the earlier key: `less`).
        if top > 0 && (heap.count < top || heap[0].bytes < bytes) {
            push(KeyUsage(db: e.db, key: Bytes(key), type: e.value.typeName, bytes: bytes, ordinal: ordinal))
        }
    }

    @inline(__always)
    static func typeIndex(_ v: RDBValue) -> Int? {
        switch v {
        case .string: return 0
        case .list: return 1
        case .set: return 2
        case .sortedSet: return 3
        case .hash: return 4
        case .stream: return 5
        case .array: return 6
        case .module: return nil
        }
    }

    /// The end of `key`'s prefix: just past the first `sep`, or the whole key.
    static func prefixEnd(_ key: Bytes, _ sep: Bytes) -> Int {
        key.withUnsafeBytes { prefixEnd($0, sep) }
    }

    static func prefixEnd(_ key: UnsafeRawBufferPointer, _ sep: Bytes) -> Int {
        let n = sep.count
        guard n > 0, key.count >= n else { return key.count }
        let first = sep[0]
        var i = 0
        while i + n <= key.count {
            if key[i] == first && (n == 1 || UnsafeRawBufferPointer(rebasing: key[i..<(i + n)]).elementsEqual(sep)) { return i + n }
            i += 1
        }
        return key.count
    }

    static func prefix(_ key: Bytes, _ sep: Bytes) -> Bytes {
        let end = prefixEnd(key, sep)
        return end == key.count ? key : Array(key[0..<end])
    }

    /// The largest keys, largest first.
    public var largest: [KeyUsage] {
        heap.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.ordinal < $1.ordinal }
    }

    private static func less(_ a: KeyUsage, _ b: KeyUsage) -> Bool {
        a.bytes != b.bytes ? a.bytes < b.bytes : a.ordinal > b.ordinal
    }

    private func push(_ u: KeyUsage) {
        if heap.count < top {
            heap.append(u)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard Self.less(heap[i], heap[p]) else { break }
                heap.swapAt(i, p)
                i = p
            }
        } else if Self.less(heap[0], u) {
            heap[0] = u
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && Self.less(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.less(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
    }
}

extension MemoryReport.Sum {
    @inline(__always)
    mutating func add(_ bytes: Int) {
        keys &+= 1
        self.bytes &+= bytes
    }

    mutating func merge(_ o: Self) {
        keys += o.keys
        bytes += o.bytes
    }
}

/// Sums by prefix in an open-addressing table looked up by the prefix's bytes in place (the key's own
/// storage): one array is allocated per distinct prefix, none per key.
struct PrefixSums {
    private(set) var names: [Bytes] = []
    private(set) var sums: [MemoryReport.Sum] = []
    private var hashes: [UInt64] = []
    /// Entry index + 1 per slot (0: empty); a power of two, at most half full.
    private var slots = [Int32](repeating: 0, count: 64)

    /// FNV-1a, 64-bit.
    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    mutating func add(_ p: UnsafeRawBufferPointer, _ bytes: Int) {
        let h = Self.hash(p)
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[s])
            if e == 0 { break }
            if hashes[e - 1] == h && names[e - 1].withUnsafeBytes({ $0.elementsEqual(p) }) {
                sums[e - 1].add(bytes)
                return
            }
            s = (s + 1) & mask
        }
        names.append(Bytes(p))
        hashes.append(h)
        sums.append(MemoryReport.Sum(keys: 1, bytes: bytes))
        slots[s] = Int32(names.count)
        if names.count * 2 > slots.count { rehash(slots.count * 2) }
    }

    private mutating func rehash(_ capacity: Int) {
        slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (i, h) in hashes.enumerated() {
            var s = Int(truncatingIfNeeded: h) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(i + 1)
        }
    }
}
