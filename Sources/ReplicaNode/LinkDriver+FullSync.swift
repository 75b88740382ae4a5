import Logging
import Replication
import ReplicaStore

extension LinkDriver {
    /// `REPLCONF ACK <offset> FACK <fsynced>` (`ReplicaLink.ackCommand`; Redis 7.2+ `WAITAOF numlocal
    /// numreplicas` counts the replicas whose FACK reached its offset).
    ///
    /// Sent under every `--fsync` policy, as a Redis replica sends it whenever its AOF is on, whatever
    /// `appendfsync` says: `fsynced` is the store's durable offset, never more than was fsynced. Under
    /// `always` it equals the ACK offset (each append is fsynced before it returns, and ACKs are sent after
    /// the appends before them); under `everysec` it trails by up to about a second; under `no` it moves
    /// only when the log is fsynced (segment rolls, start-up, a full sync's publish), so `WAITAOF` on the
    /// master mostly times out, which is the truth. Masters before 7.2 (6.2, 7.0) read the offset and
    /// return, ignoring the extra arguments (replication.c `replconfCommand`).
    static func ackCommand(offset: Int64, fsynced: Int64) -> [UInt8] {
        ReplicaLink.ackCommand(offset: offset, fsynced: fsynced)
    }

    /// A full sync received completely and fsynced before the last stop (`ReplicaStore.receivedSnapshot`):
    /// verify it unless its marker says it was, then publish it, so PSYNC continues from its position.
    /// A file that fails verification is discarded (the old state stays; the master sends a new full sync).
    /// Runs at start-up, before the link exists. Returns the published snapshot, or nil.
    @discardableResult
    static func publishReceived(store: ReplicaStore, verifyDepth: SnapshotVerifyDepth?,
                                verifier: Verifier = { try SnapshotVerifier.verify(path: $0, depth: $1) },
                                logger: Logger) throws -> SnapshotRecord? {
        for reason in store.discardedReceived {
            logger.warning("A received full sync was not usable and was deleted: \(reason)")
        }
        guard let w = store.receivedSnapshot, let marker = w.received else { return nil }
        logger.notice("Found a full sync received before the last stop: \(marker.file) at \(marker.replid):\(marker.offset), \(marker.size) bytes")
        if let depth = verifyDepth, marker.verified != depth.rawValue && !(marker.verified == SnapshotVerifyDepth.full.rawValue) {
            do {
                let summary = try verifier(w.path, depth)
                logger.notice("RDB verified: \(summary)")
            } catch {
                logger.error("The received RDB failed verification, discarding it: \(error)")
                w.abort()
                return nil
            }
        }
        let snapshot = try store.publish(w)
        logger.notice("MASTER <-> REPLICA sync: received snapshot published as \(snapshot.file) at \(w.replid):\(w.offset)")
        return snapshot
    }

    static func followerLink(_ state: LinkState) -> FollowerState.Link {
        switch state {
        case .connect, .connecting: return .connecting
        case .receivePingReply, .sendHandshake, .receiveAuthReply, .receivePortReply, .receiveCapaReply, .receiveVersionReply,
             .sendPsync, .receivePsyncReply: return .handshake
        case .transfer: return .fullSync
        case .connected: return .streaming
        }
    }

    static func describe(_ t: RDBTransferKind) -> String {
        switch t {
        case .sized(let n): return "disk-based, \(n) bytes"
        case .eofMark: return "diskless, EOF mark"
        }
    }
}
