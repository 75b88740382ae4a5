import Foundation
import RDB
import RDBTools

/// Where the shared corpus and the repository fixtures are, relative to this package's root
/// (`<root>/../shared/rdb-corpus`, `<root>/Fixtures`), and helpers to read and dump files.
enum CorpusFiles {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let corpusDirectory: URL = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/rdb-corpus")
    static let generatedDirectory = corpusDirectory.appendingPathComponent("generated")
    static let fixturesDirectory = packageRoot.appendingPathComponent("Fixtures")

    static var corpusAvailable: Bool {
        FileManager.default.fileExists(atPath: corpusDirectory.appendingPathComponent("MANIFEST.tsv").path)
    }
    static var generatedAvailable: Bool {
        FileManager.default.fileExists(atPath: generatedDirectory.path)
    }

    /// Every `*.rdb` below `dir` that has a sibling `*.json`, as paths relative to `dir`, sorted.
    static func rdbFilesWithJSON(under dir: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".rdb") else { continue }
            let json = String(rel.dropLast(4)) + ".json"
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent(json).path) { out.append(rel) }
        }
        return out.sorted()
    }

    /// Reads a whole file through the streaming reader.
    static func records(path: String) throws -> [RDBRecord] {
        let reader = RDBReader(source: AnyByteSource(try openRDBSource(path: path)), fileName: path)
        var out: [RDBRecord] = []
        while let r = try reader.next() {
            out.append(r)
            if case .eof = r { break }
        }
        return out
    }

    /// The canonical `json` dump of a file, in memory.
    static func dumpJSON(path: String) throws -> Data {
        let writer = JSONWriter()
        let encoder = CanonicalJSONEncoder(format: .json, writer: writer)
        for r in try records(path: path) { try encoder.consume(r) }
        try encoder.finish()
        return Data(writer.buffer)
    }
}

/// Compares a canonical dump with an "rdb-corpus-expected/1" JSON on the fields the dump emits.
/// Keys are matched per database by key (so order does not matter); zset scores and all numbers
/// compare numerically. Returns human-readable differences (empty = equal).
enum CanonicalJSONComparison {
    static func differences(actual: Any, expected: Any, compareLRU: Bool = true) -> [String] {
        var diffs: [String] = []
        guard let a = actual as? [String: Any], let x = expected as? [String: Any] else {
            return ["top level is not an object"]
        }
        let af = a["rdb_file"] as? [String: Any] ?? [:]
        let xf = x["rdb_file"] as? [String: Any] ?? [:]
        for field in ["magic", "rdb_version", "checksum", "aux"] where xf[field] != nil {
            if !equal(af[field], xf[field]) {
                diffs.append("rdb_file.\(field): got \(show(af[field])) expected \(show(xf[field]))")
            }
        }
        if let xs = xf["slot_info"] as? [Any], !equal(af["slot_info"], xs) {
            diffs.append("rdb_file.slot_info: got \(show(af["slot_info"])) expected \(show(xs))")
        }
        if let xfn = x["functions"] as? [[String: Any]] {
            let want = xfn.compactMap { $0["library_code"] as? String }.sorted()
            let got = ((a["functions"] as? [[String: Any]]) ?? []).compactMap { $0["library_code"] as? String }.sorted()
            if want != got { diffs.append("functions: got \(got.count) libraries \(got), expected \(want)") }
        }
        // Databases: merge the dump's per-section objects by db.
        var got: [Int: [String: [String: Any]]] = [:]
        for d in (a["databases"] as? [[String: Any]]) ?? [] {
            let db = (d["db"] as? NSNumber)?.intValue ?? -1
            for k in (d["keys"] as? [[String: Any]]) ?? [] {
                got[db, default: [:]][keyID(k["key"])] = k
            }
        }
        var want: [Int: [String: [String: Any]]] = [:]
        for d in (x["databases"] as? [[String: Any]]) ?? [] {
            let db = (d["db"] as? NSNumber)?.intValue ?? -1
            for k in (d["keys"] as? [[String: Any]]) ?? [] {
                want[db, default: [:]][keyID(k["key"])] = k
            }
        }
        if Set(got.keys) != Set(want.keys) {
            diffs.append("databases: got \(got.keys.sorted()) expected \(want.keys.sorted())")
        }
        for (db, wantKeys) in want.sorted(by: { $0.key < $1.key }) {
            let gotKeys = got[db] ?? [:]
            if gotKeys.count != wantKeys.count {
                diffs.append("db \(db): got \(gotKeys.count) keys, expected \(wantKeys.count)")
            }
            for (id, wk) in wantKeys.sorted(by: { $0.key < $1.key }) {
                guard let gk = gotKeys[id] else {
                    diffs.append("db \(db) key \(id): missing")
                    continue
                }
                var fields = ["type", "value", "expire_at_ms", "lfu_freq"]
                if compareLRU { fields.append("lru_idle_s") }
                for f in fields where wk[f] != nil || (f == "expire_at_ms") {
                    if !equal(gk[f] ?? NSNull(), wk[f] ?? NSNull()) {
                        diffs.append("db \(db) key \(id) \(f): " + explain(gk[f], wk[f]))
                    }
                }
                // field_expire_at_ms: present exactly when some field has a TTL.
                if !equal(gk["field_expire_at_ms"] ?? NSNull(), wk["field_expire_at_ms"] ?? NSNull()) {
                    diffs.append("db \(db) key \(id) field_expire_at_ms: got \(show(gk["field_expire_at_ms"])) expected \(show(wk["field_expire_at_ms"]))")
                }
                if let wr = wk["rdb"] as? [String: Any], let gr = gk["rdb"] as? [String: Any] {
                    for f in ["type", "file_order"] where wr[f] != nil {
                        if !equal(gr[f], wr[f]) {
                            diffs.append("db \(db) key \(id) rdb.\(f): got \(show(gr[f])) expected \(show(wr[f]))")
                        }
                    }
                }
            }
        }
        return diffs
    }

