import Foundation
import Testing
import RDB
@testable import Keyspace

/// KEYSPACE_MEMORY_RDB=path: loads the file into a Keyspace and prints the resident-memory growth per key
/// (compare it with redis-server's used_memory for the same file, measured in the same run). Not in CI.
#if os(Linux)
@_silgen_name("malloc_trim") func glibcMallocTrim(_ pad: Int) -> Int32
#endif

@Suite struct MemoryMeasurementTests {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEYSPACE_MEMORY_RDB"] != nil, "KEYSPACE_MEMORY_RDB not set"))
    func bytesPerKey() throws {
        let path = ProcessInfo.processInfo.environment["KEYSPACE_MEMORY_RDB"]!
        let before = Self.residentBytes()
        let start = Date()
        let loaded = try KeyspaceLoader.load(RDBReader(path: path)).keyspace
        let seconds = Date().timeIntervalSince(start)
        #if os(Linux)
        _ = glibcMallocTrim(0)  // hand back what the load freed, so the figure is what the dataset holds
        #endif
        let after = Self.residentBytes()
        let keys = loaded.keyCount
        print("KEYSPACE-MEMORY file=\(path) keys=\(keys) rss_growth=\(after - before) bytes_per_key=\((after - before) / max(1, keys)) load_s=\(String(format: "%.2f", seconds))")
        #expect(keys > 0)
        withExtendedLifetime(loaded) {}
    }
}
