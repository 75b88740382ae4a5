#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
@testable import ReplicaNode
import Replication
import Testing
import TestSupport

/// The sd_notify datagram protocol without systemd: a path socket and an abstract (`@name`) one, and the
/// messages the link's states produce.
@Suite struct SystemdNotifierTests {
    static var logger: Logger {
        var l = Logger(label: "test")
        l.logLevel = .critical
        return l
    }

    @Test func abstractAndPathSockets() throws {
        let tmp = try TestPaths.makeTemporaryDirectory(prefix: "notify")
        defer { tmp.remove() }
        for name in ["@redis-replica-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", tmp.file("n.sock").path] {
            let listener = try NotifySocketListener(name: name)
            let notifier = try SystemdNotifier(socketName: name, logger: Self.logger)
            #expect(notifier.send("STATUS=hello\n"))
            #expect(listener.receive(timeout: 5) == "STATUS=hello\n")
        }
    }

    @Test func readyOnlyOnceStreamingAndStatusPerState() throws {
        let name = "@redis-replica-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let listener = try NotifySocketListener(name: name)
        let n = try SystemdNotifier(socketName: name, logger: Self.logger)
        let m = "10.0.0.1:6379"
        n.linkChanged(from: .connect, to: .connecting, master: m, offset: nil, error: nil)
        n.linkChanged(from: .connecting, to: .receivePingReply, master: m, offset: nil, error: nil)
        n.linkChanged(from: .receivePingReply, to: .receivePortReply, master: m, offset: nil, error: nil)  // same status: not repeated
        n.linkChanged(from: .receivePsyncReply, to: .transfer, master: m, offset: nil, error: nil)
        n.linkChanged(from: .transfer, to: .connected, master: m, offset: 42, error: nil)
        n.linkChanged(from: .connected, to: .connect, master: m, offset: 50, error: "connection closed by the master")
        n.linkChanged(from: .receivePsyncReply, to: .connected, master: m, offset: 50, error: nil)
        var got: [String] = []
        while let s = listener.receive(timeout: 0.5) { got.append(s) }
        #expect(got == [
            "STATUS=Connecting to MASTER 10.0.0.1:6379\n",
            "STATUS=MASTER <-> REPLICA sync: handshake with 10.0.0.1:6379\n",
            "STATUS=MASTER <-> REPLICA sync: receiving the full sync RDB from 10.0.0.1:6379\n",
            "STATUS=MASTER <-> REPLICA sync: Finished with success. Streaming from 10.0.0.1:6379 at offset 42.\n",
            "READY=1\n",
            "STATUS=Link to MASTER 10.0.0.1:6379 down: connection closed by the master; retrying\n",
            "STATUS=MASTER <-> REPLICA sync: Partial Resynchronization accepted. Streaming from 10.0.0.1:6379 at offset 50.\n",
        ])
    }

    @Test func modes() throws {
        #expect(try SystemdNotifier.make(mode: .no, environment: ["NOTIFY_SOCKET": "@x"], logger: Self.logger) == nil)
        #expect(try SystemdNotifier.make(mode: .auto, environment: [:], logger: Self.logger) == nil)
        #expect(try SystemdNotifier.make(mode: .auto, environment: ["NOTIFY_SOCKET": "@x"], logger: Self.logger) != nil)
        #expect(throws: SupervisionError.self) { try SystemdNotifier.make(mode: .systemd, environment: [:], logger: Self.logger) }
        #expect(throws: SupervisionError.self) { try SystemdNotifier(socketName: "relative/path", logger: Self.logger) }
    }
}
