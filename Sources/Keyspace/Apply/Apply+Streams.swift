import RDB
import RedisValueOps

/// Streams (`t_stream.c`): XADD with explicit ids (`ms-seq`, `ms`, `ms-*`) and exact trimming, XTRIM,
/// XDEL, XSETID, XGROUP CREATE/SETID/DESTROY/CREATECONSUMER/DELCONSUMER, XCLAIM (the form XREADGROUP and
/// XAUTOCLAIM propagate), XACK; Redis 8.2's XDELEX, XACKDEL and trimming policies are in
/// Apply+StreamDeletion.swift. Consumer seen/active times take the apply-time clock, as on a replica.
extension ApplyContext {
    static func registerStreams(_ h: inout [String: Handler]) {
        h["XADD"] = { try $0.xadd($1) }
        h["XTRIM"] = { c, a in
            guard a.count >= 4 else { throw ApplyError.arity("xtrim") }
            let o = try ApplyContext.trimOptions(a, at: 2, xadd: false)
            guard let trim = o.trim, o.next == a.count else { throw ApplyError.syntax }
            try c.mutateStream(a[1], create: false) { s in ApplyContext.trim(&s, trim, o.policy) }
        }
        h["XDEL"] = { c, a in
            guard a.count >= 3 else { throw ApplyError.arity("xdel") }
            let ids = try a[2...].map { try ApplyContext.streamID($0, strict: true) }
            try c.mutateStream(a[1], create: false) { s in ApplyContext.delete(&s, ids, .keepRef, ackingGroup: nil) }
        }
        registerStreamDeletion(&h)
        h["XSETID"] = { c, a in
            guard a.count >= 3 else { throw ApplyError.arity("xsetid") }
            let id = try ApplyContext.streamID(a[2], strict: false)
            var added: UInt64?, maxDel: StreamID?
            var i = 3
            while i + 1 < a.count {
                switch Arg.upper(a[i]) {
                case "ENTRIESADDED":
                    let v = try Arg.int(a[i + 1])
                    guard v >= 0 else { throw ApplyError("entries_added must be positive") }
                    added = UInt64(v)
                case "MAXDELETEDID": maxDel = try ApplyContext.streamID(a[i + 1], strict: false)
                default: throw ApplyError.syntax
                }
                i += 2
            }
            guard i == a.count else { throw ApplyError.syntax }
            guard c.exists(a[1]) else { throw ApplyError("no such key") }
            try c.mutateStream(a[1], create: false) { s in
                if let last = s.entries.last?.id, id < last { throw ApplyError("ID smaller than the top item") }
                if let added, added < UInt64(s.entries.count) { throw ApplyError("entries_added smaller than the length") }
                s.lastID = id
                if let added { s.entriesAdded = added }
                if let maxDel, maxDel != .zero { s.maxDeletedEntryID = maxDel }
            }
        }
        h["XGROUP"] = { try $0.xgroup($1) }
        h["XACK"] = { c, a in
            guard a.count >= 4 else { throw ApplyError.arity("xack") }
            let ids = try a[3...].map { try ApplyContext.streamID($0, strict: true) }
            try c.mutateStream(a[1], create: false) { s in
                guard let g = s.groups.firstIndex(where: { $0.name == a[2] }) else { return }
                for id in ids { ApplyContext.removePending(&s.groups[g], id) }
            }
        }
        h["XCLAIM"] = { try $0.xclaim($1) }
        h["XNACK"] = { try $0.xnack($1) }
        h["XCFGSET"] = { try $0.xcfgset($1) }
        h["XIDMPRECORD"] = { try $0.xidmprecord($1) }
    }

    /// `streamParseID`: `ms-seq`, or `ms` (seq 0). `strict` (Redis: no `-`/`+` shorthands) changes nothing
    /// here: the shorthands are not numbers and are refused either way.
    static func streamID(_ b: Bytes, strict: Bool) throws -> StreamID {
        let parts = b.split(separator: UInt8(ascii: "-"), maxSplits: 1, omittingEmptySubsequences: false)
        func num(_ s: ArraySlice<UInt8>) throws -> UInt64 {
            guard !s.isEmpty, s.count <= 20, s.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = UInt64(String(decoding: s, as: UTF8.self)) else {
                throw ApplyError("Invalid stream ID specified as stream command argument")
            }
            return v
        }
        if parts.count == 1 {
            return StreamID(ms: try num(parts[0]), seq: 0)
        }
        return StreamID(ms: try num(parts[0]), seq: try num(parts[1]))
    }