    /// Narrows a difference down to the first differing path inside objects and arrays.
    static func explain(_ a: Any?, _ b: Any?, path: String = "") -> String {
        if let x = a as? [String: Any], let y = b as? [String: Any] {
            for k in Set(x.keys).union(y.keys).sorted() where !equal(x[k], y[k]) {
                if k == "entries_read_rdb_raw" && y[k] == nil { continue }
                return explain(x[k], y[k], path: path + "." + k)
            }
        }
        if let x = a as? [Any], let y = b as? [Any] {
            if x.count != y.count { return "\(path): \(x.count) items, expected \(y.count)" }
            for (i, (p, q)) in zip(x, y).enumerated() where !equal(p, q) {
                return explain(p, q, path: path + "[\(i)]")
            }
        }
        return "\(path): got \(show(a)) expected \(show(b))"
    }

    static func keyID(_ k: Any?) -> String {
        if let s = k as? String { return s }
        if let d = k as? [String: Any], let b = d["b64"] as? String { return "b64:" + b }
        return "?"
    }

    static func show(_ v: Any?) -> String {
        guard let v else { return "<absent>" }
        let s = "\(v)"
        return s.count > 300 ? String(s.prefix(300)) + "…" : s
    }

    /// Structural equality; numbers compare numerically (integers exactly when both are integral).
    static func equal(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (nil, _), (_, nil): return false
        case (is NSNull, is NSNull): return true
        case let (x as String, y as String): return x == y
        case let (x as NSNumber, y as NSNumber):
            if x.isEqual(to: y) { return true }
            return x.doubleValue == y.doubleValue
        case let (x as [Any], y as [Any]):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (x as [String: Any], y as [String: Any]):
            // `entries_read_rdb_raw` is informational; expected files may leave it out.
            let xk = y["entries_read_rdb_raw"] == nil ? x.filter { $0.key != "entries_read_rdb_raw" } : x
            return xk.count == y.count && xk.allSatisfy { k, v in y[k] != nil && equal(v, y[k]) }
        default: return false
        }
    }
}
