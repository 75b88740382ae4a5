import Foundation
import Logging
import NIOCore
import NIOPosix
import ReplicaServer
import ReplicaStore
import ServiceLifecycle

/// `redis-replica follow` as a service: opens the data directory, runs the link until a fatal error or a
/// graceful shutdown (SIGTERM/SIGINT), then fsyncs the log and closes the store.
///
/// `Sendable` as checked by the compiler: its stored properties are `let`s of `Sendable` types.
public final class FollowService: Service, Sendable {
    public let options: FollowOptions
    let logger: Logger

    public init(options: FollowOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        // TLS files and the supervisor socket are checked before anything else: a bad setting stops follow
        // at startup with the option named, never at each retry.
        var options = self.options
        var supervisor: SystemdNotifier?
        do {
            options.masterTLSContext = try options.masterTLS?.makeClientContext()
            supervisor = try SystemdNotifier.make(mode: options.supervised, logger: logger)
        } catch {
            throw FollowError(.local, "\(error)")
        }
        if let supervisor {
            logger.notice("Supervised by systemd (NOTIFY_SOCKET \(supervisor.socketName)): READY=1 once the link streams. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.")
        }
        let store: ReplicaStore
        do {
            // Clock records: relative TTLs from a 6.2 master replay with the time they arrived.
            var storeOptions = ReplicaStore.Options()
            storeOptions.recordArrivalTime = true
            store = try ReplicaStore.open(directory: options.directory, fsync: options.fsync, options: storeOptions)
        } catch {
            throw FollowError(.local, "cannot open the data directory \(options.directory): \(error)")
        }
        if let torn = store.recoveredTornTail {
            logger.warning("Recovery cut a torn log tail: \(torn)")
        }
        do {
            try LinkDriver.publishReceived(store: store, verifyDepth: options.verifyDepth, logger: logger)
        } catch {
            try? store.close()
            throw FollowError(.local, "cannot publish the full sync received before the last stop: \(error)")
        }
        var server: ReplicaServer?
        if options.server == nil && options.failoverGuard {
            var guardConfig = ServerConfiguration.failoverGuard(masterHost: options.masterHost, masterPort: options.masterPort)
            if let tls = options.masterTLS {
                // A master with tls-replication reaches its failover target over TLS: the guard must speak it.
                if tls.certFile != nil && tls.keyFile != nil {
                    guardConfig.servePlain = false
                    guardConfig.tlsPort = 0
                    guardConfig.tlsFiles = tls
                    guardConfig.tlsAuthClients = .optional
                } else {
                    logger.warning("The failover guard listens without TLS (no --tls-cert-file/--tls-key-file): a master with tls-replication cannot reach it to be refused")
                }
            }
            options.server = guardConfig
        }
        if let config = options.server {
            let directory = options.directory
            let s = ReplicaServer(configuration: config, store: store, logger: logger,
                                  linkStatus: { LinkStatus.fromStateFile(directory: directory) })
            do {
                try s.start()
            } catch let e as TLSSetupError {
                try? store.close()
                throw FollowError(.local, "\(e)")
            } catch {
                try? store.close()
                let ports = [config.servePlain ? "\(config.port)" : nil, config.tlsPort.map { "\($0) (TLS)" }].compactMap { $0 }
                throw FollowError(.local, "cannot listen on \(config.bindAddress):\(ports.joined(separator: ", ")): \(error)")
            }
            server = s
            if config.failoverGuardOnly { options.listeningPort = config.servePlain ? s.boundPort : s.boundTLSPort }
        }
        defer { server?.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let driver = LinkDriver(options: options, group: group, store: store, logger: logger)
        driver.supervisor = supervisor
        supervisor?.status("Connecting to MASTER \(options.masterAddress)")
        driver.start()
        // After the driver: PSYNC goes out first; the dataset loads on its own thread while the link streams.
        var dataset: DatasetFollower?
        if options.dataset {
            let follower = DatasetFollower(store: store, logger: logger)
            follower.onStateChange = { [weak driver] phaseChanged in
                guard let driver else { return }
                driver.loop.execute { driver.datasetChanged(phaseChanged: phaseChanged) }
            }
            if options.compactAfterBytes != 0 {
                follower.compactor = DatasetCompactor(store: store, logger: logger, threshold: options.compactAfterBytes)
            }
            driver.loop.execute { driver.dataset = follower }
            follower.start()
            dataset = follower
            server?.serveReads { follower.readView() }
        }
        defer { dataset?.stop() }
        Self.verifySealedSegmentsLater(store, logger: logger)
        do {
            try await withGracefulShutdownHandler {
                try await driver.done.get()
            } onGracefulShutdown: {
                driver.shutdown()
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    /// Reads the sealed log segments that the open took on trust (`ReplicaStore.verifySealedSegments`), on
    /// a thread at nice +10, once the link has recorded its sync (+CONTINUE or a full sync; at most 10 s
    /// after start), so PSYNC goes out first at any log size. A damaged segment is logged at error level
    /// with the file and byte offset; the store is stopped, so `follow` exits with that error.
    static func verifySealedSegmentsLater(_ store: ReplicaStore, logger: Logger) {
        guard !store.sealedSegmentsVerified else { return }
        let openedMs = Int64(Date().timeIntervalSince1970 * 1000) - 1000
        let t = Thread {
            DatasetFollower.yieldToTheLink()
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && (store.currentManifest?.lastSync.unixMs ?? 0) < openedMs { usleep(20_000) }
            let start = Date()
            switch store.verifySealedSegments() {
            case .verified(let n, let bytes):
                logger.notice("Sealed log segments verified: \(n) segments, \(bytes) bytes in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
            case .damaged(let file, let offset, let reason):
                logger.error("Sealed log segment \(file) is damaged at byte \(offset): \(reason). Recorded in DAMAGED: this directory is refused from now on (move it aside and start follow with a new directory: one full sync). Stopping.")
            case .stopped:
                break
            }
        }
        t.name = "redis-replica.verify-log"
        t.start()
    }

    /// Runs the service in a ServiceGroup with SIGTERM/SIGINT as graceful shutdown signals.
    /// Returns normally after a graceful shutdown; throws `FollowError` on a fatal error.
    public static func runUntilShutdown(options: FollowOptions, logger: Logger) async throws {
        let service = FollowService(options: options, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch let e as ServiceGroupError {
            // Unwrap the service's own error when the group reports it.
            throw e
        }
    }
}
