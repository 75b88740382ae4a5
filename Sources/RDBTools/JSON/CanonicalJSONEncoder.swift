import RDB

/// Streams `RDBRecord`s as the canonical JSON of "rdb-corpus-expected/1"
/// (described in docs/rdb-tools.md, "JSON format"), limited to what an RDB file itself holds.
///
/// Two output formats, both written as the records arrive, so memory stays bounded by the largest
/// single key, not by the file:
///
/// Large values are flushed element by element, so the output buffer stays near 1 MiB.
///
/// * `json`: one document. Keys come per database in file order (one `{db, keys}` object per
///   SELECTDB section that holds keys; Redis writes databases ascending, each once). Because the
///   checksum is known only at the end, `databases` comes first and `rdb_file`, `functions` and
///   `module_aux` follow it:
///
///       {"format":"rdb-corpus-expected/1","databases":[
///       {"db":0,"keys":[
///       {"key":"k","type":"string","expire_at_ms":null,"rdb":{"type":0,"file_order":0},"value":"v"}
///       ]}
///       ],"rdb_file":{"magic":"REDIS0011","rdb_version":11,"checksum":"…","aux":[["redis-ver","7.2.6"]],
///       "slot_info":[]},"functions":[{"library_code":"#!lua name=…"}],"module_aux":[]}
///
/// * `jsonl`: one line per key, the key object with a leading `"db"` field, in file order; then one
///   last line `{"rdb_file":{…},"functions":[…],"module_aux":[…]}`.
///
/// Key objects: `key`, `type`, `expire_at_ms` (null when none), `lfu_freq` / `lru_idle_s` (only when
/// the file stores them), `rdb: {type, file_order}`, `field_expire_at_ms` (only when some hash field
/// has a TTL), `value`. Values are canonical: sets sorted by raw bytes, zsets `[[member, score]]`
/// by score then member, hashes `[[field, value]]` by field, streams as the corpus README describes
/// (fields a stream type does not store, e.g. `entries_added` in type 15 or `active_time` before
/// type 21, are left out rather than invented).
/// Module values (type 7) are `{"module": name, "module_id": n, "encoding_version": n,
/// "raw_b64": "…"}` where `raw_b64` is the serialized payload after the module id, exactly as stored.
public final class CanonicalJSONEncoder {
    public enum Format: String, Sendable, CaseIterable {
        case json
        case jsonl
    }

    public let format: Format
    public let writer: JSONWriter

    private var header: RDBHeader?
    private var aux: [(Bytes, Bytes)] = []
    private var slotInfo: [(kind: String, db: Int, text: String)] = []
    private var functions: [Bytes] = []
    private var moduleAux: [ModuleAux] = []
    private var storedChecksum: UInt64?
    private var sawEOF = false
    private var currentDB = 0
    /// The database whose `keys` array is open in `json` output.
    private var openDB: Int?
    private var anyDBWritten = false
    private var fileOrder = 0
    private var started = false
    public private(set) var keyCount: Int64 = 0

    public init(format: Format, writer: JSONWriter) {
        self.format = format
        self.writer = writer
    }

    /// Reused by lent values' sorted orders.
    @exclusivity(unchecked) private var order: [Int] = []
    @exclusivity(unchecked) private var sortKeys: [LentSortKey] = []
    @exclusivity(unchecked) private var sortScratch: [LentSortKey] = []

    /// Feeds one record, in file order. `lent`: the arena of `RDBReader.next(lendingInto:)` when the record
    /// came from it (an entry's value is then read from the arena unless `lent.kind` is `.none`).
    public func consume(_ record: RDBRecord, lent: RDBValueArena? = nil) throws {
        if !started { start() }
        switch record {
        case .header(let h):
            header = h
        case .aux(let k, let v):
            aux.append((k, v))
            if k == Array("slot-info".utf8) {
                slotInfo.append((kind: "aux", db: currentDB, text: String(decoding: v, as: UTF8.self)))
            }
        case .selectDB(let db):
            currentDB = db
            fileOrder = 0
        case .resizeDB:
            break
        case .slotInfo(let slot, let keys, let expires):
            slotInfo.append((kind: "opcode", db: currentDB, text: "\(slot),\(keys),\(expires)"))
        case .function(let code):
            functions.append(code)
        case .moduleAux(let m):
            moduleAux.append(m)
        case .valkeySlotImport:
            break
        case .entry(let e):
            try entry(e, lent: lent.flatMap { $0.kind == .none ? nil : $0 })
        case .eof(let stored, _):
            storedChecksum = stored
            sawEOF = true
        }
    }

