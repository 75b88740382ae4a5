import Foundation
import RDB
import Testing

/// Semantic comparison with the expected outputs other parsers ship in the corpus:
/// HDT3213/rdb `cases/*.json` (one object per key) and librdb `*_data.json` (data level).
/// Binary data is compared through lossy UTF-8, as those tools render it.
@Suite("Corpus: values match the upstream expected JSON outputs",
       .enabled(if: CorpusFiles.corpusAvailable, "shared corpus not found at ../shared/rdb-corpus: skipped"))
struct CorpusUpstreamJSONTests {
    /// (expected JSON, RDB) pairs for HDT3213, from the MANIFEST description "JSON export for X.rdb".
    static let hdtPairs: [String] = ManifestRow.all().compactMap { row in
        guard row.path.hasPrefix("hdt3213-rdb/"), row.path.hasSuffix(".json"),
              let r = row.description.range(of: "JSON export for ") else { return nil }
        let rest = row.description[r.upperBound...]
        guard let end = rest.range(of: ".rdb") else { return nil }
        return row.path + "|" + rest[..<end.upperBound]
    }

    static let librdbPairs: [String] = [
        "librdb/dumps/hash_lp_v11_data.json|librdb/dumps/hash_lp_v11.rdb",
        "librdb/dumps/hash_data.json|librdb/dumps/hash_v3.rdb",
        "librdb/dumps/hash_zl_v6_data.json|librdb/dumps/hash_zl_v6.rdb",
        "librdb/dumps/mem_policy_lfu.json|librdb/dumps/mem_policy_lfu.rdb",
        "librdb/dumps/module_aux_data.json|librdb/dumps/module_aux.rdb",
        "librdb/dumps/multiple_dbs_data.json|librdb/dumps/multiple_dbs.rdb",
        "librdb/dumps/multiple_lists_strings_data.json|librdb/dumps/multiple_lists_strings.rdb",
        "librdb/dumps/plain_list_v6_data.json|librdb/dumps/plain_list_v6.rdb",
        "librdb/dumps/plain_set_v6_data.json|librdb/dumps/plain_set_v6.rdb",
        "librdb/dumps/plain_zset_v6_data.json|librdb/dumps/plain_zset_v6.rdb",
        "librdb/dumps/quicklist_data.json|redis/list-quicklist.rdb",
        "librdb/dumps/set_lp_v11_data.json|librdb/dumps/set_lp_v11.rdb",
        "librdb/dumps/set_not_expired.json|librdb/dumps/set_not_expired_v11.rdb",
        "librdb/dumps/single_key_data.json|librdb/dumps/single_key.rdb",
        "librdb/dumps/stream_data.json|librdb/dumps/stream_v11.rdb",
        "librdb/dumps/string_int_encoded.json|librdb/dumps/string_int_encoded.rdb",
        "librdb/dumps/zset_lp_v11_data.json|librdb/dumps/zset_lp_v11.rdb",
        "librdb/dumps/function2.json|librdb/dumps/function2.rdb",
        "librdb/dumps/ziplist_data.json|redis-rdb-tools/ziplist_that_compresses_easily.rdb",
    ]

