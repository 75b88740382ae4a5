import Dispatch
import ReplicaStore

extension DatasetFollower {
    /// A full sync began and its dataset loads as the bytes arrive: `state` shows that load's progress
    /// (`loading`, `receiving`) until the follower takes it at the publish or it is dropped. The dataset
    /// of before stays installed and serving meanwhile (swapdb); a load expected before is dropped.
    func expectIncoming(_ load: IncomingLoad) {
        let previous = stateLock.withLock { () -> IncomingLoad? in
            defer { incomingLoad = load }
            return incomingLoad
        }
        previous?.drop()
    }

    /// The transfer of `load` was cut, rejected or abandoned: its partial or complete dataset is released,
    /// the installed dataset and its position are untouched.
    func dropIncoming(_ load: IncomingLoad) {
        stateLock.withLock { if incomingLoad === load { incomingLoad = nil } }
        load.drop()
    }

    enum IncomingOutcome {
        case loaded(IncomingLoad.Loaded)
        /// No load for this snapshot (or it failed): read the published file.
        case none
        case superseded
    }

    /// On the follower's thread, when `snapshot` was published: the dataset loaded while it arrived, waiting
    /// for the loading thread if it still reads (it trails the last byte when the verification did not wait
    /// for it: `--verify checksum` or `none`).
    func takeIncoming(for snapshot: SnapshotRecord, lineage: String) -> IncomingOutcome {
        let load = stateLock.withLock { () -> IncomingLoad? in
            guard let l = incomingLoad, l.matches(snapshot) else { return nil }
            return l
        }
        guard let load else { return .none }
        defer { dropIncoming(load) }
        while true {
            if shouldStop || !isCurrent(lineage) { return .superseded }
            guard let result = load.take(timeout: .now() + idleWait) else { continue }
            switch result {
            case .success(let loaded): return .loaded(loaded)
            case .failure(let error):
                logger.notice("Dataset: the load while the full sync arrived did not finish (\(error)); loading \(snapshot.file)")
                return .none
            }
        }
    }
}
