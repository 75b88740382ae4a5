import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
@testable import ReplicaNode
import ReplicaStore
import Replication
import Testing
import TestSupport

/// A small, well-formed RDB (version 10) with the repl AUX fields, as a master sends it.
func tinyRDB(replid: String, offset: Int64, streamDB: UInt8 = 0) -> [UInt8] {
    func string(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
    var b = Array("REDIS0010".utf8)
    func aux(_ k: String, _ v: [UInt8]) { b += [250] + string(k) + v }
    aux("redis-ver", string("7.0.15"))
    aux("repl-stream-db", [0xC0, streamDB])
    aux("repl-id", string(replid))
    aux("repl-offset", string(String(offset)))
    b += [254, 0, 251, 1, 0, 0] + string("k") + string("v")
    b += [255] + [UInt8](repeating: 0, count: 8)
    return b
}

func command(_ args: String...) -> [UInt8] {
    var s = "*\(args.count)\r\n"
    for a in args { s += "$\(a.utf8.count)\r\n\(a)\r\n" }
    return Array(s.utf8)
}

/// A `LinkDriver` on an `EmbeddedEventLoop` whose "master" connections are `EmbeddedChannel`s, over a
/// store on the simulated file system.
final class DriverRig {
    let loop = EmbeddedEventLoop()
    let fs = SimulatedFileSystem()
    let store: ReplicaStore
    var driver: LinkDriver!
    /// Every connection the driver opened, in order.
    var channels: [EmbeddedChannel] = []
    /// Persistence work held back until the test releases it (when `holdPersistence` is set).
    var heldPersistence: (EventLoopPromise<LinkDriver.PersistOutcome>, @Sendable () throws -> LinkDriver.PersistOutcome)?
    var holdPersistence = false
    let directory: String

    init(verifyDepth: SnapshotVerifyDepth? = nil, verifier: LinkDriver.Verifier? = nil, fsync: FsyncPolicy = .always,
         maxHeld: Int? = nil, backoffMaxMs: Int = 200) throws {
        directory = NSTemporaryDirectory() + "link-driver-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try ReplicaStore.open(directory: directory, fsync: fsync, fileSystem: fs,
                                      options: .init(backgroundSync: false))
        var options = FollowOptions(masterHost: "127.0.0.1", masterPort: 6379, directory: directory,
                                    fsync: fsync, replTimeoutSeconds: 60, listeningPort: 7000,
                                    backoffInitialMs: 100, backoffMaxMs: backoffMaxMs, verifyDepth: verifyDepth)
        if let maxHeld { options.maxHeldCommandBytes = maxHeld }
        driver = LinkDriver(options: options, group: loop, store: store, logger: Logger(label: "test"),
            connector: { [unowned self] d in
                let ch = EmbeddedChannel(handler: LinkHandler(driver: d), loop: self.loop)
                _ = ch.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 6379))
                self.channels.append(ch)
                return self.loop.makeSucceededFuture(ch)
            },
            offload: { [unowned self] loop, work in
                if self.holdPersistence {
                    let p = loop.makePromise(of: LinkDriver.PersistOutcome.self)
                    self.heldPersistence = (p, work)
                    return p.futureResult
                }
                return loop.makeCompletedFuture(withResultOf: work)
            })
        if let verifier {
            driver.verifier = verifier
            driver.verifyWhileReceiving = false
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var channel: EmbeddedChannel { channels[channels.count - 1] }

    /// The last autoRead value the driver set on the current connection.
    var autoRead: Bool? {
        channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }?.value as? Bool
    }

    /// Everything the driver wrote to the current connection since the last call.
    func sent() throws -> [UInt8] {
        var out: [UInt8] = []
        while let b = try channel.readOutbound(as: ByteBuffer.self) { out += b.readableBytesView }
        return out
    }

    func master(_ bytes: [UInt8]) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        loop.run()
    }

    func master(_ s: String) throws { try master(Array(s.utf8)) }

    func advance(seconds: Int64) {
        for _ in 0..<seconds { loop.advanceTime(by: .seconds(1)) }
    }

    /// Starts the driver and answers the handshake up to the PSYNC.
    func startAndHandshake() throws -> [UInt8] {
        driver.start()
        loop.run()
        return try handshake()
    }

    func handshake() throws -> [UInt8] {
        #expect(try sent() == command("PING"))
        try master("+PONG\r\n+OK\r\n+OK\r\n+OK\r\n")
        return try sent()
    }

    func shutdown() throws {
        driver.shutdown()
        loop.run()
        try driver.done.wait()
    }
}

let masterID = "8de1787ba490483314a4d30f1c628bc5025eb761"

