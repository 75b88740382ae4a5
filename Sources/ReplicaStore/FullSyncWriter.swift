import Base

/// Receives one full sync's RDB payload into a temp file in the data directory.
///
/// `@unchecked Sendable`: one owner drives a writer (the link driver, on its event loop): `write`,
/// `finish`, `abort` and the store's `publish` of it are called in sequence, never concurrently, so the
/// counters and flags need no lock of their own.
public final class FullSyncWriter: @unchecked Sendable {
    weak var store: ReplicaStore?
    private let file: DurableFile
    /// The temp file's path: verify it with the RDB reader between `finish()` and `publish`.
    public let path: String
    public let name: String
    /// The `+FULLRESYNC` position.
    public let replid: String
    public let offset: Int64
    public private(set) var bytesWritten: Int64 = 0
    public internal(set) var isFinished = false
    var isPublished = false

    init(store: ReplicaStore, file: DurableFile, path: String, name: String, replid: String, offset: Int64) {
        self.store = store
        self.file = file
        self.path = path
        self.name = name
        self.replid = replid
        self.offset = offset
    }

    /// Appends RDB payload bytes (not the `$len`/`$EOF:` line, not the EOF mark).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !isFinished else {
            throw StoreError(.invalidState, file: path, offset: bytesWritten, "write after finish()")
        }
        try file.write(bytes)
        bytesWritten += Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// fsyncs and closes the temp file.
    public func finish() throws {
        guard !isFinished else { return }
        try file.sync()
        file.close()
        isFinished = true
    }

    /// Gives up on this full sync and deletes the temp file.
    public func abort() {
        guard !isPublished else { return }
        file.close()
        isFinished = true
        try? store?.fileSystem().remove(path)
    }
}
