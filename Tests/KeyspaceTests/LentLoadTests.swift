import Foundation
import Testing
import RDB
import RDBTools
@testable import Keyspace
import TestSupport

/// The loader's lending path (`KeyspaceLoader.load`, values built from the reader's lent bytes) gives the
/// same keyspace, in the same storage forms, as the model path (`consume` of each `next()` record).
@Suite struct LentLoadTests {
    /// The model path: every record materialized, then consumed.
    static func modelLoad(_ reader: RDBReader<AnyByteSource>) throws -> Keyspace {
        var l = KeyspaceLoader()
        while let r = try reader.next() {
            try l.consume(r)
            if case .eof = r { break }
        }
        return l.keyspace
    }

    /// Which form each collection is stored in (packed or hashed), so both paths choose alike.
    static func forms(_ k: Keyspace) -> [String] {
        var out: [String] = []
        for db in k.databases.keys.sorted() {
            for (key, e) in k.database(db) {
                let form: String
                switch e.value {
                case .set(let s): if case .table = s.storage { form = "table" } else { form = "packed" }
                case .zset(let z): if case .table = z.storage { form = "table" } else { form = "packed" }
                case .hash(let h): if case .table = h.storage { form = "table" } else { form = "packed" }
                default: form = e.value.typeName
                }
                out.append("\(db) \(String(decoding: key, as: UTF8.self)) \(form)")
            }
        }
        return out.sorted()
    }

    @Test func everyReadableFileLoadsAlikeBothWays() throws {
        var checked = 0
        for f in LoadSaveTests.files() {
            guard let src = try? openRDBSource(path: f.path), let src2 = try? openRDBSource(path: f.path) else { continue }
            let model: Keyspace
            do {
                model = try Self.modelLoad(RDBReader(source: AnyByteSource(src), fileName: f.path))
            } catch let e as KeyspaceLoadError {
                // The lending path refuses the same key.
                #expect(throws: e) { try KeyspaceLoader.load(RDBReader(source: AnyByteSource(src2), fileName: f.path)) }
                continue
            } catch {
                continue  // files the reader refuses
            }
            let lent = try KeyspaceLoader.load(RDBReader(source: AnyByteSource(src2), fileName: f.path)).keyspace
            #expect(lent == model, "\(f.path)")
            #expect(try lent.canonicalJSONLines() == model.canonicalJSONLines(), "\(f.path)")
            #expect(Self.forms(lent) == Self.forms(model), "\(f.path)")
            checked += 1
        }
        #expect(checked > 20)
    }

    /// Random collections on both sides of the packed limits, with repeated members, fields and
    /// unordered sorted-set members (which a file from another writer may hold).
    @Test(arguments: [1, 2, 3, 4] as [UInt64]) func randomCollectionsLoadAlikeBothWays(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        func element() -> Bytes {
            let n = Int.random(in: 0...3, using: &rng) == 0 ? Int.random(in: 60...200, using: &rng) : Int.random(in: 0...12, using: &rng)
            // A small alphabet, so that repeats happen.
            return (0..<n).map { _ in UInt8.random(in: 97...99, using: &rng) }
        }
        func size() -> Int { [0, 1, 5, 127, 128, 129, 300][Int.random(in: 0...6, using: &rng)] }
        let w = try RDBWriter(sink: MemoryByteSink())
        try w.writeHeader()
        try w.selectDB(0, resize: nil)
        for i in 0..<120 {
            let value: RDBValue
            switch i % 5 {
            case 0: value = .string(element())
            case 1: value = .list((0..<size()).map { _ in element() })
            case 2: value = .set((0..<size()).map { _ in element() })
            case 3: value = .sortedSet((0..<size()).map { _ in
                SortedSetMember(member: element(), score: [0, -0.0, 1.5, -2, .infinity][Int.random(in: 0...4, using: &rng)]) })
            default: value = .hash((0..<size()).map { _ in HashField(field: element(), value: element()) })
            }
            try w.writeEntry(RDBEntry(db: 0, key: Array("k\(i)".utf8), value: value, rdbType: 0))
        }
        _ = try w.finish()
        let bytes = w.sink.bytes
        let model = try Self.modelLoad(RDBReader(source: AnyByteSource(MemoryByteSource(bytes: bytes))))
        let lent = try Keyspace.load(rdb: bytes)
        #expect(lent == model)
        #expect(try lent.canonicalJSONLines() == model.canonicalJSONLines())
        #expect(Self.forms(lent) == Self.forms(model))
        #expect(lent.keyCount == 120)
    }

    /// Redis refuses a hash holding a field twice ("Hash with dup elements"); loaded anyway, a packed hash
    /// kept both copies (HLEN 2, HGETALL f a f b) while a large one kept the last. Now both keep the last,
    /// both ways.
    @Test func repeatedHashFieldKeepsItsLastValueBothWays() throws {
        let w = try RDBWriter(sink: MemoryByteSink())
        try w.writeHeader()
        try w.selectDB(0, resize: nil)
        let f = Array("f".utf8), g = Array("g".utf8)
        let small: [HashField] = [HashField(field: f, value: Array("a".utf8)), HashField(field: g, value: Array("x".utf8)),
                                  HashField(field: f, value: Array("b".utf8)), HashField(field: f, value: Array("c".utf8))]
        let large = small + (0..<200).map { HashField(field: Array("h\($0)".utf8), value: Array("v".utf8)) }
        try w.writeEntry(RDBEntry(db: 0, key: Array("small".utf8), value: .hash(small), rdbType: 0))
        try w.writeEntry(RDBEntry(db: 0, key: Array("large".utf8), value: .hash(large), rdbType: 0))
        _ = try w.finish()
        let bytes = w.sink.bytes
        let model = try Self.modelLoad(RDBReader(source: AnyByteSource(MemoryByteSource(bytes: bytes))))
        let lent = try Keyspace.load(rdb: bytes)
        for k in [model, lent] {
            for (key, count) in [("small", 2), ("large", 202)] {
                guard case .hash(let h)? = k[0, Array(key.utf8)]?.value else {
                    Issue.record("\(key) is not a hash")
                    continue
                }
                #expect(h.count == count, "\(key)")
                #expect(h.pairs.count == count, "\(key)")
                #expect(h[f] == Array("c".utf8), "\(key)")
                #expect(h[g] == Array("x".utf8), "\(key)")
            }
        }
        #expect(lent == model)
        #expect(Self.forms(lent) == Self.forms(model))
    }
}
