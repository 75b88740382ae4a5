import HashTreeCollections
import RDB

/// One key's value. Strings are contiguous bytes; lists one packed buffer; sets, hashes and sorted sets
/// packed while small (Redis's listpack thresholds) and hashed once large; streams and module values as
/// the RDB model holds them (module values stay opaque bytes).
public enum Value: Sendable, Equatable {
    case string(Bytes)
    case list(PackedBytes)
    case set(SetValue)
    case zset(ZSetValue)
    case hash(HashValue)
    indirect case stream(StreamValue)
    indirect case module(ModuleValue)
    /// Redis 8.10 arrays.
    indirect case array(ArrayData)

    /// The name `TYPE` reports.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .zset: return "zset"
        case .hash: return "hash"
        case .stream: return "stream"
        case .array: return "array"
        case .module(let m): return m.moduleName
        }
    }
}

/// A key's value with its metadata: absolute expiry, and the LRU idle time or LFU counter when the file
/// carried them (kept as loaded; a replica never ages them).
///
/// The metadata is packed into two words (every key pays for this struct inside its database's trie
/// nodes): the expiry, and one word of presence flags, the LFU counter and the LRU idle seconds. An
/// idle time is kept up to 2^53-1 seconds (larger ones are clamped: Redis itself keeps only a 24-bit
/// LRU clock, `objectSetLRUOrLFU`).
public struct KeyEntry: Sendable, Equatable {
    public var value: Value
    private var expireRaw: Int64 = 0
    /// bit 0: has an expiry, bit 1: has an LRU idle time, bit 2: has an LFU counter, bits 3-10: the
    /// LFU counter, bits 11-63: the idle seconds.
    private var meta: UInt64 = 0

    static let maxIdleSeconds: UInt64 = (1 << 53) - 1

    /// What `Keyspace.modify` puts in a slot while it holds the slot's entry (or before it knows whether
    /// one is added): LFU counter bits without the has-LFU bit, which no entry has (the setters clear them).
    static let placeholder: KeyEntry = {
        var e = KeyEntry(value: .string([]))
        e.meta = 0x7F8
        return e
    }()

    var isPlaceholder: Bool { meta & 0x7FC == 0x7F8 }

    public init(value: Value, expireAtMs: Int64? = nil, lruIdleSeconds: UInt64? = nil, lfuFreq: UInt8? = nil) {
        self.value = value
        self.expireAtMs = expireAtMs
        self.lruIdleSeconds = lruIdleSeconds
        self.lfuFreq = lfuFreq
    }

    public var expireAtMs: Int64? {
        get { meta & 1 != 0 ? expireRaw : nil }
        set {
            expireRaw = newValue ?? 0
            meta = newValue == nil ? meta & ~1 : meta | 1
        }
    }

    public var lruIdleSeconds: UInt64? {
        get { meta & 2 != 0 ? meta >> 11 : nil }
        set {
            meta &= UInt64(0x7FD)  // keep bits 0 and 2-10
            if let v = newValue { meta |= 2 | min(v, Self.maxIdleSeconds) << 11 }
        }
    }

    public var lfuFreq: UInt8? {
        get { meta & 4 != 0 ? UInt8(truncatingIfNeeded: meta >> 3) : nil }
        set {
            meta &= ~UInt64(0x7FC)  // clear bits 2-10
            if let v = newValue { meta |= 4 | UInt64(v) << 3 }
        }
    }
}

/// One database: a persistent hash trie, so copying it is O(1) and a copy shares all unchanged nodes.
public typealias Database = TreeDictionary<Bytes, KeyEntry>

/// The master's whole dataset: every database, the function libraries, and module AUX records.
///
/// A value type: `let snapshot = keyspace` is an O(1) copy-on-write snapshot (each database is a
/// `TreeDictionary`), which is how MULTI/EXEC rolls back and how a snapshot writer can work while the
/// stream keeps being applied. Like a Redis replica it never expires keys itself: expiries are data,
/// removed only by the master's DEL/UNLINK.
public struct Keyspace: Sendable, Equatable {
    /// Databases by number; a database without keys is absent.
    public private(set) var databases: [Int: Database] = [:]
    /// Function libraries (`FUNCTION LOAD` code, `#!engine name=lib …`), in load order.
    public var functions: [Bytes] = []
    /// MODULE_AUX records, kept opaque, in file order.
    public var moduleAux: [ModuleAux] = []
    /// Whether a small sorted set keeps a -0 score as -0, as masters before Redis 7.0 do: their ziplist
    /// stores the score as `d2string`'s text "-0", which `string2ll` refuses as an integer. Redis 7.0+
    /// listpacks (and Valkey) store it as the integer 0. Set from the loaded file's version (RDB 9 or
    /// older with the REDIS magic: a 6.2 or older master); snapshots of the dataset keep that version.
    public var zsetKeepsNegativeZero = false
    /// The version of the server whose RDB this dataset was loaded from (`SourceVersion`), if the file named
    /// it; `write(to:aux:)` writes it back into a file of the same RDB version. Like `zsetKeepsNegativeZero`,
    /// a rule for later writes, not data.
    public var sourceVersion: SourceVersion?

    public init() {}

