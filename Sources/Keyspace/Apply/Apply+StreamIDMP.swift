import RDB

/// Idempotent producers (Redis 8.6+, `t_stream.c`): `XADD key [IDMP pid iid | IDMPAUTO pid] …`, `XCFGSET` and
/// `XIDMPRECORD`, kept in the stream's IDMP state (`StreamValue.idmp`, RDB 13's section of type 26/27).
///
/// The master decides what is a duplicate, and its propagated form says so: a new entry arrives with the id
/// the master gave it (it rewrites `*`), a duplicate with `*` still in place (the master replied with the
/// existing entry and changed nothing but its duplicate counter). So the replica never looks an id up to
/// decide; it records what the master recorded. Each producer's entries are kept oldest first and capped at
/// the stream's max entries (`idmpEvictOldestEntry`); entries whose stream id is `duration` seconds old go
/// when the producer is next touched (the master's cron drops them every second, without propagating; its
/// RDB save leaves them out too), and a producer left empty goes with them.
struct IDMPOption {
    var producer: Bytes
    /// nil for IDMPAUTO: the id is the hash of the entry's fields and values (`XXH3.idempotencyID`).
    var iid: Bytes?
}

extension ApplyContext {
    /// A stream's IDMP state, created with Redis's defaults (`stream-idmp-duration` / `-maxsize` 100).
    static func idmpState(_ s: StreamValue) -> StreamIDMP { s.idmp ?? StreamIDMP.defaults }

    static func idmpRecord(_ s: inout StreamValue, producer: Bytes, iid: Bytes, id: StreamID, nowMs: Int64) {
        var state = idmpState(s)
        idmpExpire(&state, nowMs: nowMs)
        let at: Int
        if let p = state.producers.firstIndex(where: { $0.name == producer }) {
            at = p
        } else {
            at = state.producers.firstIndex { $0.name.lexicographicallyPrecedes(producer) == false } ?? state.producers.count
            state.producers.insert(StreamIDMPProducer(name: producer, entries: []), at: at)
        }
        state.producers[at].entries.removeAll { $0.iid == iid }
        state.producers[at].entries.append(StreamIDMPEntry(iid: iid, id: id))
        state.iidsAdded &+= 1
        let excess = state.producers[at].entries.count - Int(clamping: state.maxEntries)
        if excess > 0 { state.producers[at].entries.removeFirst(excess) }
        s.idmp = state
    }

    /// Drops entries whose stream id's time is `duration` seconds or more before now (`handleExpiredIdmpEntries`:
    /// `id.ms <= now - duration*1000`), and producers left without entries.
    static func idmpExpire(_ state: inout StreamIDMP, nowMs: Int64) {
        let limit = nowMs - Int64(clamping: state.duration) * 1000
        guard limit > 0 else { return }
        for p in state.producers.indices {
            let keep = state.producers[p].entries.firstIndex { $0.id.ms > UInt64(limit) } ?? state.producers[p].entries.count
            if keep > 0 { state.producers[p].entries.removeFirst(keep) }
        }
        state.producers.removeAll { $0.entries.isEmpty }
    }

    mutating func idmpDuplicate(_ key: Bytes, _ idmp: IDMPOption) throws {
        guard let e = entry(key), case .stream = e.value else {
            throw ApplyError("XADD \(idmp.iid == nil ? "IDMPAUTO" : "IDMP") with * names no stream (the master found a duplicate in it)")
        }
        try mutateStream(key, create: false) { s in
            var state = ApplyContext.idmpState(s)
            state.iidsDuplicates &+= 1
            s.idmp = state
        }
    }

    /// `XCFGSET key [IDMP-DURATION 1..86400] [IDMP-MAXSIZE 1..10000]`: a changed value clears every producer.
    mutating func xcfgset(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("xcfgset") }
        var duration: Int64?, maxSize: Int64?
        var i = 2
        while i < a.count {
            let more = i + 1 < a.count
            switch Arg.upper(a[i]) {
            case "IDMP-DURATION" where more && duration == nil:
                let d = try Arg.int(a[i + 1])
                guard (1...86_400).contains(d) else { throw ApplyError("IDMP-DURATION must be between 1 and 86400 seconds") }
                duration = d
            case "IDMP-MAXSIZE" where more && maxSize == nil:
                let m = try Arg.int(a[i + 1])
                guard (1...10_000).contains(m) else { throw ApplyError("IDMP-MAXSIZE must be between 1 and 10000 entries") }
                maxSize = m
            default:
                throw ApplyError.syntax
            }
            i += 2
        }
        guard let e = entry(a[1]) else { throw ApplyError("no such key") }
        guard case .stream = e.value else { throw ApplyError.wrongType }
        try mutateStream(a[1], create: false) { s in
            var state = ApplyContext.idmpState(s)
            if let duration, state.duration != UInt64(duration) {
                state.duration = UInt64(duration)
                state.producers = []
            }
            if let maxSize, state.maxEntries != UInt64(maxSize) {
                state.maxEntries = UInt64(maxSize)
                state.producers = []
            }
            s.idmp = state
        }
    }

    /// `XIDMPRECORD key pid iid id`: records an id for an existing entry (an id already recorded for that
    /// entry changes nothing; for another entry the master refused it, so it cannot arrive).
    mutating func xidmprecord(_ a: [Bytes]) throws {
        guard a.count == 5 else { throw ApplyError.arity("xidmprecord") }
        let id = try ApplyContext.streamID(a[4], strict: true)
        guard !a[2].isEmpty, !a[3].isEmpty else { throw ApplyError("producer and idempotent IDs must be non-empty") }
        guard let e = entry(a[1]) else { throw ApplyError("no such key") }
        guard case .stream(let current) = e.value else { throw ApplyError.wrongType }
        guard ApplyContext.index(of: id, in: current.entries) != nil else { throw ApplyError("No such message in stream") }
        if let p = current.idmp?.producers.first(where: { $0.name == a[2] }), let old = p.entries.first(where: { $0.iid == a[3] }) {
            guard old.id == id else { throw ApplyError("IID already exists for this producer with a different stream ID") }
            return
        }
        let now = nowMs
        try mutateStream(a[1], create: false) { s in
            ApplyContext.idmpRecord(&s, producer: a[2], iid: a[3], id: id, nowMs: now)
        }
    }
}
