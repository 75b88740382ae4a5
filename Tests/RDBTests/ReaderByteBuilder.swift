@testable import RDB

/// Builds RDB bytes by hand for the reader tests (an independent encoder: it does not use the writer).
struct RDBBuilder {
    var bytes: [UInt8] = []
    var version: Int

    init(version: Int = 11, valkey: Bool = false) {
        self.version = version
        if valkey {
            let v = String(version)
            bytes = Array(("VALKEY" + String(repeating: "0", count: 3 - v.count) + v).utf8)
        } else {
            let v = String(version)
            bytes = Array(("REDIS" + String(repeating: "0", count: 4 - v.count) + v).utf8)
        }
    }

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func raw(_ b: [UInt8]) { bytes += b }

    /// Minimal length encoding.
    mutating func len(_ v: UInt64) {
        if v < 64 { bytes.append(UInt8(v)) }
        else if v < 16384 { bytes += [0x40 | UInt8(v >> 8), UInt8(v & 0xff)] }
        else if v <= UInt64(UInt32.max) { len32(v) }
        else { len64(v) }
    }
    mutating func len32(_ v: UInt64) { bytes.append(0x80); bytes += be(UInt64(v), 4) }
    mutating func len64(_ v: UInt64) { bytes.append(0x81); bytes += be(v, 8) }

    mutating func str(_ s: [UInt8]) { len(UInt64(s.count)); bytes += s }
    mutating func str(_ s: String) { str(Array(s.utf8)) }
    mutating func int8Str(_ v: Int8) { bytes += [0xc0, UInt8(bitPattern: v)] }
    mutating func int16Str(_ v: Int16) { bytes.append(0xc1); bytes += le(UInt64(UInt16(bitPattern: v)), 2) }
    mutating func int32Str(_ v: Int32) { bytes.append(0xc2); bytes += le(UInt64(UInt32(bitPattern: v)), 4) }
    mutating func lzfStr(compressed: [UInt8], length: Int) {
        bytes.append(0xc3)
        len(UInt64(compressed.count))
        len(UInt64(length))
        bytes += compressed
    }
    mutating func u32le(_ v: UInt32) { bytes += le(UInt64(v), 4) }
    mutating func i64le(_ v: Int64) { bytes += le(UInt64(bitPattern: v), 8) }

    mutating func aux(_ k: String, _ v: String) { byte(250); str(k); str(v) }
    mutating func selectDB(_ n: UInt64) { byte(254); len(n) }
    mutating func key(_ type: UInt8, _ k: String) { byte(type); str(k) }

    /// Appends EOF and (for version >= 5) the CRC-64 trailer.
    func finished(checksum: Bool = true) -> [UInt8] {
        var b = bytes
        b.append(255)
        if version >= 5 {
            let c = checksum ? CRC64.checksum(b) : 0
            b += le(c, 8)
        }
        return b
    }
}

func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * UInt64($0))) & 0xff) } }
func be(_ v: UInt64, _ n: Int) -> [UInt8] { le(v, n).reversed() }

enum PackItem {
    case s([UInt8])
    case i(Int64)
    static func str(_ s: String) -> PackItem { .s(Array(s.utf8)) }
}

