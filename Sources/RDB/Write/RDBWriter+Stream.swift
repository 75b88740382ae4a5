/// Streams (Redis `t_stream.c` `streamAppendItem`, `rdb.c` `rdbSaveObject`).
///
/// Each node is a 16-byte big-endian master ID (the node's first entry) and a listpack:
/// master entry `count, deleted, num-fields, field..., 0`, then per entry
/// `flags, ms-diff, seq-diff, [num-fields, field, value...] | [value...] (SAMEFIELDS), lp-count`,
/// where SAMEFIELDS (2) means the entry has exactly the master's field names and lp-count is the
/// number of listpack elements of the entry before it. A new node starts when the node's bytes plus
/// the entry's field and value bytes reach `stream-node-max-bytes`, or it holds
/// `stream-node-max-entries` entries. Only live entries are written (deleted = 0).
extension RDBWriter {
    func writeStream(key: Bytes, _ s: StreamValue) {
        let maxBytes = options.streamNodeMaxBytes > 0 ? options.streamNodeMaxBytes : Int.max
        let maxEntries = options.streamNodeMaxEntries
        let body = WriteBuffer(capacity: 4096)
        nodes.reset()
        var nodeCount = 0

        var masterID = StreamID.zero
        var masterFields: [Bytes] = []
        var masterHeaderBytes = 0
        var inNode = 0
        var bodyLP = ListpackBuilder(body)

        func finishNode() {
            guard inNode > 0 else { return }
            var lp = ListpackBuilder(blob)
            lp.append(integer: Int64(inNode))
            lp.append(integer: 0)
            lp.append(integer: Int64(masterFields.count))
            for f in masterFields { lp.append(f) }
            lp.append(integer: 0)
            lp.appendRawEntries(UnsafeRawBufferPointer(rebasing: body.bytes[6...]), count: bodyLP.count)
            lp.finish()
            nodes.putBE(masterID.ms)
            nodes.putBE(masterID.seq)
            // The 16-byte ID key as a raw RDB string (never int-looking, never compressed: <= 20 bytes).
            let idStart = nodes.count - 16
            let idBytes = Array(UnsafeRawBufferPointer(start: nodes.base + idStart, count: 16))
            nodes.count = idStart
            emitString(idBytes, to: nodes)
            emitString(blob.bytes, to: nodes)
            nodeCount += 1
            inNode = 0
            bodyLP = ListpackBuilder(body)
        }

        for entry in s.entries {
            var elementBytes = 0
            for (f, v) in entry.fields { elementBytes += f.count + v.count }
            if inNode > 0 {
                let nodeBytes = 6 + masterHeaderBytes + (body.count - 6) + 1
                if nodeBytes + elementBytes >= maxBytes || (maxEntries > 0 && inNode >= maxEntries) {
                    finishNode()
                }
            }
            if inNode == 0 {
                masterID = entry.id
                masterFields = entry.fields.map(\.0)
                masterHeaderBytes = 2 + 1 + 3 + 1
                for f in masterFields { masterHeaderBytes += f.withUnsafeBytes { ListpackBuilder.entrySize($0) } }
            }
            var same = entry.fields.count == masterFields.count
            if same {
                for (i, (f, _)) in entry.fields.enumerated() where f != masterFields[i] {
                    same = false
                    break
                }
            }
            let n = entry.fields.count
            bodyLP.append(integer: same ? 2 : 0)
            bodyLP.append(integer: Int64(bitPattern: entry.id.ms &- masterID.ms))
            bodyLP.append(integer: Int64(bitPattern: entry.id.seq &- masterID.seq))
            if same {
                for (_, v) in entry.fields { bodyLP.append(v) }
                bodyLP.append(integer: Int64(n + 3))
            } else {
                bodyLP.append(integer: Int64(n))
                for (f, v) in entry.fields {
                    bodyLP.append(f)
                    bodyLP.append(v)
                }
                bodyLP.append(integer: Int64(n + 3 + n + 1))
            }
            inNode += 1
        }
        finishNode()

        let type: UInt8
        switch version {
        case 14...: type = RDBType.streamListpacks5.rawValue
        case 13: type = RDBType.streamListpacks4.rawValue
        case 11...: type = RDBType.streamListpacks3.rawValue
        case 10: type = RDBType.streamListpacks2.rawValue
        default: type = RDBType.streamListpacks.rawValue
        }
        out.put(type)
        emitKey(key)
        out.putLength(nodeCount)
        out.put(nodes.bytes)
        nodes.reset()

        out.putLength(UInt64(s.entries.count))
        out.putLength(s.lastID.ms)
        out.putLength(s.lastID.seq)
        if version >= 10 {
            let first = s.firstID ?? s.entries.first?.id ?? .zero
            let maxDeleted = s.maxDeletedEntryID ?? .zero
            out.putLength(first.ms)
            out.putLength(first.seq)
            out.putLength(maxDeleted.ms)
            out.putLength(maxDeleted.seq)
            out.putLength(s.entriesAdded ?? UInt64(s.entries.count))
        } else if s.firstID != nil || s.maxDeletedEntryID != nil || s.entriesAdded != nil
                    || s.groups.contains(where: { $0.entriesReadRaw != nil }) {
            stats.streamsWithoutV2Metadata += 1
        }

        out.putLength(s.groups.count)
        for g in s.groups {
            emitString(g.name, to: out)
            out.putLength(g.lastDeliveredID.ms)
            out.putLength(g.lastDeliveredID.seq)
            if version >= 10 {
                out.putLength(g.entriesReadRaw ?? UInt64.max)
            }
            out.putLength(g.pending.count)
            for p in g.pending {
                out.putBE(p.id.ms)
                out.putBE(p.id.seq)
                out.putLE(p.deliveryTimeMs)
                out.putLength(p.deliveryCount)
            }
            out.putLength(g.consumers.count)
            for c in g.consumers {
                emitString(c.name, to: out)
                out.putLE(c.seenTimeMs)
                if version >= 11 {
                    out.putLE(c.activeTimeMs ?? c.seenTimeMs)
                } else if c.activeTimeMs != nil {
                    stats.droppedConsumerActiveTimes += 1
                }
                out.putLength(c.pendingIDs.count)
                for id in c.pendingIDs {
                    out.putBE(id.ms)
                    out.putBE(id.seq)
                }
            }
            if version >= 14 {
                out.putLength(g.nackedIDs.count)
                for id in g.nackedIDs {
                    out.putBE(id.ms)
                    out.putBE(id.seq)
                }
            }
        }
        if version >= 13 {
            writeStreamIDMP(s.idmp ?? StreamIDMP.defaults)
        } else if let idmp = s.idmp, !idmp.producers.isEmpty || idmp.iidsAdded > 0 || idmp.iidsDuplicates > 0 {
            stats.droppedStreamIDMP += 1
        }
    }

