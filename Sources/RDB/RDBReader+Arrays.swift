/// Redis 8.10 arrays (RDB type 28; `rdb.c` `rdbLoadObject`, `RDB_TYPE_ARRAY` branch, and `rdbSaveObject`):
///
///     [count]  [insert_idx flag: 0 none, 1 present] [insert_idx]?
///     count x  [index] [tag] [value]
///
/// An index is a plain length (never an `11`-prefixed encoding, never 2^64-1). The tag (`RDBArrayTag`) says
/// how the value follows: an RDB string, an 8-byte little-endian integer, an 8-byte binary double (shown as
/// `arFormatFloat` prints it), or an RDB string of at most 7 bytes. Redis refuses a count of 0, a flag other
/// than 0 or 1, a bad index or tag, and a small string over 7 bytes; so does this reader. Redis saves
/// elements in index order; another order loads (a repeated index keeps its last value), and so it does here.
extension RDBReader {
    func readArray() throws -> ArrayValue {
        let countAt = bytesConsumed
        let count = try readCount("array element count")
        guard count > 0 else { throw error(.corrupt, "empty array (count 0) is invalid", at: countAt) }
        valueCount = count
        let flagAt = bytesConsumed
        let flag = try readLength()
        var insertIndex: UInt64?
        switch flag {
        case 0: insertIndex = nil
        case 1:
            let at = bytesConsumed
            let i = try readLength()
            // Redis reads 2^64-1 as its length error (RDB_LENERR), and that value means "none" in memory.
            guard i != UInt64.max else { throw error(.corrupt, "array insert index 2^64-1", at: at) }
            insertIndex = i
        default: throw error(.corrupt, "array insert index flag \(flag) (expected 0 or 1)", at: flagAt)
        }
        let keep = options.decodeValues || lendArena != nil
        var elements: [ArrayElement] = []
        if keep { elements.reserveCapacity(min(count, Self.reserveCap)) }
        var ordered = true
        for _ in 0..<count {
            let at = bytesConsumed
            let (index, encoded) = try readLengthOrEncoding()
            guard !encoded, index != UInt64.max else {
                throw error(.corrupt, "invalid array index \(encoded ? "(an encoded length)" : String(index))", at: at)
            }
            let tagAt = bytesConsumed
            let tag = try readLength()
            var value: Bytes = []
            switch RDBArrayTag(rawValue: tag) {
            case .int?:
                let v = try readInt64LE()
                if keep { value = readerDecimalBytes(v) }
            case .float?:
                let d = Double(bitPattern: UInt64(bitPattern: try readInt64LE()))
                if keep { value = RedisDoubleText.arrayFloat(d) }
            case .smallString?:
                let s = try readString()
                guard s.count <= 7 else {
                    throw error(.corrupt, "array small string of \(s.count) bytes (at most 7)", at: tagAt)
                }
                value = s
            case .string?:
                if keep { value = try readString() } else { try skipString() }
            case nil:
                throw error(.corrupt, "unknown array element tag \(tag)", at: tagAt)
            }
            if keep {
                if let last = elements.last, last.index >= index { ordered = false }
                elements.append(ArrayElement(index: index, value: value))
            }
        }
        if !ordered {
            elements = Self.sortedKeepingLast(elements)
            valueCount = elements.count
        }
        return ArrayValue(elements: elements, insertIndex: insertIndex)
    }

    /// Elements by index, a repeated index keeping its last value (`arSet` overwrites).
    static func sortedKeepingLast(_ elements: [ArrayElement]) -> [ArrayElement] {
        let order = elements.indices.sorted { (elements[$0].index, $0) < (elements[$1].index, $1) }
        var out: [ArrayElement] = []
        out.reserveCapacity(elements.count)
        for i in order {
            if let last = out.last, last.index == elements[i].index { out[out.count - 1] = elements[i] } else { out.append(elements[i]) }
        }
        return out
    }
}