    /// The parameterized tests below pass with no arguments at all: the lists must hold what the corpus has.
    @Test func everyExpectedOutputIsCompared() {
        #expect(Self.hdtPairs.count >= 28, "HDT3213 pairs found in MANIFEST.tsv: \(Self.hdtPairs.count)")
        for pair in Self.hdtPairs + Self.librdbPairs {
            for path in pair.split(separator: "|") {
                #expect(FileManager.default.fileExists(atPath: CorpusFiles.corpusDirectory.appendingPathComponent(String(path)).path),
                        "\(path) missing")
            }
        }
    }

    @Test("HDT3213 cases/*.json", arguments: hdtPairs)
    func hdt(_ pair: String) throws {
        let parts = pair.split(separator: "|").map(String.init)
        let expectedURL = CorpusFiles.corpusDirectory.appendingPathComponent(parts[0])
        let l = try CorpusLoaded.load(path: CorpusFiles.corpusDirectory.appendingPathComponent(parts[1]).path)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: expectedURL)) as? [[String: Any]],
                                   "\(parts[0]) is not an array of key objects")
        #expect(objects.count == l.entries.count, "\(pair): \(objects.count) expected keys, read \(l.entries.count)")
        for o in objects {
            let key = o["key"] as? String ?? ""
            let db = (o["db"] as? NSNumber)?.intValue ?? 0
            guard let e = l.entry(key, db: db) else {
                Issue.record("\(pair): missing key \(key) in db \(db)")
                continue
            }
            #expect((o["expiration"] != nil) == (e.expireAtMs != nil), "\(pair) \(key): expiry presence")
            let type = o["type"] as? String ?? ""
            #expect(CorpusLoaded.kind(e.value) == type, "\(pair) \(key): type")
            switch e.value {
            case .string(let v):
                #expect(o["value"] as? String == CorpusLoaded.text(v), "\(pair) \(key): value")
            case .list(let v):
                #expect(o["values"] as? [String] == v.map(CorpusLoaded.text), "\(pair) \(key): list")
            case .set(let v):
                #expect((o["members"] as? [String])?.sorted() == v.map(CorpusLoaded.text).sorted(), "\(pair) \(key): set")
            case .hash(let fields):
                #expect(o["hash"] as? [String: String] == CorpusLoaded.hash(e.value), "\(pair) \(key): hash")
                if let exp = o["expire"] as? [String: NSNumber] {
                    for f in fields {
                        let want = exp[CorpusLoaded.text(f.field)]?.int64Value ?? 0
                        #expect((f.expireAtMs ?? 0) == want, "\(pair) \(key).\(CorpusLoaded.text(f.field)): field expiry")
                    }
                }
            case .sortedSet:
                var want: [String: Double] = [:]
                for m in o["entries"] as? [[String: Any]] ?? [] {
                    want[m["member"] as? String ?? ""] = (m["score"] as? NSNumber)?.doubleValue
                }
                #expect(want == CorpusLoaded.zset(e.value), "\(pair) \(key): zset")
            case .stream(let s):
                var ids: [String] = []
                var fields: [[String: String]] = []
                for node in o["entries"] as? [[String: Any]] ?? [] {
                    for m in node["msgs"] as? [[String: Any]] ?? [] where (m["deleted"] as? Bool) != true {
                        ids.append(m["id"] as? String ?? "")
                        fields.append(m["fields"] as? [String: String] ?? [:])
                    }
                }
                #expect(ids == s.entries.map(\.id.description), "\(pair) \(key): stream IDs")
                let gotFields = s.entries.map { e in
                    Dictionary(e.fields.map { (CorpusLoaded.text($0.0), CorpusLoaded.text($0.1)) }, uniquingKeysWith: { $1 })
                }
                #expect(fields == gotFields, "\(pair) \(key): stream fields")
                if let len = (o["len"] as? NSNumber)?.uint64Value { #expect(len == s.length) }
                if let last = o["lastId"] as? String { #expect(last == s.lastID.description) }
                if let first = o["firstId"] as? String { #expect(first == s.firstID?.description) }
                if let del = o["maxDeletedId"] as? String { #expect(del == s.maxDeletedEntryID?.description) }
                if let added = (o["addedEntriesCount"] as? NSNumber)?.uint64Value { #expect(added == s.entriesAdded) }
            case .module, .array:  // upstream files hold no Redis 8.10 arrays
                break
            }
        }
    }

    /// librdb's data-level files are JSON fragments: `"k":v, ...` or `[{...},{...}]`.
    static func parseLibrdb(_ text: String) throws -> [String: Any] {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("[") {
            let arr = try JSONSerialization.jsonObject(with: Data(t.utf8)) as? [[String: Any]] ?? []
            return arr.reduce(into: [:]) { acc, d in acc.merge(d) { a, _ in a } }
        }
        return try JSONSerialization.jsonObject(with: Data(("{" + t + "}").utf8)) as? [String: Any] ?? [:]
    }

    @Test("librdb *_data.json", arguments: librdbPairs)
    func librdb(_ pair: String) throws {
        let parts = pair.split(separator: "|").map(String.init)
        let text = try String(contentsOf: CorpusFiles.corpusDirectory.appendingPathComponent(parts[0]), encoding: .utf8)
        let want = try Self.parseLibrdb(text)
        let l = try CorpusLoaded.load(path: CorpusFiles.corpusDirectory.appendingPathComponent(parts[1]).path)
        var keys = 0
        for (key, value) in want {
            if key == "__aux__" {
                for (k, v) in value as? [String: String] ?? [:] {
                    #expect(l.aux.contains { $0.0 == k && $0.1 == v }, "\(pair): aux \(k)=\(v)")
                }
                continue
            }
            if key == "__func__" {
                let codes = (value as? [String: String] ?? [:]).values.sorted()
                #expect(codes == l.functions.sorted(), "\(pair): functions")
                continue
            }
            keys += 1
            guard let e = l.entry(key) else {
                Issue.record("\(pair): missing key \(key)")
                continue
            }
            switch e.value {
            case .string(let v):
                #expect(value as? String == CorpusLoaded.text(v), "\(pair) \(key)")
            case .list(let v):
                #expect(value as? [String] == v.map(CorpusLoaded.text), "\(pair) \(key)")
            case .set(let v):
                #expect((value as? [String])?.sorted() == v.map(CorpusLoaded.text).sorted(), "\(pair) \(key)")
            case .hash:
                #expect(value as? [String: String] == CorpusLoaded.hash(e.value), "\(pair) \(key)")
            case .sortedSet:
                let w = (value as? [String: String] ?? [:]).mapValues { s -> Double in
                    s == "inf" ? .infinity : s == "-inf" ? -.infinity : Double(s) ?? .nan
                }
                #expect(w == CorpusLoaded.zset(e.value), "\(pair) \(key)")
            case .stream(let s):
                let entries = (value as? [String: Any])?["entries"] as? [[String: Any]] ?? []
                #expect(entries.map { $0["id"] as? String ?? "" } == s.entries.map(\.id.description), "\(pair) \(key): IDs")
                let gotFields = s.entries.map { e in
                    Dictionary(e.fields.map { (CorpusLoaded.text($0.0), CorpusLoaded.text($0.1)) }, uniquingKeysWith: { $1 })
                }
                #expect(entries.map { $0["items"] as? [String: String] ?? [:] } == gotFields, "\(pair) \(key): fields")
            case .module, .array:
                break
            }
        }
        #expect(keys == l.entries.count, "\(pair): \(keys) expected keys, read \(l.entries.count)")
    }
}
