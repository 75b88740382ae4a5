import Base
import Foundation
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
/// `@unchecked Sendable`: the verdict is written once by the thread and read after `done` is signalled.
final class IncomingRDBVerifier: @unchecked Sendable {
    let depth: SnapshotVerifyDepth
    private let writer: FullSyncWriter
    private let done = DispatchSemaphore(value: 0)
    private var verdict: Result<String, Error>?
    private let lock = Lock()
    /// Monotonic ns when the verdict was reached (for the log: how long after the last byte).
    private(set) var finishedAt: UInt64 = 0

    init(writer: FullSyncWriter, depth: SnapshotVerifyDepth) {
        self.writer = writer
        self.depth = depth
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
        let file = try writer.openForFollowing()
        defer { file.close() }
        let source = FollowingFileSource(writer: writer, file: file)
        let name = writer.path
        switch depth {
        case .full:
            return try SnapshotVerifier.verifyRecords(source: AnyByteSource(source), name: name)
        case .checksum:
            return try SnapshotVerifier.verifyChecksum(source: source, name: name)
        }
    }
}

/// A `ByteSource` over the file a `FullSyncWriter` is writing: reads block until more bytes are written,
/// and end where the writer's input ended.
final class FollowingFileSource: ByteSource {
    private let writer: FullSyncWriter
    private let file: DurableFile
    private var position: Int64 = 0

    init(writer: FullSyncWriter, file: DurableFile) {
        self.writer = writer
        self.file = file
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let (available, _) = try writer.waitForBytes(beyond: position)
        guard available > position else { return 0 }
        let want = Int(min(Int64(buffer.count), available - position))
        let got = try file.readFully(at: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        guard got > 0 else {
            throw SnapshotVerifier.Failure(description: "\(writer.path): error at byte \(position): the file ends before the \(available) bytes written")
        }
        position += Int64(got)
        return got
    }
}
