import Foundation
import RDB
import Testing

@Suite("rdb check (the built binary)", .serialized)
struct CheckCommandTests {
    let dir: URL
    init() throws { dir = try CLIRunner.temporaryDirectory() }

    func file(_ name: String, _ bytes: Bytes) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test("a valid file: exit 0 and an OK line")
    func valid() throws {
        let path = try file("ok.rdb", TinyRDB.sample().bytes())
        let r = try CLIRunner.run(["rdb", "check", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\(path): OK REDIS0011, 7 keys"), "\(r.stdout)")
        #expect(r.stderr.isEmpty)
    }

    @Test("a truncated file: exit 1 and `FILE: error at byte N: ...`")
    func truncated() throws {
        let full = TinyRDB.sample().bytes()
        let path = try file("trunc.rdb", Array(full.prefix(full.count - 30)))
        let r = try CLIRunner.run(["rdb", "check", path])
        #expect(r.status == 1)
        let line = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix("\(path): error at byte "), "\(r.stderr)")
        let offset = line.dropFirst("\(path): error at byte ".count).prefix { $0.isNumber }
        #expect(Int(offset).map { $0 > 9 && $0 <= full.count } == true, "offset in \(line)")
    }

    @Test("a flipped byte in a value: checksum mismatch, exit 1")
    func checksumMismatch() throws {
        var bytes = TinyRDB.sample().bytes()
        let needle = Array("hello".utf8)
        let at = (0..<bytes.count - needle.count).first { Array(bytes[$0..<$0 + needle.count]) == needle }!
        bytes[at] = UInt8(ascii: "j")
        let path = try file("crc.rdb", bytes)
        let r = try CLIRunner.run(["rdb", "check", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(path): error at byte "), "\(r.stderr)")
        #expect(r.stderr.lowercased().contains("checksum"), "\(r.stderr)")
    }

    @Test("gzip input is detected by its magic and checked through",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/gzip"), "no /bin/gzip"))
    func gzipInput() throws {
        let path = try file("gz.rdb", TinyRDB.sample().bytes())
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-kf", path]
        try gzip.run()
        gzip.waitUntilExit()
        let r = try CLIRunner.run(["rdb", "check", path + ".gz"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("OK REDIS0011, 7 keys"), "\(r.stdout)")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
        bytes.removeLast(bytes.count / 3)  // cut the compressed stream
        let cut = try file("cut.rdb.gz", bytes)
        let r2 = try CLIRunner.run(["rdb", "check", cut])
        #expect(r2.status == 1)
        #expect(r2.stderr.hasPrefix("\(cut): error at byte "), "\(r2.stderr)")
    }

    @Test("a disabled checksum (0) is accepted")
    func checksumDisabled() throws {
        var t = TinyRDB.sample()
        t.checksum = false
        let path = try file("nocrc.rdb", t.bytes())
        let r = try CLIRunner.run(["rdb", "check", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("checksum disabled"))
    }

    @Test("a bad magic and a missing file are reported with the file name")
    func badMagicAndMissing() throws {
        let path = try file("magic.rdb", Array("NOTREDIS0011".utf8) + [255])
        let missing = dir.appendingPathComponent("does-not-exist.rdb").path
        let r = try CLIRunner.run(["rdb", "check", path, missing])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(path): error at byte 0: "), "\(r.stderr)")
        #expect(r.stderr.contains("\(missing): error at byte 0: "), "\(r.stderr)")
    }

    @Test("all files are checked even after a failure; --json report")
    func severalFilesJSON() throws {
        let good = try file("good.rdb", TinyRDB.sample().bytes())
        let full = TinyRDB.sample().bytes()
        let bad = try file("bad.rdb", Array(full.prefix(40)))
        let r = try CLIRunner.run(["rdb", "check", "--json", bad, good])
        #expect(r.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect(report["ok"] as? Bool == false)
        let files = try #require(report["files"] as? [[String: Any]])
        #expect(files.count == 2)
        #expect(files[0]["path"] as? String == bad)
        #expect(files[0]["ok"] as? Bool == false)
        let err = try #require(files[0]["error"] as? [String: Any])
        #expect(err["code"] as? String == "truncated")
        #expect((err["offset"] as? NSNumber)?.intValue ?? -1 >= 9)
        #expect((err["message"] as? String)?.isEmpty == false)
        #expect(files[1]["ok"] as? Bool == true)
        #expect((files[1]["keys"] as? NSNumber)?.intValue == 7)
        #expect((files[1]["rdb_version"] as? NSNumber)?.intValue == 11)
        #expect((files[1]["bytes"] as? NSNumber)?.intValue == full.count)
    }

    @Test("every truncation point of a file is an error naming a byte offset, never a crash")
    func everyTruncation() throws {
        let full = TinyRDB.sample().bytes()
        var paths: [String] = []
        for n in stride(from: 0, to: full.count, by: 7) {
            paths.append(try file("t\(n).rdb", Array(full.prefix(n))))
        }
        let r = try CLIRunner.run(["rdb", "check", "--json"] + paths)
        #expect(r.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        let files = try #require(report["files"] as? [[String: Any]])
        #expect(files.count == paths.count)
        for f in files {
            #expect(f["ok"] as? Bool == false, "\(f)")
            let err = f["error"] as? [String: Any]
            let offset = (err?["offset"] as? NSNumber)?.intValue ?? -1
            #expect(offset >= 0 && offset <= full.count, "\(f)")
        }
    }

    @Test("corpus: bad checksum rejected, RDB preamble with AOF tail accepted with a warning",
          .enabled(if: CLIRunner.corpusAvailable, "shared corpus absent: skipped"))
    func corpusFiles() throws {
        let bad = CLIRunner.corpusDirectory.appendingPathComponent("librdb/dumps/invalid_chksum_v8.rdb").path
        let r1 = try CLIRunner.run(["rdb", "check", bad])
        #expect(r1.status == 1)
        #expect(r1.stderr.hasPrefix("\(bad): error at byte "), "\(r1.stderr)")
        #expect(r1.stderr.lowercased().contains("checksum"))

        let aof = CLIRunner.corpusDirectory.appendingPathComponent("redis/rdb-preamble.aof").path
        let r2 = try CLIRunner.run(["rdb", "check", aof])
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(r2.stderr.contains("52 trailing byte"), "\(r2.stderr)")

        let empty = CLIRunner.corpusDirectory.appendingPathComponent("redis/corrupt_empty_keys.rdb").path
        for extra in [[], ["--decode-values"]] {
            let r4 = try CLIRunner.run(["rdb", "check"] + extra + [empty])
            #expect(r4.status == 0, "\(r4.stderr)")
            #expect(r4.stderr.contains("9 empty collection key(s)"), "\(extra): \(r4.stderr)")
        }

        let generated = CLIRunner.corpusDirectory.appendingPathComponent("generated")
        let all = try FileManager.default.subpathsOfDirectory(atPath: generated.path)
            .filter { $0.hasSuffix(".rdb") }.map { generated.appendingPathComponent($0).path }
        let r3 = try CLIRunner.run(["rdb", "check", "--quiet"] + all)
        #expect(r3.status == 0, "\(r3.stderr)")
        #expect(r3.stdout.isEmpty)
    }

    @Test("a hash that repeats a field: exit 1, offset of the repeat and the key (text and --json); distinct fields pass")
    func repeatedHashField() throws {
        func hashFile(_ fields: [String]) throws -> Bytes {
            var options = RDBWriterOptions(rdbVersion: 9, compress: false)
            options.hashMaxListpackEntries = 0  // the table encoding (type 4)
            let w = try RDBWriter(sink: MemoryByteSink(), options: options)
            try w.writeHeader()
            try w.selectDB(0, resize: (1, 0))
            try w.writeEntry(RDBEntry(db: 0, key: Array("h:1".utf8), value: .hash(fields.map {
                HashField(field: Array($0.utf8), value: Array("v".utf8))
            }), rdbType: 0))
            try w.finish()
            return w.sink.bytes
        }
        let bytes = try hashFile(["a", "dup", "b", "dup"])
        let needle: Bytes = [3] + Array("dup".utf8)
        let second = (0...(bytes.count - 4)).filter { Array(bytes[$0..<$0 + 4]) == needle }[1]
        let bad = try file("dup.rdb", bytes)
        let r = try CLIRunner.run(["rdb", "check", bad])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("\(bad): error at byte \(second): hash field \"dup\" repeated"), "\(r.stderr)")
        #expect(r.stderr.contains("(key \"h:1\", db 0)"), "\(r.stderr)")
        let j = try CLIRunner.run(["rdb", "check", "--json", "--decode-values", bad])
        #expect(j.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: j.stdoutData) as? [String: Any])
        let err = try #require((report["files"] as? [[String: Any]])?.first?["error"] as? [String: Any])
        #expect(err["code"] as? String == "corrupt")
        #expect((err["offset"] as? NSNumber)?.intValue == second)
        #expect(err["key"] as? String == "h:1")
        let good = try file("nodup.rdb", try hashFile(["a", "dup", "b", "c"]))
        let ok = try CLIRunner.run(["rdb", "check", good])
        #expect(ok.status == 0, "\(ok.stderr)")
    }
}
