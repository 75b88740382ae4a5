import ArgumentParser

/// `redis-replica`: a persistent Redis/Valkey replica and an RDB toolkit. The root is async so that
/// `follow` runs its service group with `async run()`; the `rdb` commands stay synchronous.
public struct RedisReplicaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "redis-replica",
        abstract: "A persistent Redis/Valkey replica that resumes with PSYNC, and an RDB toolkit.",
        subcommands: [
            RDBCommand.self,
            FollowCommand.self,
            StatusCommand.self,
            SnapshotCommand.self,
        ]
    )
    public init() {}
}

/// `redis-replica rdb ...`: read, check, dump, convert and export RDB files.
public struct RDBCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rdb",
        abstract: "Read, validate, dump, convert and export RDB files.",
        subcommands: [
            // check, dump, info, convert, sqlite: one file each.
            CheckCommand.self, DumpCommand.self, InfoCommand.self, ConvertCommand.self, SQLiteCommand.self,
            DiffCommand.self, MemoryCommand.self,
        ]
    )
    public init() {}
}

extension RedisReplicaCommand {
    /// The program's entry point (`main.swift`): parses the command line and runs the chosen subcommand,
    /// awaiting it when it is async (`follow`). It is what `AsyncParsableCommand.main()` does, spelled out
    /// because top-level code in `main.swift` resolves `main()` to the synchronous overload.
    public static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
