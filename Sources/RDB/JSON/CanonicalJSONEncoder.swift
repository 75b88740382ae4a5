/// Streams `RDBRecord`s as the canonical JSON of "rdb-corpus-expected/1"
/// (../shared/rdb-corpus/generated/README.md), limited to what an RDB file itself holds.
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

    /// Feeds one record, in file order.
    public func consume(_ record: RDBRecord) throws {
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
            try entry(e)
        case .eof(let stored, _):
            storedChecksum = stored
            sawEOF = true
        }
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

    private func entry(_ e: RDBEntry) throws {
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
            try CanonicalJSONEncoder.writeKeyFields(e, fileOrder: fileOrder, into: writer)
            writer.raw("}")
        case .jsonl:
            writer.raw("{\"db\":")
            writer.int(e.db)
            writer.raw(",")
            try CanonicalJSONEncoder.writeKeyFields(e, fileOrder: fileOrder, into: writer)
            writer.raw("}\n")
        }
        fileOrder += 1
        try writer.flushIfNeeded()
    }

    private func writeFileFields() {
        let w = writer
        w.raw("\"rdb_file\":{\"magic\":")
        if let header { w.string(header.text) } else { w.null() }
        w.raw(",\"rdb_version\":")
        if let header { w.int(header.version) } else { w.null() }
        w.raw(",\"checksum\":")
        if let c = storedChecksum { w.string(CanonicalJSONEncoder.hex16(c)) } else { w.null() }
        w.raw(",\"aux\":[")
        for (i, (k, v)) in aux.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("[")
            w.bytes(k)
            w.raw(",")
            w.bytes(v)
            w.raw("]")
        }
        w.raw("],\"slot_info\":[")
        for (i, s) in slotInfo.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"kind\":")
            w.string(s.kind)
            w.raw(",\"db\":")
            w.int(s.db)
            w.raw(",\"slot,keys,expires\":")
            w.string(s.text)
            w.raw("}")
        }
        w.raw("]},\"functions\":[")
        for (i, code) in functions.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"library_code\":")
            w.bytes(code)
            w.raw("}")
        }
        w.raw("],\"module_aux\":[")
        for (i, m) in moduleAux.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"module\":")
            w.string(m.moduleName)
            w.raw(",\"module_id\":")
            w.uint(m.moduleID)
            w.raw(",\"encoding_version\":")
            w.int(m.encodingVersion)
            w.raw(",\"raw_b64\":")
            w.base64String(m.raw)
            w.raw("}")
        }
        w.raw("]")
    }

    /// 16 lowercase hex digits, most significant first (the corpus's `checksum` form).
    public static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    // MARK: - Keys and values

    /// Writes the fields of one key object (without braces and without `db`).
    public static func writeKeyFields(_ e: RDBEntry, fileOrder: Int, into w: JSONWriter) throws {
        w.raw("\"key\":")
        w.bytes(e.key)
        w.raw(",\"type\":")
        w.string(e.value.typeName)
        w.raw(",\"expire_at_ms\":")
        if let x = e.expireAtMs { w.int(x) } else { w.null() }
        if let f = e.lfuFreq {
            w.raw(",\"lfu_freq\":")
            w.int(Int(f))
        }
        if let idle = e.lruIdleSeconds {
            w.raw(",\"lru_idle_s\":")
            w.uint(idle)
        }
        w.raw(",\"rdb\":{\"type\":")
        w.int(Int(e.rdbType))
        w.raw(",\"file_order\":")
        w.int(fileOrder)
        w.raw("}")
        if case .hash(let fields) = e.value, fields.contains(where: { $0.expireAtMs != nil }) {
            let ttl = fields.filter { $0.expireAtMs != nil }.sorted { bytesLess($0.field, $1.field) }
            w.raw(",\"field_expire_at_ms\":[")
            for (i, f) in ttl.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("[")
                w.bytes(f.field)
                w.raw(",")
                w.int(f.expireAtMs ?? 0)
                w.raw("]")
            }
            w.raw("]")
        }
        w.raw(",\"value\":")
        try writeValue(e.value, into: w)
    }

    public static func writeValue(_ value: RDBValue, into w: JSONWriter) throws {
        switch value {
        case .string(let s):
            w.bytes(s)
        case .list(let items):
            w.raw("[")
            for (i, item) in items.enumerated() {
                if i > 0 { w.raw(",") }
                try w.flushIfNeeded()
                w.bytes(item)
            }
            w.raw("]")
        case .set(let members):
            let sorted = members.sorted(by: bytesLess)
            w.raw("[")
            for (i, m) in sorted.enumerated() {
                if i > 0 { w.raw(",") }
                try w.flushIfNeeded()
                w.bytes(m)
            }
            w.raw("]")
        case .sortedSet(let members):
            let sorted = members.sorted(by: zsetLess)
            w.raw("[")
            for (i, m) in sorted.enumerated() {
                if i > 0 { w.raw(",") }
                try w.flushIfNeeded()
                w.raw("[")
                w.bytes(m.member)
                w.raw(",")
                w.double(m.score)
                w.raw("]")
            }
            w.raw("]")
        case .hash(let fields):
            let sorted = fields.sorted { bytesLess($0.field, $1.field) }
            w.raw("[")
            for (i, f) in sorted.enumerated() {
                if i > 0 { w.raw(",") }
                try w.flushIfNeeded()
                w.raw("[")
                w.bytes(f.field)
                w.raw(",")
                w.bytes(f.value)
                w.raw("]")
            }
            w.raw("]")
        case .stream(let s):
            try writeStream(s, into: w)
        case .module(let m):
            w.raw("{\"module\":")
            w.string(m.moduleName)
            w.raw(",\"module_id\":")
            w.uint(m.moduleID)
            w.raw(",\"encoding_version\":")
            w.int(m.encodingVersion)
            w.raw(",\"raw_b64\":")
            w.base64String(m.raw)
            w.raw("}")
        }
    }

    private static func writeID(_ id: StreamID?, into w: JSONWriter) {
        guard let id else { w.null(); return }
        w.raw("\"")
        w.uint(id.ms)
        w.raw("-")
        w.uint(id.seq)
        w.raw("\"")
    }

    static func writeStream(_ s: StreamValue, into w: JSONWriter) throws {
        w.raw("{\"entries\":[")
        for (i, e) in s.entries.enumerated() {
            if i > 0 { w.raw(",") }
            try w.flushIfNeeded()
            w.raw("[")
            writeID(e.id, into: w)
            w.raw(",[")
            for (j, (f, v)) in e.fields.enumerated() {
                if j > 0 { w.raw(",") }
                w.raw("[")
                w.bytes(f)
                w.raw(",")
                w.bytes(v)
                w.raw("]")
            }
            w.raw("]]")
        }
        w.raw("],\"length\":")
        w.uint(s.length)
        w.raw(",\"listpack_nodes\":")
        w.int(s.listpackNodes)
        w.raw(",\"last_generated_id\":")
        writeID(s.lastID, into: w)
        // STREAM_LISTPACKS_2+ metadata: absent from type-15 files, so absent from their dump.
        if let id = s.maxDeletedEntryID {
            w.raw(",\"max_deleted_entry_id\":")
            writeID(id, into: w)
        }
        if let a = s.entriesAdded {
            w.raw(",\"entries_added\":")
            w.uint(a)
        }
        if let id = s.firstID {
            w.raw(",\"recorded_first_entry_id\":")
            writeID(id, into: w)
        }
        w.raw(",\"groups\":[")
        let groups = s.groups.sorted { bytesLess($0.name, $1.name) }
        for (gi, g) in groups.enumerated() {
            if gi > 0 { w.raw(",") }
            try writeGroup(g, into: w)
        }
        w.raw("]}")
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

        w.raw("{\"name\":")
        w.bytes(g.name)
        w.raw(",\"last_delivered_id\":")
        writeID(g.lastDeliveredID, into: w)
        // entries_read: STREAM_LISTPACKS_2+ only; the stored -1 (2^64-1) means "unknown" (null).
        if let raw = g.entriesReadRaw {
            w.raw(",\"entries_read\":")
            if raw != UInt64.max {
                w.uint(raw)
            } else {
                w.raw("null,\"entries_read_rdb_raw\":")
                w.uint(raw)
            }
        }
        w.raw(",\"pel_count\":")
        w.int(g.pending.count)
        w.raw(",\"pending\":[")
        for (i, p) in g.pending.enumerated() {
            if i > 0 { w.raw(",") }
            try w.flushIfNeeded()
            w.raw("[")
            writeID(p.id, into: w)
            w.raw(",")
            if let ci = owner[p.id] { w.bytes(g.consumers[ci].name) } else { w.null() }
            w.raw(",")
            w.int(p.deliveryTimeMs)
            w.raw(",")
            w.uint(p.deliveryCount)
            w.raw("]")
        }
        w.raw("],\"consumers\":[")
        let consumers = g.consumers.sorted { bytesLess($0.name, $1.name) }
        for (i, c) in consumers.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"name\":")
            w.bytes(c.name)
            w.raw(",\"seen_time\":")
            w.int(c.seenTimeMs)
            if let a = c.activeTimeMs {  // STREAM_LISTPACKS_3+ only
                w.raw(",\"active_time\":")
                w.int(a)
            }
            w.raw(",\"pel_count\":")
            w.int(c.pendingIDs.count)
            w.raw(",\"pending\":[")
            for (j, id) in c.pendingIDs.enumerated() {
                if j > 0 { w.raw(",") }
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
            w.raw("]}")
        }
        w.raw("]}")
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
