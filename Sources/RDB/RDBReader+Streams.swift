/// Streams (`RDB_TYPE_STREAM_LISTPACKS*` in Redis `src/rdb.c`, layout in `src/t_stream.c`) and module data.
extension RDBReader {
    static var streamItemFlagDeleted: Int64 { 1 }
    static var streamItemFlagSameFields: Int64 { 2 }

    /// A 16-byte big-endian stream ID (`streamDecodeID`) at `p`.
    func decodeRawID(_ p: UnsafeRawPointer) -> StreamID {
        StreamID(ms: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)),
                 seq: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    func readRawID() throws -> StreamID {
        try ensure(16)
        let id = decodeRawID(UnsafeRawPointer(buf + pos))
        pos += 16
        return id
    }

    func readLengthID() throws -> StreamID {
        let ms = try readLength()
        let seq = try readLength()
        return StreamID(ms: ms, seq: seq)
    }

    func readStream(type: UInt8) throws -> StreamValue {
        let decode = options.decodeValues
        let v2 = type >= RDBType.streamListpacks2.rawValue
        let v3 = type >= RDBType.streamListpacks3.rawValue
        let v5 = type >= RDBType.streamListpacks5.rawValue
        let nodes = try readCount("stream listpack count")
        // Entries lent (`RDBValueArena.lendsStreamEntries`) or, when values are decoded, built.
        let lend = lendArena.flatMap { $0.lendsStreamEntries ? $0 : nil }
        lend?.reset(.stream, keepsBytes: true)
        var entries: [StreamEntry] = []
        var previous: StreamID? = nil
        var live: UInt64 = 0
        var elements: [PackedElement] = []
        for _ in 0..<nodes {
            let keyAt = bytesConsumed
            let master: StreamID = try withString { key, _ in
                guard key.count == 16, let p = key.baseAddress else {
                    throw error(.stream, "stream node key is \(key.count) bytes, expected a 16-byte ID", at: keyAt)
                }
                return decodeRawID(p)
            }
            try withString { blob, base in
                elements.removeAll(keepingCapacity: true)
                try walkListpack(blob, base: base) { elements.append($0) }
                try parseStreamNode(elements, master: master, base: base, previous: &previous, live: &live,
                                    entries: &entries, decode: decode, lend: lend)
            }
        }
        let lenAt = bytesConsumed
        let length = try readLength()
        let lastID = try readLengthID()
        var firstID: StreamID? = nil, maxDeleted: StreamID? = nil, added: UInt64? = nil
        if v2 {
            firstID = try readLengthID()
            maxDeleted = try readLengthID()
            added = try readLength()
        }
        valueCount = Int(clamping: live)
        // `length` is not compared with the live entries: streams trimmed by Redis 5/6 can store a length
        // that differs from the entries kept (seen in redis-replicator's dump-stream1.rdb), and Redis loads them.
        _ = live
        if let last = previous, lastID < last {
            throw error(.stream, "stream last ID \(lastID) is lower than its entry \(last)", at: lenAt)
        }
        let groupCount = try readCount("consumer group count")
        var groups: [StreamGroup] = []
        for _ in 0..<groupCount {
            let name = try readString()
            let lastDelivered = try readLengthID()
            var entriesRead: UInt64? = nil
            if v2 { entriesRead = try readLength() }
            let pelCount = try readCount("PEL size")
            var pending: [StreamPendingEntry] = []
            var pelIDs = Set<StreamID>()
            for _ in 0..<pelCount {
                let at = bytesConsumed
                let id = try readRawID()
                let delivery = try readInt64LE()
                let count = try readLength()
                guard pelIDs.insert(id).inserted else {
                    throw error(.stream, "duplicate ID \(id) in the PEL of group \(RDBError.quote(name))", at: at)
                }
                if decode { pending.append(StreamPendingEntry(id: id, deliveryTimeMs: delivery, deliveryCount: count)) }
            }
            let consumerCount = try readCount("consumer count")
            var consumers: [StreamConsumer] = []
            var owned = Set<StreamID>()
            for _ in 0..<consumerCount {
                let cname = try readString()
                let seen = try readInt64LE()
                var active: Int64? = nil
                if v3 { active = try readInt64LE() }
                let n = try readCount("consumer PEL size")
                var ids: [StreamID] = []
                for _ in 0..<n {
                    let at = bytesConsumed
                    let id = try readRawID()
                    guard pelIDs.contains(id) else {
                        throw error(.stream, "consumer \(RDBError.quote(cname)) owns ID \(id) missing from the group PEL", at: at)
                    }
                    if v5 { owned.insert(id) }
                    if decode { ids.append(id) }
                }
                if decode { consumers.append(StreamConsumer(name: cname, seenTimeMs: seen, activeTimeMs: active, pendingIDs: ids)) }
            }
            var nacked: [StreamID] = []
            if v5 { nacked = try readNackZone(group: name, pel: pelIDs, owned: owned, decode: decode) }
            if decode {
                groups.append(StreamGroup(name: name, lastDeliveredID: lastDelivered, entriesReadRaw: entriesRead,
                                          pending: pending, consumers: consumers, nackedIDs: nacked))
            }
        }
        var value = StreamValue(entries: entries, length: length, listpackNodes: nodes, lastID: lastID,
                                firstID: firstID, maxDeletedEntryID: maxDeleted, entriesAdded: added, groups: groups)
        if type >= RDBType.streamListpacks4.rawValue {
            let idmp = try readStreamIDMP()
            if decode { value.idmp = idmp }
        }
        return value
    }

