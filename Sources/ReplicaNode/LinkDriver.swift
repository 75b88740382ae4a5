import Foundation
import Logging
import NIOCore
import NIOPosix
import RDB
import ReplicaStore
import Replication

/// Runs a `ReplicaLink` against a TCP connection and a `ReplicaStore`. Everything happens on one event loop:
/// bytes from the socket and timer ticks become events; the actions that come back are performed in order
/// (socket writes, store calls). Blocking store calls on the loop are deliberate: there is one connection,
/// and not reading while the disk catches up is the backpressure we want.
///
/// The driver never re-enters the link: an event that an action produces (the snapshot persisted or
/// rejected, a close that fires `channelInactive`) is queued and handled after the current actions.
///
/// `@unchecked Sendable`: every mutable property is touched only on `loop` (NIO callbacks and tasks
/// scheduled on it; `start`/`shutdown` hop onto it), and the methods that mutate state assert it
/// (`loop.assertInEventLoop()`, checked in debug builds and the tests).
///
/// Why not `NIOLoopBound`/`NIOLoopBoundBox` (tried for issue 8.11): a `NIOLoopBound` must be created on
/// its loop, but `FollowService` builds and starts the driver from an async context, and the dataset thread
/// calls back into it (`datasetChanged`) through a weak reference to avoid a driver → dataset → callback →
/// driver cycle. Every `@Sendable` NIO closure here (`loop.execute`, `scheduleTask`,
/// `scheduleRepeatedTask`, `whenComplete`, the bootstrap's `channelInitializer`) would have to capture a
/// bound box and unwrap it, and the cross-thread entry points would need a separate Sendable facade with a
/// weak box of its own: more code than the confinement it would check, which the assertions check too.
final class LinkDriver: @unchecked Sendable {
    /// Opens the connection to the master; tests pass one that returns an `EmbeddedChannel`.
    typealias Connector = (LinkDriver) -> EventLoopFuture<Channel>
    /// Checks a received RDB before publishing (`SnapshotVerifier.verify` by default).
    typealias Verifier = @Sendable (_ path: String, _ depth: SnapshotVerifyDepth) throws -> String
    /// Runs the blocking part of persisting a snapshot (fsync, verify, publish) off the event loop and
    /// completes on it; tests pass one that runs inline.
    typealias Offload = (EventLoop, @escaping @Sendable () throws -> PersistOutcome) -> EventLoopFuture<PersistOutcome>

    /// How persisting a received RDB ended.
    enum PersistOutcome: Sendable {
        case published(SnapshotRecord, verified: String?)
        case rejected(String)
    }

    let options: FollowOptions
    let loop: EventLoop
    let group: EventLoopGroup
    let store: ReplicaStore
    var logger: Logger

    private(set) var link: ReplicaLink
    private(set) var channel: Channel?
    var fullSync: FullSyncWriter?
    /// Verifies `fullSync`'s RDB as it arrives, and loads its dataset (nil: `--verify none` without a
    /// dataset, or `verifyWhileReceiving` off).
    var incoming: IncomingRDBVerifier?
    /// `fullSync`'s dataset loading as it arrives (nil: no dataset, or `FollowOptions.loadWhileReceiving` off).
    var incomingLoad: IncomingLoad?
    /// Verify (and load) the RDB while it arrives (`IncomingRDBVerifier`); off, `verifier` runs after the
    /// last byte and the dataset loads from the published file.
    var verifyWhileReceiving = true
    private var backoff: Backoff
    /// When the link last reached `connected` (loop time, ns); nil once it is lost. The backoff starts over
    /// only after a link that stayed up for `backoffMaxMs`: a master whose stream keeps failing right after
    /// the sync (protocol errors, each third one a new full sync and BGSAVE there) is retried ever more
    /// slowly, up to the cap, instead of every ~100 ms.
    private var connectedSinceNs: UInt64?
    private var reconnectTask: Scheduled<Void>?
    private var ticker: RepeatedTask?
    private(set) var stopping = false
    private let finished: EventLoopPromise<Void>
    var lastStateWrite: UInt64 = 0
    var linkSinceMs: Int64 = 0
    var lastError: String?
    var lastAcked: Int64?
    /// Events produced while performing actions, handled in order once the current actions are done.
    private var pending = CircularBuffer<LinkEvent>()
    private var handlingEvents = false
    private let connector: Connector
    var verifier: Verifier = { try SnapshotVerifier.verify(path: $0, depth: $1) }
    let offload: Offload
    private let persistPool: NIOThreadPool?
    /// The snapshot being persisted off the loop; while it runs the loop keeps ticking (keepalive
    /// newlines), the socket is not read, and no new connection starts.
    var persisting: EventLoopFuture<Void>?
    var connectAfterPersist = false
    /// Counters for logs and tests.
    var fullSyncs = 0
    private(set) var partialSyncs = 0
    /// The in-memory dataset, woken after each append and shown in `state.json` (nil: `--no-dataset`).
    var dataset: DatasetFollower?
    /// `--supervised systemd`: sees the link's state at each state.json write.
    var supervisor: SystemdNotifier?