    /// The STREAM_LISTPACKS_4+ IDMP section (`rdb.c` `rdbSaveObject`, the reader's `readStreamIDMP`): duration
    /// and max entries as lengths, then per producer its name and (iid, ms, seq) entries, then the two counters.
    func writeStreamIDMP(_ idmp: StreamIDMP) {
        out.putLength(idmp.duration)
        out.putLength(idmp.maxEntries)
        out.putLength(idmp.producers.count)
        for p in idmp.producers {
            emitString(p.name, to: out)
            out.putLength(p.entries.count)
            for e in p.entries {
                emitString(e.iid, to: out)
                out.putLength(e.id.ms)
                out.putLength(e.id.seq)
            }
        }
        out.putLength(idmp.iidsAdded)
        out.putLength(idmp.iidsDuplicates)
    }
}

extension StreamIDMP {
    /// A stream with no IDMP history under Redis's default settings (`stream-idmp-duration` and
    /// `stream-idmp-maxsize`, both 100 in Redis 8.6-8.10 `config.c`).
    public static let defaults = StreamIDMP(duration: 100, maxEntries: 100, producers: [], iidsAdded: 0, iidsDuplicates: 0)
}

extension ListpackBuilder {
    /// Appends already-encoded listpack entries (encoding + data + backlen each).
    mutating func appendRawEntries(_ entries: UnsafeRawBufferPointer, count n: Int) {
        buffer.put(entries)
        addCount(n)
    }
}
