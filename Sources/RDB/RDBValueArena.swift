import CPrefetch

/// One key's elements, lent by `RDBReader.next(lendingInto:)` instead of an `RDBValue` of `[UInt8]` arrays.
///
/// The element bytes sit back to back in one reusable buffer: element `i` is `self[i]`, the bytes
/// `starts[i] ..< starts[i + 1]`. Integer encodings (intsets, listpack and ziplist integers, int-encoded
/// strings) are stored as their decimal text, exactly as `GET` returns them, so readers see one shape for
/// every encoding of a type. Nothing is allocated per element; the buffer and the arrays keep their capacity
/// from key to key. Everything here is valid until the reader's next call.
///
/// Layout per `kind`:
/// - `.string`: one element;
/// - `.list`, `.set`: one element per item, head to tail or in stored order;
/// - `.sortedSet`: one element per member, `scores[i]` its score, in stored order;
/// - `.hash`: two elements per field (field, value), in stored order; when `hasFieldExpiries`,
///   `fieldExpiries[f]` is field `f`'s absolute expiry in Unix ms, or `RDBValueArena.noExpiry`;
/// - `.stream` (only with `lendsStreamEntries`): the live entries' field/value pairs back to back, two
///   elements per field; `streamEntries[e]` is entry `e`'s ID and where its pairs end. Everything else about
///   the stream (IDs, groups, consumers, PELs, IDMP) is in the entry's `.stream` value, whose `entries` is empty.
///
/// The buffer grows with the bytes actually read for the key (never by a length taken from the file), so it is
/// bounded by the key's size in the file times the largest expansion of its encoding (LZF, integers as text).
///
/// Stored properties skip dynamic exclusivity checks (`@exclusivity(unchecked)`): they cost 15% of `rdb dump`
/// when read from another module; one reader fills the arena and its caller reads it between calls.
public final class RDBValueArena {
    /// Which logical type the lent value has; `.none` when the last entry's value came materialized
    /// (streams, modules) or nothing was lent yet.
    public enum Kind: Sendable, Equatable {
        case none, string, list, set, sortedSet, hash, stream
    }

    /// One lent stream entry: its ID, and the end of its field/value elements (entry `e`'s pairs are the
    /// elements from the previous entry's `elementsEnd`, or 0, up to its own).
    public struct StreamEntrySpan: Sendable, Equatable {
        public var id: StreamID
        public var elementsEnd: Int
    }

    /// `fieldExpiries` value of a hash field without a TTL.
    public static let noExpiry = Int64.min

