import Base
import Foundation

/// Receives one full sync's RDB payload into a temp file in the data directory.
///
/// Life of a transfer: `write`… while the bytes arrive, `endOfInput()` at the last byte, `finish()` (fsync),
/// `ReplicaStore.markReceived` (from then on durable: a restart publishes it, see `ReceivedSnapshot`), then
/// `ReplicaStore.publish`. `abort()` discards it at any point before the publish.
///
/// A reader on another thread may follow the file while it is written (`waitForBytes`), e.g. to verify the
/// RDB as it arrives; it reads the file through its own descriptor, only below `bytesWritten`.
///
/// `@unchecked Sendable`: one owner drives a writer (the link driver, on its event loop, or the thread
/// that persists it after the last byte): `write`, `finish`, `abort` and the store's `markReceived`/
/// `publish` of it are called in sequence, never concurrently. What a following reader looks at
/// (`bytesWritten`, the end/abort flags) is published under `condition`.
public final class FullSyncWriter: @unchecked Sendable {
    weak var store: ReplicaStore?
    private let file: DurableFile?
    /// The file's path: `fullsync-NNNNNN.rdb.tmp` while receiving, `snapshot-NNNNNN.rdb` once received.
    public internal(set) var path: String
    public internal(set) var name: String
    /// The NNNNNN of its names.
    let fileNumber: Int
    /// The `+FULLRESYNC` position.
    public let replid: String
    public let offset: Int64
    public private(set) var bytesWritten: Int64 = 0
    public internal(set) var isFinished = false
    var isPublished = false
    /// Set by `ReplicaStore.markReceived` (or at open, for a transfer received before a restart).
    public internal(set) var received: ReceivedSnapshot?

    /// Written bytes are fsynced in the background every `backgroundSyncBytes` while the transfer runs
    /// (as Redis's replica fsyncs the incoming RDB every 8 MB, replication.c `REPL_MAX_WRITTEN_BEFORE_FSYNC`),
    /// so the fsync after the last byte, the wait before the transfer counts as received, stays short.
    static let backgroundSyncBytes: Int64 = 8 << 20
    private let syncQueue = DispatchQueue(label: "redis-replica.fullsync.fsync")
    private var syncScheduledAt: Int64 = 0
    private var backgroundSyncError: Error?   // guarded by `condition`
    private let condition = NSCondition()
    private var visibleBytes: Int64 = 0
    private var inputEnded = false
    private var aborted = false

    init(store: ReplicaStore, file: DurableFile?, path: String, name: String, fileNumber: Int, replid: String, offset: Int64) {
        self.store = store
        self.file = file
        self.path = path
        self.name = name
        self.fileNumber = fileNumber
        self.replid = replid
        self.offset = offset
    }

    /// A transfer found received at open: finished, its marker on disk.
    convenience init(store: ReplicaStore, directory: String, received: ReceivedSnapshot) {
        self.init(store: store, file: nil, path: joinPath(directory, received.file), name: received.file,
                  fileNumber: Recovery.fileNumber(received.file) ?? 0, replid: received.replid, offset: received.offset)
        self.received = received
        self.isFinished = true
        self.bytesWritten = received.size
        self.visibleBytes = received.size
        self.inputEnded = true
    }

    /// Appends RDB payload bytes (not the `$len`/`$EOF:` line, not the EOF mark).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !isFinished, !inputEnded, let file else {
            throw StoreError(.invalidState, file: path, offset: bytesWritten, "write after the end of the transfer")
        }
        try file.write(bytes)
        bytesWritten += Int64(bytes.count)
        condition.lock()
        visibleBytes = bytesWritten
        condition.broadcast()
        let failed = backgroundSyncError
        condition.unlock()
        if let failed { throw failed }
        if bytesWritten - syncScheduledAt >= FullSyncWriter.backgroundSyncBytes {
            syncScheduledAt = bytesWritten
            syncQueue.async { [self] in
                do {
                    try self.file?.sync()
                } catch {
                    condition.lock()
                    backgroundSyncError = error
                    condition.unlock()
                }
            }
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// The last payload byte was written: a following reader sees the end of the file at `bytesWritten`.
    public func endOfInput() {
        condition.lock()
        inputEnded = true
        condition.broadcast()
        condition.unlock()
    }

    /// What a reader following the file may read: blocks until more than `offset` bytes are written, the
    /// input ended, or the transfer was aborted. Returns the bytes readable now and whether that is all.
    /// Throws when the transfer was aborted.
    public func waitForBytes(beyond offset: Int64) throws -> (available: Int64, isEnd: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while visibleBytes <= offset && !inputEnded && !aborted { condition.wait() }
        if aborted { throw StoreError(.invalidState, file: path, offset: offset, "the full sync was aborted") }
        return (visibleBytes, inputEnded)
    }

    /// A new read-only descriptor on the file, for a reader that follows it with `waitForBytes`.
    public func openForFollowing() throws -> DurableFile {
        guard let fs = store?.fileSystem() else {
            throw StoreError(.invalidState, file: path, offset: nil, "the store is gone")
        }
        return try fs.openForReading(path)
    }

    /// Ends the input, fsyncs and closes the temp file.
    public func finish() throws {
        endOfInput()
        guard !isFinished else { return }
        syncQueue.sync {}
        if let failed = condition.withLock({ backgroundSyncError }) { throw failed }
        try file?.sync()
        file?.close()
        isFinished = true
    }

    /// Gives up on this full sync and deletes its file (and its received marker, if it has one).
    public func abort() {
        condition.lock()
        aborted = true
        condition.broadcast()
        condition.unlock()
        guard !isPublished else { return }
        syncQueue.sync {}
        file?.close()
        isFinished = true
        guard let fs = store?.fileSystem() else { return }
        if received != nil, let dir = store?.directory {
            // The marker first: a crash between the two leaves an unmarked RDB, a leftover.
            try? fs.remove(joinPath(dir, ReceivedSnapshot.markerName(forSnapshot: name)))
            try? fs.remove(path)
            try? fs.syncDirectory(dir)
        } else {
            try? fs.remove(path)
        }
    }
}
