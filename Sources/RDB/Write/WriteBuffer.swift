/// A growable byte buffer for the writer's hot paths: the RDB output staged before it goes to
/// the sink, and the scratch space where listpack / ziplist / intset blobs are assembled.
///
/// Unsafe-pointer based so that appending a byte is a bounds-free store; all growth goes
/// through `reserve(_:)`.
final class WriteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(16, capacity)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity = newCapacity * 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    /// Drops the contents; shrinks back when a huge value made the buffer balloon.
    func reset(keepingAtMost limit: Int = 1 << 26) {
        count = 0
        if capacity > limit {
            base.deallocate()
            capacity = limit
            base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    @inline(__always) func put(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inline(__always) func put(_ p: UnsafeRawBufferPointer) {
        let n = p.count
        guard n > 0, let src = p.baseAddress else { return }
        reserve(n)
        UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: n)
        count += n
    }

    @inline(__always) func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { put($0) }
    }

    func put(ascii s: String) {
        var s = s
        s.withUTF8 { put(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always) func putLE<T: FixedWidthInteger>(_ v: T) {
        let n = MemoryLayout<T>.size
        reserve(n)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.littleEndian, as: T.self)
        count += n
    }

    @inline(__always) func putBE<T: FixedWidthInteger>(_ v: T) {
        let n = MemoryLayout<T>.size
        reserve(n)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.bigEndian, as: T.self)
        count += n
    }

    func patchLE32(at offset: Int, _ v: UInt32) {
        UnsafeMutableRawPointer(base + offset).storeBytes(of: v.littleEndian, as: UInt32.self)
    }

    func patchLE16(at offset: Int, _ v: UInt16) {
        UnsafeMutableRawPointer(base + offset).storeBytes(of: v.littleEndian, as: UInt16.self)
    }

    /// RDB length encoding (`rdbSaveLen`): 6-bit, 14-bit big-endian, 0x80 + 32-bit BE, 0x81 + 64-bit BE.
    @inline(__always) func putLength(_ len: UInt64) {
        if len < 1 << 6 {
            put(UInt8(len))
        } else if len < 1 << 14 {
            reserve(2)
            base[count] = UInt8(len >> 8) | 0x40
            base[count + 1] = UInt8(len & 0xff)
            count += 2
        } else if len <= UInt64(UInt32.max) {
            put(RDBLengthPrefix.bits32)
            putBE(UInt32(len))
        } else {
            put(RDBLengthPrefix.bits64)
            putBE(len)
        }
    }

    @inline(__always) func putLength(_ len: Int) { putLength(UInt64(len)) }
}

/// Redis `string2ll` semantics: the bytes are the canonical decimal text of an `Int64`
/// (optional `-`, no leading zeros, no `+`, no spaces, not `-0`, at most 20 bytes).
/// Such strings round-trip through `ll2string`, so Redis stores them as integers.
@inline(__always)
func canonicalInt64(_ p: UnsafeRawBufferPointer) -> Int64? {
    let n = p.count
    guard n > 0, n <= 20, let base = p.baseAddress else { return nil }
    let s = base.assumingMemoryBound(to: UInt8.self)
    if n == 1 && s[0] == UInt8(ascii: "0") { return 0 }
    var i = 0
    var negative = false
    if s[0] == UInt8(ascii: "-") {
        negative = true
        i = 1
        if n == 1 { return nil }
    }
    guard s[i] >= UInt8(ascii: "1") && s[i] <= UInt8(ascii: "9") else { return nil }
    var v: UInt64 = 0
    while i < n {
        let c = s[i]
        guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
        if o1 || o2 { return nil }
        v = a
        i += 1
    }
    if negative {
        if v > UInt64(Int64.max) + 1 { return nil }
        return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
    }
    if v > UInt64(Int64.max) { return nil }
    return Int64(v)
}

func canonicalInt64(_ bytes: [UInt8]) -> Int64? {
    bytes.withUnsafeBytes { canonicalInt64($0) }
}
