import RDB

/// How `RESPExporter` writes a file's dataset as Redis commands.
public struct RESPExportOptions: Sendable {
    public enum Style: String, Sendable, CaseIterable {
        /// Plain commands (SET, RPUSH, SADD, ZADD, HSET, XADD, ...), as an AOF rewrite writes them.
        case commands = "resp"
        /// One `RESTORE key ttl payload [ABSTTL]` per key, with DUMP payloads.
        case restore = "restore"
    }

    public var style: Style
    /// The RDB version the target server reads (Redis 6.2: 9, 7.0: 10, 7.2: 11, 7.4+/8.x: 12); nil: the
    /// input's (capped at 12). Decides the DUMP payload encoding and which command options exist
    /// (ENTRIESREAD / ENTRIESADDED / MAXDELETEDID need 10, HPEXPIREAT needs 12, functions need 10).
    public var targetVersion: Int?
    /// `RESTORE ... REPLACE`: overwrite keys the target already has (default: such a key is an error reply).
    public var replace: Bool
    /// Elements per command for big collections (`AOF_REWRITE_ITEMS_PER_CMD`).
    public var itemsPerCommand: Int

    public init(style: Style = .commands, targetVersion: Int? = nil, replace: Bool = false,
                itemsPerCommand: Int = 64) {
        self.style = style
        self.targetVersion = targetVersion
        self.replace = replace
        self.itemsPerCommand = max(1, itemsPerCommand)
    }
}

