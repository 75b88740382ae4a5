import RDB

/// A Redis 8.10 array as the keyspace holds it (`t_array.c`, `sparsearray.c`): elements by index in a hash
/// table (setting, deleting and reading one index are O(1), as in Redis's slices), and the insert cursor.
/// Values are kept as the server replies them: Redis's inline encodings (integers, floats, short strings)
/// always decode to the bytes that were written (`arEncode` keeps one only when it round-trips).
public struct ArrayData: Sendable {
    public private(set) var elements: [UInt64: Bytes] = [:]
    /// `insert_idx`: the last index ARINSERT or ARRING wrote; nil is `AR_INSERT_IDX_NONE`.
    public var insertIndex: UInt64?
    /// The largest index when known; nil after the largest was deleted, until `length` asks again.
    private var knownMax: UInt64?

    public init() {}

    public init(loading a: ArrayValue) {
        elements.reserveCapacity(a.elements.count)
        for el in a.elements { elements[el.index] = el.value }
        insertIndex = a.insertIndex
        knownMax = a.elements.last?.index
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }

    /// `arLen`: the largest index plus one (0 when empty).
    public mutating func length() -> UInt64 {
        if elements.isEmpty { return 0 }
        if knownMax == nil { knownMax = elements.keys.max() }
        return knownMax! &+ 1
    }

    /// The same, without caching (for readers of a shared copy).
    public var currentLength: UInt64 {
        if elements.isEmpty { return 0 }
        return (knownMax ?? elements.keys.max()!) &+ 1
    }

    public subscript(_ i: UInt64) -> Bytes? { elements[i] }

    /// `arSet`: true when the slot was empty.
    @discardableResult
    public mutating func set(_ i: UInt64, _ v: Bytes) -> Bool {
        let added = elements.updateValue(v, forKey: i) == nil
        if let m = knownMax { if i > m { knownMax = i } } else if elements.count == 1 { knownMax = i }
        return added
    }

    /// `arDel`: true when the slot held a value.
    @discardableResult
    public mutating func remove(_ i: UInt64) -> Bool {
        guard elements.removeValue(forKey: i) != nil else { return false }
        if knownMax == i { knownMax = nil }
        return true
    }

    /// `arDeleteRange(lo, hi)`, inclusive: the number removed. Walks the range or the elements, whichever is
    /// smaller.
    public mutating func removeRange(_ lo: UInt64, _ hi: UInt64) -> UInt64 {
        var removed: UInt64 = 0
        if hi - lo < UInt64(elements.count) {
            var i = lo
            while true {
                if remove(i) { removed += 1 }
                if i == hi { break }
                i += 1
            }
        } else {
            for k in elements.keys where k >= lo && k <= hi {
                elements.removeValue(forKey: k)
                removed += 1
            }
            if let m = knownMax, m >= lo && m <= hi { knownMax = nil }
        }
        return removed
    }

    /// Elements by ascending index.
    public var sorted: [ArrayElement] {
        elements.map { ArrayElement(index: $0.key, value: $0.value) }.sorted { $0.index < $1.index }
    }

    public var rdbValue: ArrayValue { ArrayValue(elements: sorted, insertIndex: insertIndex) }
}

extension ArrayData: Equatable {
    public static func == (a: ArrayData, b: ArrayData) -> Bool {
        a.insertIndex == b.insertIndex && a.elements == b.elements
    }
}
