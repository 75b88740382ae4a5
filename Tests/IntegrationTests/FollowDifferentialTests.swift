#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Keyspace
import RDB
import ReplicaStore
import Testing
import TestSupport

/// The stateful replica end to end, against real masters: a seeded random workload (every command group the
/// applier covers, MULTI/EXEC, Lua, FUNCTION LOAD + FCALL, RESTORE, short TTLs) runs on the master, with
/// `maxmemory` evicting keys, while the built `redis-replica follow` records and applies it. The follower is
/// killed with -9 several times in the middle of the run (the master keeps writing while it is down), and it
/// compacts with a small `--compact-after-bytes`, so its snapshot is rewritten from the dataset several times.
///
/// At the end:
/// - the master counted one full sync only: every restart resumed with +CONTINUE;
/// - `redis-replica snapshot` of the directory and the master's SAVE hold the same canonical JSON;
/// - a fresh redis-server loading our snapshot reports the master's `DEBUG DIGEST`.
///
/// A 6.2 master propagates relative TTLs (EXPIRE, SET EX), which every replica turns into its own absolute
/// time at apply time: there expiry times are compared by presence only (DEBUG DIGEST does the same).
/// A failing run names its seed.
@Suite("follow: seeded workload with kill -9, compaction and evictions", .serialized)
struct FollowDifferentialTests {
    struct Run {
        var binary: String?
        var seed: UInt64
        var commands: Int
        var kills: Int
        var relativeTTLs: Bool { binary != nil && binary == RedisServerProcess.redis62BinaryPath }
        /// The RDB version the master's own server loads (6.2 reads up to 9).
        var rdbVersion: Int? { relativeTTLs ? 9 : nil }
        /// A Valkey 9 master: the full sync, its SAVE and our snapshot are all `VALKEY080` (hash-field
        /// expiries as Valkey's HASH_2), and a fresh valkey-server loads ours.
        var valkey9: Bool { binary != nil && binary == RedisServerProcess.valkey91BinaryPath }
        /// Any Valkey master (8.1 writes `REDIS0011` with a `valkey-ver` AUX field).
        var valkey: Bool { valkey9 || (binary != nil && binary == RedisServerProcess.valkey81BinaryPath) }
        /// The workload also sends SET IFEQ, DELIFEQ and MSETEX (the master refuses what it does not know).
        var newStringCommands = false
        /// Redis 8.6+/8.8+: idempotent producers (XADD IDMP / IDMPAUTO with repeats, XCFGSET, XIDMPRECORD) and
        /// XNACK releasing pending entries into their group's NACK zone (every mode, RETRYCOUNT, FORCE), which
        /// full syncs and snapshots carry as stream types 26 and 27; the IDMP states are compared too.
        var streamNacks = false
        /// More master settings (e.g. Redis 8.10's `hash-min-template-entries`).
        var masterArguments: [String] = []
        /// Workload steps sent before the follower starts, so its full sync carries data.
        var preload = 0
        /// Redis 8.10 arrays in the workload (ARSET, ARMSET, ARDEL, ARDELRANGE, ARINSERT, ARRING, ARSEEK).
        var arrays = false
    }

    /// A compaction threshold small enough that the run compacts several times.
    static let compactAfterBytes = 48 * 1024

