/// Where a replica stands in the master's replication history: the one position type that the link,
/// the store and the RDB writer's AUX fields share.
///
/// Redis's terms (replication.c): `replid` is `server.replid` (the id sent in `PSYNC <replid> <offset>`),
/// `offset` is `reploff`, the offset of the last stream byte processed, so the next PSYNC asks for
/// `offset + 1`; `streamDB` is the db the stream has selected at `offset` (RDB AUX `repl-stream-db`),
/// which Redis does not re-send after `+CONTINUE`.
public struct ReplicationPosition: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The 40-character replication id.
    public var replid: String
    /// The offset reached: every stream byte up to and including byte `offset` is processed.
    public var offset: Int64
    /// The db selected in the stream at `offset`.
    public var streamDB: Int

    public init(replid: String, offset: Int64, streamDB: Int) {
        self.replid = replid
        self.offset = offset
        self.streamDB = streamDB
    }

    /// The offset argument of `PSYNC <replid> <psyncOffset>`.
    public var psyncOffset: Int64 { offset + 1 }

    public var description: String { "\(replid):\(offset) db \(streamDB)" }
}

/// Replication ids (`CONFIG_RUN_ID_SIZE` = 40 characters; Redis generates lowercase hex, we accept either case).
public enum ReplicationID {
    public static let length = 40

    public static func isValid<S: StringProtocol>(_ s: S) -> Bool {
        s.utf8.count == length && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46)
        }
    }
}
