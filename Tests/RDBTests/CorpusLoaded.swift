import Foundation
import RDB

/// A corpus file read completely (with the checksum verified as `rdb check` does), indexed for
/// assertions. Strings are compared through lossy UTF-8 decoding, the way other tools' JSON
/// outputs render binary data (U+FFFD for invalid bytes).
struct CorpusLoaded {
    var header: RDBHeader?
    var aux: [(String, String)] = []
    var functions: [String] = []
    var moduleAux: [ModuleAux] = []
    var slotInfos: [(UInt64, UInt64, UInt64)] = []
    var entries: [RDBEntry] = []
    var storedChecksum: UInt64?
    var computedChecksum: UInt64?

    static func load(path: String) throws -> CorpusLoaded {
        var out = CorpusLoaded()
        for r in try CorpusFiles.records(path: path) {
            switch r {
            case .header(let h): out.header = h
            case .aux(let k, let v): out.aux.append((text(k), text(v)))
            case .function(let code): out.functions.append(text(code))
            case .moduleAux(let m): out.moduleAux.append(m)
            case .slotInfo(let s, let k, let e): out.slotInfos.append((s, k, e))
            case .entry(let e): out.entries.append(e)
            case .eof(let stored, let computed):
                out.storedChecksum = stored
                out.computedChecksum = computed
                if let stored, stored != 0, let computed, stored != computed {
                    throw RDBError(.checksumMismatch, at: 0, "checksum mismatch", file: path)
                }
            default: break
            }
        }
        return out
    }

    static func text(_ b: Bytes) -> String { String(decoding: b, as: UTF8.self) }

    func entry(_ key: String, db: Int? = nil) -> RDBEntry? {
        entries.first { CorpusLoaded.text($0.key) == key && (db == nil || $0.db == db) }
    }

    /// `TYPE`-style name, with every module value counted as "module".
    static func kind(_ v: RDBValue) -> String {
        if case .module = v { return "module" }
        return v.typeName
    }

    static func strings(_ v: RDBValue) -> [String]? {
        switch v {
        case .list(let a), .set(let a): return a.map(text)
        default: return nil
        }
    }

    static func hash(_ v: RDBValue) -> [String: String]? {
        guard case .hash(let fields) = v else { return nil }
        var d: [String: String] = [:]
        for f in fields { d[text(f.field)] = text(f.value) }
        return d
    }

    static func zset(_ v: RDBValue) -> [String: Double]? {
        guard case .sortedSet(let members) = v else { return nil }
        var d: [String: Double] = [:]
        for m in members { d[text(m.member)] = m.score }
        return d
    }

    static func count(_ v: RDBValue) -> Int {
        switch v {
        case .string: return 1
        case .list(let a), .set(let a): return a.count
        case .sortedSet(let a): return a.count
        case .hash(let a): return a.count
        case .stream(let s): return s.entries.count
        case .module: return 1
        case .array(let a): return a.elements.count
        }
    }
}
