// Paths the tests need: the package root, the shared RDB corpus, Fixtures/, and temporary
// directories that clean themselves up.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public enum TestPaths {
    /// The package root (the directory holding Package.swift), derived from this file's path at
    /// compile time: `<root>/Tests/TestSupport/TestPaths.swift`.
    public static let packageRoot: URL = {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TestPaths.swift
            .deletingLastPathComponent()  // TestSupport
            .deletingLastPathComponent()  // Tests
            .standardizedFileURL
    }()

    /// `<package root>/../shared/rdb-corpus`, or nil when absent (tests that need it should skip,
    /// saying so). Never copy files from it into the repository; read them in place.
    public static var sharedCorpusDirectory: URL? {
        let url = packageRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/rdb-corpus", isDirectory: true).standardizedFileURL
        return isDirectory(url) ? url : nil
    }

    /// `<package root>/Fixtures`: RDB files written by real servers via tools/make-fixtures,
    /// each with an expected-contents JSON (format "rdb-corpus-expected/1").
    public static var fixturesDirectory: URL {
        packageRoot.appendingPathComponent("Fixtures", isDirectory: true)
    }

    /// Fixture files of one server folder (e.g. "redis-7.0", "redis-6.2"), as (rdb, json) URL
    /// pairs sorted by name. Empty when the folder does not exist.
    public static func fixturePairs(server folder: String) -> [(rdb: URL, json: URL)] {
        let dir = fixturesDirectory.appendingPathComponent(folder, isDirectory: true)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { $0.hasSuffix(".rdb") }.sorted().compactMap { name in
            let rdb = dir.appendingPathComponent(name)
            let json = rdb.deletingPathExtension().appendingPathExtension("json")
            return FileManager.default.fileExists(atPath: json.path) ? (rdb, json) : nil
        }
    }

    /// A fresh, empty temporary directory, removed when the returned object goes away
    /// (or on `remove()`).
    public static func makeTemporaryDirectory(prefix: String = "redis-replica-test") throws -> TemporaryDirectory {
        try TemporaryDirectory(prefix: prefix)
    }

    /// Runs `body` with a fresh temporary directory and removes it afterwards.
    public static func withTemporaryDirectory<T>(
        prefix: String = "redis-replica-test", _ body: (URL) throws -> T
    ) throws -> T {
        let dir = try TemporaryDirectory(prefix: prefix)
        defer { dir.remove() }
        return try body(dir.url)
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }
}

/// A temporary directory that deletes itself (recursively) on `remove()` or deinit.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public var path: String { url.path }
    private var removed = false
    private let lock = NSLock()

    public init(prefix: String = "redis-replica-test") throws {
        let base = FileManager.default.temporaryDirectory
        var template = Array(base.appendingPathComponent("\(prefix).XXXXXX").path.utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buf -> String? in
            guard let base = buf.baseAddress, let p = mkdtemp(base) else { return nil }
            return String(cString: p)
        }
        guard let made else {
            throw SocketError.system("mkdtemp", errno)
        }
        url = URL(fileURLWithPath: made, isDirectory: true)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Deletes the directory and everything in it (idempotent).
    public func remove() {
        lock.lock(); defer { lock.unlock() }
        guard !removed else { return }
        removed = true
        try? FileManager.default.removeItem(at: url)
    }

    deinit { remove() }
}
