import Foundation
import ReplicaStore
#if canImport(Glibc)
import Glibc
#endif

/// INFO and ROLE, with the field names of Redis's `genRedisInfoString` (server.c) for a replica, so
/// redis_exporter, Sentinel-style checks and dashboards read us unchanged.
extension ReplicaServer {
    static let infoDefaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"]
    static let infoAllSections = infoDefaultSections

    func infoText(sections requested: [String]) -> String {
        var wanted: [String]
        if requested.isEmpty || requested.contains("default") || requested.contains("all") || requested.contains("everything") {
            wanted = ReplicaServer.infoDefaultSections
        } else {
            wanted = ReplicaServer.infoDefaultSections.filter { requested.contains($0) }
        }
        if wanted.isEmpty { return "" }
        var out = ""
        for (i, name) in wanted.enumerated() {
            if i > 0 { out += "\r\n" }
            out += section(name)
        }
        return out
    }

    private func section(_ name: String) -> String {
        var lines: [(String, String)] = []
        let title: String
        let now = Date()
        switch name {
        case "server":
            title = "Server"
            let uptime = Int64(now.timeIntervalSince(startedAt))
            lines = [("redis_version", ReplicaServer.redisVersion), ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"),
                     ("redis_build_id", "0"), ("redis_mode", "standalone"), ("os", ReplicaServer.osName()),
                     ("arch_bits", "64"), ("multiplexing_api", "epoll"), ("process_id", String(getpid())),
                     ("process_supervised", "no"), ("run_id", runID), ("tcp_port", String(boundPort)),
                     ("server_time_usec", String(Int64(now.timeIntervalSince1970 * 1_000_000))),
                     ("uptime_in_seconds", String(uptime)), ("uptime_in_days", String(uptime / 86400)), ("hz", "10"),
                     ("configured_hz", "10"), ("executable", CommandLine.arguments.first ?? ""), ("config_file", ""),
                     ("redis_replica_data_dir", store.directory)]
        case "clients":
            title = "Clients"
            let normal = clients.values.filter { !$0.session.isReplica }.count
            lines = [("connected_clients", String(normal)), ("cluster_connections", "0"),
                     ("maxclients", String(configuration.maxClients)), ("client_recent_max_input_buffer", "0"),
                     ("client_recent_max_output_buffer", "0"), ("blocked_clients", String(blockedClients.count)),
                     ("tracking_clients", "0"), ("clients_in_timeout_table", String(blockedClients.values.filter(\.blockHasTimeout).count))]
        case "memory":
            title = "Memory"
            let rss = ReplicaServer.residentBytes()
            lines = [("used_memory", String(rss)), ("used_memory_human", ReplicaServer.human(rss)), ("used_memory_rss", String(rss)),
                     ("used_memory_rss_human", ReplicaServer.human(rss)), ("maxmemory", "0"), ("maxmemory_human", "0B"),
                     ("maxmemory_policy", "noeviction"), ("mem_allocator", "libc")]
        case "persistence":
            title = "Persistence"
            let m = store.currentManifest
            lines = [("loading", "0"), ("async_loading", "0"), ("rdb_changes_since_last_save", "0"),
                     ("rdb_bgsave_in_progress", "0"),
                     ("rdb_last_save_time", String((m?.lastSync.unixMs ?? 0) / 1000)),
                     ("rdb_last_bgsave_status", "ok"), ("aof_enabled", "1"), ("aof_rewrite_in_progress", "0"),
                     ("aof_last_write_status", "ok"), ("aof_fsync_policy", store.fsyncPolicy.rawValue),
                     ("aof_current_size", String((store.position?.offset ?? 0) - (m?.snapshot.offset ?? 0))),
                     ("aof_base_size", String(m?.snapshot.size ?? 0))]
        case "stats":
            title = "Stats"
            lines = [("total_connections_received", String(totalConnections)),
                     ("total_commands_processed", String(totalCommands)), ("instantaneous_ops_per_sec", "0"),
                     ("total_net_input_bytes", String(netInputBytes)), ("total_net_output_bytes", String(netOutputBytes)),
                     ("rejected_connections", String(rejectedConnections)), ("sync_full", String(syncFull)),
                     ("sync_partial_ok", String(syncPartialOK)), ("sync_partial_err", String(syncPartialErr)),
                     ("expired_keys", "0"), ("evicted_keys", "0"), ("keyspace_hits", "0"), ("keyspace_misses", "0"),
                     ("pubsub_channels", "0"), ("pubsub_patterns", "0"), ("total_error_replies", String(errorReplies))]
        case "replication":
            title = "Replication"
            lines = replicationLines(now: now)
        case "cpu":
            title = "CPU"
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            func secs(_ t: timeval) -> String { String(format: "%.6f", Double(t.tv_sec) + Double(t.tv_usec) / 1e6) }
            lines = [("used_cpu_sys", secs(usage.ru_stime)), ("used_cpu_user", secs(usage.ru_utime))]
        default:
            // Keyspace: per-db key counts need the dataset, which this build does not load.
            title = "Keyspace"
        }
        var s = "# \(title)\r\n"
        for (k, v) in lines { s += "\(k):\(v)\r\n" }
        return s
    }