    @exclusivity(unchecked) public internal(set) var kind: Kind = .none
    @exclusivity(unchecked) @usableFromInline var storage: UnsafeMutableRawPointer
    @exclusivity(unchecked) @usableFromInline var capacity: Int
    @exclusivity(unchecked) @usableFromInline var used = 0
    /// Element `i` is `starts[i] ..< starts[i + 1]` in the buffer; `starts[0] == 0`. A buffer of our own, not an
    /// array: resetting it per key and appending per element cost no uniqueness checks or generic range calls.
    @exclusivity(unchecked) @usableFromInline var starts: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) @usableFromInline var startsCount = 1
    @exclusivity(unchecked) var startsCapacity: Int
    /// Sorted-set scores, one per element.
    @exclusivity(unchecked) public internal(set) var scores: [Double] = []
    /// Hash field expiries, one per field (every second element), when `hasFieldExpiries`.
    @exclusivity(unchecked) public internal(set) var fieldExpiries: [Int64] = []
    /// Whether some hash field has a TTL.
    @exclusivity(unchecked) public internal(set) var hasFieldExpiries = false
    /// Set by a consumer that needs only an intset's size (`rdb memory`): a SET_INTSET of at most
    /// `summarizedIntsetLimit` members is then lent as `intsetSummary`, with no elements (no member is
    /// written out as text). Larger intsets are lent member by member as usual.
    @exclusivity(unchecked) public var summarizesIntsets = false
    /// The member count, smallest and largest member of the intset lent in summary (nil otherwise).
    @exclusivity(unchecked) public internal(set) var intsetSummary: (count: Int, min: Int64, max: Int64)?
    /// Whether every element is an integer's decimal text (`-?[0-9]+`, as an intset's members are written), so
    /// that a consumer may copy them without looking for bytes to escape. Set for SET_INTSET values.
    @exclusivity(unchecked) public internal(set) var elementsAreDecimalIntegers = false
    /// Set by a consumer that reads lent streams (`CanonicalJSONEncoder`; every other consumer leaves it off
    /// and gets streams materialized, with `kind == .none`): a stream's live entries are then lent (`.stream`),
    /// no array allocated per entry or field.
    @exclusivity(unchecked) public var lendsStreamEntries = false
    /// The lent stream's entries, in ID order (`.stream`).
    @exclusivity(unchecked) public internal(set) var streamEntries: [StreamEntrySpan] = []
    /// The most members an intset lent in summary has (Redis 7's `set-max-intset-entries` default).
    public static let summarizedIntsetLimit = 512
    /// false while the reader only validates (`decodeValues == false`): appends only count.
    @exclusivity(unchecked) var keepsBytes = true

    static let defaultCapacity = 256 * 1024

    /// Where the reader lends keys when `lendsKeys` is set.
    @exclusivity(unchecked) @usableFromInline var keyArena: RDBValueArena?

    /// Set by the caller before reading: `next(lendingInto:)` then lends each lent entry's key too. When the
    /// value is lent (`kind != .none`), the entry's `key` is empty and the key is `lentKey`; streams and
    /// modules still carry their key in the entry. Saves an array per key for callers that only read it.
    public var lendsKeys: Bool {
        get { keyArena != nil }
        set {
            if newValue && keyArena == nil {
                keyArena = RDBValueArena(initialCapacity: 256)
            } else if !newValue {
                keyArena = nil
            }
        }
    }

    /// The key of the entry last lent with `lendsKeys` (valid until the reader's next call); empty otherwise.
    @inlinable public var lentKey: UnsafeRawBufferPointer {
        guard let k = keyArena, k.count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return k[0]
    }

    /// The key of an entry `next(lendingInto:)` returned with this arena: `lentKey` when it was lent, else the
    /// entry's own.
    public func key(of entry: RDBEntry) -> Bytes {
        kind != .none && keyArena != nil ? Bytes(lentKey) : entry.key
    }

    /// The buffer's size at rest: a key that grew it past 16 times this gives the memory back at the next reset.
    let normalCapacity: Int
    /// Element arrays (`starts`, `scores`, `fieldExpiries`) keep their capacity across keys up to this many.
    let keptElements: Int

    /// An arena whose buffer starts at (and returns to) 256 KiB.
    public convenience init() { self.init(initialCapacity: Self.defaultCapacity) }

    /// An arena whose buffer starts at (and returns to) `initialCapacity` bytes: small ones for pipelines that
    /// keep many arenas in flight (each key still gets all the room it needs while it is lent).
    public init(initialCapacity: Int) {
        normalCapacity = max(256, initialCapacity)
        keptElements = normalCapacity >= Self.defaultCapacity ? 1 << 20 : 4096
        capacity = normalCapacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        startsCapacity = Self.restingStarts(normalCapacity)
        starts = UnsafeMutablePointer<Int>.allocate(capacity: startsCapacity)
        starts[0] = 0
    }

    /// The room for element starts that an arena keeps between keys.
    static func restingStarts(_ normalCapacity: Int) -> Int { max(16, min(1024, normalCapacity / 16)) }

    /// Bytes lent for the current key (all elements back to back).
    @inlinable public var byteCount: Int { used }

    deinit {
        storage.deallocate()
        starts.deallocate()
    }

    /// Elements lent (hash: fields and values both).
    @inlinable public var count: Int { startsCount &- 1 }

    /// Element `i`'s bytes (valid until the reader's next call).
    @inlinable public subscript(i: Int) -> UnsafeRawBufferPointer {
        let s = starts[i]
        return UnsafeRawBufferPointer(start: storage + s, count: starts[i &+ 1] &- s)
    }

    /// Element `i`'s length.
    @inlinable public func length(_ i: Int) -> Int { starts[i &+ 1] &- starts[i] }

    /// The lent elements seen through raw pointers, for loops over many elements: no bounds check, retain or
    /// release per element. Valid only inside `withElements`.
    public struct Elements {
        @usableFromInline let base: UnsafeRawPointer
        @usableFromInline let starts: UnsafePointer<Int>
        /// Elements lent (hash: fields and values both).
        public let count: Int

        @inlinable init(base: UnsafeRawPointer, starts: UnsafePointer<Int>, count: Int) {
            self.base = base
            self.starts = starts
            self.count = count
        }

        /// Element `i`'s bytes; `i` must be in `0..<count`.
        @inlinable @inline(__always)
        public subscript(i: Int) -> UnsafeRawBufferPointer {
            let s = starts[i]
            return UnsafeRawBufferPointer(start: base + s, count: starts[i &+ 1] &- s)
        }

        /// Hints that element `i`'s start will be read soon (no effect on results): for output in an order
        /// other than the arena's, a few elements ahead of `prefetch`.
        @inlinable @inline(__always)
        public func prefetchStart(_ i: Int) { rr_prefetch(starts + i) }

        /// Hints that element `i`'s bytes will be read soon (reads its start: `prefetchStart` it first).
        @inlinable @inline(__always)
        public func prefetch(_ i: Int) { rr_prefetch(base + starts[i]) }

        /// Element `i`'s length; `i` must be in `0..<count`.
        @inlinable @inline(__always)
        public func length(_ i: Int) -> Int { starts[i &+ 1] &- starts[i] }
    }

    /// Calls `body` with the elements as raw pointers (see `Elements`).
    @inlinable @inline(__always)
    public func withElements<R>(_ body: (Elements) throws -> R) rethrows -> R {
        try body(Elements(base: UnsafeRawPointer(storage), starts: UnsafePointer(starts), count: startsCount &- 1))
    }

    /// Calls `body` with the element starts (`count + 1` of them: element `i` is `starts[i] ..< starts[i + 1]`).
    @inlinable @inline(__always)
    public func withStarts<R>(_ body: (UnsafeBufferPointer<Int>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: starts, count: startsCount))
    }

    /// Element `i` as a new array (for code that keeps it).
    public func bytes(_ i: Int) -> Bytes { Bytes(self[i]) }

    // MARK: - Filling (the reader)

    func reset(_ kind: Kind, keepsBytes: Bool) {
        self.kind = kind
        self.keepsBytes = keepsBytes
        // A huge key leaves a huge buffer: give it back rather than hold it for the rest of the file.
        if capacity > 16 * normalCapacity {
            storage.deallocate()
            capacity = normalCapacity
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
        used = 0
        startsCount = 1
        if startsCapacity > keptElements {
            starts.deallocate()
            startsCapacity = Self.restingStarts(normalCapacity)
            starts = UnsafeMutablePointer<Int>.allocate(capacity: startsCapacity)
            starts[0] = 0
        }
        if !scores.isEmpty { scores.removeAll(keepingCapacity: scores.capacity <= keptElements) }
        if !fieldExpiries.isEmpty { fieldExpiries.removeAll(keepingCapacity: fieldExpiries.capacity <= keptElements) }
        if !streamEntries.isEmpty { streamEntries.removeAll(keepingCapacity: streamEntries.capacity <= keptElements) }
        hasFieldExpiries = false
        intsetSummary = nil
        elementsAreDecimalIntegers = false
    }

    /// Room for `n` more bytes; returns where they go.
    @inline(__always)
    func reserve(_ n: Int) -> UnsafeMutableRawPointer {
        if capacity &- used < n { grow(n) }
        return storage + used
    }

    @inline(never)
    func growStarts() {
        let c = startsCapacity * 2
        let fresh = UnsafeMutablePointer<Int>.allocate(capacity: c)
        fresh.update(from: starts, count: startsCount)
        starts.deallocate()
        starts = fresh
        startsCapacity = c
    }

    @inline(never)
    func grow(_ n: Int) {
        var c = capacity
        while c - used < n { c *= 2 }  // n counts from `used`, uncommitted bytes included
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        // The whole old buffer: a string being copied in chunks has bytes past `used` not yet committed.
        fresh.copyMemory(from: storage, byteCount: capacity)
        storage.deallocate()
        storage = fresh
        capacity = c
    }

    /// Ends the element whose `n` bytes were written at `reserve`'s pointer.
    @inline(__always)
    func commit(_ n: Int) {
        used &+= n
        if startsCount == startsCapacity { growStarts() }
        starts[startsCount] = used
        startsCount &+= 1
    }

    @inline(__always)
    func append(_ p: UnsafeRawBufferPointer) {
        let n = p.count
        let dst = reserve(n)
        if n > 0, let src = p.baseAddress { dst.copyMemory(from: src, byteCount: n) }
        commit(n)
    }

    /// An integer as its decimal text (`ll2string`).
    @inline(__always)
    func append(int v: Int64) {
        let dst = reserve(20)
        let count = DecimalText.write(v, to: dst)
        commit(count)
    }

    @inline(__always)
    func append(_ el: PackedElement) {
        if let p = el.ptr {
            append(UnsafeRawBufferPointer(start: p, count: el.len))
        } else {
            append(int: el.int)
        }
    }

    /// Records field `fieldIndex`'s expiry (nil: none), filling earlier fields with `noExpiry`.
    func setFieldExpiry(_ fieldIndex: Int, _ expireAtMs: Int64?) {
        guard let at = expireAtMs else {
            if hasFieldExpiries { fieldExpiries.append(Self.noExpiry) }
            return
        }
        if !hasFieldExpiries {
            hasFieldExpiries = true
            fieldExpiries.reserveCapacity(fieldIndex + 1)
            for _ in 0..<fieldIndex { fieldExpiries.append(Self.noExpiry) }
        }
        fieldExpiries.append(at)
    }

    // MARK: - Materializing (the model path)

    /// Elements `0..<count` as arrays.
    func items() -> [Bytes] {
        var out: [Bytes] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(bytes(i)) }
        return out
    }

    func sortedSetMembers() -> [SortedSetMember] {
        var out: [SortedSetMember] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(SortedSetMember(member: bytes(i), score: scores[i])) }
        return out
    }

    func hashFields() -> [HashField] {
        var out: [HashField] = []
        let n = count / 2
        out.reserveCapacity(n)
        for f in 0..<n {
            let at = hasFieldExpiries ? fieldExpiries[f] : Self.noExpiry
            out.append(HashField(field: bytes(2 * f), value: bytes(2 * f + 1), expireAtMs: at == Self.noExpiry ? nil : at))
        }
        return out
    }

    /// The lent stream's entries as the model holds them (`.stream`).
    public func streamEntryValues() -> [StreamEntry] {
        var out: [StreamEntry] = []
        out.reserveCapacity(streamEntries.count)
        var first = 0
        for span in streamEntries {
            var fields: [(Bytes, Bytes)] = []
            fields.reserveCapacity((span.elementsEnd &- first) / 2)
            for i in stride(from: first, to: span.elementsEnd, by: 2) { fields.append((bytes(i), bytes(i &+ 1))) }
            out.append(StreamEntry(id: span.id, fields: fields))
            first = span.elementsEnd
        }
        return out
    }

    /// `entry` with what was lent put back, as `next()` returns it: its key (with `lendsKeys`) and its value
    /// (for `.stream`, the entry's own with the lent entries). An entry of `.none` comes back as it is.
    public func materialized(_ entry: RDBEntry) -> RDBEntry {
        guard kind != .none else { return entry }
        var full = entry
        full.key = key(of: entry)
        if kind == .stream {
            if case .stream(var s) = entry.value {
                s.entries = streamEntryValues()
                full.value = .stream(s)
            }
        } else if let v = materialize() {
            full.value = v
        }
        return full
    }

    /// The lent value as an `RDBValue` (nil for `.none`, and for `.stream`, whose value is the entry's own
    /// with `streamEntryValues()` as its entries).
    public func materialize() -> RDBValue? {
        switch kind {
        case .none, .stream: return nil
        case .string: return .string(count > 0 ? bytes(0) : [])
        case .list: return .list(items())
        case .set: return .set(items())
        case .sortedSet: return .sortedSet(sortedSetMembers())
        case .hash: return .hash(hashFields())
        }
    }
}