    init(options: FollowOptions, group: EventLoopGroup, store: ReplicaStore, logger: Logger,
         connector: Connector? = nil, offload: Offload? = nil) {
        self.connector = connector ?? LinkDriver.connectTCP
        if let offload {
            self.offload = offload
            self.persistPool = nil
        } else {
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            self.persistPool = pool
            self.offload = { loop, work in pool.runIfActive(eventLoop: loop, work) }
        }
        self.options = options
        self.group = group
        self.loop = group.next()
        self.store = store
        self.logger = logger
        self.backoff = Backoff(initialMs: options.backoffInitialMs, maxMs: options.backoffMaxMs)
        let position = store.position
        self.link = ReplicaLink(
            configuration: LinkConfiguration(masterUser: options.masterUser, masterPassword: options.masterPassword,
                                             listeningPort: options.listeningPort,
                                             replTimeoutSeconds: options.replTimeoutSeconds,
                                             maxHeldCommandBytes: options.maxHeldCommandBytes),
            position: position)
        self.finished = loop.makePromise(of: Void.self)
    }

    /// Completes when the driver stops: success after `shutdown()`, failure on a fatal error.
    var done: EventLoopFuture<Void> { finished.futureResult }

    /// The loop's monotonic clock (virtual time on an `EmbeddedEventLoop`).
    func now() -> UInt64 { loop.now.uptimeNanoseconds }

    static func unixMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Lifecycle

