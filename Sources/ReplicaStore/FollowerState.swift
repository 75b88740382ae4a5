import Base
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The running follower's link state, in `DIR/state.json`, for `redis-replica status`.
///
/// The follower writes it whenever its link state changes (and may refresh it, e.g. every few seconds),
/// atomically: `state.json.tmp` then rename. It is advisory: not fsynced, never read at recovery. A reader
/// treats it as current only if `pid` is alive (`kill(pid, 0)`); otherwise the follower is not running.
public struct FollowerState: Codable, Sendable, Equatable {
    public static let fileName = "state.json"
    public static let tempFileName = "state.json.tmp"

    /// Link states, as `status` prints them.
    public enum Link: String, Codable, Sendable {
        case connecting, handshake, fullSync = "full-sync", streaming, disconnected, stopped
    }

    public var pid: Int32
    public var link: Link
    /// `host:port` of the master.
    public var master: String?
    /// Unix ms of this update.
    public var updatedUnixMs: Int64
    /// Unix ms when `link` last changed.
    public var linkSinceUnixMs: Int64?
    /// The last error on the link (e.g. why it is disconnected).
    public var lastError: String?
    /// The offset acknowledged to the master last.
    public var ackedOffset: Int64?
    /// The in-memory dataset kept by `follow` (absent with `--no-dataset`).
    public var dataset: DatasetState?

    public init(pid: Int32 = getpid(), link: Link, master: String? = nil,
                updatedUnixMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000),
                linkSinceUnixMs: Int64? = nil, lastError: String? = nil, ackedOffset: Int64? = nil,
                dataset: DatasetState? = nil) {
        self.pid = pid
        self.link = link
        self.master = master
        self.updatedUnixMs = updatedUnixMs
        self.linkSinceUnixMs = linkSinceUnixMs
        self.lastError = lastError
        self.ackedOffset = ackedOffset
        self.dataset = dataset
    }

    /// Writes `state.json` atomically (`FileSystem.writeAtomically` without the fsyncs: the file is advisory
    /// and written on every link change: after a power loss it may be old, empty or absent, which `read` treats
    /// as no state).
    public static func write(_ state: FollowerState, directory: String,
                             fileSystem: FileSystem = POSIXFileSystem()) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = Array(try enc.encode(state)) + [0x0A]
        try fileSystem.writeAtomically(joinPath(directory, fileName), bytes: bytes,
                                       temporary: joinPath(directory, tempFileName), durable: false)
    }

    /// Reads `state.json`; nil when absent or unreadable.
    public static func read(directory: String, fileSystem: FileSystem = POSIXFileSystem()) -> FollowerState? {
        let path = joinPath(directory, fileName)
        guard let f = try? fileSystem.openForReading(path), let size = try? f.size(), size < 1 << 20,
              let bytes = try? f.readFully(at: 0, count: Int(size)) else { return nil }
        return try? JSONDecoder().decode(FollowerState.self, from: Data(bytes))
    }

    /// Whether `pid` names a live process: `kill(pid, 0)` succeeds (EPERM counts as alive) and, on Linux,
    /// `/proc/<pid>/stat` does not show a zombie (a kill -9'd follower whose parent has not reaped it).
    public var isProcessAlive: Bool {
        guard pid > 0 else { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
            if state == "Z" || state == "X" { return false }
        }
        return true
    }
}

/// Where the follower's in-memory dataset stands (the `dataset` of `state.json`).
public struct DatasetState: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// Loading the base snapshot and replaying the log after it.
        case loading
        /// Caught up with the committed log (applying each append).
        case ready
        /// A command could not be applied: the dataset is no longer the master's (recording goes on).
        case diverged
        /// The snapshot or the log could not be read.
        case failed
    }

    public var phase: Phase
    /// Bytes of snapshot and log processed, and their total when last measured (`loading`).
    public var processedBytes: Int64?
    public var totalBytes: Int64?
    /// `processedBytes` as a percent of `totalBytes` (0...100), while loading.
    public var percent: Double?
    /// The offset of the last command applied (a command boundary).
    public var appliedOffset: Int64?
    public var keys: Int?
    /// The snapshot file the dataset was loaded from.
    public var snapshot: String?
    /// `diverged`: the offset and command that could not be applied, and why; `failed`: why.
    public var divergedOffset: Int64?
    public var command: String?
    public var reason: String?
    /// `loading` from a full sync while its bytes arrive (`processedBytes` of it read; `totalBytes` is its
    /// size, nil for a diskless transfer until its end): the dataset of before keeps serving until the swap.
    public var receiving: Bool?
    /// `receiving`: the bytes of the transfer arrived so far.
    public var receivedBytes: Int64?

    public init(phase: Phase, processedBytes: Int64? = nil, totalBytes: Int64? = nil, appliedOffset: Int64? = nil,
                keys: Int? = nil, snapshot: String? = nil, divergedOffset: Int64? = nil, command: String? = nil,
                reason: String? = nil) {
        self.phase = phase
        self.processedBytes = processedBytes
        self.totalBytes = totalBytes
        self.appliedOffset = appliedOffset
        self.keys = keys
        self.snapshot = snapshot
        self.divergedOffset = divergedOffset
        self.command = command
        self.reason = reason
        if let p = processedBytes, let t = totalBytes, t > 0 {
            percent = (min(100, Double(p) * 100 / Double(t)) * 10).rounded(.down) / 10
        }
    }

    /// One line for `status`.
    public var summary: String {
        switch phase {
        case .loading where snapshot == nil:
            return "waiting for the first full sync"
        case .loading where receiving == true:
            if let pct = percent { return String(format: "loading the master's full sync as it arrives (%.1f%%)", pct) }
            return "loading the master's full sync as it arrives (\(processedBytes ?? 0) of \(receivedBytes ?? 0) bytes received, diskless: size known at the end)"
        case .loading:
            let pct = percent.map { String(format: "%.1f%%", $0) } ?? "?"
            return "loading (\(pct) of snapshot + log)"
        case .ready:
            return "ready at offset \(appliedOffset ?? -1), \(keys ?? 0) keys"
        case .diverged:
            return "diverged at offset \(divergedOffset ?? -1) on \(command ?? "?"): \(reason ?? "")"
        case .failed:
            return "failed: \(reason ?? "")"
        }
    }
}
