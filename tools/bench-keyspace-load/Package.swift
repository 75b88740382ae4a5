// swift-tools-version:6.0
// The loader half of tools/bench-keyspace: `keyspace-load FILE [--by-type]` loads an RDB file into a
// Keyspace and prints its load time, peak RSS and heap in use. A separate package (like tools/fuzz) so
// the main build never compiles benchmark code; build it with -c release.
import Foundation
import PackageDescription

// A path dependency's identity is its directory name, which differs between clones: compute it.
let rootDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let root = rootDirectory.lastPathComponent

let package = Package(
    name: "bench-keyspace-load",
    dependencies: [.package(path: rootDirectory.path)],
    targets: [
        .target(name: "CMallocInfo"),
        .executableTarget(name: "keyspace-load", dependencies: [
            "CMallocInfo", .product(name: "RDB", package: root), .product(name: "Keyspace", package: root),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
