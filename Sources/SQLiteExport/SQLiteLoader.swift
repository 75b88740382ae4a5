import GRDBSQLite
import RDB
import RDBTools

/// Turns RDB records into rows, over either SQLite layer. One big transaction; indexes and views at the end.
final class SQLiteLoader<Backend: SQLBackend> {
    typealias Stmt = Backend.Statement
    let backend: Backend
    private(set) var filter: KeyFilter
    let layout: SQLiteLayoutOptions
    let sourceFileName: String?
    private(set) var summary = SQLiteExportSummary()

    private var currentDB = 0
    private var auxPos = 0, functionPos = 0, moduleAuxPos = 0, slotImportPos = 0
    private var meta: [(String, MetaValue)] = []
    private var finished = false
    private var transactionOpen = false

    enum MetaValue { case int(Int64), text(String) }

    // Prepared INSERTs, one per table.
    private let insAux, insResize, insSlot, insFunction, insModuleAux, insSlotImport: Stmt
    private let insKey, insString, insList, insSet, insZset, insHash: Stmt
    private let insStream, insStreamEntry, insGroup, insConsumer, insPending, insModule: Stmt
    private let insArray, insArrayElement: Stmt
    // Multi-row INSERTs (`batchRows` rows each) for the element tables: one sqlite3_step per batch.
    private let batchList, batchSet, batchZset, batchHash: Stmt
    private let batchRows: Int

