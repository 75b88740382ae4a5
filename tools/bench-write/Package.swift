// swift-tools-version:6.0
// tools/bench-write: times RDBWriter writing records already in memory; driven by ./run.
// A separate package so the main build does not pay for it.
import PackageDescription

let package = Package(
    name: "bench-write",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "redis-replica", path: "../..")],
    targets: [
        .executableTarget(name: "bench-write", dependencies: [.product(name: "RDB", package: "redis-replica")]),
    ],
    swiftLanguageModes: [.v5]
)
