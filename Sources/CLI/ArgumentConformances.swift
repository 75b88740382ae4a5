import ArgumentParser
import ReplicaStore
import SQLiteExport

// Option values parsed straight into the library's enums (their raw values are the option spellings).

/// `follow --fsync always|everysec|no`.
extension FsyncPolicy: ExpressibleByArgument {}

/// `rdb sqlite --sqlite-layer c|grdb`.
extension SQLiteLayer: ExpressibleByArgument {}
