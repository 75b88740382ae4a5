import Foundation
import RDB

/// Runs the built `redis-replica` binary (it sits next to the test bundle in the build products
/// directory) and captures its exit status and output.
enum CLIRunner {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpusDirectory = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/rdb-corpus")
    static var corpusAvailable: Bool {
        FileManager.default.fileExists(atPath: corpusDirectory.appendingPathComponent("MANIFEST.tsv").path)
    }

    static var binary: URL? {
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        for _ in 0..<4 {  // .../debug/X.xctest[/Contents/MacOS/X]
            candidates.append(dir.appendingPathComponent("redis-replica"))
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/redis-replica"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutData: Data
    }

    static func run(_ args: [String]) throws -> Result {
        guard let binary else { throw CocoaError(.fileNoSuchFile) }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe()
        // stderr goes to a file, stdout through a pipe read to the end before waiting.
        let errURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("redis-replica-stderr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = out
        p.standardError = errHandle
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? errHandle.close()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("redis-replica-cli-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Builds small, valid RDB files by hand (format per Redis `rdb.c`), so the CLI tests do not
/// depend on the shared corpus.
struct TinyRDB {
    enum Value {
        case string(Bytes)
        case set([Bytes])
        case zset([(Bytes, Double)])
        case hash([(Bytes, Bytes)])
    }

    var version = 11
    var checksum = true
    var aux: [(String, String)] = [("redis-ver", "7.2.0"), ("redis-bits", "64")]
    /// Raw records written after the AUX fields, before the first key (e.g. a pre-release function, opcode 246).
    var recordsBeforeKeys: Bytes = []
    /// (db, key, value, expire ms)
    var keys: [(Int, Bytes, Value, Int64?)] = []

    mutating func add(_ key: String, _ value: Value, db: Int = 0, expireAtMs: Int64? = nil) {
        keys.append((db, Array(key.utf8), value, expireAtMs))
    }

    static func length(_ n: Int) -> Bytes {
        if n < 64 { return [UInt8(n)] }
        if n < 16384 { return [UInt8(0x40 | (n >> 8)), UInt8(n & 0xff)] }
        return [0x80, UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
    }

    static func string(_ b: Bytes) -> Bytes { length(b.count) + b }
    static func string(_ s: String) -> Bytes { string(Array(s.utf8)) }

    func bytes() -> Bytes {
        var out = Array("REDIS".utf8) + Array(String(format: "%04d", version).utf8)
        for (k, v) in aux { out += [250] + TinyRDB.string(k) + TinyRDB.string(v) }
        out += recordsBeforeKeys
        var db: Int? = nil
        for (d, key, value, expire) in keys {
            if d != db {
                out += [254] + TinyRDB.length(d)
                let inDB = keys.filter { $0.0 == d }
                out += [251] + TinyRDB.length(inDB.count) + TinyRDB.length(inDB.filter { $0.3 != nil }.count)
                db = d
            }
            if let expire { out += [252] + withUnsafeBytes(of: expire.littleEndian) { Array($0) } }
            switch value {
            case .string(let s): out += [0] + TinyRDB.string(key) + TinyRDB.string(s)
            case .set(let m):
                out += [2] + TinyRDB.string(key) + TinyRDB.length(m.count)
                for x in m { out += TinyRDB.string(x) }
            case .zset(let m):
                out += [5] + TinyRDB.string(key) + TinyRDB.length(m.count)
                for (x, s) in m { out += TinyRDB.string(x) + withUnsafeBytes(of: s.bitPattern.littleEndian) { Array($0) } }
            case .hash(let f):
                out += [4] + TinyRDB.string(key) + TinyRDB.length(f.count)
                for (a, b) in f { out += TinyRDB.string(a) + TinyRDB.string(b) }
            }
        }
        out.append(255)
        if version >= 5 {
            let crc = checksum ? TinyRDB.crc64(out) : 0
            out += withUnsafeBytes(of: crc.littleEndian) { Array($0) }
        }
        return out
    }

    /// CRC-64/Jones as Redis computes it (reflected poly 0xad93d23594c935a9, init 0, no xorout).
    static func crc64(_ data: Bytes) -> UInt64 {
        var crc: UInt64 = 0
        for b in data {
            crc ^= UInt64(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95ac9329ac4bc9b5 : crc >> 1 }
        }
        return crc
    }

    /// A sample with every simple type, a binary key, a TTL and two databases.
    static func sample() -> TinyRDB {
        var t = TinyRDB()
        t.add("greeting", .string(Array("hello \"world\"\n".utf8)))
        t.add("ttl", .string(Array("x".utf8)), expireAtMs: 4102444800000)
        t.add("set", .set([Array("b".utf8), Array("a".utf8), Array("c".utf8)]))
        t.add("zset", .zset([(Array("z".utf8), 2.5), (Array("a".utf8), Double.leastNonzeroMagnitude), (Array("m".utf8), -Double.infinity)]))
        t.add("hash", .hash([(Array("f2".utf8), Array("2".utf8)), (Array("f1".utf8), [0xff, 0xfe])]))
        t.keys.append((0, [0xc3, 0x28], .string(Array("binary key".utf8)), nil))
        t.add("other-db", .string(Array("one".utf8)), db: 3)
        return t
    }

    func write(to url: URL) throws { try Data(bytes()).write(to: url) }
}
