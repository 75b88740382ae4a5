import Dispatch
import Logging
import NIOCore
import Replication
import ReplicaStore

extension LinkDriver {
    /// `+FULLRESYNC`: a new `FullSyncWriter`, and a thread that follows its file as it is written to verify
    /// it (`options.verifyDepth`) and, when the dataset is kept, to load it (`IncomingLoad`, handed to the
    /// dataset follower, which takes it when the store publishes this transfer).
    func beginFullSync(replid: String?, offset: Int64, transfer: RDBTransferKind) throws {
        fullSync?.abort()
        dropIncomingLoad()
        fullSyncs += 1
        let id = replid ?? String(repeating: "0", count: 40)
        logger.notice("Full sync from \(id):\(offset) (\(LinkDriver.describe(transfer))) into \(options.directory)")
        let w = try store.beginFullSync(replid: id, offset: offset)
        fullSync = w
        incoming = nil
        guard verifyWhileReceiving else { return }
        var load: IncomingLoad?
        if let dataset, options.loadWhileReceiving {
            let size: Int64?
            if case .sized(let n) = transfer { size = n } else { size = nil }
            load = IncomingLoad(writer: w, transferSize: size)
            dataset.expectIncoming(load!)
            incomingLoad = load
        }
        if options.verifyDepth != nil || load != nil {
            let v = IncomingRDBVerifier(writer: w, depth: options.verifyDepth, load: load)
            v.start()
            incoming = v
        }
        if load != nil { refreshStateFile(force: true) }
    }

    /// The transfer in progress ended without being published: its dataset is released.
    func dropIncomingLoad() {
        guard let load = incomingLoad else { return }
        incomingLoad = nil
        dataset?.dropIncoming(load)
    }

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

    /// Finishes the received RDB off the loop, then tells the link with `.snapshotPersisted` or
    /// `.snapshotRejected`: fsync; `markReceived` (from here a restart publishes it instead of asking for a
    /// new full sync), unless verification already failed; wait for the verification that ran while the
    /// bytes arrived (or verify now); publish. Meanwhile the loop keeps ticking, so the link sends its
    /// keepalive newlines, and the socket is not read (as Redis does not read while it loads: the master
    /// buffers the stream for us).
    func finishFullSync(total: Int64) throws {
        guard let w = fullSync else { throw FollowError(.local, "end of RDB without a full sync in progress") }
        fullSync = nil
        w.endOfInput()
        let incoming = self.incoming
        self.incoming = nil
        // From here the dataset follower takes the load when the store publishes it; a rejection drops it.
        let load = incomingLoad
        incomingLoad = nil
        let channelAtEnd = channel
        channelAtEnd?.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        let depth = options.verifyDepth
        let verify = verifier
        let store = self.store
        let started = now()
        let lastByteAt = DispatchTime.now().uptimeNanoseconds
        let logger = self.logger
        let work = offload(loop) { () throws -> PersistOutcome in
            try w.finish()
            var verifiedEarly: String?
            switch incoming?.verdictIfReady {
            case .failure(let error)?:
                w.abort()
                return .rejected("\(error)")
            case .success?: verifiedEarly = incoming?.depth?.rawValue
            case nil: break
            }
            do {
                try store.markReceived(w, verified: verifiedEarly)
            } catch let e as StoreError where e.code == .snapshotMismatch || e.code == .badSnapshot {
                // The payload's AUX is not the +FULLRESYNC position, or the payload is not an RDB whose header
                // and AUX can be read (checked here when verification has not reached a verdict yet): the
                // store refused it, unchanged. As a corrupt transfer, drop it and let the master send a new one.
                w.abort()
                return .rejected("\(e)")
            }
            logger.notice("Full sync received and fsynced (kept across a restart from now on), \((DispatchTime.now().uptimeNanoseconds - lastByteAt) / 1_000_000) ms after the last byte")
            var summary: String?
            if let depth {
                do {
                    summary = try incoming?.result() ?? verify(w.path, depth)
                } catch {
                    // A corrupt transfer: drop it and let the master send a new one.
                    w.abort()
                    return .rejected("\(error)")
                }
            }
            return .published(try store.publish(w), verified: summary)
        }
        persisting = work.map { _ in () }
        work.whenComplete { result in
            self.persisting = nil
            if let ch = channelAtEnd, ch === self.channel {
                ch.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            }
            if self.connectAfterPersist {
                self.connectAfterPersist = false
                self.loop.execute { self.connect() }
            }
            guard !self.stopping else {
                if let load { self.dataset?.dropIncoming(load) }
                return
            }
            switch result {
            case .success(.published(let snapshot, let summary)):
                if let summary {
                    let when = incoming.map { v in
                        v.finishedAt <= started ? "while it arrived" : "\((v.finishedAt - started) / 1_000_000) ms after the last byte"
                    } ?? "\((self.now() - started) / 1_000_000) ms after the last byte"
                    self.logger.notice("RDB verified: \(summary), \(when)")
                }
                self.logger.notice("MASTER <-> REPLICA sync: snapshot of \(total) bytes published as \(snapshot.file) at \(w.replid):\(w.offset), \((self.now() - started) / 1_000_000) ms after the last byte")
                self.handle(.snapshotPersisted(now: self.now(), streamDB: snapshot.streamDB))
            case .success(.rejected(let reason)):
                if let load { self.dataset?.dropIncoming(load) }
                self.logger.error("The received RDB failed verification: \(reason)")
                self.handle(.snapshotRejected(now: self.now(), reason: reason))
            case .failure(let error):
                if let load { self.dataset?.dropIncoming(load) }
                let e = FollowError(.local, "persisting the received RDB failed: \(error)")
                self.logger.critical("\(e.message)")
                self.stop(error: e)
            }
        }
    }
}