/// Turns an RDB record stream into commands that rebuild its dataset on an empty server (Redis
/// `src/aof.c`, `rewriteAppendOnlyFileRio`): `FUNCTION LOAD` per library, `SELECT` per database, then per key
/// the commands that build its value, in chunks of `itemsPerCommand` elements, then `PEXPIREAT` for its TTL.
///
/// Streams follow `rewriteStreamObject`: XADD per entry (or `XADD key MAXLEN 0 0-1 x y` for an empty stream),
/// `XSETID` (with ENTRIESADDED and MAXDELETEDID from RDB 10), per group `XGROUP CREATE` (with ENTRIESREAD from
/// RDB 10), per consumer `XGROUP CREATECONSUMER` when it owns nothing, else one
/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n JUSTID FORCE` per pending entry. Hash field TTLs follow
/// `rewriteHashObject`: `HPEXPIREAT key ms FIELDS 1 field`. Module values, which only their module can rebuild,
/// are written as `RESTORE` with a DUMP payload in both styles. Module AUX data has no command and is counted
/// in `skippedModuleAux`.
public final class RESPExporter {
    public let output: RESPOutput
    public let options: RESPExportOptions
    public private(set) var keysWritten = 0
    public private(set) var keysRead = 0
    public private(set) var functionsWritten = 0
    public private(set) var skippedModuleAux = 0
    @exclusivity(unchecked) public private(set) var commandsWritten: Int64 = 0
    private var version: Int
    private var selectedDB: Int?
    /// Writes the `RESTORE` payloads, reusing its buffers from key to key.
    private let payloads = DumpPayload.Encoder()

    public init(output: RESPOutput, options: RESPExportOptions) {
        self.output = output
        self.options = options
        version = options.targetVersion ?? RDBWriterOptions.newestVersion
    }

    /// The RDB version commands and payloads are written for (fixed once the header is seen).
    public var targetVersion: Int { version }

    /// Feeds one record, in file order. `lent`: the arena of `RDBReader.next(lendingInto:)` when the record
    /// came from it (an entry's value is then read from the arena unless `lent.kind` is `.none`).
    public func consume(_ record: RDBRecord, lent: RDBValueArena? = nil) throws {
        switch record {
        case .header(let h):
            if options.targetVersion == nil {
                // Payloads are written for RDB 7 at least (the oldest the writer knows; every server since 3.2 reads it).
                version = max(RDBWriterOptions.oldestVersion, RDBWriterOptions.defaultVersion(forInput: h.version, magic: h.magic))
            }
        case .function(let code):
            guard version >= 10 else {
                throw RDBWriteError(.notRepresentable, "functions need Redis 7.0 (RDB 10); target is RDB \(version)")
            }
            output.command(3)
            output.bulk("FUNCTION" as StaticString)
            output.bulk("LOAD" as StaticString)
            output.bulk(code)
            commandsWritten += 1
            functionsWritten += 1
        case .moduleAux:
            skippedModuleAux += 1
        case .entry(let e):
            keysRead += 1
            do {
                if let lent, lent.kind != .none && lent.kind != .stream {
                    if options.style == .restore, let value = lent.materialize() {
                        var full = e
                        full.key = lent.key(of: e)
                        full.value = value
                        try writeEntry(full)
                    } else if lent.lendsKeys {
                        try writeLentEntry(e, key: lent.lentKey, lent)
                    } else {
                        try e.key.withUnsafeBytes { try writeLentEntry(e, key: $0, lent) }
                    }
                } else {
                    try writeEntry(lent?.materialized(e) ?? e)
                }
            } catch var err as RDBWriteError {
                if err.key == nil { err.key = lent?.key(of: e) ?? e.key }
                if err.db == nil { err.db = e.db }  // a DUMP payload's writer knows the key, not the db
                throw err
            }
            keysWritten += 1
        default:
            break
        }
        try output.flushIfNeeded()
    }

    /// Makes this exporter write one run of keys for an output another exporter writes the rest of (`rdb dump
    /// --threads`), after keys of `previousKeysDB` (nil: no key was written before). Feed it the file's header
    /// first, then the run's entries.
    public func continueKeys(previousKeysDB: Int?) {
        selectedDB = previousKeysDB
    }

    /// Accounts for `count` keys of `db` that another exporter wrote (`continueKeys`) at this point.
    public func keysWrittenElsewhere(db: Int, count: Int) {
        guard count > 0 else { return }
        selectedDB = db
        keysRead += count
        keysWritten += count
    }

    /// Flushes what is left.
    public func finish() throws {
        try output.flush()
    }

    private func select(_ db: Int) {
        if selectedDB != db {
            output.command(2)
            output.bulk("SELECT" as StaticString)
            output.bulk(int: Int64(db))
            commandsWritten += 1
            selectedDB = db
        }
    }

    /// `writeEntry` for a value lent in `a` (string, list, set, sorted set, hash): the same commands, with
    /// arguments copied straight from the arena.
    private func writeLentEntry(_ e: RDBEntry, key: UnsafeRawBufferPointer, _ a: RDBValueArena) throws {
        select(e.db)
        switch a.kind {
        case .none, .stream:
            return
        case .string:
            output.command(3)
            output.bulk("SET" as StaticString)
            output.bulk(key)
            output.bulk(a[0])
            commandsWritten += 1
        case .list:
            chunked(a.count, "RPUSH", key: key, perItem: 1) { output.bulk(a[$0]) }
        case .set:
            chunked(a.count, "SADD", key: key, perItem: 1) { output.bulk(a[$0]) }
        case .sortedSet:
            let scores = a.scores
            chunked(a.count, "ZADD", key: key, perItem: 2) {
                output.bulk(score: scores[$0])
                output.bulk(a[$0])
            }
        case .hash:
            chunked(a.count / 2, "HSET", key: key, perItem: 2) {
                output.bulk(a[2 &* $0])
                output.bulk(a[2 &* $0 &+ 1])
            }
            if a.hasFieldExpiries {
                guard version >= 12 else {
                    throw RDBWriteError(.notRepresentable, "hash field TTLs need Redis 7.4 (RDB 12); target is RDB \(version)")
                }
                for f in 0..<(a.count / 2) {
                    let at = a.fieldExpiries[f]
                    if at == RDBValueArena.noExpiry { continue }
                    output.command(6)
                    output.bulk("HPEXPIREAT" as StaticString)
                    output.bulk(key)
                    output.bulk(int: at)
                    output.bulk("FIELDS" as StaticString)
                    output.bulk("1" as StaticString)
                    output.bulk(a[2 &* f])
                    commandsWritten += 1
                }
            }
        }
        writeExpiry(e, key: key)
    }

    private func writeExpiry(_ e: RDBEntry) {
        if e.expireAtMs != nil { e.key.withUnsafeBytes { writeExpiry(e, key: $0) } }
    }

    private func writeExpiry(_ e: RDBEntry, key: UnsafeRawBufferPointer) {
        if let at = e.expireAtMs {
            output.command(3)
            output.bulk("PEXPIREAT" as StaticString)
            output.bulk(key)
            output.bulk(int: at)
            commandsWritten += 1
        }
    }

    private func writeEntry(_ e: RDBEntry) throws {
        select(e.db)
        if options.style == .restore {
            try writeRestore(e)
            return
        }
        switch e.value {
        case .string(let v):
            output.command(3)
            output.bulk("SET" as StaticString)
            output.bulk(e.key)
            output.bulk(v)
            commandsWritten += 1
        case .list(let items):
            chunked(items.count, "RPUSH", key: e.key, perItem: 1) { output.bulk(items[$0]) }
        case .set(let members):
            chunked(members.count, "SADD", key: e.key, perItem: 1) { output.bulk(members[$0]) }
        case .sortedSet(let members):
            chunked(members.count, "ZADD", key: e.key, perItem: 2) {
                output.bulk(score: members[$0].score)
                output.bulk(members[$0].member)
            }
        case .hash(let fields):
            try writeHash(e.key, fields)
        case .stream(let s):
            try writeStream(e.key, version >= 10 ? s.withV2Metadata() : s)
        case .module:
            try writeRestore(e)
            return  // RESTORE carries the TTL
        case .array(let a):
            try writeArray(e.key, a)
        }
        writeExpiry(e)
    }

    /// A Redis 8.10 array: `ARMSET key index value ...` (64 pairs a command), then `ARSEEK key insert_idx+1`
    /// when the array has an insert cursor (ARSEEK n sets it to n-1; 2^64-1 is accepted there for the last).
    private func writeArray(_ key: Bytes, _ a: ArrayValue) throws {
        guard version >= 15 else {
            throw RDBWriteError(.notRepresentable, "arrays need Redis 8.10 (RDB 15); target is RDB \(version)")
        }
        chunked(a.elements.count, "ARMSET", key: key, perItem: 2) {
            output.bulk(uint: a.elements[$0].index)
            output.bulk(a.elements[$0].value)
        }
        if let i = a.insertIndex {
            output.command(3)
            output.bulk("ARSEEK" as StaticString)
            output.bulk(key)
            output.bulk(uint: i &+ 1)
            commandsWritten += 1
        }
    }

    /// `CMD key item...` in commands of at most `itemsPerCommand` items (`perItem` arguments each).
    @inline(__always)
    private func chunked(_ n: Int, _ name: StaticString, key: Bytes, perItem: Int, _ item: (Int) -> Void) {
        key.withUnsafeBytes { chunked(n, name, key: $0, perItem: perItem, item) }
    }

    @inline(__always)
    private func chunked(_ n: Int, _ name: StaticString, key: UnsafeRawBufferPointer, perItem: Int,
                         _ item: (Int) -> Void) {
        var i = 0
        let chunk = options.itemsPerCommand
        while i < n {
            let m = min(chunk, n - i)
            output.command(2 + m * perItem)
            output.bulk(name)
            output.bulk(key)
            for j in i..<(i + m) { item(j) }
            commandsWritten += 1
            i += m
        }
    }

    private func writeHash(_ key: Bytes, _ fields: [HashField]) throws {
        chunked(fields.count, "HSET", key: key, perItem: 2) {
            output.bulk(fields[$0].field)
            output.bulk(fields[$0].value)
        }
        guard fields.contains(where: { $0.expireAtMs != nil }) else { return }
        guard version >= 12 else {
            throw RDBWriteError(.notRepresentable, "hash field TTLs need Redis 7.4 (RDB 12); target is RDB \(version)")
        }
        for f in fields {
            guard let at = f.expireAtMs else { continue }
            output.command(6)
            output.bulk("HPEXPIREAT" as StaticString)
            output.bulk(key)
            output.bulk(int: at)
            output.bulk("FIELDS" as StaticString)
            output.bulk("1" as StaticString)
            output.bulk(f.field)
            commandsWritten += 1
        }
    }

    private func writeStream(_ key: Bytes, _ s: StreamValue) throws {
        guard version >= 9 else {
            throw RDBWriteError(.notRepresentable, "streams need Redis 5.0 (RDB 9); target is RDB \(version)")
        }
        if version < 14, s.groups.contains(where: { !$0.nackedIDs.isEmpty }) {
            throw RDBWriteError(.notRepresentable,
                                "stream entries released by XNACK need Redis 8.8 (RDB 14); target is RDB \(version)")
        }
        if s.entries.isEmpty {
            output.command(7)
            output.bulk("XADD" as StaticString)
            output.bulk(key)
            output.bulk("MAXLEN" as StaticString)
            output.bulk("0" as StaticString)
            output.bulk(id: StreamID(ms: 0, seq: 1))
            output.bulk("x" as StaticString)
            output.bulk("y" as StaticString)
            commandsWritten += 1
        }
        for entry in s.entries {
            output.command(3 + 2 * entry.fields.count)
            output.bulk("XADD" as StaticString)
            output.bulk(key)
            output.bulk(id: entry.id)
            for (f, v) in entry.fields {
                output.bulk(f)
                output.bulk(v)
            }
            commandsWritten += 1
            try output.flushIfNeeded()
        }
        if version >= 10, let added = s.entriesAdded {
            output.command(7)
            output.bulk("XSETID" as StaticString)
            output.bulk(key)
            output.bulk(id: s.lastID)
            output.bulk("ENTRIESADDED" as StaticString)
            output.bulk(uint: added)
            output.bulk("MAXDELETEDID" as StaticString)
            output.bulk(id: s.maxDeletedEntryID ?? .zero)
        } else {
            output.command(3)
            output.bulk("XSETID" as StaticString)
            output.bulk(key)
            output.bulk(id: s.lastID)
        }
        commandsWritten += 1
        for g in s.groups {
            let entriesRead = version >= 10 ? g.entriesReadRaw : nil
            output.command(entriesRead == nil ? 5 : 7)
            output.bulk("XGROUP" as StaticString)
            output.bulk("CREATE" as StaticString)
            output.bulk(key)
            output.bulk(g.name)
            output.bulk(id: g.lastDeliveredID)
            if let raw = entriesRead {
                output.bulk("ENTRIESREAD" as StaticString)
                output.bulk(int: Int64(bitPattern: raw))  // UInt64.max is -1, "unknown"
            }
            commandsWritten += 1
            var nacks: [StreamID: StreamPendingEntry] = [:]
            nacks.reserveCapacity(g.pending.count)
            for p in g.pending { nacks[p.id] = p }
            for c in g.consumers {
                if c.pendingIDs.isEmpty {
                    output.command(5)
                    output.bulk("XGROUP" as StaticString)
                    output.bulk("CREATECONSUMER" as StaticString)
                    output.bulk(key)
                    output.bulk(g.name)
                    output.bulk(c.name)
                    commandsWritten += 1
                    continue
                }
                for id in c.pendingIDs {
                    let nack = nacks[id]
                    output.command(12)
                    output.bulk("XCLAIM" as StaticString)
                    output.bulk(key)
                    output.bulk(g.name)
                    output.bulk(c.name)
                    output.bulk("0" as StaticString)
                    output.bulk(id: id)
                    output.bulk("TIME" as StaticString)
                    output.bulk(int: nack?.deliveryTimeMs ?? 0)
                    output.bulk("RETRYCOUNT" as StaticString)
                    output.bulk(uint: nack?.deliveryCount ?? 0)
                    output.bulk("JUSTID" as StaticString)
                    output.bulk("FORCE" as StaticString)
                    commandsWritten += 1
                }
                try output.flushIfNeeded()
            }
            // The NACK zone in its order: XNACK ... FORCE makes each an unowned PEL entry at the zone's end,
            // with delivery time 0 and RETRYCOUNT's delivery count (t_stream.c `xnackCommand`).
            for id in g.nackedIDs {
                output.command(10)
                output.bulk("XNACK" as StaticString)
                output.bulk(key)
                output.bulk(g.name)
                output.bulk("FAIL" as StaticString)
                output.bulk("IDS" as StaticString)
                output.bulk("1" as StaticString)
                output.bulk(id: id)
                output.bulk("RETRYCOUNT" as StaticString)
                output.bulk(uint: nacks[id]?.deliveryCount ?? 0)
                output.bulk("FORCE" as StaticString)
                commandsWritten += 1
            }
            try output.flushIfNeeded()
        }
        if version >= 13, let idmp = s.idmp { try writeIDMP(key, idmp, entries: s.entries) }
    }

    /// Redis 8.6's idempotent-producer state: XCFGSET when the stream's settings are not Redis's defaults
    /// (before the ids: a changed setting clears them), then XIDMPRECORD per recorded id, each producer's oldest
    /// first. An id whose entry is gone from the stream is left out (XIDMPRECORD refuses it); the added and
    /// duplicate counters are not commands' to set.
    private func writeIDMP(_ key: Bytes, _ idmp: StreamIDMP, entries: [StreamEntry]) throws {
        if idmp.duration != StreamIDMP.defaults.duration || idmp.maxEntries != StreamIDMP.defaults.maxEntries {
            output.command(6)
            output.bulk("XCFGSET" as StaticString)
            output.bulk(key)
            output.bulk("IDMP-DURATION" as StaticString)
            output.bulk(uint: idmp.duration)
            output.bulk("IDMP-MAXSIZE" as StaticString)
            output.bulk(uint: idmp.maxEntries)
            commandsWritten += 1
        }
        for p in idmp.producers {
            for e in p.entries where Self.contains(entries, e.id) {
                output.command(5)
                output.bulk("XIDMPRECORD" as StaticString)
                output.bulk(key)
                output.bulk(p.name)
                output.bulk(e.iid)
                output.bulk(id: e.id)
                commandsWritten += 1
            }
            try output.flushIfNeeded()
        }
    }

    static func contains(_ entries: [StreamEntry], _ id: StreamID) -> Bool {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < entries.count && entries[lo].id == id
    }

    /// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s | FREQ f]` (Redis `restoreCommand`).
    private func writeRestore(_ e: RDBEntry) throws {
        var value = e.value
        if version >= 10, case .stream(let s) = value { value = .stream(s.withV2Metadata()) }
        // The resp style's words, not the writer's (whose hint, --drop-field-ttl, is an option of convert only).
        if version < 12, case .hash(let fields) = value, fields.contains(where: { $0.expireAtMs != nil }) {
            throw RDBWriteError(.notRepresentable, "hash field TTLs need Redis 7.4 (RDB 12); target is RDB \(version)")
        }
        let payload = try payloads.encode(value, key: e.key, rdbVersion: version)
        var n = 4
        if options.replace { n += 1 }
        if e.expireAtMs != nil { n += 1 }
        if e.lruIdleSeconds != nil { n += 2 } else if e.lfuFreq != nil { n += 2 }
        output.command(n)
        output.bulk("RESTORE" as StaticString)
        output.bulk(e.key)
        // An expiry at or before the epoch is already past: 1 ms keeps it past (RESTORE refuses TTLs < 0).
        output.bulk(int: e.expireAtMs.map { max(1, $0) } ?? 0)
        output.bulk(payload)
        if options.replace { output.bulk("REPLACE" as StaticString) }
        if e.expireAtMs != nil { output.bulk("ABSTTL" as StaticString) }
        if let idle = e.lruIdleSeconds {
            output.bulk("IDLETIME" as StaticString)
            output.bulk(uint: idle)
        } else if let freq = e.lfuFreq {
            output.bulk("FREQ" as StaticString)
            output.bulk(uint: UInt64(freq))
        }
        commandsWritten += 1
    }
}