@Suite("LinkDriver with a fake channel and the simulated store")
struct LinkDriverTests {
    @Test("full sync: the RDB is published, the stream behind it waits for it, then the first ACK and the log")
    func fullSync() throws {
        let rig = try DriverRig()
        let burst = try rig.startAndHandshake()
        #expect(burst == command("REPLCONF", "listening-port", "7000") + command("REPLCONF", "capa", "eof", "capa", "psync2") + command("REPLCONF", "version", "9.1.2") + command("PSYNC", "?", "-1"))
        let rdb = tinyRDB(replid: masterID, offset: 500)
        let stream = command("SELECT", "0") + command("SET", "a", "1")
        try rig.master(Array("+FULLRESYNC \(masterID) 500\r\n$\(rdb.count)\r\n".utf8) + rdb + stream)
        #expect(try rig.sent() == command("REPLCONF", "ACK", "500", "FACK", "500"))
        #expect(rig.store.position?.replid == masterID)
        #expect(rig.store.position?.offset == 500 + Int64(stream.count))
        var logged: [UInt8] = []
        try rig.store.forEachLogRecord { logged += $0.payload; return true }
        #expect(logged == stream)
        try rig.shutdown()
    }

    @Test("while the snapshot is being persisted the loop keeps ticking: a newline each second, then the ACK")
    func keepaliveWhilePersisting() throws {
        let rig = try DriverRig()
        rig.holdPersistence = true
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 42)
        try rig.master(Array("+FULLRESYNC \(masterID) 42\r\n$EOF:\(String(repeating: "x", count: 40))\r\n".utf8) + rdb + Array(String(repeating: "x", count: 40).utf8))
        #expect(try rig.sent() == [])
        // Reads are paused while the snapshot is persisted (the master buffers the stream), resumed after.
        #expect(rig.autoRead == false)
        rig.advance(seconds: 3)
        #expect(try rig.sent() == Array("\n\n\n".utf8))
        let (promise, work) = try #require(rig.heldPersistence)
        promise.completeWith(Result { try work() })
        rig.loop.run()
        #expect(try rig.sent() == command("REPLCONF", "ACK", "42", "FACK", "42"))
        #expect(rig.autoRead == true)
        #expect(rig.store.position?.offset == 42)
        try rig.shutdown()
    }

    @Test("a snapshot that fails verification is dropped: the connection closes and a new one asks again")
    func rejectedSnapshot() throws {
        struct Corrupt: Error {}
        let rig = try DriverRig(verifyDepth: .checksum, verifier: { _, _ in throw Corrupt() })
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 9)
        try rig.master(Array("+FULLRESYNC \(masterID) 9\r\n$\(rdb.count)\r\n".utf8) + rdb)
        #expect(rig.store.position == nil)
        #expect(!rig.channel.isActive)
        #expect(rig.channels.count == 1)
        rig.advance(seconds: 1)
        #expect(rig.channels.count == 2)
        #expect(try rig.handshake().suffix(command("PSYNC", "?", "-1").count) == ArraySlice(command("PSYNC", "?", "-1")))
        try rig.shutdown()
    }

    @Test("a payload that is not an RDB, with no verdict yet (--verify none), is dropped like a corrupt one, never fatal")
    func notAnRDBWithoutVerification() throws {
        let rig = try DriverRig(verifyDepth: nil)
        _ = try rig.startAndHandshake()
        for payload in [Array("HELLO WORLD this is not an RDB file".utf8), [], Array("REDIS00".utf8)] {
            try rig.master(Array("+FULLRESYNC \(masterID) 9\r\n$\(payload.count)\r\n".utf8) + payload)
            #expect(rig.store.position == nil)
            #expect(!rig.channel.isActive)
            let before = rig.channels.count
            rig.advance(seconds: 1)
            #expect(rig.channels.count == before + 1, "the driver reconnects instead of stopping")
            #expect(try rig.handshake().suffix(command("PSYNC", "?", "-1").count) == ArraySlice(command("PSYNC", "?", "-1")))
        }
        // A good transfer after the bad ones is published.
        let rdb = tinyRDB(replid: masterID, offset: 9)
        try rig.master(Array("+FULLRESYNC \(masterID) 9\r\n$\(rdb.count)\r\n".utf8) + rdb)
        #expect(rig.store.position?.offset == 9)
        try rig.shutdown()
    }

    @Test("a lost connection reconnects with PSYNC from the log's end; +CONTINUE appends on")
    func reconnectContinue() throws {
        let rig = try DriverRig()
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 100)
        let first = command("SET", "a", "1")
        try rig.master(Array("+FULLRESYNC \(masterID) 100\r\n$\(rdb.count)\r\n".utf8) + rdb + first)
        _ = try rig.sent()
        rig.channel.pipeline.fireChannelInactive()
        rig.loop.run()
        rig.advance(seconds: 1)
        #expect(rig.channels.count == 2)
        let end = 100 + Int64(first.count)
        #expect(try rig.handshake() == command("REPLCONF", "listening-port", "7000") + command("REPLCONF", "capa", "eof", "capa", "psync2") + command("REPLCONF", "version", "9.1.2") + command("PSYNC", masterID, String(end + 1)))
        let second = command("MULTI") + command("INCR", "n") + command("EXEC")
        try rig.master(Array("+CONTINUE\r\n".utf8) + second)
        #expect(rig.store.position?.offset == end + Int64(second.count))
        rig.advance(seconds: 1)
        #expect(try rig.sent() == command("REPLCONF", "ACK", String(end + Int64(second.count)), "FACK", String(end + Int64(second.count))))
        try rig.shutdown()
    }

    @Test("a link that keeps failing right after +CONTINUE backs off ever longer; one that stayed up starts over")
    func backoffAcrossShortLinks() throws {
        let rig = try DriverRig(backoffMaxMs: 5000)
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 100)
        try rig.master(Array("+FULLRESYNC \(masterID) 100\r\n$\(rdb.count)\r\n".utf8) + rdb)
        // Each connection reaches streaming, then the master sends garbage at once (a protocol error).
        // Before the fix the backoff started over at every streaming link: every retry came within 100 ms.
        // Delays: attempt n waits 50-100 % of min(5000, 100 * 2^n) ms.
        for attempt in 0..<4 {
            _ = try rig.sent()
            try rig.master("!garbage\r\n")
            #expect(!rig.channel.isActive)
            let before = rig.channels.count
            let lowest = Int64((100 << attempt) / 2)
            rig.loop.advanceTime(by: .milliseconds(lowest - 1))
            #expect(rig.channels.count == before, "attempt \(attempt): no reconnect before \(lowest) ms")
            rig.loop.advanceTime(by: .milliseconds(lowest + 1))
            #expect(rig.channels.count == before + 1, "attempt \(attempt): reconnected by \(2 * lowest) ms")
            // The third error in a row at one offset drops the cached master: answer whatever it asks.
            let psync = try rig.handshake()
            if psync.suffix(command("PSYNC", "?", "-1").count) == ArraySlice(command("PSYNC", "?", "-1")) {
                try rig.master(Array("+FULLRESYNC \(masterID) 100\r\n$\(rdb.count)\r\n".utf8) + rdb)
            } else {
                try rig.master("+CONTINUE\r\n")
            }
        }
        // A link that stays up for the cap (5 s) resets the backoff: the next retry is within 100 ms again.
        rig.advance(seconds: 6)
        _ = try rig.sent()
        try rig.master("!garbage\r\n")
        #expect(!rig.channel.isActive)
        let before = rig.channels.count
        rig.loop.advanceTime(by: .milliseconds(100))
        #expect(rig.channels.count == before + 1)
        try rig.shutdown()
    }

    @Test("a command past maxHeldCommandBytes goes to the store unfinished; a lost connection discards it, the resent one closes")
    func unfinishedCommand() throws {
        let rig = try DriverRig(maxHeld: 1024)
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 100)
        let first = command("SET", "a", "1")
        try rig.master(Array("+FULLRESYNC \(masterID) 100\r\n$\(rdb.count)\r\n".utf8) + rdb + first)
        _ = try rig.sent()
        let end = 100 + Int64(first.count)
        let big = command("SET", "big", String(repeating: "b", count: 5000))
        for i in stride(from: 0, to: 3000, by: 500) { try rig.master(Array(big[i..<(i + 500)])) }
        #expect(rig.store.unfinishedCommandBytes > 2000)
        #expect(rig.store.position?.offset == end)
        rig.advance(seconds: 1)
        #expect(try rig.sent() == command("REPLCONF", "ACK", String(end), "FACK", String(end)))
        rig.channel.pipeline.fireChannelInactive()
        rig.loop.run()
        #expect(rig.store.unfinishedCommandBytes == 0)
        rig.advance(seconds: 1)
        #expect(try rig.handshake().suffix(command("PSYNC", masterID, String(end + 1)).count).elementsEqual(command("PSYNC", masterID, String(end + 1))))
        try rig.master(Array("+CONTINUE\r\n".utf8))
        for i in stride(from: 0, to: big.count, by: 700) { try rig.master(Array(big[i..<min(big.count, i + 700)])) }
        #expect(rig.store.position?.offset == end + Int64(big.count))
        var log: [UInt8] = []
        var flagged = 0
        try rig.store.forEachLogRecord { e in
            log += e.payload
            if e.continues { flagged += 1 }
            return true
        }
        #expect(log == first + big)
        #expect(flagged > 0)
        try rig.shutdown()
    }

    @Test("the TCP connection to the master has SO_KEEPALIVE and Redis's tcp-keepalive 300 s")
    func tcpKeepalive() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let server = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let directory = NSTemporaryDirectory() + "link-driver-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ReplicaStore.open(directory: directory, fileSystem: SimulatedFileSystem(), options: .init(backgroundSync: false))
        let options = FollowOptions(masterHost: "127.0.0.1", masterPort: server.localAddress!.port!, directory: directory)
        let driver = LinkDriver(options: options, group: group, store: store, logger: Logger(label: "test"),
                                offload: { loop, work in loop.makeCompletedFuture(withResultOf: work) })
        defer {
            driver.shutdown()
            try? driver.done.wait()
        }
        let channel = try LinkDriver.connectTCP(driver).wait()
        defer { try? channel.close().wait() }
        #expect(try channel.getOption(ChannelOptions.socketOption(.so_keepalive)).wait() != 0)
        #expect(try channel.getOption(LinkDriver.tcpKeepIdle).wait() == 300)
        #expect(try channel.getOption(LinkDriver.tcpKeepInterval).wait() == 100)
        #expect(try channel.getOption(LinkDriver.tcpKeepCount).wait() == 3)
    }
}