    /// Makes this encoder write one run of keys of a document another encoder writes the rest of (`rdb dump
    /// --threads`): the keys that follow are in `db`, the first one's `file_order` is `fileOrder`, and the last
    /// key written before them was in `previousKeysDB` (nil: none was). Only entries are to be fed after this.
    public func continueKeys(db: Int, fileOrder: Int, previousKeysDB: Int?) {
        started = true
        currentDB = db
        self.fileOrder = fileOrder
        openDB = previousKeysDB
        anyDBWritten = previousKeysDB != nil
    }

    /// Accounts for `count` keys of `db` that another encoder wrote, after `continueKeys`, at this point of
    /// the document.
    public func keysWrittenElsewhere(db: Int, count: Int) {
        guard count > 0 else { return }
        if !started { start() }
        openDB = db
        anyDBWritten = true
        fileOrder += count
        keyCount += Int64(count)
    }

    /// Closes the document and flushes everything to the sink.
    public func finish() throws {
        if !started { start() }
        switch format {
        case .json:
            if openDB != nil { writer.raw("\n]}") }
            writer.raw("\n],")
            writeFileFields()
            writer.raw("}\n")
        case .jsonl:
            writer.raw("{")
            writeFileFields()
            writer.raw("}\n")
        }
        try writer.flush()
    }

    private func start() {
        started = true
        if format == .json {
            writer.raw("{\"format\":\"rdb-corpus-expected/1\",\"databases\":[")
        }
    }

    private func entry(_ e: RDBEntry, lent: RDBValueArena?) throws {
        keyCount += 1
        switch format {
        case .json:
            if openDB != e.db {
                if openDB != nil { writer.raw("\n]}") }
                writer.raw(anyDBWritten ? ",\n{\"db\":" : "\n{\"db\":")
                writer.int(e.db)
                writer.raw(",\"keys\":[\n")
                openDB = e.db
                anyDBWritten = true
            } else {
                writer.raw(",\n")
            }
            writer.raw("{")
            try writeKeyFields(e, lent: lent)
            writer.raw("}")
        case .jsonl:
            writer.raw("{\"db\":")
            writer.int(e.db)
            writer.raw(",")
            try writeKeyFields(e, lent: lent)
            writer.raw("}\n")
        }
        fileOrder += 1
        try writer.flushIfNeeded()
    }

    private func writeKeyFields(_ e: RDBEntry, lent: RDBValueArena?) throws {
        guard let lent else {
            try CanonicalJSONEncoder.writeKeyFields(e, fileOrder: fileOrder, into: writer)
            return
        }
        if lent.lendsKeys {
            CanonicalJSONEncoder.writeKeyMetadata(e, key: lent.lentKey, fileOrder: fileOrder, into: writer)
        } else {
            CanonicalJSONEncoder.writeKeyMetadata(e, fileOrder: fileOrder, into: writer)
        }
        CanonicalJSONEncoder.writeLentFieldExpiries(lent, order: &order, into: writer)
        writer.field("value")
        if lent.kind == .stream, case .stream(let s) = e.value {
            try CanonicalJSONEncoder.writeStream(s, lentEntries: lent, into: writer)
        } else {
            try CanonicalJSONEncoder.writeLentValue(lent, order: &order, keys: &sortKeys, scratch: &sortScratch,
                                                    into: writer)
        }
    }

