/// A double's shortest round-trip text, exactly what `Double.description` gives (`1.0`, `0.1`, `1e+300`,
/// `5e-324`, `1.2345678901234568e+17`), without building a `String`: `Double.write(to:)` formats into a buffer on
/// the stack and hands the bytes to `_writeASCII`, which keeps them here. `description` allocates string storage
/// for every text over 15 bytes, which was most of the allocations of a sorted-set dump.
struct ShortestDoubleText: TextOutputStream {
    /// Room for the longest text a double writes (24 bytes: `-2.2250738585072014e-308`).
    private var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private(set) var count = 0

    init(_ d: Double) {
        if d.isNaN {
            write("nan")  // `write(to:)` shows a NaN's sign and payload (`-nan(0x…)`); `description` does not
        } else {
            d.write(to: &self)
        }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        append(UnsafeRawBufferPointer(buffer))
    }

    mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        precondition(count + n <= 32, "a double's text is at most 24 bytes")
        let at = count
        withUnsafeMutableBytes(of: &storage) { s in
            if n > 0 { (s.baseAddress! + at).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        }
        count += n
    }

    /// The text's bytes, valid during `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var s = storage
        return try withUnsafeBytes(of: &s) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}
