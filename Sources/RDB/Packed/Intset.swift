/// Intsets (Redis `src/intset.c`): the reader's validator and the writer's builder, side by side.
extension RDBReader {
    /// Validates an intset (`intsetValidateIntegrity(deep)`): encoding 2/4/8, size = 8 + len * encoding,
    /// values strictly ascending. Calls `body` with each value.
    func walkIntset(_ blob: UnsafeRawBufferPointer, base: Int64, _ body: (Int64) throws -> Void) throws {
        guard let p = blob.baseAddress, blob.count >= 8 else {
            throw error(.intset, "intset of \(blob.count) bytes is shorter than its 8-byte header", at: base)
        }
        let enc = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let len = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard enc == 2 || enc == 4 || enc == 8 else {
            throw error(.intset, "intset has invalid encoding \(enc) (expected 2, 4 or 8)", at: base)
        }
        guard len * enc == blob.count - 8 else {
            throw error(.intset, "intset of \(len) x \(enc)-byte values does not fill its \(blob.count)-byte blob", at: base + 4)
        }
        var prev = Int64.min
        for i in 0..<len {
            let o = 8 + i * enc
            let v: Int64
            switch enc {
            case 2: v = Int64(Int16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: Int16.self)))
            case 4: v = Int64(Int32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: Int32.self)))
            default: v = Int64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: Int64.self))
            }
            if i > 0 && v <= prev {
                throw error(.intset, "intset values are not strictly ascending (\(v) after \(prev))", at: base + Int64(o))
            }
            prev = v
            try body(v)
        }
    }
}

/// Builds an intset (Redis `src/intset.c`): `<encoding u32 LE: 2|4|8> <length u32 LE> <values LE>`,
/// values sorted ascending and unique, all in the smallest width that holds every value.
enum IntsetBuilder {
    static func build(_ values: [Int64], into buffer: WriteBuffer) {
        let sorted = values.sorted()
        var unique: [Int64] = []
        unique.reserveCapacity(sorted.count)
        for v in sorted where unique.last != v { unique.append(v) }
        var width = 2
        if let lo = unique.first, let hi = unique.last {
            if lo < Int64(Int32.min) || hi > Int64(Int32.max) { width = 8 }
            else if lo < Int64(Int16.min) || hi > Int64(Int16.max) { width = 4 }
        }
        buffer.reset()
        buffer.putLE(UInt32(width))
        buffer.putLE(UInt32(unique.count))
        for v in unique {
            switch width {
            case 2: buffer.putLE(Int16(v))
            case 4: buffer.putLE(Int32(v))
            default: buffer.putLE(v)
            }
        }
    }
}