    /// Equal data: the same databases, functions and module AUX records (`zsetKeepsNegativeZero` is a rule
    /// for later writes, not data).
    public static func == (a: Keyspace, b: Keyspace) -> Bool {
        a.databases == b.databases && a.functions == b.functions && a.moduleAux == b.moduleAux
    }

    public var keyCount: Int { databases.values.reduce(0) { $0 + $1.count } }

    public func database(_ db: Int) -> Database { databases[db] ?? Database() }

    public subscript(db: Int, key: Bytes) -> KeyEntry? {
        get { databases[db]?[key] }
        set {
            if let newValue {
                databases[db, default: Database()][key] = newValue
            } else if databases[db] != nil {
                databases[db]![key] = nil
                if databases[db]!.isEmpty { databases[db] = nil }
            }
        }
    }

    /// Adds `key` unless it is there (then nothing changes): one trie walk, where a lookup and then an
    /// insert take two (loading a file).
    mutating func insertNew(db: Int, key: Bytes, _ entry: KeyEntry) -> Bool {
        var d = databases.removeValue(forKey: db) ?? Database()
        defer { databases[db] = d }
        guard let old = d.updateValue(entry, forKey: key) else { return true }
        d[key] = old
        return false
    }

    /// Runs `body` on database `db` taken out of the keyspace (so it is uniquely referenced and each
    /// change is one trie walk, with no lookup of the database per key), then puts it back (dropped when
    /// empty). For runs of changes to one database (loading a file).
    mutating func withDatabase<T>(_ db: Int, _ body: (inout Database) throws -> T) rethrows -> T {
        var d = databases.removeValue(forKey: db) ?? Database()
        defer { databases[db] = d.isEmpty ? nil : d }
        return try body(&d)
    }

    /// Replaces a whole database (nil or empty: none).
    public mutating func setDatabase(_ db: Int, _ keys: Database?) {
        databases[db] = (keys?.isEmpty ?? true) ? nil : keys
    }

    public mutating func removeAllDatabases() { databases = [:] }

    /// Applies `body` to the entry of `key` in place: one hash of the key and one walk of the trie when
    /// the key is there or `body` adds it (the entry is moved out, so its value is uniquely referenced
    /// inside `body`, and moved back); a second walk removes it when `body` leaves nil (or a missing key
    /// stays missing). A database left empty is dropped. The way for a command to look at a key and
    /// then change it.
    ///
    /// Goes through `TreeDictionary.updateValue(forKey:default:with:)`, never the optional in-place
    /// accessor (`subscript(key)._modify`): swift-collections 1.6's keeps each node of the path as it was
    /// before copy-on-write replaced it, and its debug assertion reads that old node, which a reader on
    /// another thread may free at that moment by dropping its copy (`ConcurrentCopyTests`).
    @discardableResult
    mutating func modify<T>(_ db: Int, _ key: Bytes, _ body: (inout KeyEntry?) throws -> T) rethrows -> T {
        var remove = false
        defer {
            if remove {
                databases[db]?.removeValue(forKey: key)
                if databases[db]?.isEmpty == true { databases[db] = nil }
            }
        }
        return try databases[db, default: Database()].updateValue(forKey: key, default: .placeholder) { slot in
            var entry: KeyEntry? = .placeholder
            swap(&entry!, &slot)
            if entry!.isPlaceholder { entry = nil }
            defer {
                if entry != nil { swap(&entry!, &slot) } else { remove = true }
            }
            return try body(&entry)
        }
    }

    /// Removes `key`; whether it was there (one walk).
    mutating func remove(_ db: Int, _ key: Bytes) -> Bool {
        guard databases[db] != nil else { return false }
        let old = databases[db]!.removeValue(forKey: key)
        if databases[db]!.isEmpty { databases[db] = nil }
        return old != nil
    }

    // MARK: Functions

    /// The library name in a `#!engine name=lib …` shebang (`functions.c` `functionExtractLibMetaData`).
    public static func libraryName(_ code: Bytes) -> Bytes? {
        guard code.starts(with: Array("#!".utf8)) else { return nil }
        let line = code.prefix { $0 != UInt8(ascii: "\n") }
        for part in line.split(separator: UInt8(ascii: " ")) where part.starts(with: Array("name=".utf8)) {
            let name = Bytes(part.dropFirst(5))
            return name.isEmpty ? nil : name
        }
        return nil
    }

    public func functionIndex(named name: Bytes) -> Int? {
        functions.firstIndex { Keyspace.libraryName($0) == name }
    }

    /// A rough count of the bytes the values and keys hold (for diagnostics, not for benchmarks).
    public var approximateBytes: Int {
        var n = 0
        for (_, d) in databases {
            for (k, e) in d {
                n += 64 + k.count
                switch e.value {
                case .string(let s): n += s.count
                case .list(let p): n += p.byteCount
                case .set(let s): n += s.approximateBytes
                case .zset(let z): n += z.approximateBytes
                case .hash(let h): n += h.approximateBytes
                case .stream(let s): n += s.entries.reduce(0) { $0 + 32 + $1.fields.reduce(0) { $0 + $1.0.count + $1.1.count + 64 } }
                case .module(let m): n += m.raw.count
                case .array(let a): n += a.elements.reduce(0) { $0 + 48 + $1.value.count }
                }
            }
        }
        return n
    }
}
