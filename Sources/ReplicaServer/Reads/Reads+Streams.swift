import Keyspace
import RDB

/// Stream reads, as Redis 7.0's t_stream.c answers them: XRANGE, XREVRANGE, XLEN, XREAD (BLOCK included:
/// see `XReadWait`),
/// XINFO STREAM/GROUPS/CONSUMERS, XPENDING. `radix-tree-keys`/`-nodes` describe Redis's memory layout, which
/// we do not have: they are estimated (one node per `stream-node-max-entries`, 100, entries).
extension ReadContext {
    func streamCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "xrange": return try xrange(a, reverse: false)
        case "xrevrange": return try xrange(a, reverse: true)
        case "xlen": return .integer(Int64(try stream(a[1])?.length ?? 0))
        case "xread": return try xread(a)
        case "xinfo": return try xinfo(a)
        case "xpending": return try xpending(a)
        default: throw ReadError(Errors.unknownCommand(a))
        }
    }

    static let invalidID = ReadError.err("Invalid stream ID specified as stream command argument")

    /// t_stream.c `streamGenericParseIDOrReply`: `-`, `+`, `ms` or `ms-seq` (unsigned decimals).
    static func parseID(_ a: Bytes, missingSeq: UInt64, strict: Bool) throws -> StreamID {
        guard a.count <= 127 else { throw invalidID }
        if a == [UInt8(ascii: "-")] || a == [UInt8(ascii: "+")] {
            if strict { throw invalidID }
            return a[0] == UInt8(ascii: "-") ? .zero : StreamID(ms: .max, seq: .max)
        }
        func ull(_ s: ArraySlice<UInt8>) -> UInt64? {
            // string2ull: digits only, no sign (a '-' prefix fails as a signed parse would for ms).
            guard !s.isEmpty, s.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            if s.count > 1 && s.first == 48 { return nil }
            return UInt64(String(decoding: s, as: UTF8.self))
        }
        if let dash = a.firstIndex(of: UInt8(ascii: "-")) {
            guard let ms = ull(a[..<dash]), let seq = ull(a[(dash + 1)...]) else { throw invalidID }
            return StreamID(ms: ms, seq: seq)
        }
        guard let ms = ull(a[...]) else { throw invalidID }
        return StreamID(ms: ms, seq: missingSeq)
    }

    /// `streamParseIntervalIDOrReply` plus the exclusive-bound adjustment of XRANGE/XPENDING.
    static func intervalID(_ a: Bytes, start: Bool) throws -> StreamID {
        if a.count > 1 && a[0] == UInt8(ascii: "(") {
            var id = try parseID(Array(a.dropFirst()), missingSeq: start ? 0 : .max, strict: true)
            if start {
                if id.seq == .max {
                    guard id.ms != .max else { throw ReadError.err("invalid start ID for the interval") }
                    id = StreamID(ms: id.ms + 1, seq: 0)
                } else {
                    id.seq += 1
                }
            } else {
                if id.seq == 0 {
                    guard id.ms != 0 else { throw ReadError.err("invalid end ID for the interval") }
                    id = StreamID(ms: id.ms - 1, seq: .max)
                } else {
                    id.seq -= 1
                }
            }
            return id
        }
        return try parseID(a, missingSeq: start ? 0 : .max, strict: false)
    }

    func entryReply(_ e: StreamEntry) -> Reply {
        var fields: [Reply] = []
        fields.reserveCapacity(e.fields.count * 2)
        for (f, v) in e.fields {
            fields.append(.bulk(f))
            fields.append(.bulk(v))
        }
        return .array([.bulk(e.id.description), .array(fields)])
    }

    private func xrange(_ a: [Bytes], reverse: Bool) throws -> Reply {
        let start = try Self.intervalID(reverse ? a[3] : a[2], start: true)
        let end = try Self.intervalID(reverse ? a[2] : a[3], start: false)
        var count: Int64 = -1
        var j = 4
        while j < a.count {
            if Arg.equals(a[j], "count") && a.count - j - 1 >= 1 {
                count = max(0, try Arg.integer(a[j + 1]))
                j += 2
            } else {
                throw ReadErrors.syntax
            }
        }
        guard let s = try stream(a[1]) else { return .array([]) }
        if count == 0 { return .nullArray }
        var picked = s.entries.filter { $0.id >= start && $0.id <= end }
        if reverse { picked.reverse() }
        if count > 0 { picked = Array(picked.prefix(Int(min(count, Int64(Int.max))))) }
        return .array(picked.map(entryReply))
    }

    /// t_stream.c `xreadCommand`. With BLOCK and nothing to serve at once it throws `XReadWait`: the
    /// connection waits for the applier to add entries (Redis's `blockForKeys`), or answers a null array
    /// when it cannot block.
    private func xread(_ a: [Bytes]) throws -> Reply {
        var count: Int64 = 0
        var blockMs: Int64?
        var streamsAt = -1
        var i = 1
        while i < a.count {
            let more = a.count - i - 1
            if Arg.equals(a[i], "block") && more > 0 {
                // timeout.c getTimeoutFromObjectOrReply, in milliseconds.
                guard let ms = Arg.int64(a[i + 1]) else { throw ReadError.err("timeout is not an integer or out of range") }
                guard ms >= 0 else { throw ReadError.err("timeout is negative") }
                blockMs = ms
                i += 2
            } else if Arg.equals(a[i], "count") && more > 0 {
                count = max(0, try Arg.integer(a[i + 1]))
                i += 2
            } else if Arg.equals(a[i], "streams") && more > 0 {
                streamsAt = i + 1
                break
            } else if Arg.equals(a[i], "group") && more >= 2 {
                throw ReadError.err("The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            } else if Arg.equals(a[i], "noack") {
                throw ReadError.err("The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            } else {
                throw ReadErrors.syntax
            }
        }
        guard streamsAt > 0 else { throw ReadErrors.syntax }
        let n = a.count - streamsAt
        guard n % 2 == 0 else {
            throw ReadError.err("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
        }
        let keys = Array(a[streamsAt..<(streamsAt + n / 2)])
        var after: [StreamID] = []
        for (k, idArg) in zip(keys, a[(streamsAt + n / 2)...]) {
            let s = try stream(k)
            if idArg == [UInt8(ascii: "$")] {
                after.append(s?.lastID ?? .zero)
            } else if idArg == [UInt8(ascii: ">")] {
                throw ReadError.err("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
            } else {
                after.append(try Self.parseID(idArg, missingSeq: 0, strict: true))
            }
        }
        var results: [(Reply, Reply)] = []
        for (k, gt) in zip(keys, after) {
            guard let s = try stream(k), s.length > 0, s.lastID > gt else { continue }
            var picked = s.entries.filter { $0.id > gt }
            if count > 0 { picked = Array(picked.prefix(Int(min(count, Int64(Int.max))))) }
            if picked.isEmpty { continue }
            results.append((.bulk(k), .array(picked.map(entryReply))))
        }
        if results.isEmpty {
            if let ms = blockMs {
                // A blocked XREAD without COUNT is served at most XREAD_BLOCKED_DEFAULT_COUNT (1000) entries.
                var deadline: Int64?
                if ms > 0 {
                    let (d, overflow) = nowMs.addingReportingOverflow(ms)
                    // Redis 7.2+'s text; 7.0 lets the sum overflow.
                    guard !overflow else { throw ReadError.err("timeout is out of range") }
                    deadline = d
                }
                throw XReadWait(keys: keys, after: after, count: count > 0 ? count : 1000, deadlineMs: deadline)
            }
            return .nullArray
        }
        if resp3 { return .map(results) }
        return .array(results.map { .array([$0.0, $0.1]) })
    }

    /// The reply for a client blocked in XREAD once one of its streams has entries past its ID, as Redis 7.0's
    /// `serveClientsBlockedOnStreamKey` sends it: that one stream (the first of the command's keys that has
    /// new entries), wrapped in a one-element array (a one-entry map in RESP3). nil while none has; a key
    /// that is missing, expired or not a stream is skipped (the client stays blocked, as in Redis).
    func serve(_ wait: XReadWait) -> Reply? {
        for (k, gt) in zip(wait.keys, wait.after) {
            guard let e = entry(k), case .stream(let s) = e.value, s.length > 0, s.lastID > gt else { continue }
            let picked = s.entries.lazy.filter { $0.id > gt }.prefix(Int(min(wait.count, Int64(Int.max))))
            let entries = Reply.array(picked.map(entryReply))
            if picked.isEmpty { continue }
            return resp3 ? .map([(.bulk(k), entries)]) : .array([.array([.bulk(k), entries])])
        }
        return nil
    }
    private func subcommandSyntax(_ a: [Bytes]) -> ReadError {
        // addReplySubcommandSyntaxError: "...for '%.128s'. Try %s HELP.", the subcommand's bytes as sent.
        ReadError(.errorBytes(Array("ERR unknown subcommand or wrong number of arguments for '".utf8)
            + Errors.cFormatted(a[1], max: 128) + Array("'. Try \(Arg.text(a[0]).uppercased()) HELP.".utf8)))
    }

    private func xinfo(_ a: [Bytes]) throws -> Reply {
        if Arg.equals(a[1], "help") {
            guard a.count == 2 else { throw subcommandSyntax(a) }
            return .array(["XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.",
                           "GROUPS <key>", "    Show the stream consumer groups.",
                           "STREAM <key> [FULL [COUNT <count>]", "    Show information about the stream.",
                           "HELP", "    Print this help."].map { .simple($0) })
        }
        guard a.count >= 3 else { throw subcommandSyntax(a) }
        guard let e = entry(a[2]) else { throw ReadError.err("no such key") }
        guard case .stream(let s) = e.value else { throw ReadErrors.wrongType }
        let groups = s.groups.sorted { $0.name.lexicographicallyPrecedes($1.name) }
        if Arg.equals(a[1], "consumers") && a.count == 4 {
            guard let g = groups.first(where: { $0.name == a[3] }) else {
                throw ReadError(.error("NOGROUP No such consumer group '\(Arg.text(a[3]))' for key name '\(Arg.text(a[2]))'"))
            }
            return .array(g.consumers.sorted { $0.name.lexicographicallyPrecedes($1.name) }.map { c in
                var fields: [(Reply, Reply)] = [(.bulk("name"), .bulk(c.name)), (.bulk("pending"), .integer(Int64(c.pendingIDs.count))),
                                                (.bulk("idle"), .integer(max(0, nowMs - c.seenTimeMs)))]
                if rdbVersion >= 11 {
                    // Redis 7.2+ and Valkey: time since the last successful read, -1 for never.
                    let active = c.activeTimeMs ?? c.seenTimeMs
                    fields.append((.bulk("inactive"), .integer(active == -1 ? -1 : nowMs - active)))
                }
                return .map(fields)
            })
        }
        if Arg.equals(a[1], "groups") && a.count == 3 {
            return .array(groups.map { g in .map(groupInfo(s, g)) })
        }
        if Arg.equals(a[1], "stream") {
            return try streamInfo(s, groups, a)
        }
        throw subcommandSyntax(a)
    }

    private func entriesRead(_ g: StreamGroup) -> Int64? {
        guard let raw = g.entriesReadRaw, raw != UInt64.max else { return nil }
        return Int64(bitPattern: raw)
    }

    private func groupInfo(_ s: StreamValue, _ g: StreamGroup) -> [(Reply, Reply)] {
        [(.bulk("name"), .bulk(g.name)), (.bulk("consumers"), .integer(Int64(g.consumers.count))),
         (.bulk("pending"), .integer(Int64(g.pending.count))), (.bulk("last-delivered-id"), .bulk(g.lastDeliveredID.description)),
         (.bulk("entries-read"), entriesRead(g).map { .integer($0) } ?? .null), (.bulk("lag"), lag(s, g))]
    }

    /// t_stream.c `streamReplyWithCGLag` with `streamRangeHasTombstones` and
    /// `streamEstimateDistanceFromFirstEverEntry`.
    private func lag(_ s: StreamValue, _ g: StreamGroup) -> Reply {
        let added = Int64(bitPattern: s.entriesAdded ?? s.length)
        if added == 0 { return .integer(0) }
        let maxDeleted = s.maxDeletedEntryID ?? .zero
        let first = s.firstID ?? .zero
        let hasTombstones = s.length > 0 && maxDeleted != .zero && !(first > maxDeleted) && g.lastDeliveredID <= maxDeleted
        if let read = entriesRead(g), !hasTombstones { return .integer(added - read) }
        let id = g.lastDeliveredID
        if s.length == 0 && !(id > s.lastID) { return .integer(0) }
        if id == s.lastID { return .integer(0) }
        if id > s.lastID { return .null }
        if maxDeleted == .zero || maxDeleted < first {
            if id < first { return .integer(added - (added - Int64(s.length))) }
            if id == first { return .integer(added - (added - Int64(s.length) + 1)) }
        }
        return .null
    }

    private func streamInfo(_ s: StreamValue, _ groups: [StreamGroup], _ a: [Bytes]) throws -> Reply {
        let opts = Array(a.dropFirst(3))
        var full = false
        var count: Int64 = 10
        if !opts.isEmpty {
            guard opts.count == 1 || opts.count == 3, Arg.equals(opts[0], "full") else { throw subcommandSyntax(a) }
            full = true
            if opts.count == 3 {
                guard Arg.equals(opts[1], "count") else { throw subcommandSyntax(a) }
                count = try Arg.integer(opts[2])
                if count < 0 { count = 10 }
            }
        }
        let nodes = Int64((s.entries.count + 99) / 100)
        var out: [(Reply, Reply)] = [
            (.bulk("length"), .integer(Int64(s.length))),
            (.bulk("radix-tree-keys"), .integer(nodes)),
            (.bulk("radix-tree-nodes"), .integer(nodes == 0 ? 1 : nodes + 1)),
            (.bulk("last-generated-id"), .bulk(s.lastID.description)),
            (.bulk("max-deleted-entry-id"), .bulk((s.maxDeletedEntryID ?? .zero).description)),
            (.bulk("entries-added"), .integer(Int64(bitPattern: s.entriesAdded ?? s.length))),
            (.bulk("recorded-first-entry-id"), .bulk((s.firstID ?? .zero).description)),
        ]
        if (13..<RDBVersion.valkeyFirst).contains(rdbVersion) {
            // Redis 8.6+ (`xinfoReplyWithStreamInfo`): the idempotent-producer settings and counts. Ids at or
            // before now - duration are not counted: every Redis, master or replica, drops them in a cron
            // (`handleExpiredIdmpEntries`, each second, by its own clock; never propagated), with a producer
            // left without ids.
            let idmp = s.idmp ?? StreamIDMP.defaults
            let cutoff = nowMs &- Int64(clamping: idmp.duration) &* 1000
            let live: [Int64] = idmp.producers.map { p in p.entries.reduce(Int64(0)) { Int64(clamping: $1.id.ms) > cutoff ? $0 + 1 : $0 } }
            out += [(.bulk("idmp-duration"), .integer(Int64(clamping: idmp.duration))),
                    (.bulk("idmp-maxsize"), .integer(Int64(clamping: idmp.maxEntries))),
                    (.bulk("pids-tracked"), .integer(Int64(live.filter { $0 > 0 }.count))),
                    (.bulk("iids-tracked"), .integer(live.reduce(0, +))),
                    (.bulk("iids-added"), .integer(Int64(clamping: idmp.iidsAdded))),
                    (.bulk("iids-duplicates"), .integer(Int64(clamping: idmp.iidsDuplicates)))]
        }
        if !full {
            out.append((.bulk("groups"), .integer(Int64(groups.count))))
            out.append((.bulk("first-entry"), s.entries.first.map(entryReply) ?? .null))
            out.append((.bulk("last-entry"), s.entries.last.map(entryReply) ?? .null))
            return .map(out)
        }
        let shown = count == 0 ? s.entries.count : Int(min(count, Int64(s.entries.count)))
        out.append((.bulk("entries"), .array(s.entries.prefix(shown).map(entryReply))))
        out.append((.bulk("groups"), .array(groups.map { g in
            var owner: [StreamID: Bytes] = [:]
            for c in g.consumers { for id in c.pendingIDs { owner[id] = c.name } }
            let pel = limit(g.pending.sorted { $0.id < $1.id }, count)
            var fields = groupInfo(s, g).filter { k, _ in k != .bulk("consumers") }
            fields.append((.bulk("pel-count"), .integer(Int64(g.pending.count))))
            if (14..<RDBVersion.valkeyFirst).contains(rdbVersion) {
                fields.append((.bulk("nacked-count"), .integer(Int64(g.nackedIDs.count))))  // Redis 8.8+
            }
            fields.append((.bulk("pending"), .array(pel.map { p in
                .array([.bulk(p.id.description), .bulk(owner[p.id] ?? []), .integer(p.deliveryTimeMs), .integer(Int64(bitPattern: p.deliveryCount))])
            })))
            let byID = Dictionary(g.pending.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            fields.append((.bulk("consumers"), .array(g.consumers.sorted { $0.name.lexicographicallyPrecedes($1.name) }.map { c in
                .map([(.bulk("name"), .bulk(c.name)), (.bulk("seen-time"), .integer(c.seenTimeMs))]
                     + (rdbVersion >= 11 ? [(.bulk("active-time"), .integer(c.activeTimeMs ?? c.seenTimeMs))] : [])  // 7.2+, Valkey
                     + [(.bulk("pel-count"), .integer(Int64(c.pendingIDs.count))),
                      (.bulk("pending"), .array(limit(c.pendingIDs.sorted(), count).map { id in
                          .array([.bulk(id.description), .integer(byID[id]?.deliveryTimeMs ?? 0),
                                  .integer(Int64(bitPattern: byID[id]?.deliveryCount ?? 0))])
                      }))])
            })))
            return .map(fields)
        })))
        return .map(out)
    }

    private func limit<T>(_ items: [T], _ count: Int64) -> [T] {
        count == 0 ? items : Array(items.prefix(Int(min(count, Int64(Int.max)))))
    }

    private func xpending(_ a: [Bytes]) throws -> Reply {
        guard a.count == 3 || (a.count >= 6 && a.count <= 9) else { throw ReadErrors.syntax }
        var start = StreamID.zero, end = StreamID.zero
        var count: Int64 = 0
        var minIdle: Int64 = 0
        var consumer: Bytes?
        if a.count >= 6 {
            var at = 3
            if Arg.equals(a[3], "idle") {
                minIdle = try Arg.integer(a[4])
                guard a.count >= 8 else { throw ReadErrors.syntax }
                at += 2
            }
            count = max(0, try Arg.integer(a[at + 2]))
            start = try Self.intervalID(a[at], start: true)
            end = try Self.intervalID(a[at + 1], start: false)
            if at + 3 < a.count { consumer = a[at + 3] }
        }
        let s = try stream(a[1])
        guard let s, let g = s.groups.first(where: { $0.name == a[2] }) else {
            throw ReadError(.error("NOGROUP No such key '\(Arg.text(a[1]))' or consumer group '\(Arg.text(a[2]))'"))
        }
        let consumers = g.consumers.sorted { $0.name.lexicographicallyPrecedes($1.name) }
        let pel = g.pending.sorted { $0.id < $1.id }
        if a.count == 3 {
            guard let first = pel.first, let last = pel.last else {
                return .array([.integer(0), .null, .null, .nullArray])
            }
            return .array([.integer(Int64(pel.count)), .bulk(first.id.description), .bulk(last.id.description),
                           .array(consumers.filter { !$0.pendingIDs.isEmpty }.map {
                               .array([.bulk($0.name), .bulk(String($0.pendingIDs.count))])
                           })])
        }
        var owner: [StreamID: Bytes] = [:]
        for c in g.consumers { for id in c.pendingIDs { owner[id] = c.name } }
        var entries = pel
        if let consumer {
            guard let c = g.consumers.first(where: { $0.name == consumer }) else { return .array([]) }
            let mine = Set(c.pendingIDs)
            entries = pel.filter { mine.contains($0.id) }
        }
        var out: [Reply] = []
        for p in entries where p.id >= start && p.id <= end {
            if Int64(out.count) >= count { break }
            let idle = max(0, nowMs - p.deliveryTimeMs)
            if minIdle > 0 && idle < minIdle { continue }
            out.append(.array([.bulk(p.id.description), .bulk(owner[p.id] ?? []), .integer(idle),
                               .integer(Int64(bitPattern: p.deliveryCount))]))
        }
        return .array(out)
    }
}

/// An XREAD BLOCK with nothing to serve yet: its keys, the IDs the entries must follow (`$` already read as
/// each stream's last ID), how many entries to send, and when to give up (nil: BLOCK 0, never).
struct XReadWait: Error, Equatable {
    var keys: [Bytes]
    var after: [StreamID]
    var count: Int64
    var deadlineMs: Int64?
}