    private func writeFileFields() {
        let w = writer
        w.field("rdb_file", first: true)
        w.raw("{")
        CanonicalJSONEncoder.writeHeaderFields(header, into: w)
        w.field("checksum")
        CanonicalJSONEncoder.writeChecksum(storedChecksum, into: w)
        w.field("aux")
        w.array(aux) { w.pair($0.0, $0.1) }
        w.field("slot_info")
        w.array(slotInfo) { s in
            w.raw("{")
            w.field("kind", first: true)
            w.string(s.kind)
            w.field("db")
            w.int(s.db)
            w.field("slot,keys,expires")
            w.string(s.text)
            w.raw("}")
        }
        w.raw("}")
        w.field("functions")
        w.array(functions) { code in
            w.raw("{")
            w.field("library_code", first: true)
            w.bytes(code)
            w.raw("}")
        }
        w.field("module_aux")
        w.array(moduleAux) { m in
            CanonicalJSONEncoder.writeModule(name: m.moduleName, id: m.moduleID, encodingVersion: m.encodingVersion,
                                             raw: m.raw, into: w)
        }
    }

    /// `"magic":…,"rdb_version":…` (both null when the header was never read); the first members
    /// of `rdb_file` here and of the `rdb info` / `rdb check --json` file objects.
    public static func writeHeaderFields(_ header: RDBHeader?, first: Bool = true, into w: JSONWriter) {
        w.field("magic", first: first)
        w.nullable(header) { w.string($0.text) }
        w.field("rdb_version")
        w.nullable(header) { w.int($0.version) }
    }

    /// A stored CRC-64 as its `hex16` string, or null when the file has none.
    public static func writeChecksum(_ checksum: UInt64?, into w: JSONWriter) {
        w.nullable(checksum) { w.string(hex16($0)) }
    }

    /// `{"module":…,"module_id":…,"encoding_version":…,"raw_b64":…}`, for module values and module AUX.
    static func writeModule(name: String, id: UInt64, encodingVersion: Int, raw: Bytes, into w: JSONWriter) {
        w.raw("{")
        w.field("module", first: true)
        w.string(name)
        w.field("module_id")
        w.uint(id)
        w.field("encoding_version")
        w.int(encodingVersion)
        w.field("raw_b64")
        w.base64String(raw)
        w.raw("}")
    }

    /// 16 lowercase hex digits, most significant first (the corpus's `checksum` form).
    public static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    // MARK: - Keys and values

    /// Writes the fields of one key object (without braces and without `db`).
    public static func writeKeyFields(_ e: RDBEntry, fileOrder: Int, into w: JSONWriter) throws {
        writeKeyMetadata(e, fileOrder: fileOrder, into: w)
        if case .hash(let fields) = e.value, fields.contains(where: { $0.expireAtMs != nil }) {
            let ttl = fields.filter { $0.expireAtMs != nil }.sorted { bytesLess($0.field, $1.field) }
            w.field("field_expire_at_ms")
            w.array(ttl) { f in
                w.raw("[")
                w.bytes(f.field)
                w.raw(",")
                w.int(f.expireAtMs ?? 0)
                w.raw("]")
            }
        }
        w.field("value")
        try writeValue(e.value, into: w)
    }

    /// `key` through `rdb` of a key object.
    static func writeKeyMetadata(_ e: RDBEntry, fileOrder: Int, into w: JSONWriter) {
        e.key.withUnsafeBytes { writeKeyMetadata(e, key: $0, fileOrder: fileOrder, into: w) }
    }

