// Starting child processes from tests so that signals reach them.
//
// Swift Testing (and XCTest's async tests) run test code on libdispatch worker threads, which
// block nearly every signal. posix_spawn (used by Foundation's `Process.run()`) copies the calling
// thread's signal mask into the child, so a child started from a test would start with SIGTERM,
// SIGINT, ... blocked: `kill -TERM` would then do nothing until SIGKILL. (Measured: a redis-server
// started that way showed `SigBlk: fffffffe3bfbea27` in /proc/<pid>/status and ignored SIGTERM.)
// `ChildProcess.run` clears the calling thread's mask just around the spawn.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public enum ChildProcess {
    /// Runs `process` (already configured) with an empty signal mask inherited by the child.
    /// The calling thread's mask is restored before returning.
    public static func run(_ process: Process) throws {
        var empty = sigset_t()
        var old = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        try process.run()
    }

    /// Starts `executable` with `arguments` directly (no shell), stdout+stderr appended to
    /// `outputPath` (or discarded), stdin from /dev/null; signals unblocked in the child.
    public static func start(_ executable: String, _ arguments: [String],
                             environment: [String: String]? = nil,
                             currentDirectory: URL? = nil,
                             outputPath: URL? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let currentDirectory { p.currentDirectoryURL = currentDirectory }
        p.standardInput = FileHandle.nullDevice
        if let outputPath {
            if !FileManager.default.fileExists(atPath: outputPath.path) {
                guard FileManager.default.createFile(atPath: outputPath.path, contents: nil) else {
                    throw SocketError.system("create \(outputPath.path)", errno)
                }
            }
            let h = try FileHandle(forWritingTo: outputPath)
            h.seekToEndOfFile()
            p.standardOutput = h
            p.standardError = h
            defer { try? h.close() }
            try run(p)
        } else {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try run(p)
        }
        return p
    }

    /// SIGTERM, SIGKILL after `timeout` seconds if still running, then reap. Returns the exit
    /// status / signal as Foundation reports it.
    @discardableResult
    public static func terminate(_ p: Process, timeout: Double = 10) -> (reason: Process.TerminationReason, status: Int32) {
        if p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(timeout)
            while p.isRunning && Date() < deadline { usleep(10_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        p.waitUntilExit()
        return (p.terminationReason, p.terminationStatus)
    }
}
