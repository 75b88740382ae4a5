import ReplicaServer
import ReplicaStore

extension DatasetFollower {
    /// What a read on `follow --port` sees: the dataset as last applied (an O(1) copy, taken under the
    /// follower's lock and read outside it), or why there is none. An installed dataset is served while a
    /// newer full sync loads (as Redis's `repl-diskless-load swapdb` serves the old data); a divergence stops
    /// reads, naming the offset and command.
    public func readView() -> DatasetView {
        if let d = dataset() {
            if let div = d.divergence { return .diverged(offset: div.offset, command: div.command) }
            return .ready(d.keyspace, rdbVersion: servedRDBVersion.load(ordering: .relaxed))
        }
        let s = state
        switch s.phase {
        case .failed: return .failed(s.reason ?? "unknown reason")
        case .diverged: return .diverged(offset: s.divergedOffset ?? -1, command: s.command ?? "?")
        case .loading, .ready: return .loading
        }
    }
}
