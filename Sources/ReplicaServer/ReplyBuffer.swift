import Foundation
import NIOCore

/// A connection's encoded replies, gathered in one raw buffer until they are sent (as Redis gathers them in
/// the client's 16 KiB reply buffer, networking.c `_addReplyToBuffer`).
///
/// Encoding writes bytes through a pointer: writing a reply byte by byte into a NIO `ByteBuffer` costs an
/// exclusivity check and a uniqueness check per byte, which was most of LRANGE's CPU time. The owner
/// (`ClientHandler`) frees the memory with `deallocate()`.
struct ReplyBuffer: ReplyOutput {
    private(set) var base: UnsafeMutablePointer<UInt8>?
    private(set) var count = 0
    private(set) var capacity = 0

    /// What a buffer starts with, and keeps between batches (a larger one is freed once sent).
    static let keptCapacity = 16 << 10

    var isEmpty: Bool { count == 0 }

    @inline(__always) mutating func reserve(_ n: Int) {
        if capacity - count < n { grow(n) }
    }

    @inline(never) private mutating func grow(_ n: Int) {
        let newCapacity = max(Self.keptCapacity, capacity * 2, count + n)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        if let base {
            p.update(from: base, count: count)
            base.deallocate()
        }
        base = p
        capacity = newCapacity
    }

    @inline(__always) mutating func put(_ byte: UInt8) {
        reserve(1)
        base.unsafelyUnwrapped[count] = byte
        count += 1
    }

    @inline(__always) mutating func put<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { put(raw: UnsafeRawBufferPointer($0)) }
        if done == nil {
            reserve(bytes.count)
            for b in bytes {
                base.unsafelyUnwrapped[count] = b
                count += 1
            }
        }
    }

    @inline(__always) mutating func put(raw: UnsafeRawBufferPointer) {
        guard let src = raw.baseAddress, raw.count > 0 else { return }
        reserve(raw.count)
        UnsafeMutableRawPointer(base.unsafelyUnwrapped + count).copyMemory(from: src, byteCount: raw.count)
        count += raw.count
    }

    /// `<type><decimal>\r\n` (a RESP header or integer reply) in one reservation.
    @inline(__always) mutating func putHeader(_ type: UInt8, _ n: Int64) {
        reserve(24)
        let p = base.unsafelyUnwrapped + count
        p[0] = type
        var i = 1
        var v = n.magnitude
        if n < 0 {
            p[1] = UInt8(ascii: "-")
            i = 2
        }
        if v < 10 {
            p[i] = UInt8(truncatingIfNeeded: v) + 48
            i += 1
        } else {
            var digits = 0
            var w = v
            while w > 0 {
                digits += 1
                w /= 10
            }
            var j = i + digits - 1
            while v > 0 {
                p[j] = UInt8(truncatingIfNeeded: v % 10) + 48
                v /= 10
                j -= 1
            }
            i += digits
        }
        p[i] = 13
        p[i + 1] = 10
        count += i + 2
    }

    /// The bytes gathered, copied into a NIO buffer for the channel; the buffer is emptied (and shrunk back
    /// when one large reply grew it, so an idle connection keeps at most `keptCapacity`).
    mutating func take(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: count)
        if let base { out.writeBytes(UnsafeRawBufferPointer(start: base, count: count)) }
        count = 0
        if capacity > Self.keptCapacity * 4 { deallocate() }
        return out
    }

    /// Frees the memory (the buffer can be used again afterwards: it allocates on the next write).
    mutating func deallocate() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }
}
