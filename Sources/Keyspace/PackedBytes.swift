import RDB

/// A sequence of byte strings packed into one contiguous buffer, each element a LEB128 length followed
/// by its bytes: the same idea as Redis's listpack (`listpack.c`), without the back-lengths. One heap
/// allocation per collection instead of one per element; element access is a forward walk, so the
/// operations are O(n) like a listpack's.
public struct PackedBytes: Sendable, Hashable {
    public private(set) var storage: [UInt8] = []
    public private(set) var count: Int = 0

    public init() {}

    public init<S: Sequence>(_ elements: S) where S.Element == Bytes {
        for e in elements { append(e) }
    }

    public var isEmpty: Bool { count == 0 }

    /// Bytes held, buffer included (for memory accounting).
    public var byteCount: Int { storage.count }

    // MARK: Encoding

    @inline(__always) static func header(_ n: Int) -> [UInt8] {
        var out: [UInt8] = []
        var v = UInt64(n)
        repeat {
            var b = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }

    /// The element starting at byte `at`: (payload start, payload length).
    @inline(__always) func element(at at: Int) -> (start: Int, length: Int) {
        var i = at
        var shift: UInt64 = 0
        var v: UInt64 = 0
        while true {
            let b = storage[i]
            i += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        return (i, Int(v))
    }

    // MARK: Reading

    /// Calls `body` with each element's bytes in order; stop early by returning false.
    public func forEach(_ body: (ArraySlice<UInt8>) throws -> Bool) rethrows {
        var i = 0
        while i < storage.count {
            let (s, n) = element(at: i)
            if try !body(storage[s..<(s + n)]) { return }
            i = s + n
        }
    }

    /// Calls `body` with each element's bytes in order, lent from the storage (valid only during the call).
    public func forEachLent(_ body: (UnsafeRawBufferPointer) -> Void) {
        storage.withUnsafeBytes { buf in
            var i = 0
            while i < buf.count {
                let (s, n) = element(at: i)
                body(UnsafeRawBufferPointer(rebasing: buf[s..<(s + n)]))
                i = s + n
            }
        }
    }

    public var elements: [Bytes] {
        var out: [Bytes] = []
        out.reserveCapacity(count)
        forEach { out.append(Bytes($0)); return true }
        return out
    }

    /// Byte offset of element `index` (0-based), or `storage.count` for `index == count`.
    func offset(ofElement index: Int) -> Int {
        var i = 0
        var k = 0
        while k < index {
            let (s, n) = element(at: i)
            i = s + n
            k += 1
        }
        return i
    }

    public subscript(index: Int) -> Bytes {
        let (s, n) = element(at: offset(ofElement: index))
        return Bytes(storage[s..<(s + n)])
    }

    /// Index of the first element equal to `value`, if any.
    public func firstIndex(of value: Bytes) -> Int? {
        var idx = 0
        var found: Int?
        forEach { e in
            if e.count == value.count && e.elementsEqual(value) { found = idx; return false }
            idx += 1
            return true
        }
        return found
    }

    public func contains(_ value: Bytes) -> Bool { firstIndex(of: value) != nil }

    // MARK: Writing

    public mutating func append(_ value: Bytes) {
        appendHeader(value.count)
        storage.append(contentsOf: value)
        count += 1
    }

    /// Appends bytes lent by the RDB reader (loading: no array per element).
    mutating func append(raw value: UnsafeRawBufferPointer) {
        appendHeader(value.count)
        storage.append(contentsOf: value.bindMemory(to: UInt8.self))
        count += 1
    }

    /// Room for `bytes` more bytes of encoded elements (a collection loaded at once holds no growth slack).
    mutating func reserveCapacity(bytes: Int) { storage.reserveCapacity(storage.count + bytes) }

    /// The bytes an element of `n` bytes takes, header included.
    static func encodedSize(_ n: Int) -> Int {
        n + (n < 0x80 ? 1 : (n < 0x4000 ? 2 : (n.bitWidth - n.leadingZeroBitCount + 6) / 7))
    }

    @inline(__always) private mutating func appendHeader(_ n: Int) {
        var v = UInt64(n)
        repeat {
            var b = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { b |= 0x80 }
            storage.append(b)
        } while v != 0
    }

    /// Appends already-encoded elements.
    mutating func appendRaw(_ encoded: [UInt8], count n: Int) {
        storage.append(contentsOf: encoded)
        count += n
    }

    public mutating func insert(_ value: Bytes, at index: Int) {
        let at = offset(ofElement: index)
        storage.insert(contentsOf: PackedBytes.header(value.count) + value, at: at)
        count += 1
    }

    public mutating func remove(at index: Int) {
        let at = offset(ofElement: index)
        let (s, n) = element(at: at)
        storage.removeSubrange(at..<(s + n))
        count -= 1
    }

    public mutating func replace(at index: Int, with value: Bytes) {
        let at = offset(ofElement: index)
        let (s, n) = element(at: at)
        storage.replaceSubrange(at..<(s + n), with: PackedBytes.header(value.count) + value)
    }

    /// Removes the elements at `range` (element indices).
    public mutating func removeSubrange(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let a = offset(ofElement: range.lowerBound)
        var b = a
        for _ in range {
            let (s, n) = element(at: b)
            b = s + n
        }
        storage.removeSubrange(a..<b)
        count -= range.count
    }
}
