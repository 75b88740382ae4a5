import RDB
import RedisValueOps

/// Bits (`bitops.c`: SETBIT, BITFIELD, BITOP) and geo stores (`geo.c`: GEOSEARCHSTORE, GEORADIUS …
/// STORE|STOREDIST, GEORADIUSBYMEMBER … STORE) through RedisValueOps, and RESTORE / FUNCTION RESTORE with
/// DUMP payloads (an RDB value or FUNCTION2 records, then the RDB version and a CRC-64).
extension ApplyContext {
    static func registerValueOps(_ h: inout [String: Handler]) {
        h["SETBIT"] = { c, a in
            guard a.count == 4 else { throw ApplyError.arity("setbit") }
            let op: BitOps.SetBit
            switch BitOps.parseSetBit(offset: a[2], bit: a[3]) {
            case .success(let o): op = o
            case .failure(let e): throw ApplyError("\(e)")
            }
            let old = try c.string(a[1])
            let r = BitOps.setBit(old, op)
            if old == nil || r.value != old! { c.put(a[1], .string(r.value), keepTTL: true) }
        }
        h["BITFIELD"] = { c, a in
            guard a.count >= 2 else { throw ApplyError.arity("bitfield") }
            let ops: [BitField.Operation]
            switch BitField.parse(Array(a[2...])) {
            case .success(let o): ops = o
            case .failure(let e): throw ApplyError("\(e)")
            }
            let old = try c.string(a[1])
            let r = BitField.apply(old, ops)
            if let v = r.value, v != old { c.put(a[1], .string(v), keepTTL: true) }
        }
        h["BITOP"] = { c, a in
            guard a.count >= 4 else { throw ApplyError.arity("bitop") }
            let op: BitOperation
            switch BitOps.parseBitOp(operation: a[1], sourceCount: a.count - 3) {
            case .success(let o): op = o
            case .failure(let e): throw ApplyError("\(e)")
            }
            let sources = try a[3...].map { try c.string($0) }
            c.store(a[2], BitOps.bitOp(op, sources: sources).map { Value.string($0) })
        }
        let geo: Handler = { c, a in
            guard a.count >= 2 else { throw ApplyError.arity("geo") }
            let isSearchStore = Arg.upper(a[0]) == "GEOSEARCHSTORE"
            guard a.count >= (isSearchStore ? 3 : 2) else { throw ApplyError.syntax }
            let source = try c.zset(isSearchStore ? a[2] : a[1])
            let outcome: GeoSearch.Outcome
            switch GeoSearch.run(a, source: source.map { GeoMemberList($0.sorted) }) {
            case .success(let o): outcome = o
            case .failure(let e): throw ApplyError(e.message)
            }
            guard let dest = outcome.storeKey else { return }
            let stored = outcome.stored
            c.store(dest, stored.isEmpty ? nil : .zset(ZSetValue.built(stored, keepNegativeZero: c.ks.zsetKeepsNegativeZero)))
        }
        h["GEOSEARCHSTORE"] = geo
        h["GEORADIUS"] = geo
        h["GEORADIUSBYMEMBER"] = geo
        h["RESTORE"] = { try $0.restore($1) }
    }

    /// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]` (`cluster.c` `restoreCommand`).
    mutating func restore(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("restore") }
        var replace = false, absTTL = false
        var idle: UInt64?, freq: UInt8?
        var i = 4
        while i < a.count {
            switch Arg.upper(a[i]) {
            case "REPLACE": replace = true
            case "ABSTTL": absTTL = true
            case "IDLETIME" where i + 1 < a.count && idle == nil && freq == nil:
                let v = try Arg.int(a[i + 1])
                guard v >= 0 else { throw ApplyError("Invalid IDLETIME value, must be >= 0") }
                idle = UInt64(v)
                i += 1
            case "FREQ" where i + 1 < a.count && idle == nil && freq == nil:
                let v = try Arg.int(a[i + 1])
                guard v >= 0 && v <= 255 else { throw ApplyError("Invalid FREQ value, must be >= 0 and <= 255") }
                freq = UInt8(v)
                i += 1
            default: throw ApplyError.syntax
            }
            i += 1
        }
        let ttl = try Arg.int(a[2])
        guard ttl >= 0 else { throw ApplyError("Invalid TTL value, must be >= 0") }
        if exists(a[1]) && !replace { throw ApplyError("BUSYKEY Target key name already exists.") }
        let decoded: DumpPayload.Decoded
        do {
            decoded = try DumpPayload.decode(a[3], key: a[1])
        } catch {
            throw ApplyError("DUMP payload version or checksum are wrong: \(error)")
        }
        var at: Int64? = nil
        if ttl > 0 {
            if absTTL { at = ttl } else {
                let (s, o) = ttl.addingReportingOverflow(nowMs)
                guard !o else { throw ApplyError("invalid expire time") }
                at = s
            }
        }
        ks[db, a[1]] = KeyEntry(value: Value(loading: decoded.value), expireAtMs: at, lruIdleSeconds: idle, lfuFreq: freq)
    }

    /// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`: the payload is FUNCTION2 records, then the
    /// 2-byte RDB version and the CRC-64 (`functionDumpCommand`), read here through the RDB reader.
    mutating func functionRestore(_ a: [Bytes]) throws {
        guard a.count == 3 || a.count == 4 else { throw ApplyError.arity("function restore") }
        let policy = a.count == 4 ? Arg.upper(a[3]) : "APPEND"
        guard ["FLUSH", "APPEND", "REPLACE"].contains(policy) else { throw ApplyError.syntax }
        let payload = a[2]
        guard payload.count >= 10 else { throw ApplyError("payload version or checksum are wrong") }
        let body = payload.dropLast(10)
        let version = Int(payload[payload.count - 10]) | Int(payload[payload.count - 9]) << 8
        var crc: UInt64 = 0
        for k in 0..<8 { crc |= UInt64(payload[payload.count - 8 + k]) << (8 * UInt64(k)) }
        guard version >= 10, version <= 99, CRC64.checksum(Array(payload.dropLast(8))) == crc else {
            throw ApplyError("payload version or checksum are wrong")
        }
        // A file of just these records, with the checksum disabled (0).
        let file = Array("REDIS0010".utf8) + body + [0xFF] + [UInt8](repeating: 0, count: 8)
        var libraries: [Bytes] = []
        do {
            let reader = RDBReader(source: MemoryByteSource(bytes: file))
            while let r = try reader.next() {
                switch r {
                case .function(let code): libraries.append(code)
                case .header, .eof: break
                default: throw ApplyError("given payload is not a function dump")
                }
            }
        } catch let e as ApplyError {
            throw e
        } catch {
            throw ApplyError("bad function payload: \(error)")
        }
        var functions = policy == "FLUSH" ? [] : ks.functions
        for code in libraries {
            guard let name = Keyspace.libraryName(code) else { throw ApplyError("missing library metadata") }
            if let i = functions.firstIndex(where: { Keyspace.libraryName($0) == name }) {
                guard policy == "REPLACE" else { throw ApplyError("Library \(String(decoding: name, as: UTF8.self)) already exists") }
                functions[i] = code
            } else {
                functions.append(code)
            }
        }
        ks.functions = functions
    }
}
