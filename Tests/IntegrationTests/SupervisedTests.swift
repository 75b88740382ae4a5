#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ReplicaStore
import Testing
import TestSupport

/// `follow --supervised systemd` against a fake NOTIFY_SOCKET (a unix datagram socket the test binds):
/// STATUS lines follow the link's state, READY=1 arrives once the link streams (never before), and
/// STOPPING=1 on a graceful stop. The real binary, a real 7.0 master.
@Suite("follow --supervised systemd", .serialized)
struct SupervisedTests {
    @Test("READY=1 after streaming begins; STATUS lines carry the replication state; again after a restart (+CONTINUE)")
    func notifiesSystemd() throws {
        let master = try RedisServerProcess()
        defer { master.stop() }
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let socketPath = tmp.file("notify.sock").path
        let listener = try NotifySocketListener(name: socketPath)
        let dir = tmp.file("data").path
        let follower = Follower(master: master, dir: dir, listeningPort: 0, extra: ["--supervised", "systemd"],
                                environment: ["NOTIFY_SOCKET": socketPath])
        try follower.start()
        defer { follower.stop() }
        var messages = listener.collect(timeout: 30) { $0.contains("READY=1") }
        // When READY=1 arrives, the link is streaming (state.json is written before the notification).
        #expect(FollowerState.read(directory: dir)?.link == .streaming)
        #expect(messages.last == "READY=1\n", "\(messages)")
        #expect(messages.first == "STATUS=Connecting to MASTER 127.0.0.1:\(master.port)\n", "\(messages)")
        #expect(messages.contains { $0.hasPrefix("STATUS=MASTER <-> REPLICA sync: handshake") })
        #expect(messages.contains { $0.hasPrefix("STATUS=MASTER <-> REPLICA sync: receiving the full sync RDB") })
        let streaming = messages.dropLast().last ?? ""
        #expect(streaming.hasPrefix("STATUS=MASTER <-> REPLICA sync: Finished with success. Streaming from 127.0.0.1:\(master.port) at offset "),
                "\(messages)")
        #expect(messages.filter { $0.contains("READY=1") }.count == 1)
        #expect(follower.log.contains("Supervised by systemd"))

        // A graceful stop says STOPPING=1.
        #expect(follower.stop() == 0)
        let stopping = listener.collect(timeout: 10) { $0.contains("STOPPING=1") }
        #expect(stopping.last?.hasPrefix("STOPPING=1\n") == true, "\(stopping)")

        // Restarted: +CONTINUE, and READY=1 once streaming again.
        try follower.start()
        messages = listener.collect(timeout: 30) { $0.contains("READY=1") }
        #expect(messages.last == "READY=1\n", "\(messages)")
        #expect(messages.dropLast().last?.hasPrefix("STATUS=MASTER <-> REPLICA sync: Partial Resynchronization accepted. Streaming from") == true,
                "\(messages)")
        #expect(!messages.contains { $0.contains("receiving the full sync RDB") })
    }

    @Test("--supervised systemd without NOTIFY_SOCKET stops at startup; --supervised auto without it runs unsupervised")
    func withoutNotifySocket() throws {
        let master = try RedisServerProcess()
        defer { master.stop() }
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        let strict = Follower(master: master, dir: tmp.file("a").path, listeningPort: 0, extra: ["--supervised", "systemd"])
        strict.environment = ["NOTIFY_SOCKET": ""]
        try strict.start()
        #expect(try strict.waitForExit(timeout: 20) == 1)
        #expect(strict.log.contains("NOTIFY_SOCKET is not set"), "\(strict.log)")

        let auto = Follower(master: master, dir: tmp.file("b").path, listeningPort: 0, extra: ["--supervised", "auto"])
        auto.environment = ["NOTIFY_SOCKET": ""]
        try auto.start()
        defer { auto.stop() }
        try auto.waitCaughtUp()
        #expect(!auto.log.contains("Supervised by systemd"))
    }
}
