// swift-tools-version:6.0
// redis-replica: a persistent, stateful Redis/Valkey replica and an RDB toolkit.
//
// Targets are layered; dependencies point one way, downward:
//   CLI -> Keyspace (snapshot), ReplicaNode -> Replication -> RESP, Base
//                      -> Keyspace (the dataset follower)
//                      -> ReplicaServer -> ReplicaStore
//                      -> ReplicaStore -> RDB -> Base -> CZlib
//                                         RDB -> CCRC64Fold (CRC-64 by carry-less multiplication)
//                                         RDB, RDBTools -> CPrefetch (a cache hint for sorted output)
//       -> SQLiteExport -> RDBTools -> RDB       (SQLiteExport and RDBTools use Base directly too)
//   Keyspace -> RDB, Base, RedisValueOps (pure Redis-exact HLL/bit/geo operations), swift-collections
// Base is the bottom layer: the replication position and the durable-file layer (the `FileSystem` seam,
// EINTR-safe POSIX files, atomic replace, CRC-32, little-endian helpers). Test equipment (the simulated,
// crashable file system, seeded randomness, real servers) lives in TestSupport, never in the product.
import PackageDescription

/// The RDB reader and the dump encoders run per key and per element: release builds there skip the run-time
/// exclusivity checks of class properties passed `inout` (the compiler still checks statically; debug builds,
/// which the tests run, keep the run-time check).
let hotLoops: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "redis-replica",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "redis-replica", targets: ["redis-replica"]),
        .library(name: "RDB", targets: ["RDB"]),
        .library(name: "RDBTools", targets: ["RDBTools"]),
        // For the libFuzzer harnesses in tools/fuzz (a separate package: the main build never pays for sanitizers).
        .library(name: "Replication", targets: ["Replication"]),
        .library(name: "ReplicaStore", targets: ["ReplicaStore"]),
        // For fuzz-applier (tools/fuzz) and the keyspace load benchmark (tools/bench-keyspace-load).
        .library(name: "Keyspace", targets: ["Keyspace"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // System zlib: CRC-32 for the replica log, gzip for `.rdb.gz` input.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The bottom layer: the replication position shared by the link, the store and the RDB AUX fields,
        // and every durable file read and write (FileSystem, POSIXFileSystem, writeAtomically, CRC32).
        .target(name: "Base", dependencies: ["CZlib"]),

        // The RDB format: streaming reader, writer, LZF, CRC-64, opcode/type table. No I/O policy.
        .target(name: "RDB", dependencies: ["Base", "CZlib", "CCRC64Fold", "CPrefetch"], swiftSettings: hotLoops),

        // CRC-64/Jones by carry-less multiplication (PCLMULQDQ, chosen at run time), in C for the intrinsics.
        .target(name: "CCRC64Fold"),
        .target(name: "CPrefetch"),

        // Tools built on the format: canonical JSON output, key filters (Redis glob), file policy (`rdb convert`),
        // RESP/RESTORE export, memory estimates, diff.
        .target(name: "RDBTools", dependencies: ["Base", "RDB", "CPrefetch"], swiftSettings: hotLoops),

        // Redis-exact pure operations on string values: HyperLogLog (PFADD/PFCOUNT/PFMERGE), bit
        // operations, geohash. No dependencies.
        .target(name: "RedisValueOps"),

        // RESP frames with exact byte counts (the replication stream).
        .target(name: "RESP"),

        // The replica link as a pure state machine: events in, actions out, no I/O.
        .target(name: "Replication", dependencies: ["Base", "RESP"]),

        // The master's dataset in memory (every type, per db), loaded from and saved to RDB, kept current by
        // applying the replication stream's commands. Copy-on-write per db (TreeDictionary) for O(1) snapshots.
        .target(name: "Keyspace", dependencies: [
            "Base", "RDB", "RedisValueOps",
            .product(name: "HashTreeCollections", package: "swift-collections"),
        ]),

        // The data directory: manifest, snapshots, framed log, recovery.
        .target(name: "ReplicaStore", dependencies: ["Base", "RDB"]),

        // The SwiftNIO driver that runs the state machine against a socket and the store.
        .target(name: "ReplicaNode", dependencies: [
            "Base", "Keyspace", "Replication", "ReplicaStore", "ReplicaServer", "RDB",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // The RESP port of `follow --port`: connection/server commands of a read-only replica, the read
        // commands answered from the dataset (Keyspace), and downstream replicas served from the store's
        // snapshot and log.
        .target(name: "ReplicaServer", dependencies: [
            "Base", "ReplicaStore", "Keyspace", "RDB", "RDBTools", "RedisValueOps",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // RDB -> SQLite, as a sink of records.
        .target(name: "SQLiteExport", dependencies: [
            "Base", "RDB", "RDBTools",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),

        // The command-line interface: one file per subcommand.
        .target(name: "CLI", dependencies: [
            "RDB", "RDBTools", "Keyspace", "ReplicaStore", "ReplicaNode", "ReplicaServer", "SQLiteExport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "redis-replica", dependencies: ["CLI"]),

        // Test helpers: real redis-server processes on free loopback ports, a tiny RESP client, seeded
        // randomness and the simulated (crashable) file system.
        .target(name: "TestSupport", dependencies: ["Base", "Keyspace", "RDB", "RDBTools"], path: "Tests/TestSupport"),

        .testTarget(name: "BaseTests", dependencies: ["Base", "TestSupport"]),
        .testTarget(name: "RDBTests", dependencies: ["Base", "RDB", "RDBTools", "TestSupport", "CCRC64Fold"]),
        .testTarget(name: "RDBToolsTests", dependencies: ["RDB", "RDBTools", "TestSupport"]),
        .testTarget(name: "KeyspaceTests", dependencies: ["Base", "Keyspace", "RDB", "RDBTools", "TestSupport"]),
        .testTarget(name: "RedisValueOpsTests", dependencies: ["RedisValueOps", "TestSupport"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "TestSupport"]),
        .testTarget(name: "ReplicaServerTests", dependencies: [
            "Base", "ReplicaServer", "ReplicaStore", "Keyspace", "RDB", "RedisValueOps", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "ReplicationTests", dependencies: ["Base", "Replication", "RESP", "TestSupport"]),
        .testTarget(name: "ReplicaStoreTests", dependencies: ["Base", "ReplicaStore", "RDB", "TestSupport"]),
        .testTarget(name: "SQLiteExportTests", dependencies: ["Base", "SQLiteExport", "RDB", "RDBTools", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["Base", "CLI", "Keyspace", "RDB", "RDBTools", "ReplicaStore", "TestSupport"]),
        .testTarget(name: "ReplicaNodeTests", dependencies: [
            "Base", "Keyspace", "RDB", "ReplicaNode", "ReplicaStore", "Replication", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Base", "Keyspace", "ReplicaNode", "ReplicaStore", "ReplicaServer", "RDB", "RESP", "TestSupport",
        ]),
    ],
    // Swift 6 language mode (strict concurrency checking) for every target.
    swiftLanguageModes: [.v6]
)