    /// STREAM_LISTPACKS_5 NACK zone, after a group's consumers: `len` n, then n raw 16-byte IDs, each in the
    /// group PEL and owned by no consumer (`rdb.c`: "Stream NACK zone entry not found in group global PEL",
    /// "... has a consumer assigned"). An ID listed twice moves to the later place, as Redis's
    /// unlink-and-append does.
    func readNackZone(group: Bytes, pel: Set<StreamID>, owned: Set<StreamID>, decode: Bool) throws -> [StreamID] {
        let n = try readCount("NACK zone count")
        // In file order; a repeated ID's earlier place is marked dead (`position` points at the live one), so
        // a file repeating IDs costs linear time, not a rescan per repeat.
        var ids: [StreamID?] = []
        var position: [StreamID: Int] = [:]
        for _ in 0..<n {
            let at = bytesConsumed
            let id = try readRawID()
            guard pel.contains(id) else {
                throw error(.stream, "NACK zone ID \(id) of group \(RDBError.quote(group)) is not in the group PEL", at: at)
            }
            guard !owned.contains(id) else {
                throw error(.stream, "NACK zone ID \(id) of group \(RDBError.quote(group)) is owned by a consumer", at: at)
            }
            guard decode else { continue }
            if let earlier = position[id] { ids[earlier] = nil }
            position[id] = ids.count
            ids.append(id)
        }
        return ids.compactMap { $0 }
    }

    /// STREAM_LISTPACKS_4 IDMP section, after the groups: `len` duration, `len` max entries, `len` producers,
    /// each (name string, `len` n, n x (iid string, `len` ms, `len` seq)), `len` iids added, `len` duplicates.
    /// (Layout read from Redis 8.6 files: librdb's stream_v13.rdb.)
    func readStreamIDMP() throws -> StreamIDMP {
        let decode = options.decodeValues
        let duration = try readLength()
        let maxEntries = try readLength()
        let producerCount = try readCount("IDMP producer count")
        var producers: [StreamIDMPProducer] = []
        for _ in 0..<producerCount {
            let name = try readString()
            let n = try readCount("IDMP entry count")
            var list: [StreamIDMPEntry] = []
            for _ in 0..<n {
                var iid: Bytes = []
                if decode { iid = try readString() } else { try skipString() }
                let id = try readLengthID()
                if decode { list.append(StreamIDMPEntry(iid: iid, id: id)) }
            }
            if decode { producers.append(StreamIDMPProducer(name: name, entries: list)) }
        }
        let added = try readLength()
        let duplicates = try readLength()
        return StreamIDMP(duration: duration, maxEntries: maxEntries, producers: producers, iidsAdded: added,
                          iidsDuplicates: duplicates)
    }