    static func index(of id: StreamID, in entries: [StreamEntry]) -> Int? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < entries.count && entries[lo].id == id ? lo : nil
    }

    enum Trim { case maxLen(UInt64), minID(StreamID) }

    /// The options of XADD (before the id) and XTRIM (after the key), in any order, as
    /// `streamParseAddOrTrimArgsOrReply` takes them: `MAXLEN|MINID [=|~] threshold`, `LIMIT n`, one of
    /// `KEEPREF|DELREF|ACKED` (Redis 8.2), and `NOMKSTREAM` for XADD. Parsing stops at the first other
    /// word (XADD's id), returned as `next`. A `~` is applied exactly: masters rewrite it to `=` with the
    /// result before propagating, and drop LIMIT.
    static func trimOptions(_ a: [Bytes], at start: Int, xadd: Bool)
    throws -> (trim: Trim?, policy: DeletePolicy, noMkStream: Bool, idmp: IDMPOption?, next: Int) {
        var trim: Trim?, policy: DeletePolicy?, noMkStream = false, idmp: IDMPOption?
        var i = start
        while i < a.count {
            let word = Arg.upper(a[i])
            if xadd && word == "NOMKSTREAM" {
                noMkStream = true
                i += 1
            } else if xadd && word == "IDMPAUTO" && i + 1 < a.count {
                guard idmp == nil, !a[i + 1].isEmpty else { throw ApplyError.syntax }
                idmp = IDMPOption(producer: a[i + 1], iid: nil)
                i += 2
            } else if xadd && word == "IDMP" && i + 2 < a.count {
                guard idmp == nil, !a[i + 1].isEmpty, !a[i + 2].isEmpty else { throw ApplyError.syntax }
                idmp = IDMPOption(producer: a[i + 1], iid: a[i + 2])
                i += 3
            } else if word == "MAXLEN" || word == "MINID" {
                i += 1
                if i < a.count, a[i] == [UInt8(ascii: "=")] || a[i] == [UInt8(ascii: "~")] { i += 1 }
                guard i < a.count else { throw ApplyError.syntax }
                if word == "MAXLEN" {
                    let n = try Arg.int(a[i])
                    guard n >= 0 else { throw ApplyError("The MAXLEN argument must be >= 0.") }
                    trim = .maxLen(UInt64(n))
                } else {
                    trim = .minID(try streamID(a[i], strict: false))
                }
                i += 1
            } else if word == "LIMIT" && i + 1 < a.count {
                _ = try Arg.int(a[i + 1])
                i += 2
            } else if policy == nil, let p = deletePolicy(a[i]) {
                policy = p
                i += 1
            } else {
                break
            }
        }
        return (trim, policy ?? .keepRef, noMkStream, idmp, i)
    }

    mutating func mutateStream(_ key: Bytes, create: Bool, _ body: (inout StreamValue) throws -> Void) throws {
        if let e = entry(key) { guard case .stream = e.value else { throw ApplyError.wrongType } }
        try mutate(key, create: create ? { .stream(StreamValue(entries: [], length: 0, listpackNodes: 0, lastID: .zero,
                                                                  firstID: .zero, maxDeletedEntryID: .zero, entriesAdded: 0)) } : nil) { v in
            guard case .stream(var s) = v else { return }
            v = .string([])
            defer { v = .stream(s) }
            try body(&s)
        }
    }

    mutating func xadd(_ a: [Bytes]) throws {
        guard a.count >= 5 else { throw ApplyError.arity("xadd") }
        let o = try ApplyContext.trimOptions(a, at: 2, xadd: true)
        let (i, noMkStream, trim) = (o.next, o.noMkStream, o.trim)
        guard i < a.count else { throw ApplyError.syntax }
        let rawID = a[i]
        let fields = a[(i + 1)...]
        guard !fields.isEmpty, fields.count % 2 == 0 else { throw ApplyError.arity("xadd") }
        if let idmp = o.idmp, rawID == [UInt8(ascii: "*")] {
            // The form a master propagates when it found the idempotency id: the entry exists, nothing is added.
            return try idmpDuplicate(a[1], idmp)
        }
        if rawID == [UInt8(ascii: "*")] { throw ApplyError("XADD with an auto-generated ID cannot be replayed") }
        if let e = entry(a[1]) { guard case .stream = e.value else { throw ApplyError.wrongType } } else if noMkStream { return }
        var autoSeq = false
        var id: StreamID
        if rawID.count >= 2 && rawID.suffix(2) == [UInt8(ascii: "-"), UInt8(ascii: "*")] {
            id = try ApplyContext.streamID(Array(rawID.dropLast(2)), strict: false)
            autoSeq = true
        } else {
            id = try ApplyContext.streamID(rawID, strict: false)
        }
        var pairs: [(Bytes, Bytes)] = []
        for j in stride(from: fields.startIndex, to: fields.endIndex, by: 2) { pairs.append((fields[j], fields[j + 1])) }
        let now = nowMs
        try mutateStream(a[1], create: true) { s in
            if autoSeq {
                if id.ms == s.lastID.ms {
                    guard s.lastID.seq < UInt64.max else { throw ApplyError("The ID specified in XADD is equal or smaller") }
                    id.seq = s.lastID.seq + 1
                } else if id.ms < s.lastID.ms {
                    throw ApplyError("The ID specified in XADD is equal or smaller than the target stream top item")
                }
            }
            guard id > s.lastID, id != .zero else { throw ApplyError("The ID specified in XADD is equal or smaller than the target stream top item") }
            s.entries.append(StreamEntry(id: id, fields: pairs))
            s.length = UInt64(s.entries.count)
            s.lastID = id
            s.entriesAdded = (s.entriesAdded ?? 0) + 1
            if s.entries.count == 1 { s.firstID = id }
            if let idmp = o.idmp {
                let iid = idmp.iid ?? XXH3.idempotencyID(pairs)
                ApplyContext.idmpRecord(&s, producer: idmp.producer, iid: iid, id: id, nowMs: now)
            }
            if let trim { ApplyContext.trim(&s, trim, o.policy) }
        }
    }
}
