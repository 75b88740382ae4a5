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
    /// Scratch space for finding repeated members in small collections (`consume(_:lent:)`).
    private var distinct = LentDistinct()

    public init() {}

    /// Takes one record of `RDBReader.next(lendingInto: arena)`: an entry's value is built straight from
    /// the bytes lent in `arena` (when `arena.kind` is not `.none`), with no array per element. The
    /// result is the same as `consume(_:)` of the record `next()` yields.
    public mutating func consume(_ record: RDBRecord, lent arena: RDBValueArena) throws {
        guard case .entry(let e) = record, arena.kind != .none else { return try consume(record) }
        if arena.kind == .stream { return try consume(.entry(arena.materialized(e))) }
        try insert(e, lentEntry(e, arena))
    }

    /// The key entry of a lent record (`arena.kind` not `.none`).
    private mutating func lentEntry(_ e: RDBEntry, _ arena: RDBValueArena) -> KeyEntry {
        KeyEntry(value: Value(lent: arena, distinct: &distinct), expireAtMs: e.expireAtMs,
                 lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq)
    }

    private mutating func insert(_ e: RDBEntry, _ entry: KeyEntry) throws {
        if !keyspace.insertNew(db: e.db, key: e.key, entry) {
            // Redis refuses such a file ("Duplicate key … found in RDB file").
            throw KeyspaceLoadError(message: "duplicate key", db: e.db, key: e.key, offset: e.startOffset)
        }
    }

    public mutating func consume(_ record: RDBRecord) throws {
        switch record {
        case .header(let h):
            header = h
            keyspace.zsetKeepsNegativeZero = h.magic == .redis && h.version <= 9
        case .aux(let k, let v):
            aux.append((k, v))
            // valkey-ver names the server when both are present (Valkey reads either, writes valkey-ver).
            let field = String(decoding: k, as: UTF8.self)
            if field == "valkey-ver" || (field == "redis-ver" && keyspace.sourceVersion?.field != "valkey-ver") {
                keyspace.sourceVersion = SourceVersion(field: field, value: String(decoding: v, as: UTF8.self),
                                                       rdbVersion: header?.version ?? 0)
            }
        case .function(let code): keyspace.functions.append(code)
        case .moduleAux(let m): keyspace.moduleAux.append(m)
        case .entry(let e):
            let entry = KeyEntry(value: Value(loading: e.value), expireAtMs: e.expireAtMs,
                                 lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq)
            try insert(e, entry)
        case .selectDB, .resizeDB, .slotInfo, .valkeySlotImport, .eof: break
        }
    }

    /// Reads every record of `reader` into a keyspace: values are built from the reader's lent bytes
    /// (`consume(_:lent:)`), and the keys go into their databases on a second thread
    /// (`KeyspaceInsertQueue`) while the reader parses on. The result and the errors are those of
    /// `consume(_:)` of each `next()` record, in file order.
    /// - Parameter proceed: called every `checkEvery` records (progress, a stop request); when it returns
    ///   false the load stops and throws `CancellationError`.
    public static func load<S: ByteSource>(_ reader: RDBReader<S>, checkEvery: Int = 512,
                                           proceed: () -> Bool = { true }) throws -> KeyspaceLoader {
        var l = KeyspaceLoader()
        let arena = RDBValueArena()
        let inserts = KeyspaceInsertQueue()
        var records = 0
        do {
            while let r = try reader.next(lendingInto: arena) {
                records += 1
                if records % checkEvery == 0, !proceed() { throw CancellationError() }
                if case .entry(let e) = r {
                    let entry = arena.kind != .none && arena.kind != .stream ? l.lentEntry(e, arena)
                        : KeyEntry(value: Value(loading: arena.materialized(e).value), expireAtMs: e.expireAtMs,
                                   lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq)
                    inserts.add(.init(db: e.db, key: e.key, entry: entry, offset: e.startOffset))
                } else {
                    try l.consume(r)
                }
                if case .eof = r { break }
            }
        } catch {
            // A repeated key handed over before the failing record comes first in the file.
            if let duplicate = inserts.errorSoFar() { throw duplicate }
            throw error
        }
        for (db, keys) in try inserts.finish() { l.keyspace.setDatabase(db, keys) }
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
    /// from any type is held, compared and saved the same way. For the same reason an IDMP section that holds
    /// only Redis's defaults (type 26+: 100 s, 100 ids, no history) is held as no IDMP state, as a stream of an
    /// older type is: each is written as the other at the other's versions.
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
            if s.idmp == StreamIDMP.defaults { s.idmp = nil }
            for g in s.groups.indices {
                s.groups[g].entriesReadRaw = s.groups[g].entriesReadRaw ?? UInt64.max
                for c in s.groups[g].consumers.indices {
                    s.groups[g].consumers[c].activeTimeMs = s.groups[g].consumers[c].activeTimeMs ?? s.groups[g].consumers[c].seenTimeMs
                }
            }
            self = .stream(s)
        case .module(let m): self = .module(m)
        case .array(let a): self = .array(ArrayData(loading: a))
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
        case .array(let a): return .array(a.rdbValue)
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
    /// Unless `aux` names a version, a file of the source's RDB version names the source's (`sourceVersion`),
    /// so a reload follows the same version rules; a Valkey 7.2/8 source (the REDIS magic with `valkey-ver`)
    /// gets its `valkey-ver` after the writer's `redis-ver`.
    public func write<S: ByteSink>(to writer: RDBWriter<S>, aux: RDBAuxInfo = RDBAuxInfo()) throws {
        var aux = aux
        var valkeyVer: String?
        if aux.redisVersion == nil, let s = sourceVersion, s.rdbVersion == writer.fileVersion {
            if (s.field == "valkey-ver") == writer.isValkey {
                aux.redisVersion = s.value
            } else if s.field == "valkey-ver" {
                valkeyVer = s.value
            }
        }
        try writer.writeHeader()
        try writer.writeAuxFields(aux)
        if let valkeyVer { try writer.writeAux("valkey-ver", valkeyVer) }
        if writer.version >= 9 { for m in moduleAux { try writer.writeModuleAux(m) } }
        for f in functions { try writer.writeFunction(code: f) }
        for db in databases.keys.sorted() {
            let d = databases[db]!
            var expires: UInt64 = 0
            for (_, e) in d where e.expireAtMs != nil { expires += 1 }
            try writer.selectDB(db, resize: (UInt64(d.count), expires))
            for (k, e) in d {
                // Lists and sets lend their elements straight from their packed or hashed storage (no
                // array per element: a 1 GB dataset holds tens of millions of them).
                switch e.value {
                case .list(let p):
                    try writer.writeEntry(db: db, key: k, expireAtMs: e.expireAtMs, lruIdleSeconds: e.lruIdleSeconds,
                                          lfuFreq: e.lfuFreq, lent: .list) { body in p.forEachLent(body) }
                case .set(let s):
                    try writer.writeEntry(db: db, key: k, expireAtMs: e.expireAtMs, lruIdleSeconds: e.lruIdleSeconds,
                                          lfuFreq: e.lfuFreq, lent: .set(count: s.count)) { body in s.forEachLent(body) }
                default:
                    try writer.writeEntry(RDBEntry(db: db, key: k, value: e.value.rdbValue, expireAtMs: e.expireAtMs,
                                                   lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq, rdbType: 0))
                }
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