    init(backend: Backend, filter: KeyFilter, layout: SQLiteLayoutOptions, sourceFileName: String?) throws {
        self.backend = backend
        self.filter = filter
        self.layout = layout
        self.sourceFileName = sourceFileName
        let rowsPerBatch = max(1, min(layout.batchRows, 256))
        batchRows = rowsPerBatch
        // journal_mode=OFF/synchronous=OFF: the file is a temp file renamed into place only when complete.
        try backend.execute("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;
            PRAGMA cache_size=-\(layout.cacheSizeKiB); PRAGMA temp_store=FILE; PRAGMA foreign_keys=OFF;
            """)
        for sql in SQLiteSchema.tables(keysWithoutRowID: layout.keysWithoutRowID) { try backend.execute(sql) }
        func ins(_ table: String, _ n: Int) throws -> Stmt {
            try backend.prepare("INSERT INTO \(table) VALUES(" + Array(repeating: "?", count: n).joined(separator: ",") + ")")
        }
        insAux = try ins("aux", 3)
        insResize = try ins("resize_db", 3)
        insSlot = try ins("slot_info", 3)
        insFunction = try ins("functions", 3)
        insModuleAux = try ins("module_aux", 5)
        insSlotImport = try ins("valkey_slot_import", 2)
        insKey = try ins("keys", 11)
        insString = try ins("strings", 4)
        insList = try ins("list_items", 5)
        insSet = try ins("set_members", 4)
        insZset = try ins("zset_members", 5)
        insHash = try ins("hash_fields", 6)
        insStream = try ins("streams", 11)
        insStreamEntry = try ins("stream_entries", 8)
        insGroup = try ins("stream_groups", 6)
        insConsumer = try ins("stream_consumers", 6)
        insPending = try ins("stream_pending", 8)
        insModule = try ins("modules", 6)
        insArray = try ins("arrays", 3)
        insArrayElement = try ins("array_elements", 5)
        func batch(_ table: String, _ n: Int) throws -> Stmt {
            let row = "(" + Array(repeating: "?", count: n).joined(separator: ",") + ")"
            return try backend.prepare("INSERT INTO \(table) VALUES " + Array(repeating: row, count: rowsPerBatch).joined(separator: ","))
        }
        batchList = try batch("list_items", 5)
        batchSet = try batch("set_members", 4)
        batchZset = try batch("zset_members", 5)
        batchHash = try batch("hash_fields", 6)
        // One transaction for the whole load, indexes and views (begun last, so a failing init leaves none open).
        try backend.execute("BEGIN")
        transactionOpen = true
    }

    private var allStatements: [Stmt] {
        [insAux, insResize, insSlot, insFunction, insModuleAux, insSlotImport, insKey, insString, insList, insSet,
         insZset, insHash, insStream, insStreamEntry, insGroup, insConsumer, insPending, insModule,
         batchList, batchSet, batchZset, batchHash]
    }

    // MARK: records

    func consume(_ record: RDBRecord) throws {
        filter.observe(record)
        switch record {
        case .header(let header):
            summary.rdbVersion = header.version
            meta.append(("rdb_version", .int(Int64(header.version))))
            meta.append(("rdb_magic", .text(header.magic.rawValue)))
            meta.append(("rdb_header", .text(header.text)))
        case .aux(let key, let value):
            try insertBlobs(insAux, pos: &auxPos, key, value)
            let name = String(decoding: key, as: UTF8.self)
            let text = String(decoding: value, as: UTF8.self)
            switch name {
            case "repl-id": summary.replID = text; meta.append(("repl_id", .text(text)))
            case "repl-offset":
                summary.replOffset = text
                meta.append(("repl_offset", Int64(text).map { .int($0) } ?? .text(text)))
            case "repl-stream-db": meta.append(("repl_stream_db", Int64(text).map { .int($0) } ?? .text(text)))
            case "redis-ver", "valkey-ver": meta.append((name.replacingOccurrences(of: "-", with: "_"), .text(text)))
            default: break
            }
        case .selectDB(let db):
            currentDB = db
        case .resizeDB(let dbSize, let expiresSize):
            insResize.bind(1, Int64(currentDB))
            insResize.bindU64(2, dbSize)
            insResize.bindU64(3, expiresSize)
            try insResize.run()
            summary.rows += 1
        case .slotInfo(let slot, let keys, let expires):
            insSlot.bindU64(1, slot)
            insSlot.bindU64(2, keys)
            insSlot.bindU64(3, expires)
            try insSlot.run()
            summary.rows += 1
        case .function(let code):
            insFunction.bind(1, Int64(functionPos))
            insFunction.bindText(2, Self.libraryName(code))
            try code.withUnsafeBytes { c in
                insFunction.bindStatic(3, c)
                try insFunction.run()
            }
            functionPos += 1
            summary.rows += 1
        case .moduleAux(let aux):
            insModuleAux.bind(1, Int64(moduleAuxPos))
            insModuleAux.bindText(2, aux.moduleName)
            insModuleAux.bind(3, Int64(bitPattern: aux.moduleID))
            insModuleAux.bind(4, Int64(aux.encodingVersion))
            try aux.raw.withUnsafeBytes { r in
                insModuleAux.bindStatic(5, r)
                try insModuleAux.run()
            }
            moduleAuxPos += 1
            summary.rows += 1
        case .valkeySlotImport(let raw):
            insSlotImport.bind(1, Int64(slotImportPos))
            try raw.withUnsafeBytes { r in
                insSlotImport.bindStatic(2, r)
                try insSlotImport.run()
            }
            slotImportPos += 1
            summary.rows += 1
        case .entry(let entry):
            summary.keysSeen += 1
            if filter.isEmpty || filter.accepts(entry) { try insertEntry(entry) }
        case .eof(let stored, let computed):
            if let stored { meta.append(("stored_checksum", .text(Self.hex(stored)))) }
            if let computed { meta.append(("computed_checksum", .text(Self.hex(computed)))) }
        }
    }

    private func insertBlobs(_ stmt: Stmt, pos: inout Int, _ a: Bytes, _ b: Bytes) throws {
        stmt.bind(1, Int64(pos))
        try a.withUnsafeBytes { ab in
            try b.withUnsafeBytes { bb in
                stmt.bindStatic(2, ab)
                stmt.bindStatic(3, bb)
                try stmt.run()
            }
        }
        pos += 1
        summary.rows += 1
    }

    /// `#!lua name=mylib ...` -> `mylib`.
    static func libraryName(_ code: Bytes) -> String? {
        let firstLine = code.prefix(while: { $0 != UInt8(ascii: "\n") })
        guard firstLine.starts(with: Array("#!".utf8)) else { return nil }
        for word in firstLine.split(separator: UInt8(ascii: " ")) where word.starts(with: Array("name=".utf8)) {
            return String(decoding: word.dropFirst(5), as: UTF8.self)
        }
        return nil
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    // MARK: keys

    private func insertEntry(_ entry: RDBEntry) throws {
        let db = Int64(entry.db)
        let value = entry.value
        let length: Int
        switch value {
        case .string(let v): length = v.count
        case .list(let v): length = v.count
        case .set(let v): length = v.count
        case .sortedSet(let v): length = v.count
        case .hash(let v): length = v.count
        case .stream(let s): length = s.entries.count
        case .module(let m): length = m.raw.count
        case .array(let a): length = a.elements.count
        }
        summary.keysExported += 1
        summary.keysByType[value.typeName, default: 0] += 1
        try entry.key.withUnsafeBytes { k in
            let keyFlag: Int64 = isValidUTF8(k) ? 1 : 0
            let s = insKey
            s.bind(1, db)
            s.bindStatic(2, k)
            s.bindText(3, value.typeName)
            s.bind(4, entry.expireAtMs)
            s.bind(5, entry.lfuFreq.map { Int64($0) })
            s.bindU64(6, entry.lruIdleSeconds)
            s.bind(7, Int64(entry.rdbType))
            s.bind(8, Int64(length))
            s.bind(9, entry.serializedSize)
            s.bind(10, keyFlag)
            s.bind(11, Int64(MemoryEstimator.usage(of: entry)))
            do { try s.run() } catch let e as SQLiteExportError where e.code == SQLITE_CONSTRAINT {
                // keys WITHOUT ROWID: its primary key finds the second occurrence here, where its offset is known.
                throw SQLiteDuplicateKey(db: entry.db, key: entry.key, offset: entry.startOffset)
                    .error(sourceFileName: sourceFileName)
            }
            summary.rows += 1
            switch value {
            case .string(let v):
                try insertString(db, k, keyFlag, v)
            case .list(let items):
                try insertList(db, k, keyFlag, items)
            case .set(let members):
                try insertSet(db, k, keyFlag, members)
            case .sortedSet(let members):
                try insertZset(db, k, keyFlag, members)
            case .hash(let fields):
                try insertHash(db, k, keyFlag, fields)
            case .stream(let stream):
                try insertStream(db, k, keyFlag, stream)
            case .module(let module):
                try insertModule(db, k, module)
            case .array(let a):
                try insertArray(db, k, keyFlag, a)
            }
        }
    }

    @inline(__always) private func flag(_ b: UnsafeRawBufferPointer, _ bit: Int64) -> Int64 {
        isValidUTF8(b) ? bit : 0
    }

    private func insertString(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64, _ v: Bytes) throws {
        let s = insString
        try v.withUnsafeBytes { vb in
            s.bind(1, db)
            s.bindStatic(2, k)
            s.bindStatic(3, vb)
            s.bind(4, keyFlag | flag(vb, 2))
            try s.run()
        }
        summary.rows += 1
    }

    /// Inserts the elements of one key: whole batches through the multi-row statement (bytes copied, since
    /// a batch is stepped after the element's buffer scope), the rest row by row. `db` and `key` are bound
    /// once per key. `bindRow(statement, firstParameter, element, index)` binds the columns after db and key.
    @inline(__always)
    private func insertRows<E>(_ single: Stmt, _ batch: Stmt, columns: Int32, _ db: Int64, _ k: UnsafeRawBufferPointer,
                               _ elements: [E], _ bindRow: (Stmt, Int32, E, Int) -> Void) throws {
        let n = elements.count
        let rowsPerBatch = batchRows
        let full = rowsPerBatch > 1 ? n / rowsPerBatch * rowsPerBatch : 0
        if full > 0 {
            for r in 0..<rowsPerBatch {
                batch.bind(Int32(r) * columns + 1, db)
                batch.bindStatic(Int32(r) * columns + 2, k)
            }
            var i = 0
            while i < full {
                for r in 0..<rowsPerBatch { bindRow(batch, Int32(r) * columns + 3, elements[i + r], i + r) }
                try batch.run()
                i += rowsPerBatch
            }
        }
        if full < n {
            single.bind(1, db)
            single.bindStatic(2, k)
            for i in full..<n {
                bindRow(single, 3, elements[i], i)
                try single.run()
            }
        }
        summary.rows += n
    }

    private func insertList(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64, _ items: [Bytes]) throws {
        try insertRows(insList, batchList, columns: 5, db, k, items) { s, p, item, i in
            s.bind(p, Int64(i))
            item.withUnsafeBytes { vb in
                s.bindCopy(p + 1, vb)
                s.bind(p + 2, keyFlag | flag(vb, 2))
            }
        }
    }

    private func insertSet(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64, _ members: [Bytes]) throws {
        try insertRows(insSet, batchSet, columns: 4, db, k, members) { s, p, member, _ in
            member.withUnsafeBytes { mb in
                s.bindCopy(p, mb)
                s.bind(p + 1, keyFlag | flag(mb, 2))
            }
        }
    }

    private func insertZset(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64,
                            _ members: [SortedSetMember]) throws {
        try insertRows(insZset, batchZset, columns: 5, db, k, members) { s, p, m, _ in
            m.member.withUnsafeBytes { mb in
                s.bindCopy(p, mb)
                s.bind(p + 1, m.score)  // +/-inf bind as IEEE infinities; NaN (never written by Redis) -> NULL
                s.bind(p + 2, keyFlag | flag(mb, 2))
            }
        }
    }

    private func insertHash(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64, _ fields: [HashField]) throws {
        try insertRows(insHash, batchHash, columns: 6, db, k, fields) { s, p, f, _ in
            f.field.withUnsafeBytes { fb in
                f.value.withUnsafeBytes { vb in
                    s.bindCopy(p, fb)
                    s.bindCopy(p + 1, vb)
                    s.bind(p + 2, f.expireAtMs)
                    s.bind(p + 3, keyFlag | flag(fb, 2) | flag(vb, 4))
                }
            }
        }
    }

    private func insertStream(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64, _ stream: StreamValue) throws {
        let m = insStream
        m.bind(1, db)
        m.bindStatic(2, k)
        m.bindU64(3, stream.length)
        m.bindU64(4, stream.lastID.ms)
        m.bindU64(5, stream.lastID.seq)
        m.bindU64(6, stream.firstID?.ms)
        m.bindU64(7, stream.firstID?.seq)
        m.bindU64(8, stream.maxDeletedEntryID?.ms)
        m.bindU64(9, stream.maxDeletedEntryID?.seq)
        m.bindU64(10, stream.entriesAdded)
        m.bind(11, Int64(stream.listpackNodes))
        try m.run()
        summary.rows += 1

        let e = insStreamEntry
        e.bind(1, db)
        e.bindStatic(2, k)
        for entry in stream.entries {
            e.bindU64(3, entry.id.ms)
            e.bindU64(4, entry.id.seq)
            var pos: Int64 = 0
            for (field, value) in entry.fields {
                try field.withUnsafeBytes { fb in
                    try value.withUnsafeBytes { vb in
                        e.bind(5, pos)
                        e.bindStatic(6, fb)
                        e.bindStatic(7, vb)
                        e.bind(8, keyFlag | flag(fb, 2) | flag(vb, 4))
                        try e.run()
                    }
                }
                pos += 1
            }
            summary.rows += entry.fields.count
        }

        for group in stream.groups {
            try group.name.withUnsafeBytes { g in
                let gs = insGroup
                gs.bind(1, db)
                gs.bindStatic(2, k)
                gs.bindStatic(3, g)
                gs.bindU64(4, group.lastDeliveredID.ms)
                gs.bindU64(5, group.lastDeliveredID.seq)
                // entries_read: NULL when absent (type 15) or unknown (stored as -1 = 2^64-1).
                gs.bindU64(6, group.entriesReadRaw.flatMap { $0 == UInt64.max ? nil : $0 })
                try gs.run()
                summary.rows += 1

                var owner: [StreamID: Int] = [:]
                owner.reserveCapacity(group.pending.count)
                let cs = insConsumer
                cs.bind(1, db)
                cs.bindStatic(2, k)
                cs.bindStatic(3, g)
                for (ci, consumer) in group.consumers.enumerated() {
                    for id in consumer.pendingIDs { owner[id] = ci }
                    try consumer.name.withUnsafeBytes { c in
                        cs.bindStatic(4, c)
                        cs.bind(5, consumer.seenTimeMs)
                        cs.bind(6, consumer.activeTimeMs)
                        try cs.run()
                    }
                }
                summary.rows += group.consumers.count

                let ps = insPending
                ps.bind(1, db)
                ps.bindStatic(2, k)
                ps.bindStatic(3, g)
                for p in group.pending {
                    ps.bindU64(4, p.id.ms)
                    ps.bindU64(5, p.id.seq)
                    ps.bind(7, p.deliveryTimeMs)
                    ps.bindU64(8, p.deliveryCount)
                    if let ci = owner[p.id] {
                        try group.consumers[ci].name.withUnsafeBytes { c in
                            ps.bindStatic(6, c)
                            try ps.run()
                        }
                    } else {
                        ps.bindNull(6)
                        try ps.run()
                    }
                }
                summary.rows += group.pending.count
            }
        }
    }

    /// A Redis 8.10 array: its `arrays` row (the insert cursor) and one `array_elements` row per element.
    private func insertArray(_ db: Int64, _ k: UnsafeRawBufferPointer, _ keyFlag: Int64, _ a: ArrayValue) throws {
        insArray.bind(1, db)
        insArray.bindStatic(2, k)
        insArray.bindU64(3, a.insertIndex)
        try insArray.run()
        summary.rows += 1
        let s = insArrayElement
        for el in a.elements {
            try el.value.withUnsafeBytes { vb in
                s.bind(1, db)
                s.bindStatic(2, k)
                s.bindU64(3, el.index)
                s.bindStatic(4, vb)
                s.bind(5, keyFlag | flag(vb, 2))
                try s.run()
            }
            summary.rows += 1
        }
    }

    private func insertModule(_ db: Int64, _ k: UnsafeRawBufferPointer, _ module: ModuleValue) throws {
        let s = insModule
        try module.raw.withUnsafeBytes { r in
            s.bind(1, db)
            s.bindStatic(2, k)
            s.bindText(3, module.moduleName)
            s.bind(4, Int64(bitPattern: module.moduleID))
            s.bind(5, Int64(module.encodingVersion))
            s.bindStatic(6, r)
            try s.run()
        }
        summary.rows += 1
    }

    // MARK: the end

    /// Writes `meta`, builds the indexes and views, commits. Call once, after the `.eof` record.
    func finish() throws {
        guard !finished else { return }
        finished = true
        var all: [(String, MetaValue)] = [
            ("schema_version", .int(Int64(SQLiteSchema.version))),
            ("exporter", .text("redis-replica rdb sqlite")),
        ]
        if let sourceFileName { all.append(("source_file", .text(sourceFileName))) }
        all += meta
        if !filter.isEmpty { all.append(("filter", .text(filter.summary))) }
        all.append(("keys_seen", .int(Int64(summary.keysSeen))))
        all.append(("keys_exported", .int(Int64(summary.keysExported))))
        let ms = try backend.prepare("INSERT OR REPLACE INTO meta VALUES(?, ?)")
        for (key, value) in all {
            ms.bindText(1, key)
            switch value {
            case .int(let i): ms.bind(2, i)
            case .text(let t): ms.bindText(2, t)
            }
            try ms.run()
        }
        ms.finalize()
        let indexStart = ExportProgressBar.nowNs()
        for sql in SQLiteSchema.indexes(keysWithoutRowID: layout.keysWithoutRowID) {
            do { try backend.execute(sql) } catch let e as SQLiteExportError where e.code == SQLITE_CONSTRAINT {
                // The default layout: the UNIQUE index built after the load finds it, without its offset, which
                // `SQLiteExporter.export` then looks up with a second pass over the input when it can.
                throw try backend.firstDuplicateKey().map {
                    SQLiteDuplicateKey(db: Int($0.db), key: $0.key, offset: nil).error(sourceFileName: sourceFileName)
                } ?? e
            }
        }
        for sql in SQLiteSchema.views { try backend.execute(sql) }
        try backend.execute("COMMIT")
        transactionOpen = false
        summary.indexSeconds = Double(ExportProgressBar.nowNs() - indexStart) / 1e9
        for s in allStatements { s.finalize() }
        try backend.execute("PRAGMA optimize")
    }

    /// After an error: ends the transaction (the file is discarded anyway; journal_mode=OFF makes a rollback
    /// undefined for the content, but it closes the transaction) and drops the prepared statements.
    func abandon() {
        for s in allStatements { s.finalize() }
        finished = true
        if transactionOpen {
            transactionOpen = false
            try? backend.execute("ROLLBACK")
        }
    }
}