    /// One stream listpack node: the master entry (`count`, `deleted`, `num-fields`, fields, 0), then entries
    /// (`flags`, ms-delta, seq-delta, [`num-fields`, field/value pairs] or values only with SAMEFIELDS, `lp-count`).
    func parseStreamNode(_ e: [PackedElement], master: StreamID, base: Int64, previous: inout StreamID?,
                         live: inout UInt64, entries: inout [StreamEntry], decode: Bool,
                         lend: RDBValueArena? = nil) throws {
        let n = e.count
        guard n > 0 else { throw error(.stream, "empty listpack inside stream", at: base) }
        func int(_ i: Int, _ what: String) throws -> Int64 {
            guard i < n else { throw error(.stream, "stream listpack ends early (missing \(what))", at: base) }
            guard let v = e[i].integer() else {
                throw error(.stream, "stream listpack \(what) is not an integer", at: base)
            }
            return v
        }
        let count = try int(0, "master count")
        let deleted = try int(1, "master deleted count")
        let masterFields = try int(2, "master field count")
        guard count >= 0, deleted >= 0, masterFields >= 0, masterFields < n else {
            throw error(.stream, "stream master entry has invalid counts", at: base)
        }
        let mf = Int(masterFields)
        var i = 3 + mf
        guard try int(i, "master entry terminator") == 0 else {
            throw error(.stream, "stream master entry is not terminated by 0", at: base)
        }
        i += 1
        var seenLive: Int64 = 0
        var seenDeleted: Int64 = 0
        while i < n {
            let flags = try int(i, "entry flags")
            let msDelta = try int(i + 1, "entry ID ms delta")
            let seqDelta = try int(i + 2, "entry ID seq delta")
            i += 3
            let id = StreamID(ms: master.ms &+ UInt64(bitPattern: msDelta), seq: master.seq &+ UInt64(bitPattern: seqDelta))
            if id < master {
                throw error(.stream, "stream entry \(id) is lower than its node's master ID \(master)", at: base)
            }
            if let p = previous, !(p < id) {
                throw error(.stream, "stream entry IDs are not increasing (\(id) after \(p))", at: base)
            }
            previous = id
            let sameFields = flags & Self.streamItemFlagSameFields != 0
            let fieldCount: Int
            if sameFields {
                fieldCount = mf
            } else {
                let nf = try int(i, "entry field count")
                guard nf >= 0, nf <= Int64(n) else { throw error(.stream, "stream entry field count \(nf) is invalid", at: base) }
                fieldCount = Int(nf)
                i += 1
            }
            let valuesStart = i
            let needed = sameFields ? fieldCount : fieldCount * 2
            guard needed <= n - i else { throw error(.stream, "stream entry runs past its listpack", at: base) }
            i += needed
            let lpCount = try int(i, "entry lp-count")
            let expected = sameFields ? Int64(fieldCount) + 3 : Int64(fieldCount) * 2 + 4
            guard lpCount == expected else {
                throw error(.stream, "stream entry lp-count \(lpCount) does not match its \(expected) elements", at: base)
            }
            i += 1
            if flags & Self.streamItemFlagDeleted != 0 {
                seenDeleted += 1
                continue
            }
            seenLive += 1
            if let a = lend {
                for f in 0..<fieldCount {
                    if sameFields {
                        a.append(e[3 &+ f])
                        a.append(e[valuesStart &+ f])
                    } else {
                        a.append(e[valuesStart &+ 2 &* f])
                        a.append(e[valuesStart &+ 2 &* f &+ 1])
                    }
                }
                a.streamEntries.append(RDBValueArena.StreamEntrySpan(id: id, elementsEnd: a.count))
            } else if decode {
                var fields: [(Bytes, Bytes)] = []
                fields.reserveCapacity(fieldCount)
                for f in 0..<fieldCount {
                    if sameFields {
                        fields.append((e[3 + f].bytes(), e[valuesStart + f].bytes()))
                    } else {
                        fields.append((e[valuesStart + 2 * f].bytes(), e[valuesStart + 2 * f + 1].bytes()))
                    }
                }
                entries.append(StreamEntry(id: id, fields: fields))
            }
        }
        guard seenLive == count, seenDeleted == deleted else {
            throw error(.stream, "stream node says \(count) live and \(deleted) deleted entries but holds \(seenLive) and \(seenDeleted)", at: base)
        }
        live &+= UInt64(seenLive)
    }

