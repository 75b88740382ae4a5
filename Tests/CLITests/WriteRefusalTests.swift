import Foundation
import RDB
import Testing

/// What a target RDB version cannot hold, refused by `rdb convert` and `rdb dump --format restore`: the error
/// names the input file, where the record starts in it and the key, as the reader's errors do.
@Suite("rdb convert / dump --format restore: refusals name the file, offset and key")
struct WriteRefusalTests {
    /// A hand-built RDB 12 file: a function library, a string, a hash with a field TTL. Returns its path and
    /// the offsets where the function record and the hash start.
    static func writeInput(_ dir: URL) throws -> (path: String, function: Int64, hash: Int64) {
        let w = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 12))
        try w.writeHeader()
        try w.writeAuxFields()
        let function = w.bytesWritten
        try w.writeFunction(code: Array("#!lua name=lib\nredis.register_function('f', function() return 1 end)".utf8))
        try w.selectDB(0)
        try w.writeEntry(RDBEntry(db: 0, key: Array("a".utf8), value: .string(Array("1".utf8)), rdbType: 0))
        let hash = w.bytesWritten
        try w.writeEntry(RDBEntry(db: 0, key: Array("h:ttl".utf8), value: .hash([
            HashField(field: Array("f".utf8), value: Array("v".utf8), expireAtMs: 4_000_000_000_000),
        ]), rdbType: 4))
        try w.finish()
        let path = dir.appendingPathComponent("in.rdb").path
        try Data(w.sink.bytes).write(to: URL(fileURLWithPath: path))
        return (path, function, hash)
    }

    @Test(.enabled(if: CLIRunner.binary != nil, "the redis-replica binary is not built"))
    func convertNamesFileOffsetAndKey() throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, function, hash) = try Self.writeInput(dir)
        let out = dir.appendingPathComponent("out.rdb").path

        var r = try CLIRunner.run(["rdb", "convert", input, out, "--rdb-version", "9"])
        #expect(r.status == 1)
        #expect(r.stderr == "Error: \(input): error at byte \(function): functions need RDB 10 (Redis 7.0); target is 9 "
                + "(use --drop-functions to skip them)\n")
        r = try CLIRunner.run(["rdb", "convert", input, out, "--rdb-version", "10"])
        #expect(r.status == 1)
        #expect(r.stderr == "Error: \(input): error at byte \(hash): hash field TTLs need RDB 12 (Redis 7.4); target is 10 "
                + "(use --drop-field-ttl to keep the fields without their TTLs) (key \"h:ttl\", db 0)\n")
        #expect(!FileManager.default.fileExists(atPath: out))
        r = try CLIRunner.run(["rdb", "convert", input, out, "--rdb-version", "10", "--drop-field-ttl", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test(.enabled(if: CLIRunner.binary != nil, "the redis-replica binary is not built"), arguments: ["1", "3"])
    func dumpRestoreNamesFileOffsetAndKey(threads: String) throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, _, hash) = try Self.writeInput(dir)

        // A function has no key; its record's offset is not known to the dump's scan.
        var r = try CLIRunner.run(["rdb", "dump", "--format", "restore", "--rdb-version", "9", "--threads", threads, "--run-bytes", "1", input])
        #expect(r.status == 1)
        #expect(r.stderr == "\(input): functions need Redis 7.0 (RDB 10); target is RDB 9\n")
        for format in ["restore", "resp"] {
            r = try CLIRunner.run(["rdb", "dump", "--format", format, "--rdb-version", "10", "--threads", threads, "--run-bytes", "1", input])
            #expect(r.status == 1)
            #expect(r.stderr == "\(input): error at byte \(hash): hash field TTLs need Redis 7.4 (RDB 12); target is RDB 10 "
                    + "(key \"h:ttl\", db 0)\n", "\(format)")
        }
    }
}
