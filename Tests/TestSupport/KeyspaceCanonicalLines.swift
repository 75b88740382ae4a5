import RDB
import RDBTools
import Keyspace

extension Keyspace {
    /// The dataset as canonical JSON lines, independent of storage order and of RDB encodings: one line
    /// per key (`CanonicalJSONEncoder.writeKeyFields`, with the `rdb` type and file order zeroed), sorted by
    /// database then key bytes, then one line of function libraries (sorted) and module AUX records.
    /// Two datasets are equal exactly when these texts are; tests and the differential check compare them.
    public func canonicalJSONLines() throws -> [String] {
        var lines: [String] = []
        for db in databases.keys.sorted() {
            let keys = database(db).keys.sorted { $0.lexicographicallyPrecedes($1) }
            for k in keys {
                let e = self[db, k]!
                lines.append(try Keyspace.canonicalLine(RDBEntry(
                    db: db, key: k, value: e.value.rdbValue, expireAtMs: e.expireAtMs,
                    lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq, rdbType: 0)))
            }
        }
        let w = JSONWriter()
        w.raw("{")
        w.field("functions", first: true)
        w.array(functions.sorted { $0.lexicographicallyPrecedes($1) }) { w.bytes($0) }
        w.field("module_aux")
        w.array(moduleAux) { m in
            w.raw("[")
            w.uint(m.moduleID)
            w.raw(",")
            w.base64String(m.raw)
            w.raw("]")
        }
        w.raw("}")
        lines.append(String(decoding: w.buffer, as: UTF8.self))
        return lines
    }

    /// One key's canonical line: `{"db":n,` + the key fields with `rdb` type and file order 0.
    public static func canonicalLine(_ entry: RDBEntry) throws -> String {
        var e = entry
        e.rdbType = 0
        let w = JSONWriter()
        w.raw("{\"db\":")
        w.int(e.db)
        w.raw(",")
        try CanonicalJSONEncoder.writeKeyFields(e, fileOrder: 0, into: w)
        w.raw("}")
        return String(decoding: w.buffer, as: UTF8.self)
    }
}
