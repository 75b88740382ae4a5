import RDB

/// Consumer groups (`t_stream.c` `xgroupCommand`, `xclaimCommand`, `xackCommand`).
extension ApplyContext {
    static func removePending(_ g: inout StreamGroup, _ id: StreamID) {
        guard g.pending.contains(where: { $0.id == id }) else { return }
        g.pending.removeAll { $0.id == id }
        for c in g.consumers.indices { g.consumers[c].pendingIDs.removeAll { $0 == id } }
        if !g.nackedIDs.isEmpty { g.nackedIDs.removeAll { $0 == id } }
    }

    /// `XNACK key group SILENT|FAIL|FATAL IDS numids id… [RETRYCOUNT n] [FORCE]` (Redis 8.8+, `t_stream.c`
    /// `xnackCommand`), propagated as the client sent it. Each pending id loses its consumer, gets delivery
    /// time 0 and moves to the end of the group's NACK zone; its delivery count is RETRYCOUNT's, or SILENT
    /// takes one off (not below 0), FAIL keeps it and FATAL makes it 2^63-1 (`nackSetDeliveryCount`). FORCE
    /// makes an unowned entry, from count 0, for an id not pending whose stream entry exists.
    mutating func xnack(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("xnack") }
        enum Mode { case silent, fail, fatal }
        let mode: Mode
        switch Arg.upper(a[3]) {
        case "SILENT": mode = .silent
        case "FAIL": mode = .fail
        case "FATAL": mode = .fatal
        default: throw ApplyError("mode must be SILENT, FAIL, or FATAL")
        }
        var idArgs: ArraySlice<Bytes> = []
        var sawIDs = false, force = false
        var retryCount: Int64 = -1
        var i = 4
        while i < a.count {
            let more = a.count - 1 - i
            switch Arg.upper(a[i]) {
            case "IDS" where more > 0:
                let n = try Arg.int(a[i + 1])
                guard n >= 1 && n <= Int64(Int32.max) else { throw ApplyError("numids must be a positive integer") }
                guard n <= Int64(a.count - (i + 2)) else { throw ApplyError("number of IDs doesn't match numids") }
                idArgs = a[(i + 2)..<(i + 2 + Int(n))]
                sawIDs = true
                i += 2 + Int(n)
            case "FORCE":
                force = true
                i += 1
            case "RETRYCOUNT" where more > 0:
                retryCount = try Arg.int(a[i + 1])
                guard retryCount >= 0 else { throw ApplyError("Invalid RETRYCOUNT value, must be >= 0") }
                i += 2
            default:
                throw ApplyError("Unrecognized XNACK option")
            }
        }
        guard sawIDs else { throw ApplyError("syntax error, expected IDS keyword") }
        let ids = try idArgs.map { try ApplyContext.streamID($0, strict: true) }
        guard let e = entry(a[1]), case .stream(let current) = e.value, current.groups.contains(where: { $0.name == a[2] }) else {
            throw ApplyError("NOGROUP No such key or consumer group")
        }
        func counted(_ c: UInt64) -> UInt64 {
            if retryCount >= 0 { return UInt64(retryCount) }
            switch mode {
            case .silent: return c > 0 ? c - 1 : 0
            case .fail: return c
            case .fatal: return UInt64(Int64.max)
            }
        }
        try mutateStream(a[1], create: false) { s in
            guard let g = s.groups.firstIndex(where: { $0.name == a[2] }) else { return }
            // The ids released, in order; each goes to the zone's end, so a repeat's last place counts. The zone
            // is rebuilt once (not rescanned per id: zones and id lists can both be long).
            var released: [StreamID] = []
            for id in ids {
                if let p = ApplyContext.sortedIndex(of: id, in: s.groups[g].pending, \.id) {
                    s.groups[g].pending[p].deliveryCount = counted(s.groups[g].pending[p].deliveryCount)
                    s.groups[g].pending[p].deliveryTimeMs = 0
                    for c in s.groups[g].consumers.indices {
                        if let j = ApplyContext.sortedIndex(of: id, in: s.groups[g].consumers[c].pendingIDs, \.self) {
                            s.groups[g].consumers[c].pendingIDs.remove(at: j)
                            break
                        }
                    }
                    released.append(id)
                } else if force, ApplyContext.index(of: id, in: s.entries) != nil {
                    let nack = StreamPendingEntry(id: id, deliveryTimeMs: 0, deliveryCount: counted(0))
                    let at = ApplyContext.lowerBound(of: id, in: s.groups[g].pending, \.id)
                    s.groups[g].pending.insert(nack, at: at)
                    released.append(id)
                }
            }
            guard !released.isEmpty else { return }
            var seen = Set<StreamID>()
            var tail: [StreamID] = []
            for id in released.reversed() where seen.insert(id).inserted { tail.append(id) }
            s.groups[g].nackedIDs.removeAll { seen.contains($0) }
            s.groups[g].nackedIDs.append(contentsOf: tail.reversed())
        }
    }


    func newConsumer(_ name: Bytes) -> StreamConsumer {
        StreamConsumer(name: name, seenTimeMs: nowMs, activeTimeMs: -1, pendingIDs: [])
    }

    mutating func xgroup(_ a: [Bytes]) throws {
        guard a.count >= 4 else { throw ApplyError.arity("xgroup") }
        let sub = Arg.upper(a[1])
        var mkstream = false
        var entriesRead: Int64 = -1
        var i = 5
        while i < a.count {
            if sub == "CREATE" && Arg.upper(a[i]) == "MKSTREAM" {
                mkstream = true
                i += 1
            } else if (sub == "CREATE" || sub == "SETID") && Arg.upper(a[i]) == "ENTRIESREAD" && i + 1 < a.count {
                entriesRead = try Arg.int(a[i + 1])
                guard entriesRead >= 0 || entriesRead == -1 else { throw ApplyError("value for ENTRIESREAD must be positive or -1") }
                i += 2
            } else {
                throw ApplyError.syntax
            }
        }
        if let e = entry(a[2]) { guard case .stream = e.value else { throw ApplyError.wrongType } } else if !(sub == "CREATE" && mkstream) {
            throw ApplyError("The XGROUP subcommand requires the key to exist")
        }
        let group = a[3]
        let read = entriesRead == -1 ? UInt64.max : UInt64(entriesRead)
        switch sub {
        case "CREATE":
            guard a.count >= 5 else { throw ApplyError.arity("xgroup create") }
            let idArg = a[4]
            let parsed: StreamID? = idArg == [UInt8(ascii: "$")] ? nil : try ApplyContext.streamID(idArg, strict: true)
            try mutateStream(a[2], create: true) { s in
                guard !s.groups.contains(where: { $0.name == group }) else { throw ApplyError("BUSYGROUP Consumer Group name already exists") }
                s.groups.append(StreamGroup(name: group, lastDeliveredID: parsed ?? s.lastID, entriesReadRaw: read, pending: [], consumers: []))
            }
        case "SETID":
            guard a.count == 5 || a.count == 7 else { throw ApplyError.syntax }
            let idArg = a[4]
            let parsed: StreamID? = idArg == [UInt8(ascii: "$")] ? nil : try ApplyContext.streamID(idArg, strict: false)
            try mutateStream(a[2], create: false) { s in
                guard let g = s.groups.firstIndex(where: { $0.name == group }) else { throw ApplyError("NOGROUP") }
                s.groups[g].lastDeliveredID = parsed ?? s.lastID
                s.groups[g].entriesReadRaw = read
            }
        case "DESTROY":
            guard a.count == 4 else { throw ApplyError.syntax }
            try mutateStream(a[2], create: false) { s in s.groups.removeAll { $0.name == group } }
        case "CREATECONSUMER", "DELCONSUMER":
            guard a.count == 5 else { throw ApplyError.syntax }
            let name = a[4]
            let fresh = newConsumer(name)
            try mutateStream(a[2], create: false) { s in
                guard let g = s.groups.firstIndex(where: { $0.name == group }) else { throw ApplyError("NOGROUP") }
                let c = s.groups[g].consumers.firstIndex { $0.name == name }
                if sub == "CREATECONSUMER" {
                    if c == nil { s.groups[g].consumers.append(fresh) }
                } else if let c {
                    let owned = Set(s.groups[g].consumers[c].pendingIDs)
                    s.groups[g].pending.removeAll { owned.contains($0.id) }
                    s.groups[g].consumers.remove(at: c)
                }
            }
        default:
            throw ApplyError("XGROUP \(sub) not supported")
        }
    }

    /// `XCLAIM key group consumer min-idle id… [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]`.
    mutating func xclaim(_ a: [Bytes]) throws {
        guard a.count >= 6 else { throw ApplyError.arity("xclaim") }
        var minIdle = try Arg.int(a[4])
        if minIdle < 0 { minIdle = 0 }
        var ids: [StreamID] = []
        var j = 5
        while j < a.count, let id = try? ApplyContext.streamID(a[j], strict: true) {
            ids.append(id)
            j += 1
        }
        var force = false, justID = false
        var deliveryTime: Int64 = -1, retryCount: Int64 = -1
        var lastID = StreamID.zero
        while j < a.count {
            let more = j + 1 < a.count
            switch Arg.upper(a[j]) {
            case "FORCE": force = true
            case "JUSTID": justID = true
            case "IDLE" where more:
                j += 1
                deliveryTime = nowMs - (try Arg.int(a[j]))
            case "TIME" where more:
                j += 1
                deliveryTime = try Arg.int(a[j])
            case "RETRYCOUNT" where more:
                j += 1
                retryCount = try Arg.int(a[j])
            case "LASTID" where more:
                j += 1
                lastID = try ApplyContext.streamID(a[j], strict: true)
            default: throw ApplyError.syntax
            }
            j += 1
        }
        if deliveryTime == -1 || deliveryTime < 0 || deliveryTime > nowMs { deliveryTime = nowMs }
        guard entry(a[1]) != nil else { return }
        let now = nowMs
        let fresh = newConsumer(a[3])
        try mutateStream(a[1], create: false) { s in
            guard let g = s.groups.firstIndex(where: { $0.name == a[2] }) else { throw ApplyError("NOGROUP") }
            if lastID > s.groups[g].lastDeliveredID { s.groups[g].lastDeliveredID = lastID }
            var consumer: Int?
            for id in ids {
                let p = s.groups[g].pending.firstIndex { $0.id == id }
                if ApplyContext.index(of: id, in: s.entries) == nil {
                    if p != nil { ApplyContext.removePending(&s.groups[g], id) }
                    continue
                }
                var nack: StreamPendingEntry
                var owner: Int?
                if let p {
                    nack = s.groups[g].pending[p]
                    owner = s.groups[g].consumers.firstIndex { $0.pendingIDs.contains(id) }
                    if owner != nil && minIdle > 0 && now - nack.deliveryTimeMs < minIdle { continue }
                } else if force {
                    nack = StreamPendingEntry(id: id, deliveryTimeMs: now, deliveryCount: 1)
                } else {
                    continue
                }
                if consumer == nil {
                    if let c = s.groups[g].consumers.firstIndex(where: { $0.name == a[3] }) {
                        s.groups[g].consumers[c].seenTimeMs = now
                        consumer = c
                    } else {
                        s.groups[g].consumers.append(fresh)
                        consumer = s.groups[g].consumers.count - 1
                    }
                }
                if let owner, owner != consumer { s.groups[g].consumers[owner].pendingIDs.removeAll { $0 == id } }
                if owner == nil, !s.groups[g].nackedIDs.isEmpty { s.groups[g].nackedIDs.removeAll { $0 == id } }
                nack.deliveryTimeMs = deliveryTime
                // Redis 8.8+ stops at 2^63-1 (XNACK FATAL's mark); below it, as every version: one more.
                if retryCount >= 0 { nack.deliveryCount = UInt64(retryCount) } else if !justID && nack.deliveryCount != UInt64(Int64.max) { nack.deliveryCount += 1 }
                if owner != consumer {
                    s.groups[g].consumers[consumer!].pendingIDs.append(id)
                    s.groups[g].consumers[consumer!].pendingIDs.sort()
                }
                s.groups[g].consumers[consumer!].activeTimeMs = now  // 7.2+: a claim is a successful read
                if let p { s.groups[g].pending[p] = nack } else {
                    s.groups[g].pending.append(nack)
                    s.groups[g].pending.sort { $0.id < $1.id }
                }
            }
        }
    }
}