    private func replicationLines(now: Date) -> [(String, String)] {
        let link = linkStatus()
        let m = store.currentManifest
        let offset = store.position?.offset ?? 0
        var l: [(String, String)] = [
            ("role", "slave"), ("master_host", configuration.masterHost), ("master_port", String(configuration.masterPort)),
            ("master_link_status", link.linkUp ? "up" : "down"),
            ("master_last_io_seconds_ago", link.linkUp ? String(Int(now.timeIntervalSince(lastLogGrowth))) : "-1"),
            ("master_sync_in_progress", link.syncInProgress ? "1" : "0"),
            ("slave_read_repl_offset", String(offset)), ("slave_repl_offset", String(offset)),
        ]
        if !link.linkUp { l.append(("master_link_down_since_seconds", String(link.downSinceSeconds ?? -1))) }
        // Priority 0: Sentinel never promotes us (we cannot take writes).
        l += [("slave_priority", "0"), ("slave_read_only", "1"), ("replica_announced", "1")]
        let replicas = downstreams
        l.append(("connected_slaves", String(replicas.count)))
        for (i, r) in replicas.enumerated() {
            let lag = r.state == .online ? Int(now.timeIntervalSince(r.ackTime)) : 0
            l.append(("slave\(i)", "ip=\(r.ip),port=\(r.session.replicaListeningPort),state=\(r.state.rawValue),offset=\(r.ackOffset),lag=\(lag)"))
        }
        let histlen = m.map { offset - $0.snapshot.offset } ?? 0
        l += [("master_failover_state", "no-failover"),
              ("master_replid", m?.replid ?? String(repeating: "0", count: 40)),
              ("master_replid2", m?.replid2 ?? String(repeating: "0", count: 40)),
              ("master_repl_offset", String(offset)), ("second_repl_offset", String(m?.secondReplOffset ?? -1)),
              ("repl_backlog_active", m == nil ? "0" : "1"), ("repl_backlog_size", String(histlen)),
              ("repl_backlog_first_byte_offset", String(m.map { $0.snapshot.offset + 1 } ?? 0)),
              ("repl_backlog_histlen", String(histlen))]
        return l
    }

    /// ROLE on a replica: ["slave", host, port, state, offset] (offset -1 while the link is not connected).
    func roleReply() -> Reply {
        let link = linkStatus()
        let offset = link.linkUp ? (store.position?.offset ?? -1) : -1
        return .array([.bulk("slave"), .bulk(configuration.masterHost), .integer(Int64(configuration.masterPort)),
                       .bulk(link.roleState), .integer(offset)])
    }

    static func osName() -> String {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(u.sysname)) \(field(u.release)) \(field(u.machine))"
    }

    static func residentBytes() -> Int64 {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let parts = s.split(separator: " ")
        guard parts.count > 1, let pages = Int64(parts[1]) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func human(_ n: Int64) -> String {
        let d = Double(n)
        if n >= 1 << 30 { return String(format: "%.2fG", d / 1073741824) }
        if n >= 1 << 20 { return String(format: "%.2fM", d / 1048576) }
        if n >= 1 << 10 { return String(format: "%.2fK", d / 1024) }
        return "\(n)B"
    }
}

extension LinkStatus {
    /// The link as the follower's `state.json` describes it (written on every link state change).
    public static func fromStateFile(directory: String, now: Date = Date()) -> LinkStatus {
        guard let s = FollowerState.read(directory: directory), s.isProcessAlive || s.pid == getpid() else {
            return LinkStatus(roleState: "connect", linkUp: false, syncInProgress: false, downSinceSeconds: nil)
        }
        let since = s.linkSinceUnixMs.map { max(0, (Int64(now.timeIntervalSince1970 * 1000) - $0) / 1000) }
        switch s.link {
        case .streaming: return LinkStatus(roleState: "connected", linkUp: true, syncInProgress: false, downSinceSeconds: nil)
        case .fullSync: return LinkStatus(roleState: "sync", linkUp: false, syncInProgress: true, downSinceSeconds: since)
        case .handshake: return LinkStatus(roleState: "handshake", linkUp: false, syncInProgress: false, downSinceSeconds: since)
        case .connecting: return LinkStatus(roleState: "connecting", linkUp: false, syncInProgress: false, downSinceSeconds: since)
        case .disconnected, .stopped: return LinkStatus(roleState: "connect", linkUp: false, syncInProgress: false, downSinceSeconds: since)
        }
    }
}