    func start() {
        loop.execute {
            if let p = self.store.position {
                self.logger.notice("Resuming from \(p.replid):\(p.offset) (db \(p.streamDB)); will ask for PSYNC \(p.replid) \(p.psyncOffset)")
            } else {
                self.logger.notice("No stored position: the first sync will be a full sync (PSYNC ? -1)")
            }
            self.ticker = self.loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                self.handle(.tick(now: self.now()))
                self.refreshStateFile(force: false, minimumGap: self.dataset == nil ? 5_000_000_000 : 1_000_000_000)
            }
            self.connect()
        }
    }

    /// Graceful stop: close the link, drop a partial full sync, fsync and close the store.
    func shutdown() {
        loop.execute {
            guard !self.stopping else { return }
            self.logger.notice("Shutting down: closing the link and syncing the log")
            if let supervisor = self.supervisor { LinkDriver.stateFileQueue.sync { supervisor.stopping() } }
            self.stop(error: nil)
        }
    }

    func stop(error: Error?) {
        loop.assertInEventLoop()
        stopping = true
        ticker?.cancel()
        ticker = nil
        reconnectTask?.cancel()
        reconnectTask = nil
        let ch = channel
        channel = nil
        ch?.close(promise: nil)
        fullSync?.abort()
        fullSync = nil
        incoming = nil
        dropIncomingLoad()
        if let persisting {
            // The store is closed once the snapshot in flight is published (or refused).
            persisting.whenComplete { _ in self.closeStore(error: error) }
        } else {
            closeStore(error: error)
        }
    }

    private func closeStore(error: Error?) {
        persistPool?.shutdownGracefully { _ in }
        var closeError: Error?
        do {
            try store.close()
            if let p = store.position { logger.notice("Log synced at offset \(p.offset) (replid \(p.replid))") }
        } catch {
            closeError = error
            logger.error("Closing the store failed: \(error)")
        }
        writeStateFile(link: .stopped)
        if let error {
            finished.fail(error)
        } else if let closeError {
            finished.fail(FollowError(.local, "closing the store failed: \(closeError)"))
        } else {
            finished.succeed(())
        }
    }

    // MARK: Connection

    func connect() {
        guard !stopping else { return }
        reconnectTask = nil
        if persisting != nil {
            connectAfterPersist = true
            return
        }
        handle(.connecting(now: self.now()))
        logger.info("Connecting to MASTER \(options.masterAddress)")
        connector(self).whenComplete { result in
            self.loop.preconditionInEventLoop()
            switch result {
            case .success(let ch):
                if self.stopping {
                    ch.close(promise: nil)
                    return
                }
                self.channel = ch
                self.handle(.connected(now: self.now()))
            case .failure(let error):
                guard !self.stopping else { return }
                self.lastError = "connect to \(self.options.masterAddress) failed: \(error)"
                self.logger.warning("Error condition on socket for SYNC: \(error)")
                self.handle(.disconnected(now: self.now()))
                self.scheduleReconnect()
            }
        }
    }

    private func scheduleReconnect() {
        guard !stopping, reconnectTask == nil else { return }
        if let since = connectedSinceNs, now() &- since >= UInt64(options.backoffMaxMs) &* 1_000_000 { backoff.reset() }
        connectedSinceNs = nil
        let delay = backoff.nextDelayMs(random: Double.random(in: 0..<1))
        logger.notice("Retrying connection to MASTER \(options.masterAddress) in \(delay) ms (attempt \(backoff.attempt))")
        writeStateFile(link: .disconnected)
        reconnectTask = loop.scheduleTask(in: .milliseconds(Int64(delay))) {
            self.connect()
        }
    }

    // Called by LinkHandler on the loop.
    func channelRead(_ ch: Channel, _ buffer: ByteBuffer) {
        loop.assertInEventLoop()
        guard ch === channel, !stopping else { return }
        if handlingEvents {
            // Only if a write or close re-entered us: copy and queue.
            handle(.received(Array(buffer.readableBytesView), now: self.now()))
            return
        }
        // Copy 1 of the stream path: the socket's bytes go straight into the link's input buffer.
        run { buffer.withUnsafeReadableBytes { self.link.receive($0, now: self.now()) } }
    }

    func channelInactive(_ ch: Channel) {
        loop.assertInEventLoop()
        guard ch === channel else { return }
        channel = nil
        guard !stopping else { return }
        if lastError == nil { lastError = "connection closed by the master" }
        handle(.disconnected(now: self.now()))
        scheduleReconnect()
    }

    // MARK: Events and actions

    /// Handles `event` now, or after the event being handled (queued, never re-entering the link).
    func handle(_ event: LinkEvent) {
        if handlingEvents {
            pending.append(event)
            return
        }
        run { self.link.handle(event) }
    }

    /// Performs the actions of one step of the link, then the queued events' actions, in order.
    private func run(_ step: () -> [LinkAction]) {
        loop.assertInEventLoop()
        handlingEvents = true
        defer { handlingEvents = false }
        perform(step())
        while !stopping, let event = pending.popFirst() {
            perform(link.handle(event))
        }
        pending.removeAll()
    }

    private func perform(_ actions: [LinkAction]) {
        for action in actions {
            if stopping { return }
            do {
                try perform(action)
            } catch let e as FollowError {
                logger.critical("\(e.message)")
                stop(error: e)
                return
            } catch {
                let e = FollowError(.local, "local failure: \(error)")
                logger.critical("\(e.message)")
                stop(error: e)
                return
            }
        }
    }

    private func perform(_ action: LinkAction) throws {
        switch action {
        case .stateChanged(let from, let to):
            logger.info("REPL_STATE \(from.rawValue) -> \(to.rawValue)")
            linkSinceMs = LinkDriver.unixMs()
            if to == .connected {
                connectedSinceNs = now()
                lastError = nil
            }
            writeStateFile(link: LinkDriver.followerLink(to))
        case .log(let level, let message):
            switch level {
            case .debug: logger.debug("\(message)")
            case .info: logger.info("\(message)")
            case .notice: logger.notice("\(message)")
            case .warning: logger.warning("\(message)")
            }
        case .send(let bytes):
            guard let ch = channel else { return }
            ch.writeAndFlush(ch.allocator.buffer(bytes: bytes), promise: nil)
        case .sendAck(let offset, _):
            guard let ch = channel else { return }
            lastAcked = offset
            // Every ACK carries FACK: actions run in order, so each append before this ACK has returned.
            let fsynced = min(offset, store.durableOffset)
            ch.writeAndFlush(ch.allocator.buffer(bytes: LinkDriver.ackCommand(offset: offset, fsynced: fsynced)), promise: nil)
        case .beginFullSync(let replid, let offset, let transfer):
            try beginFullSync(replid: replid, offset: offset, transfer: transfer)
        case .rdbBytes(let bytes):
            guard let w = fullSync else { throw FollowError(.local, "RDB bytes without a full sync in progress") }
            try w.write(bytes)
        case .endOfRDB(let total):
            try finishFullSync(total: total)
        case .fullSyncAborted:
            if let w = fullSync {
                logger.warning("Full sync interrupted after \(w.bytesWritten) bytes; the partial RDB is discarded")
                w.abort()
            }
            fullSync = nil
            incoming = nil
            dropIncomingLoad()
        case .partialResyncAccepted(let position, let previous, let newReplid):
            partialSyncs += 1
            try store.recordPartialSync(replid: newReplid)
            if let stored = store.position, stored.offset != position.offset {
                throw FollowError(.local, "store offset \(stored.offset) differs from the link's \(position.offset)")
            }
            if let newReplid {
                logger.notice("+CONTINUE with a new replication id \(newReplid) (was \(previous)); persisted")
            } else {
                logger.notice("+CONTINUE: resuming at offset \(position.offset + 1)")
            }
        case .fallingBackToSync(let reply):
            logger.warning("Master refused PSYNC (\(reply)); falling back to SYNC")
        case .appendStream(let bytes, let endOffset, let db):
            // Copy 2 of the stream path: the store writes the link buffer's slice into the log.
            let end = try bytes.withUnsafeBytes { try store.append($0, streamDB: db) }
            dataset?.wake()
            if end != endOffset {
                throw FollowError(.local, "log offset \(end) differs from the stream offset \(endOffset)")
            }
        case .appendUnfinished(let bytes, let endOffset):
            // The part of a command still arriving, past `maxHeldCommandBytes`: records flagged `continues`.
            let end = try bytes.withUnsafeBytes { try store.appendUnfinished($0) }
            if end != endOffset {
                throw FollowError(.local, "unfinished log offset \(end) differs from the stream offset \(endOffset)")
            }
        case .discardUnfinished:
            try store.discardUnfinished()
        case .closeConnection(let failure):
            lastError = failure.message
            logger.warning("Closing the link: \(failure.message)")
            let ch = channel
            channel = nil
            ch?.close(promise: nil)
            scheduleReconnect()
        case .fatal(let failure):
            lastError = failure.message
            let kind: FollowError.Kind = failure.kind == .authenticationFailed ? .authentication : .local
            throw FollowError(kind, failure.kind == .authenticationFailed
                              ? "\(failure.message) (check --masteruser and the password; not retrying)"
                              : failure.message)
        }
    }
}