    /// `key` through `rdb` of a key object whose key is `key` (the entry's own or lent).
    static func writeKeyMetadata(_ e: RDBEntry, key: UnsafeRawBufferPointer, fileOrder: Int, into w: JSONWriter) {
        w.raw("\"key\":")
        w.bytes(key)
        switch e.value {
        case .string: w.raw(",\"type\":\"string\",\"expire_at_ms\":")
        case .list: w.raw(",\"type\":\"list\",\"expire_at_ms\":")
        case .set: w.raw(",\"type\":\"set\",\"expire_at_ms\":")
        case .sortedSet: w.raw(",\"type\":\"zset\",\"expire_at_ms\":")
        case .hash: w.raw(",\"type\":\"hash\",\"expire_at_ms\":")
        case .stream: w.raw(",\"type\":\"stream\",\"expire_at_ms\":")
        case .array: w.raw(",\"type\":\"array\",\"expire_at_ms\":")
        case .module(let m):
            w.raw(",\"type\":")
            w.string(m.moduleName)
            w.raw(",\"expire_at_ms\":")
        }
        if let at = e.expireAtMs { w.int(at) } else { w.raw("null") }
        if let f = e.lfuFreq {
            w.field("lfu_freq")
            w.int(Int(f))
        }
        if let idle = e.lruIdleSeconds {
            w.field("lru_idle_s")
            w.uint(idle)
        }
        w.raw(",\"rdb\":{\"type\":")
        w.int(Int(e.rdbType))
        w.raw(",\"file_order\":")
        w.int(fileOrder)
        w.raw("}")
    }

    /// Big collections flush element by element (`flushIfNeeded` before each), so output stays bounded.
    public static func writeValue(_ value: RDBValue, into w: JSONWriter) throws {
        switch value {
        case .string(let s):
            w.bytes(s)
        case .list(let items):
            try w.array(items) { item in
                try w.flushIfNeeded()
                w.bytes(item)
            }
        case .set(let members):
            try w.array(members.sorted(by: bytesLess)) { m in
                try w.flushIfNeeded()
                w.bytes(m)
            }
        case .sortedSet(let members):
            try w.array(members.sorted(by: zsetLess)) { m in
                try w.flushIfNeeded()
                w.raw("[")
                w.bytes(m.member)
                w.raw(",")
                w.double(m.score)
                w.raw("]")
            }
        case .hash(let fields):
            try w.array(fields.sorted { bytesLess($0.field, $1.field) }) { f in
                try w.flushIfNeeded()
                w.pair(f.field, f.value)
            }
        case .stream(let s):
            try writeStream(s, into: w)
        case .module(let m):
            writeModule(name: m.moduleName, id: m.moduleID, encodingVersion: m.encodingVersion, raw: m.raw, into: w)
        case .array(let a):
            try writeArray(a, into: w)
        }
    }

    /// `{"insert_idx": n or null, "elements": [[index, "value"], ...]}`, by index (a Redis 8.10 array).
    static func writeArray(_ a: ArrayValue, into w: JSONWriter) throws {
        w.raw("{\"insert_idx\":")
        if let i = a.insertIndex { w.uint(i) } else { w.raw("null") }
        w.raw(",\"elements\":")
        try w.array(a.elements) { el in
            try w.flushIfNeeded()
            w.raw("[")
            w.uint(el.index)
            w.raw(",")
            w.bytes(el.value)
            w.raw("]")
        }
        w.raw("}")
    }

    /// `"ms-seq"`, or null.
    static func writeID(_ id: StreamID?, into w: JSONWriter) {
        w.nullable(id) { id in
            w.raw("\"")
            w.uint(id.ms)
            w.raw("-")
            w.uint(id.seq)
            w.raw("\"")
        }
    }

    /// `lentEntries`: the arena a `.stream` was lent in (the entries are written from it; `s.entries` is empty).
    static func writeStream(_ s: StreamValue, lentEntries: RDBValueArena? = nil, into w: JSONWriter) throws {
        w.raw("{")
        w.field("entries", first: true)
        if let a = lentEntries {
            try writeLentStreamEntries(a, into: w)
        } else {
            try w.array(s.entries) { e in
                try w.flushIfNeeded()
                w.raw("[")
                writeID(e.id, into: w)
                w.raw(",")
                w.array(e.fields) { w.pair($0.0, $0.1) }
                w.raw("]")
            }
        }
        w.field("length")
        w.uint(s.length)
        w.field("listpack_nodes")
        w.int(s.listpackNodes)
        w.field("last_generated_id")
        writeID(s.lastID, into: w)
        // STREAM_LISTPACKS_2+ metadata: absent from type-15 files, so absent from their dump.
        if let id = s.maxDeletedEntryID {
            w.field("max_deleted_entry_id")
            writeID(id, into: w)
        }
        if let a = s.entriesAdded {
            w.field("entries_added")
            w.uint(a)
        }
        if let id = s.firstID {
            w.field("recorded_first_entry_id")
            writeID(id, into: w)
        }
        w.field("groups")
        try w.array(s.groups.sorted { bytesLess($0.name, $1.name) }) { try writeGroup($0, into: w) }
        w.raw("}")
    }

