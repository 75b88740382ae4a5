import Base
import TestSupport
import Foundation
import Testing
@testable import ReplicaStore

@Suite struct StatusTests {
    @Test func textAndJSONShowPositionSnapshotLogAndLink() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("a"), offset: 1000, rdb: TestRDB.make(replid: replid("a"), offset: 1000, streamDB: 0))
        let c = resp("SELECT", "2") + resp("SET", "k", "v")
        try store.append(c, streamDB: 2)
        try store.recordPartialSync(replid: replid("b"))
        try FollowerState.write(FollowerState(link: .streaming, master: "127.0.0.1:6379", updatedUnixMs: 0,
                                              linkSinceUnixMs: 0, ackedOffset: 1000 + Int64(c.count)),
                                directory: "/d", fileSystem: fs)
        let status = try ReplicaStore.inspect(directory: "/d", fileSystem: fs)
        let end = 1000 + Int64(c.count)
        #expect(status.offset == end)
        #expect(status.streamDB == 2)
        #expect(status.replid == replid("b"))
        #expect(status.replid2 == replid("a"))
        #expect(status.secondReplOffset == end + 1)
        #expect(status.logBytes == Int64(LogRecord.headerSize + c.count))
        #expect(status.lastSync?.kind == .partial)
        let text = status.text(nowUnixMs: 60_000).replacingOccurrences(of: "  ", with: " ").replacingOccurrences(of: "  ", with: " ").replacingOccurrences(of: "  ", with: " ").replacingOccurrences(of: "  ", with: " ")
        #expect(text.contains("offset: \(end) (resumes with PSYNC \(replid("b")) \(end + 1)), stream db 2"))
        #expect(text.contains("replid2: \(replid("a")) (valid up to offset \(end + 1))"))
        #expect(text.contains("(matches +FULLRESYNC)"))
        #expect(text.contains("1 segment, "))
        #expect(text.contains("last sync: partial at "))
        #expect(text.contains("link: streaming since 1970-01-01T00:00:00Z (60s), master 127.0.0.1:6379, follower pid \(getpid()), last ACK \(end)"))
        let json = try status.json()
        let back = try JSONDecoder().decode(StoreStatus.self, from: Data(json.utf8))
        #expect(back == status)
        // The open store reports the same position, plus what is durable.
        #expect(store.status.offset == end)
        #expect(store.status.durableOffset == end)
        try store.close()
    }

    /// The dataset's phases as `status` and `status --json` show them (from `state.json`).
    @Test func datasetPhasesInTextAndJSON() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("a"), offset: 1000, rdb: TestRDB.make(replid: replid("a"), offset: 1000, streamDB: 0))
        let cases: [(DatasetState?, String)] = [
            (DatasetState(phase: .loading, processedBytes: 0), "dataset: waiting for the first full sync"),
            (DatasetState(phase: .loading, processedBytes: 421, totalBytes: 1000, snapshot: "snapshot-000002.rdb"),
             "dataset: loading (42.1% of snapshot + log)"),
            (DatasetState(phase: .ready, appliedOffset: 1234, keys: 7, snapshot: "snapshot-000002.rdb"),
             "dataset: ready at offset 1234, 7 keys"),
            (DatasetState(phase: .diverged, appliedOffset: 1100, snapshot: "snapshot-000002.rdb", divergedOffset: 1150,
                          command: "LPUSH", reason: "WRONGTYPE"), "dataset: diverged at offset 1150 on LPUSH: WRONGTYPE"),
            (nil, "dataset: not kept (follow --no-dataset)"),
        ]
        for (dataset, line) in cases {
            try FollowerState.write(FollowerState(link: .streaming, updatedUnixMs: 0, dataset: dataset), directory: "/d", fileSystem: fs)
            let status = try ReplicaStore.inspect(directory: "/d", fileSystem: fs)
            #expect(status.follower?.dataset == dataset)
            let text = status.text(nowUnixMs: 0).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            #expect(text.contains(line), "\(text)")
            let json = try status.json()
            #expect(try JSONDecoder().decode(StoreStatus.self, from: Data(json.utf8)) == status)
            if dataset?.phase == .loading && dataset?.totalBytes != nil { #expect(json.contains("\"percent\" : 42.1")) }
        }
        try store.close()
    }

    @Test func emptyDirectoryStatus() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/e")
        let text = try ReplicaStore.inspect(directory: "/e", fileSystem: fs).text().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        #expect(text.contains("position: none (no full sync yet: follow will send PSYNC ? -1)"))
        #expect(text.contains("link: not running"))
    }

    @Test func zombieFollowerCountsAsNotRunning() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { for p in argv { free(p) } }
        #expect(posix_spawn(&pid, "/bin/true", nil, nil, argv, nil) == 0)
        // Not reaped yet: wait (bounded) until it has exited and shows as a zombie.
        var zombie = false
        for _ in 0..<500 {
            if let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), s.contains(") Z") {
                zombie = true
                break
            }
            usleep(10_000)
        }
        #expect(zombie)
        #expect(kill(pid, 0) == 0, "a zombie still answers kill(pid, 0)")
        #expect(!FollowerState(pid: pid, link: .streaming).isProcessAlive)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(!FollowerState(pid: pid, link: .streaming).isProcessAlive)
        #expect(FollowerState(pid: getpid(), link: .streaming).isProcessAlive)
    }
}