/// A listpack, as listpack.c encodes it.
func makeListpack(_ items: [PackItem], headerCount: Int? = nil) -> [UInt8] {
    var body: [UInt8] = []
    for it in items {
        var e: [UInt8] = []
        switch it {
        case .i(let v):
            if v >= 0 && v <= 127 { e = [UInt8(v)] }
            else if v >= -4096 && v <= 4095 {
                let u = UInt16(bitPattern: Int16(v)) & 0x1fff
                e = [0xc0 | UInt8(u >> 8), UInt8(u & 0xff)]
            } else if v >= Int64(Int16.min) && v <= Int64(Int16.max) { e = [0xf1] + le(UInt64(bitPattern: v), 2) }
            else if v >= -(1 << 23) && v < (1 << 23) { e = [0xf2] + le(UInt64(bitPattern: v), 3) }
            else if v >= Int64(Int32.min) && v <= Int64(Int32.max) { e = [0xf3] + le(UInt64(bitPattern: v), 4) }
            else { e = [0xf4] + le(UInt64(bitPattern: v), 8) }
        case .s(let s):
            if s.count < 64 { e = [0x80 | UInt8(s.count)] + s }
            else if s.count < 4096 { e = [0xe0 | UInt8(s.count >> 8), UInt8(s.count & 0xff)] + s }
            else { e = [0xf0] + le(UInt64(s.count), 4) + s }
        }
        let l = e.count
        let blen = l < 128 ? 1 : l < 16384 ? 2 : l < 2_097_152 ? 3 : l < 268_435_456 ? 4 : 5
        var back: [UInt8] = []
        for i in 0..<blen {
            var b = UInt8((l >> (7 * (blen - 1 - i))) & 0x7f)
            if i > 0 { b |= 0x80 }
            back.append(b)
        }
        body += e + back
    }
    let total = 6 + body.count + 1
    return le(UInt64(total), 4) + le(UInt64(headerCount ?? min(items.count, 65535)), 2) + body + [0xff]
}

/// A ziplist, as ziplist.c encodes it.
func makeZiplist(_ items: [PackItem], headerCount: Int? = nil) -> [UInt8] {
    var body: [UInt8] = []
    var prev = 0
    var lastOffset = 10
    for it in items {
        var e: [UInt8] = prev < 254 ? [UInt8(prev)] : [0xfe] + le(UInt64(prev), 4)
        switch it {
        case .s(let s):
            if s.count <= 63 { e += [UInt8(s.count)] }
            else if s.count <= 16383 { e += [0x40 | UInt8(s.count >> 8), UInt8(s.count & 0xff)] }
            else { e += [0x80] + be(UInt64(s.count), 4) }
            e += s
        case .i(let v):
            if v >= 0 && v <= 12 { e += [0xf1 + UInt8(v)] }
            else if v >= -128 && v <= 127 { e += [0xfe, UInt8(bitPattern: Int8(v))] }
            else if v >= Int64(Int16.min) && v <= Int64(Int16.max) { e += [0xc0] + le(UInt64(bitPattern: v), 2) }
            else if v >= -(1 << 23) && v < (1 << 23) { e += [0xf0] + le(UInt64(bitPattern: v), 3) }
            else if v >= Int64(Int32.min) && v <= Int64(Int32.max) { e += [0xd0] + le(UInt64(bitPattern: v), 4) }
            else { e += [0xe0] + le(UInt64(bitPattern: v), 8) }
        }
        lastOffset = 10 + body.count
        body += e
        prev = e.count
    }
    let total = 10 + body.count + 1
    return le(UInt64(total), 4) + le(UInt64(lastOffset), 4) + le(UInt64(headerCount ?? min(items.count, 65535)), 2)
        + body + [0xff]
}

func makeIntset(_ values: [Int64], width: Int) -> [UInt8] {
    var b = le(UInt64(width), 4) + le(UInt64(values.count), 4)
    for v in values { b += le(UInt64(bitPattern: v), width) }
    return b
}

func readRecords(_ bytes: [UInt8], options: RDBReaderOptions = .init()) throws -> [RDBRecord] {
    try ReaderTestSupport.readAll(bytes, options: options, name: "test.rdb")
}

func entries(_ records: [RDBRecord]) -> [RDBEntry] {
    records.compactMap { if case .entry(let e) = $0 { return e } else { return nil } }
}

func readEntries(_ bytes: [UInt8], options: RDBReaderOptions = .init()) throws -> [RDBEntry] {
    entries(try readRecords(bytes, options: options))
}

func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The RDBError thrown by reading `bytes`, or nil.
func readError(_ bytes: [UInt8], options: RDBReaderOptions = .init()) -> RDBError? {
    do {
        _ = try readRecords(bytes, options: options)
        return nil
    } catch let e as RDBError {
        return e
    } catch {
        return RDBError(.io, at: -1, "unexpected error type \(error)")
    }
}
