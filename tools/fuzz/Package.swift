// swift-tools-version:6.0
// libFuzzer harnesses (run them with ./run TARGET):
//   fuzz-rdb    the streaming RDB reader and the canonical JSON encoder, on RDB files;
//   fuzz-link   the replica link state machine, fed arbitrary bytes from a "master" in every state;
//   fuzz-store  the data directory's recovery, over arbitrary directory contents;
//   fuzz-applier the replica applier (Keyspace), over command arrays from a base dataset of every type.
// A separate package so the main build never pays for sanitizers.
import Foundation
import PackageDescription

// A path dependency's identity is its directory name, which differs between clones
// (redis-replica, main, wt-cli, ...): compute it from where this manifest lives.
let rootDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let root = rootDirectory.lastPathComponent

let package = Package(
    name: "fuzz",
    dependencies: [
        .package(path: rootDirectory.path),
    ],
    targets: [
        // libFuzzer's driver entry point and small helpers shared by the harnesses.
        .target(name: "FuzzDriver"),
        .executableTarget(name: "fuzz-rdb", dependencies: [
            "FuzzDriver", .product(name: "RDB", package: root), .product(name: "RDBTools", package: root),
        ]),
        .executableTarget(name: "fuzz-link", dependencies: ["FuzzDriver", .product(name: "Replication", package: root)]),
        .executableTarget(name: "fuzz-store", dependencies: [
            "FuzzDriver", .product(name: "ReplicaStore", package: root),
        ]),
        .executableTarget(name: "fuzz-applier", dependencies: [
            "FuzzDriver", .product(name: "Keyspace", package: root), .product(name: "RDB", package: root),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
