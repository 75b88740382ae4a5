import RDB
import Testing
import TestSupport
@testable import Keyspace

/// `Keyspace.write` lends list elements and set members straight from their storage
/// (`RDBWriter.writeEntry(db:key:…:lent:)`); the file must be byte for byte the one written through the RDB
/// model (`Value.rdbValue`, an array per element), in every RDB version and every encoding the writer picks.
@Suite struct KeyspaceWriteLentTests {
    static func bytes(_ s: String) -> Bytes { Array(s.utf8) }

    /// Lists and sets of every shape: packed and hashed, integers (intset), long members, a set past the
    /// intset and listpack limits, with expiries and LRU/LFU hints, in three databases.
    static func dataset(seed: UInt64) -> Keyspace {
        var rng = SeededRandom(seed: seed)
        var ks = Keyspace()
        for i in 0..<60 {
            let db = i % 3
            let n = [0, 1, 3, 100, 129, 600][i % 6]
            let kind = i % 4
            var members: [Bytes] = []
            for j in 0..<max(n, 1) {
                switch kind {
                case 0: members.append(bytes(String(Int64.random(in: -1_000_000...1_000_000, using: &rng) * Int64(j + 1))))
                case 1: members.append(bytes("m\(j)"))
                case 2: members.append(Bytes(repeating: UInt8(97 + j % 26), count: 1 + (j * 7) % 90))
                default: members.append(bytes(j % 5 == 0 ? "0\(j)" : String(j)))
                }
            }
            var entry: KeyEntry
            if i % 2 == 0 {
                var list = PackedBytes()
                for m in members { list.append(m) }
                entry = KeyEntry(value: .list(list))
            } else {
                entry = KeyEntry(value: .set(SetValue(members)))
            }
            if i % 5 == 0 { entry.expireAtMs = 1_900_000_000_000 + Int64(i) }
            if i % 7 == 0 { entry.lruIdleSeconds = UInt64(i) }
            ks[db, bytes("k\(i)")] = entry
        }
        ks[0, bytes("s")] = KeyEntry(value: .string(bytes("v")))
        return ks
    }

    /// The same file through the RDB model, as `Keyspace.write` wrote it before lending.
    static func throughModel(_ ks: Keyspace, options: RDBWriterOptions, aux: RDBAuxInfo) throws -> Bytes {
        let w = try RDBWriter(sink: MemoryByteSink(), options: options)
        try w.writeHeader()
        try w.writeAuxFields(aux)
        for db in ks.databases.keys.sorted() {
            let d = ks.databases[db]!
            var expires: UInt64 = 0
            for (_, e) in d where e.expireAtMs != nil { expires += 1 }
            try w.selectDB(db, resize: (UInt64(d.count), expires))
            for (k, e) in d {
                try w.writeEntry(RDBEntry(db: db, key: k, value: e.value.rdbValue, expireAtMs: e.expireAtMs,
                                          lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq, rdbType: 0))
            }
        }
        try w.finish()
        return w.sink.bytes
    }

    @Test(arguments: [7, 8, 9, 10, 11, 12, RDBWriterOptions.valkeyVersion])
    func sameBytesAsThroughTheModel(version: Int) throws {
        for seed in UInt64(1)...3 {
            let ks = Self.dataset(seed: seed)
            let options = RDBWriterOptions(rdbVersion: version)
            let aux = RDBAuxInfo(ctime: 1_700_000_000)
            let lent = try ks.rdbBytes(options: options, aux: aux)
            #expect(lent == (try Self.throughModel(ks, options: options, aux: aux)), "RDB \(version), seed \(seed)")
            if version >= 9 {   // before 9 the writer drops the LRU hints
                #expect(try Keyspace.load(rdb: lent) == ks, "RDB \(version), seed \(seed): reloads equal")
            }
        }
    }
}
