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
    public private(set) var keys = 0
    public private(set) var totalBytes = 0
    public private(set) var byType: [String: Sum] = [:]
    public private(set) var byDB: [Int: Sum] = [:]
    public private(set) var byPrefix: [Bytes: Sum] = [:]
    /// Min-heap of the `top` largest keys.
    private var heap: [KeyUsage] = []

    /// `top`: how many of the largest keys to keep (0: none); `separator`: sum by the key up to and including its
    /// first occurrence (keys without it sum under their whole name); nil: no prefix sums.
    public init(top: Int, separator: Bytes?) {
        self.top = max(0, top)
        self.separator = separator
    }

    /// Adds one key; returns its estimate.
    @discardableResult
    public func add(_ e: RDBEntry) -> KeyUsage { add(e, bytes: MemoryEstimator.usage(of: e)) }

    /// Adds a key read by `RDBReader.next(lendingInto:)`, whose value is lent in `lent`.
    @discardableResult
    public func add(_ e: RDBEntry, lent: RDBValueArena) -> KeyUsage { add(e, bytes: MemoryEstimator.usage(of: e, lent: lent)) }

    private func add(_ e: RDBEntry, bytes: Int) -> KeyUsage {
        let usage = KeyUsage(db: e.db, key: e.key, type: e.value.typeName, bytes: bytes, ordinal: keys)
        keys += 1
        totalBytes += usage.bytes
        byType[usage.type, default: Sum()].add(usage.bytes)
        byDB[e.db, default: Sum()].add(usage.bytes)
        if let separator { byPrefix[Self.prefix(e.key, separator), default: Sum()].add(usage.bytes) }
        if top > 0 { push(usage) }
        return usage
    }

    static func prefix(_ key: Bytes, _ sep: Bytes) -> Bytes {
        guard !sep.isEmpty, key.count >= sep.count else { return key }
        var i = 0
        while i + sep.count <= key.count {
            if key[i] == sep[0] && key[i..<(i + sep.count)].elementsEqual(sep) { return Array(key[0..<(i + sep.count)]) }
            i += 1
        }
        return key
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
    mutating func add(_ bytes: Int) {
        keys += 1
        self.bytes += bytes
    }
}
