// keyspace-load FILE [--by-type]
//
// Loads FILE (an RDB) into a Keyspace and prints one line of `name=value` pairs: keys, load_s (wall
// time of the load), cpu_s (user + system CPU time of the process, every thread, at the load's end), peak_rss (VmHWM: the process's peak resident memory, the figure compared with
// redis-server's used_memory), rss (VmRSS after the load, malloc_trim'd) and heap (bytes malloc
// has handed out and not freed: mallinfo2's uordblks + hblkhd).
//
// --by-type: then loads the file once per value type, keeping only that type's keys, and prints the
// heap each holds (and `keys-only`: every key with an empty string value, the per-key overhead), so
// you can see where the bytes go.
import Foundation
import CMallocInfo
import Glibc
import Keyspace
import RDB

func statusField(_ name: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func heapInUse() -> Int { Int(heap_bytes_in_use()) }

func typeName(_ v: RDBValue) -> String {
    switch v {
    case .string: return "string"
    case .list: return "list"
    case .set: return "set"
    case .sortedSet: return "zset"
    case .hash: return "hash"
    case .stream: return "stream"
    case .module: return "module"
    case .array: return "array"
    }
}

/// Loads `path` through the reader's lending path, as `KeyspaceLoader.load` does, keeping the entries
/// `keep` accepts (`.some(nil)`: as they are; `.some(v)`: with value `v` instead).
func load(_ path: String, keep: (RDBEntry) -> RDBValue?? = { _ in .some(nil) }) throws -> KeyspaceLoader {
    let reader = try RDBReader(path: path)
    var loader = KeyspaceLoader()
    let arena = RDBValueArena()
    while let record = try reader.next(lendingInto: arena) {
        if case .entry(var e) = record {
            switch keep(e) {
            case .none: break
            case .some(.none): try loader.consume(record, lent: arena)
            case .some(.some(let v)):
                e.value = v
                try loader.consume(.entry(e))
            }
        } else {
            try loader.consume(record, lent: arena)
        }
        if case .eof = record { break }
    }
    return loader
}

let args = CommandLine.arguments.dropFirst()
guard let path = args.first(where: { !$0.hasPrefix("--") }) else {
    FileHandle.standardError.write(Data("usage: keyspace-load FILE [--by-type]\n".utf8))
    exit(64)
}
do {
    let heap0 = heapInUse()
    let start = Date()
    let loaded = try KeyspaceLoader.load(RDBReader(path: path))
    let seconds = Date().timeIntervalSince(start)
    let cpu = cpuSeconds()
    heap_trim()
    let heap = heapInUse() - heap0
    print("keys=\(loaded.keyspace.keyCount) load_s=\(String(format: "%.3f", seconds)) cpu_s=\(String(format: "%.3f", cpu)) peak_rss=\(statusField("VmHWM")) "
        + "rss=\(statusField("VmRSS")) heap=\(heap)")
    withExtendedLifetime(loaded) {}
    if args.contains("--by-type") {
        for type in ["keys-only", "string", "list", "set", "zset", "hash", "stream"] {
            let before = heapInUse()
            var n = 0
            let part = try load(path) { e in
                if type == "keys-only" {
                    n += 1
                    return .some(.string([]))
                }
                guard typeName(e.value) == type else { return .none }
                n += 1
                return .some(nil)
            }
            let held = heapInUse() - before
            print("type=\(type) keys=\(n) heap=\(held) per_key=\(held / max(1, n))")
            withExtendedLifetime(part) {}
        }
    }
} catch {
    FileHandle.standardError.write(Data("keyspace-load: \(error)\n".utf8))
    exit(1)
}
