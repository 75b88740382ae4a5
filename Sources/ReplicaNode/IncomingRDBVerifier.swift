import Base
import Foundation
import Keyspace
import RDB
import ReplicaStore

/// Verifies a full sync's RDB **while it arrives**: a thread follows the file the `FullSyncWriter` is
/// writing (reading only bytes already written, through its own descriptor, so the page cache serves it
/// and the event loop never waits for it) and runs the same checks as `SnapshotVerifier` over it:
/// `.full` reads every record with the streaming `RDBReader` and compares the CRC-64, `.checksum` computes
/// the CRC-64 over everything before the trailer and compares it. Disk-based (`$len`) and diskless (EOF
/// mark) transfers alike: the writer holds payload bytes only.
///
/// So verification ends with the last byte instead of starting there (replication.c reads the RDB after
/// the transfer, `rdbLoad`; diskless `repl-diskless-load` loads from the socket, which is what this does
/// for the checks). `result()` waits for the verdict.
///
/// With an `IncomingLoad` (the dataset is kept), the same pass also **loads** the dataset: the reader decodes
/// every value and a `KeyspaceLoader` takes each record, so the dataset is built with the last byte too.
/// The verdict stays what `depth` asks: `.full` is the reader's (one pass for both); `.checksum` is the
/// CRC-64 alone (a file the reader refuses is checked for its checksum from the start again, so it is
/// published as before and only the dataset fails); nil (`--verify none`) always passes. A loader error
/// (a duplicate key) fails the load, not the verdict.
///
/// `@unchecked Sendable`: the verdict is written once by the thread and read after `done` is signalled.
final class IncomingRDBVerifier: @unchecked Sendable {
    /// nil: `--verify none` (the thread only loads).
    let depth: SnapshotVerifyDepth?
    private let writer: FullSyncWriter
    private let load: IncomingLoad?
    private let done = DispatchSemaphore(value: 0)
    private var verdict: Result<String, Error>?
    private let lock = Lock()
    /// Monotonic ns when the verdict was reached (for the log: how long after the last byte).
    private(set) var finishedAt: UInt64 = 0

    init(writer: FullSyncWriter, depth: SnapshotVerifyDepth?, load: IncomingLoad? = nil) {
        self.writer = writer
        self.depth = depth
        self.load = load
    }

    func start() {
        let t = Thread { [self] in
            let r = Result { try self.run() }
            lock.withLock {
                verdict = r
                finishedAt = DispatchTime.now().uptimeNanoseconds
            }
            done.signal()
        }
        t.name = "redis-replica.verify"
        t.start()
    }

    /// The verdict now, if reached (nil while the thread still reads).
    var verdictIfReady: Result<String, Error>? { lock.withLock { verdict } }

    /// Waits for the verdict: a one-line summary, or the error naming the file and byte offset.
    func result() throws -> String {
        done.wait()
        done.signal()
        return try lock.withLock { verdict! }.get()
    }

    private func run() throws -> String {
        if let load { return try runLoading(load) }
        let file = try writer.openForFollowing()
        defer { file.close() }
        let source = FollowingFileSource(writer: writer, file: file)
        let name = writer.path
        switch depth {
        case .full:
            return try SnapshotVerifier.verifyRecords(source: AnyByteSource(source), name: name)
        case .checksum:
            return try SnapshotVerifier.verifyChecksum(source: source, name: name)
        case nil:
            return "not verified (--verify none)"
        }
    }

    /// One pass that loads the dataset and verifies as `depth` asks (see the type's comment).
    private func runLoading(_ load: IncomingLoad) throws -> String {
        let name = writer.path
        let readerError: Error
        do {
            let file = try writer.openForFollowing()
            defer { file.close() }
            let source = FollowingFileSource(writer: writer, file: file)
            let (loaded, summary) = try Self.load(source: source, name: name, into: load)
            load.finish(loaded)
            return depth == nil ? "not verified (--verify none)" : summary
        } catch {
            load.finish(.failure(error))
            readerError = error
        }
        switch depth {
        case .full?: throw readerError
        case nil: return "not verified (--verify none)"
        case .checksum?:
            // The reader refused the file; the checksum alone decides whether it is kept (as without the load).
            let file = try writer.openForFollowing()
            defer { file.close() }
            return try SnapshotVerifier.verifyChecksum(source: FollowingFileSource(writer: writer, file: file), name: name)
        }
    }

    /// Reads every record of `source` (CRC-64 compared) into a keyspace, reporting progress to `load` every
    /// 512 records. Returns the load (a failure for a loader error) and the verification summary; throws a
    /// reader error.
    static func load(source: FollowingFileSource, name: String,
                     into load: IncomingLoad) throws -> (Result<IncomingLoad.Loaded, Error>, String) {
        let reader = RDBReader(source: source, fileName: name, options: RDBReaderOptions(verifyChecksum: true))
        var loader = KeyspaceLoader()
        var loadError: Error?
        var tally = SnapshotVerifier.RecordTally()
        var records = 0
        let arena = RDBValueArena()  // values built from the reader's lent bytes, no array per element
        while let record = try reader.next(lendingInto: arena) {
            if loadError == nil {
                do {
                    try loader.consume(record, lent: arena)
                } catch {
                    loadError = error
                    loader = KeyspaceLoader()   // the partial dataset is dropped now, not kept to the end
                }
            }
            tally.count(record)
            records += 1
            if records % 512 == 0 { source.report(to: load, keys: tally.keys) }
        }
        source.report(to: load, keys: tally.keys)
        let summary = tally.summary
        if let loadError { return (.failure(loadError), summary) }
        return (.success(IncomingLoad.Loaded(keyspace: loader.keyspace, header: loader.header)), summary)
    }
}

/// A `ByteSource` over the file a `FullSyncWriter` is writing: reads block until more bytes are written,
/// and end where the writer's input ended.
final class FollowingFileSource: ByteSource {
    private let writer: FullSyncWriter
    private let file: DurableFile
    private var position: Int64 = 0
    private var available: Int64 = 0
    private var ended = false

    init(writer: FullSyncWriter, file: DurableFile) {
        self.writer = writer
        self.file = file
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let (available, isEnd) = try writer.waitForBytes(beyond: position)
        self.available = available
        ended = isEnd
        guard available > position else { return 0 }
        let want = Int(min(Int64(buffer.count), available - position))
        let got = try file.readFully(at: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        guard got > 0 else {
            throw SnapshotVerifier.Failure(description: "\(writer.path): error at byte \(position): the file ends before the \(available) bytes written")
        }
        position += Int64(got)
        return got
    }

    /// Tells `load` how far the reader is (the bytes handed to it) and how much has arrived.
    func report(to load: IncomingLoad, keys: Int) {
        load.progress(processed: position, arrived: available, inputEnded: ended, keys: keys)
    }
}
