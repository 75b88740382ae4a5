import ArgumentParser
import Foundation
import ReplicaStore

/// `redis-replica status --dir DIR [--json]`: where a data directory stands, read-only.
public struct StatusCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a data directory's replication position, snapshot, log and link state.",
        discussion: """
        Read-only and safe while `follow` runs: it reads the manifest, the snapshot's header and AUX fields \
        and scans the log (header + CRC of each record) without cutting or deleting anything. The link \
        state comes from DIR/state.json, written by a running follower; a pid that is gone means "not running".
        Exit status 0, or 1 when the directory cannot be trusted (the error names the file and byte offset).
        """
    )

    @Option(name: .long, help: "The data directory.")
    var dir: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    public init() {}

    public func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            FileHandle.standardError.write(Data("redis-replica status: no such directory: \(dir)\n".utf8))
            throw ExitCode(1)
        }
        let status: StoreStatus
        do {
            status = try ReplicaStore.inspect(directory: dir)
        } catch {
            FileHandle.standardError.write(Data("redis-replica status: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(json ? try status.json() : status.text())
    }
}
