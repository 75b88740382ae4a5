// swift-tools-version:6.0
// libFuzzer harness for the streaming RDB reader and the canonical JSON encoder.
// A separate package so the main build never pays for sanitizers. Build and run with ./run.
import Foundation
import PackageDescription

// A path dependency's identity is its directory name, which differs between clones
// (redis-replica, main, wt-cli, ...): compute it from where this manifest lives.
let rootDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "fuzz-rdb",
    dependencies: [
        .package(path: rootDirectory.path),
    ],
    targets: [
        .executableTarget(
            name: "fuzz-rdb",
            dependencies: [.product(name: "RDB", package: rootDirectory.lastPathComponent)]
        ),
    ],
    swiftLanguageModes: [.v5]
)
