/// The `DUMP` / `RESTORE` payload format (Redis `src/cluster.c`, `createDumpPayload` / `verifyDumpPayload`):
///
///     [type byte][value, serialized as in an RDB file, without the key][RDB version: 2 bytes LE][CRC-64: 8 bytes LE]
///
/// The CRC-64 (Jones, as in RDB files) covers every byte before it, the version included. A server refuses a
/// payload whose version is newer than its own `RDB_VERSION` (Redis 6.2: 9, 7.0: 10, 7.2: 11, 7.4+/8.x: 12)
/// or whose checksum does not match. Valkey 9 writes its own RDB version there (80), and its type bytes 22
/// and 23 then mean what they mean under the `VALKEY` magic (HASH_2 with field expiries): a payload whose
/// version is in Valkey's range is read as Valkey's.
///
/// The encoder and the decoder sit side by side: `rdb dump --format restore` writes payloads, and a replica
/// applying `RESTORE` from the replication stream reads them.
public enum DumpPayload {
    /// Bytes after the value: the 2-byte version and the 8-byte CRC-64.
    public static let footerSize = 10

    /// Serializes `value` for `RESTORE` on a server reading RDB `rdbVersion` (7...12), with Redis's default
    /// encodings for that version. What the version cannot hold (streams below 9, hash field TTLs below 12
    /// unless `dropFieldTTL`, ...) throws `RDBWriteError(.notRepresentable)` naming `key`.
    public static func encode(_ value: RDBValue, key: Bytes = [], rdbVersion: Int, compress: Bool = true,
                              dropFieldTTL: Bool = false) throws -> Bytes {
        try Encoder().encode(value, key: key, rdbVersion: rdbVersion, compress: compress, dropFieldTTL: dropFieldTTL)
    }

    /// Writes payloads one after another with one writer's buffers and LZF table per set of options, where
    /// `encode` makes them afresh for each payload (about 1.2 MB of buffers to allocate, and the LZF table to
    /// clear once a string is compressed): for `rdb dump --format restore`, a payload per key.
    public final class Encoder {
        private struct Settings: Hashable {
            var rdbVersion: Int
            var compress: Bool
            var dropFieldTTL: Bool
        }

        private var writers: [Settings: RDBWriter<MemoryByteSink>] = [:]

        public init() {}

        /// What `DumpPayload.encode` returns for the same arguments.
        public func encode(_ value: RDBValue, key: Bytes = [], rdbVersion: Int, compress: Bool = true,
                           dropFieldTTL: Bool = false) throws -> Bytes {
            let settings = Settings(rdbVersion: rdbVersion, compress: compress, dropFieldTTL: dropFieldTTL)
            let writer: RDBWriter<MemoryByteSink>
            if let w = writers[settings] {
                writer = w
            } else {
                writer = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(
                    rdbVersion: rdbVersion, compress: compress, checksum: false, dropFieldTTL: dropFieldTTL))
                writer.omitsKeys = true
                writers[settings] = writer
            }
            writer.out.reset()
            defer { writer.out.reset() }
            do {
                try writer.writeKeyValue(RDBEntry(db: 0, key: key, value: value, rdbType: 0))
            } catch var e as RDBWriteError {
                if e.key == nil { e.key = key }
                throw e
            }
            var payload = writer.out.array
            payload.reserveCapacity(payload.count + footerSize)
            let v = UInt16(rdbVersion)
            payload.append(UInt8(truncatingIfNeeded: v))
            payload.append(UInt8(truncatingIfNeeded: v >> 8))
            let crc = CRC64.checksum(payload)
            for i in 0..<8 { payload.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
            return payload
        }
    }

    /// A decoded payload: the value, the RDB type byte it was stored with, and the payload's RDB version.
    public struct Decoded: Sendable, Equatable {
        public var value: RDBValue
        public var rdbType: UInt8
        public var rdbVersion: Int
        /// Elements counted while reading (see `RDBEntry.elementCount`).
        public var elementCount: Int?
    }

    /// Checks and decodes a payload as `RESTORE` does: at least 10 bytes, a version no newer than
    /// `maxRDBVersion` (default: the newest this reader knows) or in Valkey's range (80...), a matching CRC-64 unless `verifyChecksum` is
    /// false, then exactly one value that ends where the footer starts. Errors are `RDBError`s with the byte
    /// offset inside the payload and `key` (when given).
    public static func decode(_ payload: Bytes, key: Bytes? = nil, maxRDBVersion: Int = RDBVersion.newestRedis,
                              verifyChecksum: Bool = true, options: RDBReaderOptions = .init()) throws -> Decoded {
        func fail(_ code: RDBError.Code, _ at: Int, _ message: String) -> RDBError {
            RDBError(code, at: Int64(at), message, file: "<DUMP payload>", key: key)
        }
        guard payload.count >= footerSize + 1 else {
            throw fail(.truncated, payload.count, "DUMP payload of \(payload.count) bytes is shorter than a type byte and the 10-byte footer")
        }
        let bodyEnd = payload.count - footerSize
        let version = Int(payload[bodyEnd]) | Int(payload[bodyEnd + 1]) << 8
        let valkey = version >= RDBVersion.valkeyFirst && version <= RDBVersion.valkeyNewest
        guard (version >= 1 && version <= maxRDBVersion) || valkey else {
            throw fail(.unsupportedVersion, bodyEnd,
                       "DUMP payload RDB version \(version) is not in 1...\(maxRDBVersion) nor Valkey's \(RDBVersion.valkeyFirst)...\(RDBVersion.valkeyNewest)")
        }
        if verifyChecksum {
            var stored: UInt64 = 0
            for i in 0..<8 { stored |= UInt64(payload[bodyEnd + 2 + i]) << (8 * UInt64(i)) }
            let computed = payload.withUnsafeBytes { CRC64.update(0, $0.baseAddress!, bodyEnd + 2) }
            guard stored == computed else {
                throw fail(.checksumMismatch, bodyEnd + 2,
                           "DUMP payload checksum mismatch: stored 0x\(hex16(stored)), content hashes to 0x\(hex16(computed))")
            }
        }
        var readerOptions = options
        readerOptions.verifyChecksum = false
        readerOptions.backgroundChecksum = false
        let body = Array(payload[0..<bodyEnd])
        let reader = RDBReader(source: MemoryByteSource(bytes: body), fileName: "<DUMP payload>", options: readerOptions)
        return try reader.readDumpBody(version: version, valkey: valkey, key: key)
    }
}

extension RDBReader {
    /// One value as `rdbLoadObjectType` + `rdbLoadObject` read it from a DUMP payload body: the type byte,
    /// the value, and nothing after it.
    func readDumpBody(version: Int, valkey: Bool, key: Bytes?) throws -> DumpPayload.Decoded {
        self.version = version
        isValkey = valkey
        isDumpPayload = true
        state = .done
        currentKey = key ?? []
        let typeOffset = bytesConsumed
        let type = try readByte()
        try checkValueType(type, at: typeOffset)
        valueCount = nil
        let value = try readValue(type: type, typeOffset: typeOffset)
        if end == pos { _ = try? fill(1) }
        if end > pos {
            throw error(.corrupt, "byte(s) after the value, before the DUMP footer")
        }
        return DumpPayload.Decoded(value: value, rdbType: type, rdbVersion: version, elementCount: valueCount)
    }
}
