import RDB

/// Committed replication-stream bytes, fed in any chunks, applied to a dataset: a `RESPCommandSplitter`
/// cuts them into commands and a `ReplicaApplier` applies each at the offset just past it, as a Redis
/// replica applies what its master streams after loading the RDB (`replicationFeedStreamFromMasterStream`).
///
/// Start it at a snapshot's position (its keyspace, `repl-stream-db` selected, its offset) and feed the
/// log that follows. Bytes that are not RESP commands, or a command the applier cannot take, stop it:
/// `divergence` names the offset and command, and nothing after it is applied.
public struct StreamReplay: Sendable {
    public private(set) var applier: ReplicaApplier
    private var splitter: RESPCommandSplitter
    /// The offset just past the last command applied or counted.
    public private(set) var appliedOffset: Int64
    /// The last offset that was a command boundary outside MULTI/EXEC, and the db selected there.
    public private(set) var boundary: (offset: Int64, streamDB: Int)
    /// Set when the stream bytes themselves are malformed.
    public private(set) var streamError: RESPSplitError?
    /// Commands applied, counted or queued so far.
    public private(set) var commands: Int64 = 0
    /// A command ended past the `upTo` limit of a `feed`: it was not applied, and nothing more is.
    public private(set) var stoppedAtLimit = false

    public init(keyspace: Keyspace, selectedDB: Int, offset: Int64) {
        applier = ReplicaApplier(keyspace: keyspace, selectedDB: selectedDB)
        splitter = RESPCommandSplitter(offset: offset)
        appliedOffset = offset
        boundary = (offset, selectedDB)
    }

    public var keyspace: Keyspace { applier.keyspace }

    /// The first command (or malformed bytes) that could not be applied, if any.
    public var divergence: Divergence? {
        if let d = applier.divergence { return d }
        return streamError.map { Divergence(offset: $0.offset, command: "?", reason: "not a RESP command: \($0.message)") }
    }

    /// Bytes fed but not yet a whole command.
    public var bufferedBytes: Int { splitter.bufferedBytes }

    /// Applies every whole command in the bytes fed so far that ends at or before `limit` (the first one
    /// past it stops the replay: see `stoppedAtLimit`). Returns the divergence when this call caused it.
    @discardableResult
    public mutating func feed<C: Collection>(_ bytes: C, nowMs: Int64, upTo limit: Int64 = .max) -> Divergence?
    where C.Element == UInt8 {
        guard divergence == nil, !stoppedAtLimit else { return nil }
        splitter.append(bytes)
        while true {
            let command: (args: [Bytes], endOffset: Int64)?
            do {
                command = try splitter.next()
            } catch let e as RESPSplitError {
                streamError = e
                return divergence
            } catch {
                streamError = RESPSplitError(message: "\(error)", offset: splitter.offset)
                return divergence
            }
            guard let (args, end) = command else { return nil }
            if end > limit {
                stoppedAtLimit = true
                return nil
            }
            if case .diverged(let d) = applier.apply(args, at: end, nowMs: nowMs) { return d }
            appliedOffset = end
            commands += 1
            if !applier.inTransaction { boundary = (end, applier.selectedDB) }
        }
    }
}
