import ArgumentParser

/// `redis-replica`: a persistent Redis/Valkey replica and an RDB toolkit.
public struct RedisReplicaCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "redis-replica",
        abstract: "A persistent Redis/Valkey replica that resumes with PSYNC, and an RDB toolkit.",
        subcommands: [
            RDBCommand.self,
            FollowCommand.self,
            StatusCommand.self,
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
            DiffCommand.self,
        ]
    )
    public init() {}
}
