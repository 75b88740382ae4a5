/// Zipmaps (Redis `src/zipmap.c`, RDB type 9, written by Redis < 2.6): the reader's walker. Nothing writes them any more.
extension RDBReader {
    /// Walks a zipmap (`zipmapValidateIntegrity`): `zmlen` (count if < 254), then
    /// `len key len free value [free bytes]` pairs, lengths as 1 byte (< 254) or 254 + 4-byte little-endian,
    /// ending with 0xFF as the very last byte.
    func walkZipmap(_ blob: UnsafeRawBufferPointer, base: Int64,
                    _ body: (PackedElement, PackedElement) throws -> Void) throws {
        let size = blob.count
        guard let p = blob.baseAddress, size >= 2 else {
            throw error(.zipmap, "zipmap of \(size) bytes is too short", at: base)
        }
        let zmlen = Int(p.load(as: UInt8.self))
        var off = 1
        var count = 0
        func readLen() throws -> Int? {
            guard off < size else { throw error(.zipmap, "zipmap runs past its end", at: base + Int64(off)) }
            let b = p.load(fromByteOffset: off, as: UInt8.self)
            if b == 0xff { return nil }
            if b < 254 {
                off += 1
                return Int(b)
            }
            guard off + 5 <= size else { throw error(.zipmap, "zipmap length runs past its end", at: base + Int64(off)) }
            let v = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: UInt32.self)))
            off += 5
            return v
        }
        while true {
            guard let klen = try readLen() else { break }
            guard klen <= size - off else { throw error(.zipmap, "zipmap key runs past its end", at: base + Int64(off)) }
            let key = PackedElement(ptr: UnsafeRawPointer(p + off), len: klen, int: 0)
            off += klen
            guard let vlen = try readLen() else {
                throw error(.zipmap, "zipmap ends after a key without a value", at: base + Int64(off))
            }
            guard off < size else { throw error(.zipmap, "zipmap runs past its end", at: base + Int64(off)) }
            let free = Int(p.load(fromByteOffset: off, as: UInt8.self))
            off += 1
            guard vlen <= size - off, free <= size - off - vlen else {
                throw error(.zipmap, "zipmap value runs past its end", at: base + Int64(off))
            }
            let value = PackedElement(ptr: UnsafeRawPointer(p + off), len: vlen, int: 0)
            off += vlen + free
            count += 1
            try body(key, value)
        }
        guard off == size - 1 else {
            throw error(.zipmap, "zipmap terminator is not the last byte", at: base + Int64(off))
        }
        if zmlen < 254 && zmlen != count {
            throw error(.zipmap, "zipmap header counts \(zmlen) pairs but holds \(count)", at: base)
        }
    }
}
