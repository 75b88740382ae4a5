import Base
import Foundation

/// The durable marker of a full sync that was **received completely and fsynced** but not yet published:
/// `snapshot-NNNNNN.received` next to the RDB `snapshot-NNNNNN.rdb` it describes.
///
/// Order of operations (`ReplicaStore.markReceived`): the payload is fsynced under its temp name
/// `fullsync-NNNNNN.rdb.tmp`, renamed to `snapshot-NNNNNN.rdb`, then this marker is written with
/// `writeAtomically` (`snapshot-NNNNNN.received.tmp`, fsync, rename, directory fsync; that directory fsync
/// also makes the RDB's rename durable). From the moment the marker exists the transfer is never thrown
/// away: a restart publishes it (see `Recovery`) and resumes with PSYNC at its position, so the master,
/// which already lists us online, answers +CONTINUE instead of a second full sync.
///
/// **Format:** one line of JSON (sorted keys), `\n`, then `crc32 XXXXXXXX\n`: zlib's CRC-32 (`Base.CRC32`)
/// of the JSON line's bytes including its newline, 8 lowercase hex digits. The RDB's size and CRC-64
/// trailer are recorded so a replaced or truncated RDB is not mistaken for the received one.
public struct ReceivedSnapshot: Codable, Sendable, Equatable {
    public static let formatName = "redis-replica-received"
    public static let currentVersion = 1
    public static let suffix = ".received"

    public var format: String = ReceivedSnapshot.formatName
    public var version: Int = ReceivedSnapshot.currentVersion
    /// The RDB's file name in the data directory (`snapshot-NNNNNN.rdb`).
    public var file: String
    /// The `+FULLRESYNC` position the payload belongs to.
    public var replid: String
    public var offset: Int64
    /// The RDB's size in bytes.
    public var size: Int64
    /// Its CRC-64 trailer, 16 hex digits (nil: none, as for the manifest's `snapshot.crc64`).
    public var crc64: String?
    /// How it was verified before the marker was written (`full`, `checksum`), nil if not (yet).
    public var verified: String?

    public init(file: String, replid: String, offset: Int64, size: Int64, crc64: String?, verified: String?) {
        self.file = file
        self.replid = replid
        self.offset = offset
        self.size = size
        self.crc64 = crc64
        self.verified = verified
    }

    /// `snapshot-NNNNNN.rdb` -> `snapshot-NNNNNN.received`.
    static func markerName(forSnapshot file: String) -> String {
        (file.hasSuffix(".rdb") ? String(file.dropLast(4)) : file) + suffix
    }

    public static func isMarkerName(_ name: String) -> Bool {
        name.hasPrefix("snapshot-") && name.hasSuffix(suffix)
    }

    func encoded() throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = Array(try enc.encode(self)) + [0x0A]
        line += Array("crc32 \(hexDigits(CRC32.checksum(line), 8))\n".utf8)
        return line
    }

    /// Parses and checks a marker; every refusal names the file and a byte offset.
    static func decode(_ bytes: [UInt8], path: String) throws -> ReceivedSnapshot {
        func bad(_ offset: Int, _ s: String) -> StoreError { StoreError(.badManifest, file: path, offset: Int64(offset), s) }
        guard let nl = bytes.firstIndex(of: 0x0A) else { throw bad(0, "no newline after the JSON line") }
        let trailer = Array(bytes[(nl + 1)...])
        let prefix = Array("crc32 ".utf8)
        guard trailer.count == prefix.count + 9, trailer.starts(with: prefix), trailer.last == 0x0A else {
            throw bad(nl + 1, "expected `crc32 XXXXXXXX` after the JSON line")
        }
        let stored = String(decoding: trailer[prefix.count..<(prefix.count + 8)], as: UTF8.self)
        let computed = hexDigits(CRC32.checksum(Array(bytes[...nl])), 8)
        guard stored == computed else {
            throw bad(nl + 1 + prefix.count, "checksum mismatch (stored \(stored), computed \(computed))")
        }
        let r: ReceivedSnapshot
        do {
            r = try JSONDecoder().decode(ReceivedSnapshot.self, from: Data(bytes[..<nl]))
        } catch {
            throw bad(0, "not a received-snapshot marker: \(error)")
        }
        guard r.format == formatName, r.version == currentVersion else {
            throw bad(0, "format \(r.format) version \(r.version) is not \(formatName) \(currentVersion)")
        }
        guard ReplicaStore.isPlainName(r.file), r.file.hasPrefix("snapshot-"), r.file.hasSuffix(".rdb"),
              ReplicationID.isValid(r.replid), r.offset >= 0, r.size >= 0 else {
            throw bad(0, "implausible fields (file \(r.file), replid \(r.replid), offset \(r.offset), size \(r.size))")
        }
        return r
    }
}
