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

    /// The estimate of an entry read by `RDBReader.next(lendingInto:)`, from the lent elements (the same
    /// figure `usage(of:)` gives for the materialized entry).
    /// With `a.lendsKeys`, a lent entry's key is `a.lentKey` (the entry's own is empty).
    public static func usage(of entry: RDBEntry, lent a: RDBValueArena) -> Int {
        typealias A = AllocatorModel
        if a.kind == .none || a.kind == .stream { return usage(of: a.materialized(entry)) }
        // Lent keys: the entry's key is empty; else `lentKey` is.
        let key = A.sds(entry.key.count &+ a.lentKey.count) + A.dictEntry
        switch a.kind {
        case .string: return key + string(a[0])
        default: break
        }
        if a.kind == .set, let s = a.intsetSummary {
            return key + intset(count: s.count, min: s.min, max: s.max)
        }
        let n = a.count
        // One view of the arena for the whole value: element reads need no array accesses through the class.
        // An empty collection: its placeholder value is an empty one of the same type.
        guard n > 0, let base = a[0].baseAddress else { return key + value(entry.value) }
        return a.withStarts { starts -> Int in
            func view(first: Int, stride: Int, count: Int) -> ArenaElements {
                ArenaElements(base: base, starts: starts, first: first, stride: stride, count: count)
            }
            switch a.kind {
            case .list: return key + list(view(first: 0, stride: 1, count: n))
            case .set:
                if entry.rdbType == RDBType.setIntset.rawValue, n <= 512,
                   let lo = PackedSize.integerValue(a[0]), let hi = PackedSize.integerValue(a[n &- 1]) {
                    // The reader checked the intset strictly ascending: its first and last members bound the
                    // width `PackedSize.intset` would find by parsing every member back from text.
                    return key + intset(count: n, min: lo, max: hi)
                }
                return key + set(view(first: 0, stride: 1, count: n))
            case .sortedSet:
                return a.scores.withUnsafeBufferPointer { scores in
                    key + sortedSet(view(first: 0, stride: 1, count: n)) { scores[$0] }
                }
            case .hash:
                return key + hash(view(first: 0, stride: 2, count: n / 2), view(first: 1, stride: 2, count: n / 2))
            case .none, .string, .stream:
                return key + value(entry.value)
            }
        }
    }

    /// An intset (`intset.c`: 8-byte header, 2/4/8 bytes per member as its extremes need) in a 16-byte robj.
    static func intset(count: Int, min lo: Int64, max hi: Int64) -> Int {
        let width = lo < Int64(Int32.min) || hi > Int64(Int32.max) ? 8
            : lo < Int64(Int16.min) || hi > Int64(Int16.max) ? 4 : 2
        return AllocatorModel.robj + AllocatorModel.jemalloc(8 + count * width)
    }

    public static func value(_ v: RDBValue, serializedSize: Int = 0) -> Int {
        switch v {
        case .string(let s):
            return s.withUnsafeBytes { string($0) }
        case .list(let items):
            return list(ArrayElements(items: items))
        case .set(let members):
            return set(ArrayElements(items: members))
        case .sortedSet(let members):
            return sortedSet(ZsetMemberElements(members: members)) { members[$0].score }
        case .hash(let fields):
            return hash(HashFieldElements(fields: fields, values: false), HashFieldElements(fields: fields, values: true))
        case .stream(let s):
            return stream(s)
        case .module:
            return AllocatorModel.robj + max(0, serializedSize)
        case .array(let a):
            return array(a)
        }
    }

    /// A Redis 8.10 array as it stands after loading (`sparsearray.c`; MEMORY USAGE adds the array's tracked
    /// allocations, `alloc_size`): the robj, the 88-byte array header, a flat directory of slice pointers (a
    /// power of two above the highest slice), and per 4,096-index slice either a sparse slice (up to 10
    /// elements: capacity 4, 8 or 10; 2-byte offsets and 8-byte slots) or, past 10, a dense window (a power of
    /// two from 8 covering the slice's first to last element, at most 4,096 slots); plus a heap string for each
    /// value that is not inline (`ArrayValueEncoding`). Each allocation is rounded to jemalloc's size class.
    /// From slice 2,048 on, the directory is a superdirectory of 2,048-pointer blocks.
    static func array(_ a: ArrayValue) -> Int {
        typealias A = AllocatorModel
        var bytes = A.robj + A.jemalloc(88)
        var highestSlice: UInt64 = 0
        var blocks = 0, lastBlock: UInt64?
        var i = 0
        let els = a.elements
        while i < els.count {
            let slice = els[i].index >> 12
            var j = i
            while j < els.count && els[j].index >> 12 == slice { j += 1 }
            let n = j - i
            if n <= 10 {
                let cap = n <= 4 ? 4 : n <= 8 ? 8 : 10
                bytes += A.jemalloc(32 + (2 * cap + 7) / 8 * 8 + 8 * cap)
            } else {
                let span = Int(els[j - 1].index - els[i].index) + 1
                var window = 8
                while window < span && window < 4096 { window *= 2 }
                bytes += A.jemalloc(32 + 8 * window)
            }
            highestSlice = slice
            if lastBlock != slice >> 11 { blocks += 1; lastBlock = slice >> 11 }
            i = j
        }
        if highestSlice >= 2048 {
            // Superdirectory: 24-byte entries (capacity from 4, doubling), a 2,048-pointer block per 2,048 slices used.
            var cap = 4
            while cap < blocks { cap *= 2 }
            bytes += A.jemalloc(24 * cap) + blocks * A.jemalloc(2048 * 8)
        } else if !els.isEmpty {
            var dir: UInt64 = 1
            while dir <= highestSlice { dir <<= 1 }
            bytes += A.jemalloc(Int(8 * dir))
        }
        for el in els where !ArrayValueEncoding.isInline(el.value) {
            bytes += A.jemalloc(ArrayValueEncoding.heapStringRequest(el.value.count))
        }
        return bytes
    }

    static func string(_ s: UnsafeRawBufferPointer) -> Int {
        typealias A = AllocatorModel
        if PackedSize.integerValue(s) != nil { return A.robj }
        if s.count <= 44 { return A.jemalloc(A.robj + 3 + s.count + 1) }
        return A.robj + A.sds(s.count)
    }

    static func list<E: MemoryElements>(_ items: E) -> Int {
        AllocatorModel.robj + AllocatorModel.quicklist + quicklistNodes(items)
    }

    static func set<E: MemoryElements>(_ members: E) -> Int {
        typealias A = AllocatorModel
        if members.count <= 512, let bytes = PackedSize.intset(members) {
            return A.robj + A.jemalloc(bytes)
        }
        var size = A.robj + A.dict + 8 * A.dictSlots(members.count)
        for i in 0..<members.count { size += A.dictEntry + A.sds(members.length(i)) }
        return size
    }

    static func sortedSet<E: MemoryElements>(_ members: E, score: (Int) -> Double) -> Int {
        typealias A = AllocatorModel
        let n = members.count
        if n <= 128 && (0..<n).allSatisfy({ members.length($0) <= 64 }) {
            var lp = PackedSize.listpackOverhead
            for i in 0..<n { lp += members.withBytes(i) { PackedSize.entry($0) } + PackedSize.scoreEntry(score(i)) }
            return A.robj + A.jemalloc(lp)
        }
        var size = Double(A.robj + A.zset + A.zskiplist + A.dict + 8 * A.dictSlots(n) + A.skiplistHeader)
        for i in 0..<n {
            size += Double(A.sds(members.length(i)) + A.dictEntry) + A.skiplistNodeExpected
        }
        return Int(size)
    }

    static func hash<F: MemoryElements, V: MemoryElements>(_ fields: F, _ values: V) -> Int {
        typealias A = AllocatorModel
        let n = fields.count
        if n <= 128 && (0..<n).allSatisfy({ fields.length($0) <= 64 && values.length($0) <= 64 }) {
            var lp = PackedSize.listpackOverhead
            for i in 0..<n { lp += fields.withBytes(i) { PackedSize.entry($0) } + values.withBytes(i) { PackedSize.entry($0) } }
            return A.robj + A.jemalloc(lp)
        }
        var size = A.robj + A.dict + 8 * A.dictSlots(n)
        for i in 0..<n { size += A.dictEntry + A.sds(fields.length(i)) + A.sds(values.length(i)) }
        return size
    }

    /// Listpack nodes as Redis 7's `quicklistPush` fills them (`_quicklistNodeAllowInsert`: a node takes an
    /// element while its bytes + the element's length + 8 stay within 8192), each node 40 bytes + its listpack.
    static func quicklistNodes<E: MemoryElements>(_ items: E) -> Int {
        typealias A = AllocatorModel
        var total = 0
        var lp = 0
        var inNode = 0
        for i in 0..<items.count {
            let len = items.length(i)
            if inNode > 0 && lp + len + 8 > 8192 {
                total += A.quicklistNode + A.jemalloc(lp)
                inNode = 0
            }
            if inNode == 0 { lp = PackedSize.listpackOverhead }
            lp += items.withBytes(i) { PackedSize.entry($0) }
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

/// The elements of one value as the estimator reads them, whether materialized or lent.
protocol MemoryElements {
    var count: Int { get }
    func length(_ i: Int) -> Int
    func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R
}

struct ArrayElements: MemoryElements {
    let items: [Bytes]
    var count: Int { items.count }
    @inline(__always) func length(_ i: Int) -> Int { items[i].count }
    @inline(__always) func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R { items[i].withUnsafeBytes(body) }
}

struct ZsetMemberElements: MemoryElements {
    let members: [SortedSetMember]
    var count: Int { members.count }
    @inline(__always) func length(_ i: Int) -> Int { members[i].member.count }
    @inline(__always) func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R { members[i].member.withUnsafeBytes(body) }
}

struct HashFieldElements: MemoryElements {
    let fields: [HashField]
    /// The values instead of the field names.
    let values: Bool
    var count: Int { fields.count }
    @inline(__always) func length(_ i: Int) -> Int { values ? fields[i].value.count : fields[i].field.count }
    @inline(__always) func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        values ? fields[i].value.withUnsafeBytes(body) : fields[i].field.withUnsafeBytes(body)
    }
}

/// Elements `first`, `first + stride`, ... of an arena (hash fields: stride 2), read through its buffer and
/// `starts` directly.
struct ArenaElements: MemoryElements {
    let base: UnsafeRawPointer
    let starts: UnsafeBufferPointer<Int>
    let first: Int
    let stride: Int
    let count: Int
    @inline(__always) func length(_ i: Int) -> Int {
        let j = first &+ i &* stride
        return starts[j &+ 1] &- starts[j]
    }
    @inline(__always) func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let j = first &+ i &* stride
        let s = starts[j]
        return body(UnsafeRawBufferPointer(start: base + s, count: starts[j &+ 1] &- s))
    }
}
