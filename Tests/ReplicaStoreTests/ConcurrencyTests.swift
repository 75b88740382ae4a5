import Base
import TestSupport
import Foundation
import Testing
@testable import ReplicaStore

/// The store on the real file system with other threads: `status` (read-only inspect) while a writer
/// appends, rolls segments and publishes a new full sync; the `everysec` background fsync.
@Suite struct ConcurrencyTests {
    @Test func inspectWhileAWriterAppendsRollsAndPublishes() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ReplicaStore.open(directory: dir, fsync: .no, options: noBackground(segmentSize: 4096))
        try fullSync(store, replid: replid("a"), offset: 0, rdb: TestRDB.make(replid: replid("a"), offset: 0))
        let (done, writerError) = startRollingWriter(store)
        var looks = 0
        var lastA: Int64 = 0
        var lastB: Int64 = 0
        while done.wait(timeout: .now()) == .timedOut && looks < 10_000 {
            let s = try ReplicaStore.inspect(directory: dir)
            let off = try #require(s.offset)
            if s.replid == replid("a") {
                #expect(lastB == 0, "went back to the old full sync")
                #expect(off >= lastA)
                lastA = off
            } else {
                #expect(s.replid == replid("b"))
                #expect(off >= max(lastB, 5_000_000))
                lastB = off
            }
            looks += 1
        }
        #expect(writerError.get() == nil)
        #expect(looks > 0)
        let final = try ReplicaStore.inspect(directory: dir)
        #expect(final.offset == store.position?.offset)
        #expect(final.tornTail == nil)
        try store.close()
    }

    /// Under `everysec` an append does not fsync: the offset becomes durable only at the next
    /// `sync()` (the timer's job; here without the timer, so nothing can fire in between).
    @Test func everysecAppendIsNotDurableUntilTheSync() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: "/d", fsync: .everysec, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("a"), offset: 10, rdb: TestRDB.make(replid: replid("a"), offset: 10))
        let end = try store.append(resp("SET", "a", "b"), streamDB: 0)
        #expect(store.durableOffset == 10)
        #expect(try store.sync() == end)
        #expect(store.durableOffset == end)
        try store.close()
    }

    @Test func everysecFsyncsInTheBackground() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: "/d", fsync: .everysec, fileSystem: fs)
        try fullSync(store, replid: replid("a"), offset: 10, rdb: TestRDB.make(replid: replid("a"), offset: 10))
        let end = try store.append(resp("SET", "a", "b"), streamDB: 0)
        // Polled with a deadline: the timer fires every second; whether it already ran is not asserted.
        let deadline = Date().addingTimeInterval(10)
        while store.durableOffset < end && Date() < deadline {
            usleep(20_000)
        }
        #expect(store.durableOffset == end)
        // What the background fsync made durable survives a power loss.
        fs.crash(seed: 1)
        let again = try ReplicaStore.open(directory: "/d", fsync: .everysec, fileSystem: fs, options: noBackground())
        #expect(again.position?.offset == end)
        try again.close()
    }
}

/// A writer thread for the concurrent-reader tests: 3,000 appends across three dbs, rolling segments as the
/// store's options say, with a full sync to replid "b" at offset 5,000,000 halfway. `done` is signalled at
/// the end; `error` holds what it threw.
func startRollingWriter(_ store: ReplicaStore) -> (done: DispatchSemaphore, error: ErrorBox) {
    let done = DispatchSemaphore(value: 0)
    let writerError = ErrorBox()
    let writer = Thread {
        defer { done.signal() }
        do {
            for i in 0..<3000 {
                if i == 1500 {
                    try fullSync(store, replid: replid("b"), offset: 5_000_000, rdb: TestRDB.make(replid: replid("b"), offset: 5_000_000))
                }
                try store.append(resp("SET", "key:\(i)", String(repeating: "x", count: i % 200)), streamDB: i % 3)
            }
        } catch {
            writerError.set(error)
        }
    }
    writer.start()
    return (done, writerError)
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.lock(); error = e; lock.unlock() }
    func get() -> Error? { lock.lock(); defer { lock.unlock() }; return error }
}