    // MARK: - Modules

    /// The 9-character type name and encoding version packed in a 64-bit module id.
    static func decodeModuleID(_ id: UInt64) -> (name: String, encver: Int) {
        let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var name = ""
        for i in 0..<9 {
            let c = Int((id >> (64 - 6 * UInt64(i + 1))) & 63)
            name.append(Character(Unicode.Scalar(charset[c])))
        }
        return (name, Int(id & 1023))
    }

    /// Walks module-serialized data (`rdbLoadCheckModuleValue`) through its EOF opcode.
    func walkModuleOpcodes() throws {
        while true {
            let at = bytesConsumed
            let op = try readLength()
            switch RDBModuleOpcode(rawValue: op) {
            case .eof?: return
            case .sint?, .uint?: _ = try readLength()
            case .float?: try skip(4)
            case .double?: try skip(8)
            case .string?: try skipString()
            case nil:
                throw error(.module, "unknown module opcode \(op) in module data", at: at)
            }
        }
    }

    /// MODULE_2 (7): `len` module id, then module opcodes through EOF, kept raw.
    func readModuleValue() throws -> ModuleValue {
        let id = try readLength()
        let (name, encver) = Self.decodeModuleID(id)
        if options.decodeValues {
            beginCapture()
            do { try walkModuleOpcodes() } catch { _ = endCapture(); throw error }
            return ModuleValue(moduleID: id, moduleName: name, encodingVersion: encver, raw: endCapture())
        }
        try walkModuleOpcodes()
        return ModuleValue(moduleID: id, moduleName: name, encodingVersion: encver, raw: [])
    }

    /// MODULE_AUX (247): `len` module id, `when` as a UINT opcode + value, module opcodes through EOF.
    func readModuleAux(_ opStart: Int64) throws -> ModuleAux {
        let id = try readLength()
        let (name, encver) = Self.decodeModuleID(id)
        beginCapture()
        do {
            let at = bytesConsumed
            let whenOp = try readLength()
            guard whenOp == RDBModuleOpcode.uint.rawValue else {
                throw error(.module, "MODULE_AUX of \(name): 'when' is not stored as a UINT opcode (\(whenOp))", at: at)
            }
            _ = try readLength()
            try walkModuleOpcodes()
        } catch {
            _ = endCapture()
            throw error
        }
        return ModuleAux(moduleID: id, moduleName: name, encodingVersion: encver, raw: endCapture())
    }

    /// Valkey SLOT_IMPORT (243 under VALKEY): job name string, `len n`, n x (`len` start, `len` end). Kept raw.
    func readSlotImport() throws -> Bytes {
        beginCapture()
        do {
            try skipString()
            let n = try readCount("slot range count")
            for _ in 0..<n {
                let at = bytesConsumed
                let a = try readLength()
                let b = try readLength()
                guard a <= b, b < 16384 else {
                    throw error(.corrupt, "SLOT_IMPORT slot range \(a)-\(b) is invalid", at: at)
                }
            }
        } catch {
            _ = endCapture()
            throw error
        }
        return endCapture()
    }

    /// Redis 8.6 KEY_META (243 under REDIS, RDB 13), written before the key's type byte by
    /// `rdbSaveKeyMetadata`: `len` NUM_CLASSES, then per class a 4-byte CLASS_SPEC and module-serialized data
    /// through its RDB_MODULE_OPCODE_EOF. Skipped (module metadata is not part of the record model).
    func skipKeyMeta(_ opStart: Int64) throws {
        let n = try readCount("key metadata class count")
        for _ in 0..<n {
            try skip(4)
            try walkModuleOpcodes()
        }
    }
}
