import HashTreeCollections
import RDB

/// A problem building a keyspace from RDB records.
public struct KeyspaceLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var db: Int
    public var key: Bytes
    public var offset: Int64
    public var description: String {
        "keyspace load: \(message) (db \(db), key \(String(decoding: key, as: UTF8.self)), offset \(offset))"
    }
}

/// Builds a `Keyspace` from the reader's records, in file order (the RDB model of `RDB/Model.swift`).
/// The header, AUX fields and RESIZEDB hints are file metadata, not data, and are not kept.
public struct KeyspaceLoader {
    public private(set) var keyspace = Keyspace()
    public private(set) var header: RDBHeader?
    public private(set) var aux: [(Bytes, Bytes)] = []

    public init() {}

    public mutating func consume(_ record: RDBRecord) throws {
        switch record {
        case .header(let h):
            header = h
            keyspace.zsetKeepsNegativeZero = h.magic == .redis && h.version <= 9
        case .aux(let k, let v): aux.append((k, v))
        case .function(let code): keyspace.functions.append(code)
        case .moduleAux(let m): keyspace.moduleAux.append(m)
        case .entry(let e):
            let entry = KeyEntry(value: Value(loading: e.value), expireAtMs: e.expireAtMs,
                                 lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq)
            if !keyspace.insertNew(db: e.db, key: e.key, entry) {
                // Redis refuses such a file ("Duplicate key … found in RDB file").
                throw KeyspaceLoadError(message: "duplicate key", db: e.db, key: e.key, offset: e.startOffset)
            }
        case .selectDB, .resizeDB, .slotInfo, .valkeySlotImport, .eof: break
        }
    }

    /// Reads every record of `reader` into a keyspace.
    public static func load<S: ByteSource>(_ reader: RDBReader<S>) throws -> KeyspaceLoader {
        var l = KeyspaceLoader()
        while let r = try reader.next() {
            try l.consume(r)
            if case .eof = r { break }
        }
        return l
    }

    /// The replication position in the file's AUX fields (`repl-id`, `repl-offset`), when present.
    public var replicationAux: (id: String, offset: Int64, streamDB: Int?)? {
        func value(_ k: String) -> String? { aux.last { $0.0 == Array(k.utf8) }.map { String(decoding: $0.1, as: UTF8.self) } }
        guard let id = value("repl-id"), let off = value("repl-offset").flatMap({ Int64($0) }) else { return nil }
        return (id, off, value("repl-stream-db").flatMap { Int($0) })
    }
}

extension Value {
    /// The in-memory form of a decoded RDB value. Streams get the metadata newer types always carry
    /// filled in as Redis fills it when loading an older type (`rdb.c` `rdbLoadObject`: first id from the
    /// first entry, max-deleted 0, entries-added = length, consumer active-time = seen-time), so a stream
    /// from any type is held, compared and saved the same way.
    init(loading v: RDBValue) {
        switch v {
        case .string(let s): self = .string(s)
        case .list(let items): self = .list(PackedBytes(items))
        case .set(let m): self = .set(SetValue.loading(m))
        case .sortedSet(let m): self = .zset(ZSetValue.loading(m))
        case .hash(let f): self = .hash(HashValue.loading(f))
        case .stream(var s):
            s.firstID = s.firstID ?? s.entries.first?.id ?? .zero
            s.maxDeletedEntryID = s.maxDeletedEntryID ?? .zero
            s.entriesAdded = s.entriesAdded ?? UInt64(s.entries.count)
            s.length = UInt64(s.entries.count)
            s.listpackNodes = 0
            for g in s.groups.indices {
                s.groups[g].entriesReadRaw = s.groups[g].entriesReadRaw ?? UInt64.max
                for c in s.groups[g].consumers.indices {
                    s.groups[g].consumers[c].activeTimeMs = s.groups[g].consumers[c].activeTimeMs ?? s.groups[g].consumers[c].seenTimeMs
                }
            }
            self = .stream(s)
        case .module(let m): self = .module(m)
        }
    }

    /// The RDB model of this value (collections materialized; sorted sets in Redis order).
    public var rdbValue: RDBValue {
        switch self {
        case .string(let s): return .string(s)
        case .list(let p): return .list(p.elements)
        case .set(let s): return .set(s.members)
        case .zset(let z): return .sortedSet(z.sorted.map { SortedSetMember(member: $0.member, score: $0.score) })
        case .hash(let h): return .hash(h.fields)
        case .stream(let s): return .stream(s)
        case .module(let m): return .module(m)
        }
    }
}

extension Keyspace {
    /// Every key as an RDB entry, databases ascending, keys in storage order.
    public func entries(db: Int) -> [RDBEntry] {
        database(db).map { k, e in
            RDBEntry(db: db, key: k, value: e.value.rdbValue, expireAtMs: e.expireAtMs,
                     lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq, rdbType: 0)
        }
    }

    /// Writes the whole dataset: header, AUX fields (with the replication position, if any), function
    /// libraries, module AUX, then each database ascending with its RESIZEDB sizes, then EOF + CRC.
    /// What the chosen RDB version cannot hold is refused or counted by the writer (`RDBWriter.stats`).
    public func write<S: ByteSink>(to writer: RDBWriter<S>, aux: RDBAuxInfo = RDBAuxInfo()) throws {
        try writer.writeHeader()
        try writer.writeAuxFields(aux)
        if writer.version >= 9 { for m in moduleAux { try writer.writeModuleAux(m) } }
        for f in functions { try writer.writeFunction(code: f) }
        for db in databases.keys.sorted() {
            let d = databases[db]!
            var expires: UInt64 = 0
            for (_, e) in d where e.expireAtMs != nil { expires += 1 }
            try writer.selectDB(db, resize: (UInt64(d.count), expires))
            for (k, e) in d {
                try writer.writeEntry(RDBEntry(db: db, key: k, value: e.value.rdbValue, expireAtMs: e.expireAtMs,
                                               lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq, rdbType: 0))
            }
        }
        try writer.finish()
    }

    /// The dataset as RDB bytes in memory.
    public func rdbBytes(options: RDBWriterOptions = RDBWriterOptions(), aux: RDBAuxInfo = RDBAuxInfo()) throws -> Bytes {
        let w = try RDBWriter(sink: MemoryByteSink(), options: options)
        try write(to: w, aux: aux)
        return w.sink.bytes
    }

    /// Loads RDB bytes held in memory.
    public static func load(rdb bytes: Bytes) throws -> Keyspace {
        try KeyspaceLoader.load(RDBReader(source: MemoryByteSource(bytes: bytes))).keyspace
    }
}
