import Dispatch
import ReplicaStore

/// `state.json`, the follower's advisory status file (`FollowerState`), kept current from the link's loop.
extension LinkDriver {
    /// Where `state.json` is written (one serial queue for the process).
    static let stateFileQueue = DispatchQueue(label: "redis-replica.state-file")

    /// Writes `state.json` (advisory, not fsynced) on `LinkDriver.stateFileQueue`, not on the event loop:
    /// its rename waits for the file system's journal, which a compaction's or a full sync's fsyncs keep
    /// busy (measured with strace during a compaction: renames of up to 134 ms on the loop, each one a
    /// stall of the stream's recording and ACKs). The state is taken on the loop; a serial queue keeps the
    /// writes in order. `.stopped`, the last, waits for the queue, so it is on disk when `follow` exits.
    /// The systemd notifier is told on the same queue after the write, so READY=1 never goes out before
    /// `state.json` says the link streams.
    func writeStateFile(link: FollowerState.Link) {
        lastStateWrite = self.now()
        var detail = lastError
        if link != .stopped { detail = detail.map { "\($0) [REPL_STATE \(self.link.state.rawValue)]" } }
        let state = FollowerState(link: link, master: options.masterAddress, linkSinceUnixMs: linkSinceMs,
                                  lastError: detail, ackedOffset: lastAcked, dataset: dataset?.state)
        let (directory, logger) = (options.directory, logger)
        let (supervisor, linkState, master, offset, error) = (supervisor, self.link.state, options.masterAddress, store.position?.offset, lastError)
        let write: @Sendable () -> Void = {
            do {
                try FollowerState.write(state, directory: directory)
            } catch {
                logger.debug("state.json not written: \(error)")
            }
            supervisor?.observe(linkState, master: master, offset: offset, error: error)
        }
        if link == .stopped { Self.stateFileQueue.sync(execute: write) } else { Self.stateFileQueue.async(execute: write) }
    }

    /// The dataset's state changed: rewrite `state.json` now on a phase change, else at most once a second.
    func datasetChanged(phaseChanged: Bool) {
        loop.assertInEventLoop()
        guard !stopping else { return }
        refreshStateFile(force: phaseChanged, minimumGap: 1_000_000_000)
    }

    /// Rewrites `state.json` when forced or when the last write is `minimumGap` ns old.
    func refreshStateFile(force: Bool, minimumGap: UInt64 = 5_000_000_000) {
        guard force || self.now() - lastStateWrite >= minimumGap else { return }
        writeStateFile(link: LinkDriver.followerLink(link.state))
    }
}