    static func snapshotCommand(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try ReplicaBinary.path())
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self))
    }

    static func stat(_ client: RedisClient, _ section: String, _ field: String) throws -> Int64 {
        try #require(Int64(try client.info(section)[field] ?? ""), "INFO \(section) has no \(field)")
    }

    /// An IDMP state without the ids the master's cron may have dropped by `nowMs` (id time at or before
    /// now - duration), nor the producers left without ids.
    static func unexpired(_ idmp: StreamIDMP?, at nowMs: UInt64) -> StreamIDMP? {
        guard var s = idmp else { return nil }
        let cutoff = nowMs &- s.duration &* 1000
        s.producers = s.producers.compactMap { p in
            var p = p
            p.entries.removeAll { $0.id.ms <= cutoff }
            return p.entries.isEmpty ? nil : p
        }
        return s
    }

    /// The value type bytes of a file's keys.
    static func rdbTypes(_ path: String) throws -> Set<UInt8> {
        let reader = try AnyRDBReader(path: path)
        var types = Set<UInt8>()
        while let rec = try reader.next() { if case .entry(let e) = rec { types.insert(e.rdbType) } }
        return types
    }

    func run(_ r: Run) throws {
        let seed = r.seed
        let debug = r.relativeTTLs ? [] : ["--enable-debug-command", "yes"]
        let master = try RedisServerProcess(binary: r.binary, extraArguments: ["--repl-diskless-sync", "no", "--hz", "50"] + debug
                                            + r.masterArguments)
        defer { master.stop() }
        let client = try master.client(timeout: 30)
        defer { client.close() }
        let tmp = try TemporaryDirectory(prefix: "follow-diff")
        defer { tmp.remove() }
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: Int(try FreePort.allocate()),
                                extra: ["--compact-after-bytes", String(Self.compactAfterBytes)])
        defer { follower.stop() }
        var workload = DifferentialWorkload(seed: seed, newStringCommands: r.newStringCommands, arrays: r.arrays)
        /// What the client sent, to print the commands naming a key that differs.
        var sent: [String] = []
        for i in 0..<r.preload {
            for cmd in workload.next() { sent.append("preload \(i): " + cmd.joined(separator: " ")); _ = try client.command(cmd) }
        }
        if r.masterArguments.contains("--hash-min-template-entries") || r.arrays {
            // What the full sync will carry (the same data, saved again for it): checked here, not at the end,
            // where a long run may have rewritten every template hash or deleted every array.
            _ = try client.call("SAVE")
            let types = try Self.rdbTypes(master.rdbPath.path)
            if r.masterArguments.contains("--hash-min-template-entries") {
                #expect(types.contains(30), "seed \(seed): the full sync holds no template hashes: \(types.sorted())")
            }
            #expect(!r.arrays || types.contains(RDBType.array.rawValue), "seed \(seed): the full sync holds no array: \(types.sorted())")
        }
        try follower.start()
        try follower.waitCaughtUp(timeout: 60)
        // maxmemory 5 MB above what the server uses with its replica attached (backlog included): each eviction
        // burst below goes past it, and the master propagates every eviction as a DEL (or UNLINK).
        let used = try Self.stat(client, "memory", "used_memory")
        // Valkey counts the shared replication buffer that a burst fills before our ACK catches up, so the
        // same headroom makes it refuse writes (-OOM) instead of evicting: it gets more room.
        try client.call("CONFIG", "SET", "maxmemory", String(used + (r.valkey ? 20_000_000 : 5_000_000)))
        try client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")

        var rng = SeededRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        var killAt = Set<Int>()
        while killAt.count < r.kills { killAt.insert(100 + Int(rng.next() % UInt64(r.commands - 200))) }
        var restored = 0
        var nacked = 0
        for i in 0..<r.commands {
            for cmd in workload.next() { sent.append("\(i): " + cmd.joined(separator: " ")); _ = try client.command(cmd) }
            if i % 150 == 75 {
                // RESTORE: the master's own DUMP of a key, restored under another name (with a TTL now and then).
                for _ in 0..<8 {
                    let source = workload.key(workload.pick(["str", "list", "set", "zset", "hash", "stream", "hll", "geo"]
                                                            + (r.arrays ? ["arr"] : [])))
                    guard let payload = try client.command(["DUMP", source].map { Array($0.utf8) }).bytes else { continue }
                    let ttl = rng.next() % 3 == 0 ? "100000" : "0"
                    let reply = try client.command(["RESTORE", source + ":restored", ttl].map { Array($0.utf8) } + [payload, Array("REPLACE".utf8)])
                    if !reply.isError { restored += 1 }
                    break
                }
            }
            if r.streamNacks && i % 10 == 5 {
                // Idempotent producers: ids from small pools, so the master sees repeats and propagates them as
                // duplicates (`*` left in place); now and then a new configuration or a recorded id.
                let k = workload.key("stream")
                var cmd: [String]
                switch workload.int(10) {
                case 0: cmd = ["XCFGSET", k, workload.pick(["IDMP-MAXSIZE", "IDMP-DURATION"]), workload.pick(["3", "100", "200"])]
                case 1:
                    let last = try client.command(["XREVRANGE", k, "+", "-", "COUNT", "1"]).array?.first?.array?.first?.string ?? "1-0"
                    cmd = ["XIDMPRECORD", k, "p\(workload.int(2))", "rec\(workload.int(4))", last]
                case 2, 3, 4: cmd = ["XADD", k, "IDMPAUTO", "p\(workload.int(2))", "*", "job", "j\(workload.int(6))"]
                default: cmd = ["XADD", k, "IDMP", "p\(workload.int(2))", "i\(workload.int(8))", "*", "f", workload.value()]
                }
                sent.append("\(i): " + cmd.joined(separator: " "))
                _ = try client.command(cmd)
            }
            if r.streamNacks && i % 40 == 20 {
                // XNACK some of a group's pending entries (ids read back with XPENDING), and FORCE an id no group holds.
                let k = workload.key("stream"), g = "g\(workload.int(2))"
                // A group with entries delivered to a consumer (the workload's own groups come and go).
                for cmd in [["XADD", k, "*", "job", workload.value()], ["XGROUP", "CREATE", k, g, "0", "MKSTREAM"],
                            ["XREADGROUP", "GROUP", g, "c\(workload.int(3))", "COUNT", "3", "STREAMS", k, ">"]] {
                    sent.append("\(i): " + cmd.joined(separator: " "))
                    _ = try client.command(cmd)
                }
                let pending = (try client.command(["XPENDING", k, g, "-", "+", "10"]).array ?? []).compactMap { $0.array?.first?.string }
                let ids = pending.filter { _ in workload.chance(50) }
                let last = (try client.command(["XREVRANGE", k, "+", "-", "COUNT", "1"]).array?.first?.array?.first?.string).map { [$0] } ?? []
                let chosen = ids + (workload.chance(40) ? last : [])
                if !chosen.isEmpty {
                    let mode = workload.pick(["SILENT", "FAIL", "FATAL"])
                    let retry = workload.chance(30) ? ["RETRYCOUNT", String(workload.int(5))] : []
                    let cmd = ["XNACK", k, g, mode, "IDS", String(chosen.count)] + chosen + retry + (workload.chance(50) ? ["FORCE"] : [])
                    sent.append("\(i): " + cmd.joined(separator: " "))
                    nacked += Int(try client.command(cmd).integer ?? 0)
                }
            }
            if i % 400 == 200 {
                // An eviction burst: big values until the master evicts (some of the workload's keys too).
                var written = 0
                for j in 0..<100 where !(try client.command("SET", "big:\(i):\(j)", String(repeating: "e", count: 60_000))).isError {
                    written += 1
                }
                // The master evicts to make room; it does not refuse the writes (-OOM), which would stop the stream.
                #expect(written == 100, "seed \(seed): the master refused \(100 - written) writes of the burst at \(i)")
                // 6 MB of stream: far past the compaction threshold. Wait for the compaction it starts (after a
                // restart, compaction waits for the background verification of the sealed segments).
                let before = follower.count("Compaction done")
                do {
                    try waitUntil(60, "seed \(seed): a compaction after the burst at \(i)") { follower.count("Compaction done") > before }
                } catch {
                    print(follower.log.split(separator: "\n").suffix(40).joined(separator: "\n"))
                    throw error
                }
            }
            if killAt.contains(i) {
                follower.kill9()
                sent.append("\(i): kill -9")
                for _ in 0..<40 { for cmd in workload.next() { sent.append("\(i) (down): " + cmd.joined(separator: " ")); _ = try client.command(cmd) } }
                try follower.start()
                // Resumed before the next eviction burst, which alone is larger than the master's 1 MB backlog.
                try follower.waitCaughtUp(timeout: 60)
            }
        }
        #expect(restored > 0, "seed \(seed): no RESTORE was applied")
        #expect(!r.streamNacks || nacked > 0, "seed \(seed): XNACK released nothing")
        #expect(try Self.stat(client, "stats", "evicted_keys") > 0, "seed \(seed): maxmemory evicted nothing")

        // No more evictions: a master over maxmemory evicts before any command, INFO and DEBUG DIGEST
        // included, so it would go on deleting keys (and propagating the DELs) after its SAVE below.
        try client.call("CONFIG", "SET", "maxmemory", "0")
        // Let the short TTLs (<= 450 ms) pass, then make the master delete every key past its TTL (SCAN expires
        // what it visits and propagates the DELs), so nothing expires between our catch-up and the SAVE.
        Thread.sleep(forTimeInterval: 0.6)
        for db in 0..<3 {
            _ = try client.call("SELECT", String(db))
            var cursor = "0"
            repeat {
                cursor = try client.call("SCAN", cursor, "COUNT", "1000").array?.first?.string ?? "0"
            } while cursor != "0"
        }
        let offset = try follower.waitCaughtUp(timeout: 60)
        try waitUntil(60, "seed \(seed): the dataset ready at \(offset) (log: \(follower.logURL.path))") {
            let d = try ReplicaStore.inspect(directory: follower.dir).follower?.dataset
            return d?.phase == .ready && d?.appliedOffset == offset
        }
        #expect(try Self.stat(client, "stats", "sync_full") == 1, "seed \(seed): a restart did a full sync (log: \(follower.logURL.path))")
        let compactions = follower.count("Compaction done")
        #expect(compactions >= r.commands / 400, "seed \(seed): \(compactions) compactions (log: \(follower.logURL.path))")
        _ = try client.call("SAVE")
        let digest = try master.debugDigest()
        #expect(follower.stop() == 0)

        let out = tmp.file("ours.rdb").path
        let (status, output) = try Self.snapshotCommand(["snapshot", "--dir", follower.dir, "--out", out]
                                                        + (r.rdbVersion.map { ["--rdb-version", String($0)] } ?? []))
        try #require(status == 0, "seed \(seed): snapshot failed: \(output)")
        // The master drops IDMP ids older than their stream's duration in a cron (`handleExpiredIdmpEntries`,
        // every second, by its clock, not propagated; a Redis replica's own cron does the same by its clock). So
        // ids at or before now - duration are compared on neither side: the master never dropped a later one.
        let compareMs = UInt64(Date().timeIntervalSince1970 * 1000)
        let ours = try Keyspace.load(rdb: Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        let saved = try Keyspace.load(rdb: Array(try Data(contentsOf: master.rdbPath)))
        if r.streamNacks {
            // The IDMP states (not in the canonical JSON): the same producers, ids and counters.
            var streams = 0, producers = 0
            for (db, keys) in saved.databases {
                for (key, entry) in keys {
                    guard case .stream(let theirs) = entry.value else { continue }
                    streams += 1
                    producers += theirs.idmp?.producers.count ?? 0
                    guard case .stream(let mine)? = ours[db, key]?.value else { continue }
                    #expect(Self.unexpired(mine.idmp, at: compareMs) == Self.unexpired(theirs.idmp, at: compareMs), "seed \(seed): IDMP of \(String(decoding: key, as: UTF8.self)): \(String(describing: mine.idmp)) vs \(String(describing: theirs.idmp))")
                }
            }
            #expect(streams > 0 && producers > 0, "seed \(seed): no IDMP state to compare")
        }
        let report = KeyspaceComparison.difference(
            ours: try KeyspaceComparison.lines(ours, groupReads: false, expiryPresenceOnly: r.relativeTTLs),
            theirs: try KeyspaceComparison.lines(saved, groupReads: false, expiryPresenceOnly: r.relativeTTLs),
            label: "seed \(seed)")
        if let report {
            print(report)
            // The commands that named the differing keys (and every SELECT, SWAPDB, MOVE, FLUSHDB and script).
            let keys = Set(report.split(separator: "\n").compactMap { line -> String? in
                guard let r = line.range(of: "\"key\":\"") else { return nil }
                return String(line[r.upperBound...].prefix { $0 != "\"" })
            })
            for line in sent where keys.contains(where: { line.contains(" " + $0) }) || line.contains("kill")
                || ["SELECT", "SWAPDB", "MOVE", "FLUSHDB", "EVAL", "FCALL"].contains(where: { line.contains(": " + $0) }) {
                print("seed \(seed) sent \(line.prefix(200))")
            }
        }
        #expect(report == nil, "seed \(seed): our snapshot differs from the master's SAVE")
        if r.valkey9 {
            #expect(try Data(contentsOf: master.rdbPath).prefix(9) == Data("VALKEY080".utf8), "seed \(seed): the master's SAVE is not VALKEY080")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)).prefix(9) == Data("VALKEY080".utf8), "seed \(seed): our snapshot is not VALKEY080")
            #expect(follower.log.contains("VALKEY080"), "seed \(seed): the full sync was not a VALKEY080 transfer")
        }
        let loaded = try RedisServerProcess.loadedDigest(of: URL(fileURLWithPath: out), binary: master.binaryPath)
        #expect(loaded.digest == digest, "seed \(seed): a server loading our snapshot has another DEBUG DIGEST")
        #expect(ours.keyCount == loaded.keys, "seed \(seed)")
    }

    @Test("redis 7.0 master", .enabled(if: FileManager.default.isExecutableFile(atPath: RedisServerProcess.defaultBinaryPath),
                                        "redis-server 7.0 not installed"))
    func redis70() throws {
        try run(Run(binary: nil, seed: 701, commands: 2400, kills: 3))
    }

    @Test("redis 8.2 master", .enabled(if: RedisServerProcess.redis82BinaryPath != nil, "REDIS_82_SERVER_BIN not set"))
    func redis82() throws {
        try run(Run(binary: RedisServerProcess.redis82BinaryPath, seed: 821, commands: 2400, kills: 3))
    }

    @Test("redis 6.2 master (relative TTLs)", .enabled(if: RedisServerProcess.redis62BinaryPath != nil, "REDIS_62_SERVER_BIN not set"))
    func redis62() throws {
        try run(Run(binary: RedisServerProcess.redis62BinaryPath, seed: 621, commands: 2400, kills: 3))
    }

    /// Valkey 9.1 picks the full-sync format by our `REPLCONF version`: `VALKEY080`, field expiries included.
    @Test("valkey 9.1 master", .enabled(if: RedisServerProcess.valkey91BinaryPath != nil, "VALKEY_91_SERVER_BIN not set"))
    func valkey91() throws {
        try run(Run(binary: RedisServerProcess.valkey91BinaryPath, seed: 911, commands: 2400, kills: 3, newStringCommands: true))
    }

    // Optional versions (tools/install-deps installs them when it can): shorter runs.

    /// Valkey 8.1 sends `REDIS0011` with a `valkey-ver` AUX field; SET IFEQ arrives verbatim.
    @Test("valkey 8.1 master", .enabled(if: RedisServerProcess.valkey81BinaryPath != nil, "VALKEY_81_SERVER_BIN not set"))
    func valkey81() throws {
        try run(Run(binary: RedisServerProcess.valkey81BinaryPath, seed: 811, commands: 1200, kills: 2, newStringCommands: true))
    }

    @Test("redis 7.2 master", .enabled(if: RedisServerProcess.redis72BinaryPath != nil, "REDIS_72_SERVER_BIN not set"))
    func redis72() throws {
        try run(Run(binary: RedisServerProcess.redis72BinaryPath, seed: 721, commands: 1200, kills: 2))
    }

    /// 7.4: RDB 12 and hash field TTLs (HEXPIRE, HPERSIST; no HSETEX/HGETEX yet).
    @Test("redis 7.4 master", .enabled(if: RedisServerProcess.redis74BinaryPath != nil, "REDIS_74_SERVER_BIN not set"))
    func redis74() throws {
        try run(Run(binary: RedisServerProcess.redis74BinaryPath, seed: 741, commands: 1200, kills: 2))
    }

    /// Redis 8.10: RDB 15, streams as type 27 with their groups' NACK zones, and XNACK propagated.
    @Test("redis 8.10 master", .enabled(if: RedisServerProcess.redis810BinaryPath != nil, "REDIS_810_SERVER_BIN not set"))
    func redis810() throws {
        try run(Run(binary: RedisServerProcess.redis810BinaryPath, seed: 8101, commands: 1200, kills: 2,
                    newStringCommands: true, streamNacks: true))
    }

    /// Redis 8.10 with hash templates on (`hash-min-template-entries 2`, off by default) and arrays in the
    /// workload: the full sync (after 300 workload steps) and the master's SAVE carry HASH_TEMPLATE records,
    /// HASH_TMPL_*_REF values and arrays (type 28); RESTORE brings self-contained HASH_TMPL_LP /
    /// HASH_TMPL_ARRAY payloads and array payloads through the stream, and the array commands are applied.
    @Test("redis 8.10 master, hash templates and arrays", .enabled(if: RedisServerProcess.redis810BinaryPath != nil, "REDIS_810_SERVER_BIN not set"))
    func redis810HashTemplates() throws {
        try run(Run(binary: RedisServerProcess.redis810BinaryPath, seed: 8102, commands: 1200, kills: 2,
                    newStringCommands: true, streamNacks: true,
                    masterArguments: ["--hash-min-template-entries", "2"], preload: 300, arrays: true))
    }

    /// FOLLOW_DIFF_SEEDS=first-last runs more seeds against 7.0 (longer; not in CI), or against the server
    /// FOLLOW_DIFF_SERVER_BIN names (any of the binaries above; with the newer string commands too).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FOLLOW_DIFF_SEEDS"] != nil, "FOLLOW_DIFF_SEEDS not set"))
    func redis70MoreSeeds() throws {
        let env = ProcessInfo.processInfo.environment
        let range = env["FOLLOW_DIFF_SEEDS"]!.split(separator: "-").compactMap { UInt64($0) }
        let binary = env["FOLLOW_DIFF_SERVER_BIN"].flatMap { $0.isEmpty ? nil : $0 }
        for seed in (range.first ?? 1)...(range.last ?? 1) {
            // FOLLOW_DIFF_MASTER_ARGS="--hash-min-template-entries 2": master settings, with 300 steps before the sync.
            let args = (env["FOLLOW_DIFF_MASTER_ARGS"] ?? "").split(separator: " ").map(String.init)
            try run(Run(binary: binary, seed: seed, commands: 6000, kills: 8, newStringCommands: binary != nil,
                        streamNacks: binary != nil && binary == RedisServerProcess.redis810BinaryPath,
                        masterArguments: args, preload: args.isEmpty ? 0 : 300,
                        arrays: binary != nil && binary == RedisServerProcess.redis810BinaryPath))
        }
    }
}
