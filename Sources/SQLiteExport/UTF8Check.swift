import RDB

/// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
/// the same rule the canonical JSON uses to decide between a string and `{"b64": ...}`.
/// ASCII runs are checked 8 bytes at a time.
@inline(__always)
func isValidUTF8(_ buffer: UnsafeRawBufferPointer) -> Bool {
    guard let base = buffer.baseAddress else { return true }
    let n = buffer.count
    var i = 0
    while i + 8 <= n {
        if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
        i += 8
    }
    return validateUTF8Tail(base, from: i, count: n)
}

private func validateUTF8Tail(_ base: UnsafeRawPointer, from start: Int, count n: Int) -> Bool {
    var i = start
    @inline(__always) func byte(_ j: Int) -> UInt8 { base.load(fromByteOffset: j, as: UInt8.self) }
    @inline(__always) func isCont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
    while i < n {
        let b0 = byte(i)
        if b0 < 0x80 {
            i += 1
        } else if b0 >= 0xC2 && b0 <= 0xDF {
            guard i + 1 < n, isCont(byte(i + 1)) else { return false }
            i += 2
        } else if b0 >= 0xE0 && b0 <= 0xEF {
            guard i + 2 < n else { return false }
            let b1 = byte(i + 1), b2 = byte(i + 2)
            guard isCont(b1), isCont(b2) else { return false }
            if b0 == 0xE0 && b1 < 0xA0 { return false }  // overlong
            if b0 == 0xED && b1 > 0x9F { return false }  // surrogates
            i += 3
        } else if b0 >= 0xF0 && b0 <= 0xF4 {
            guard i + 3 < n else { return false }
            let b1 = byte(i + 1), b2 = byte(i + 2), b3 = byte(i + 3)
            guard isCont(b1), isCont(b2), isCont(b3) else { return false }
            if b0 == 0xF0 && b1 < 0x90 { return false }  // overlong
            if b0 == 0xF4 && b1 > 0x8F { return false }  // > U+10FFFF
            i += 4
        } else {
            return false
        }
    }
    return true
}

func isValidUTF8(_ bytes: Bytes) -> Bool {
    bytes.withUnsafeBytes { isValidUTF8($0) }
}