    private static func writeGroup(_ g: StreamGroup, into w: JSONWriter) throws {
        // The file keeps delivery time/count in the group PEL and only IDs per consumer: join them.
        var owner: [StreamID: Int] = [:]
        owner.reserveCapacity(g.pending.count)
        for (ci, c) in g.consumers.enumerated() {
            for id in c.pendingIDs { owner[id] = ci }
        }
        var nack: [StreamID: StreamPendingEntry] = [:]
        nack.reserveCapacity(g.pending.count)
        for p in g.pending { nack[p.id] = p }

        w.raw("{")
        w.field("name", first: true)
        w.bytes(g.name)
        w.field("last_delivered_id")
        writeID(g.lastDeliveredID, into: w)
        // entries_read: STREAM_LISTPACKS_2+ only; the stored -1 (2^64-1) means "unknown" (null).
        if let raw = g.entriesReadRaw {
            w.field("entries_read")
            if raw != UInt64.max {
                w.uint(raw)
            } else {
                w.null()
                w.field("entries_read_rdb_raw")
                w.uint(raw)
            }
        }
        w.field("pel_count")
        w.int(g.pending.count)
        w.field("pending")
        try w.array(g.pending) { p in
            try w.flushIfNeeded()
            w.raw("[")
            writeID(p.id, into: w)
            w.raw(",")
            w.nullable(owner[p.id]) { w.bytes(g.consumers[$0].name) }
            w.raw(",")
            w.int(p.deliveryTimeMs)
            w.raw(",")
            w.uint(p.deliveryCount)
            w.raw("]")
        }
        if !g.nackedIDs.isEmpty {  // STREAM_LISTPACKS_5 only: the NACK zone, in zone order
            w.field("nacked")
            w.array(g.nackedIDs) { writeID($0, into: w) }
        }
        w.field("consumers")
        w.array(g.consumers.sorted { bytesLess($0.name, $1.name) }) { c in
            w.raw("{")
            w.field("name", first: true)
            w.bytes(c.name)
            w.field("seen_time")
            w.int(c.seenTimeMs)
            if let a = c.activeTimeMs {  // STREAM_LISTPACKS_3+ only
                w.field("active_time")
                w.int(a)
            }
            w.field("pel_count")
            w.int(c.pendingIDs.count)
            w.field("pending")
            w.array(c.pendingIDs) { id in
                w.raw("[")
                writeID(id, into: w)
                w.raw(",")
                if let p = nack[id] {
                    w.int(p.deliveryTimeMs)
                    w.raw(",")
                    w.uint(p.deliveryCount)
                } else {
                    w.raw("null,null")
                }
                w.raw("]")
            }
            w.raw("}")
        }
        w.raw("}")
    }

    // MARK: - Orders

    /// Raw byte order (memcmp, shorter prefix first), as Redis sorts.
    @inline(__always)
    public static func bytesLess(_ a: Bytes, _ b: Bytes) -> Bool {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let n = min(pa.count, pb.count)
                if n > 0, let x = pa.baseAddress, let y = pb.baseAddress {
                    for i in 0..<n where x[i] != y[i] { return x[i] < y[i] }
                }
                return pa.count < pb.count
            }
        }
    }

    /// Score, then member bytes; NaN (possible in old type-3 zsets) sorts last. A strict weak order.
    public static func zsetLess(_ a: SortedSetMember, _ b: SortedSetMember) -> Bool {
        let sa = a.score, sb = b.score
        if sa.isNaN || sb.isNaN {
            if sa.isNaN != sb.isNaN { return sb.isNaN }
            return bytesLess(a.member, b.member)
        }
        if sa != sb { return sa < sb }
        return bytesLess(a.member, b.member)
    }
}
