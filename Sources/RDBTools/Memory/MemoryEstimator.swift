import RDB

/// What `MEMORY USAGE key SAMPLES 0` would report for a key after Redis 7.0 loads the file (Redis `object.c`
/// `memoryCommand` + `objectComputeSize`), computed from the key's content:
///
/// - the key: its sds (`sdsZmallocSize`) plus a `dictEntry` (24 bytes);
/// - strings: 16 (an `robj`) for integers (`tryObjectEncoding`), the embstr allocation up to 44 bytes, else
///   16 + the sds;
/// - lists: 16 + a quicklist (40) + per node 40 + its listpack, nodes packed as Redis 7 packs them
///   (`list-max-listpack-size -2`: at most 8 KB);
/// - sets: an intset when every member is an integer and there are at most 512, else a dict (56 + 8 per bucket)
///   with a 24-byte entry and an sds per member;
/// - sorted sets: a listpack (member, `d2string` score) up to 128 members of at most 64 bytes, else a skiplist
///   (zset 16, zskiplist 32, its 32-level header, per member an sds, a dict entry and a node of expected size);
/// - hashes: a listpack up to 128 fields whose fields and values are at most 64 bytes, else a dict with two sds
///   per field;
/// - streams: 16 + the stream (80) + the radix tree estimate Redis itself uses (`streamRadixTreeMemoryUsage`)
///   + the listpack nodes (100 entries or 4 KB each, `stream-node-max-*`) + groups (40 each, 24 per pending
///   entry, 24 per consumer plus its name and PEL tree);
/// - module values: their serialized size (Redis asks the module; there is no general rule).
///
/// Allocations are rounded to jemalloc's size classes, as `zmalloc_size` reports them.
public enum MemoryEstimator {
    public static func usage(of entry: RDBEntry) -> Int {
        let key = AllocatorModel.sds(entry.key.count) + AllocatorModel.dictEntry
        return key + value(entry.value, serializedSize: Int(entry.serializedSize) - entry.key.count)
    }

    public static func value(_ v: RDBValue, serializedSize: Int = 0) -> Int {
        typealias A = AllocatorModel
        switch v {
        case .string(let s):
            if PackedSize.integerValue(s) != nil { return A.robj }
            if s.count <= 44 { return A.jemalloc(A.robj + 3 + s.count + 1) }
            return A.robj + A.sds(s.count)
        case .list(let items):
            return A.robj + A.quicklist + quicklistNodes(items)
        case .set(let members):
            if members.count <= 512, let bytes = PackedSize.intset(members) {
                return A.robj + A.jemalloc(bytes)
            }
            var size = A.robj + A.dict + 8 * A.dictSlots(members.count)
            for m in members { size += A.dictEntry + A.sds(m.count) }
            return size
        case .sortedSet(let members):
            if members.count <= 128 && members.allSatisfy({ $0.member.count <= 64 }) {
                var lp = PackedSize.listpackOverhead
                for m in members { lp += PackedSize.entry(m.member) + PackedSize.entry(PackedSize.scoreText(m.score)) }
                return A.robj + A.jemalloc(lp)
            }
            var size = Double(A.robj + A.zset + A.zskiplist + A.dict + 8 * A.dictSlots(members.count) + A.skiplistHeader)
            for m in members {
                size += Double(A.sds(m.member.count) + A.dictEntry) + A.skiplistNodeExpected
            }
            return Int(size)
        case .hash(let fields):
            if fields.count <= 128 && fields.allSatisfy({ $0.field.count <= 64 && $0.value.count <= 64 }) {
                var lp = PackedSize.listpackOverhead
                for f in fields { lp += PackedSize.entry(f.field) + PackedSize.entry(f.value) }
                return A.robj + A.jemalloc(lp)
            }
            var size = A.robj + A.dict + 8 * A.dictSlots(fields.count)
            for f in fields { size += A.dictEntry + A.sds(f.field.count) + A.sds(f.value.count) }
            return size
        case .stream(let s):
            return stream(s)
        case .module:
            return A.robj + max(0, serializedSize)
        }
    }

    /// Listpack nodes as Redis 7's `quicklistPush` fills them (`_quicklistNodeAllowInsert`: a node takes an
    /// element while its bytes + the element's length + 8 stay within 8192), each node 40 bytes + its listpack.
    static func quicklistNodes(_ items: [Bytes]) -> Int {
        typealias A = AllocatorModel
        var total = 0
        var lp = 0
        var inNode = 0
        for x in items {
            if inNode > 0 && lp + x.count + 8 > 8192 {
                total += A.quicklistNode + A.jemalloc(lp)
                inNode = 0
            }
            if inNode == 0 { lp = PackedSize.listpackOverhead }
            lp += PackedSize.entry(x)
            inNode += 1
        }
        if inNode > 0 { total += A.quicklistNode + A.jemalloc(lp) }
        return total
    }

    static func stream(_ s: StreamValue) -> Int {
        typealias A = AllocatorModel
        var size = A.robj + A.stream
        // Listpack nodes (t_stream.c streamAppendItem): a master entry (count, deleted, field count, the first
        // entry's fields, 0), then per entry flags, ms and seq deltas, the values (same fields as the master)
        // or field count + pairs, and the entry's element count.
        var nodes = 0
        var i = 0
        let entries = s.entries
        while i < entries.count {
            let master = entries[i]
            let masterFields = master.fields.map(\.0)
            var lp = PackedSize.listpackOverhead + PackedSize.intEntry(1) + PackedSize.intEntry(0)
                + PackedSize.intEntry(Int64(masterFields.count)) + PackedSize.intEntry(0)
            for f in masterFields { lp += PackedSize.entry(f) }
            var count = 0
            while i < entries.count {
                let e = entries[i]
                var raw = 0
                for (f, v) in e.fields { raw += f.count + v.count }
                if count > 0 && (lp + raw >= 4096 || count >= 100) { break }
                let same = e.fields.count == masterFields.count && zip(e.fields, masterFields).allSatisfy { $0.0 == $1 }
                lp += PackedSize.intEntry(same ? 2 : 0)
                lp += PackedSize.intEntry(Int64(truncatingIfNeeded: e.id.ms &- master.id.ms))
                lp += PackedSize.intEntry(Int64(truncatingIfNeeded: e.id.seq &- master.id.seq))
                if same {
                    for (_, v) in e.fields { lp += PackedSize.entry(v) }
                    lp += PackedSize.intEntry(Int64(e.fields.count + 3))
                } else {
                    lp += PackedSize.intEntry(Int64(e.fields.count))
                    for (f, v) in e.fields { lp += PackedSize.entry(f) + PackedSize.entry(v) }
                    lp += PackedSize.intEntry(Int64(2 * e.fields.count + 4))
                }
                count += 1
                i += 1
            }
            size += A.jemalloc(lp)
            nodes += 1
        }
        size += A.streamRax(elements: nodes)
        for g in s.groups {
            size += A.streamCG + A.streamRax(elements: g.pending.count) + A.streamNACK * g.pending.count
            for c in g.consumers {
                size += A.streamConsumer + c.name.count + A.streamRax(elements: c.pendingIDs.count)
            }
        }
        return size
    }
}
