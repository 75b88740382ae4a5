import RDB

extension StreamValue {
    /// A type-15 stream (Redis 5-6.2: no first ID, max deleted ID, entries added or group entries-read) with that
    /// metadata filled in as Redis 7 fills it in when it loads such a stream (Redis `rdb.c`, the
    /// RDB_TYPE_STREAM_LISTPACKS branch: entries added = length, max deleted = 0-0, first ID = the first entry's;
    /// each group's entries-read from `streamEstimateDistanceFromFirstEverEntry`). Streams that already have it
    /// are returned unchanged. Writing the metadata keeps a replayed stream identical to a loaded one.
    public func withV2Metadata() -> StreamValue {
        guard entriesAdded == nil else { return self }
        var s = self
        let added = UInt64(entries.count)
        s.entriesAdded = added
        s.maxDeletedEntryID = .zero
        s.firstID = entries.first?.id ?? .zero
        for i in s.groups.indices where s.groups[i].entriesReadRaw == nil {
            s.groups[i].entriesReadRaw = s.estimatedEntriesRead(s.groups[i].lastDeliveredID)
        }
        return s
    }

    /// Redis `t_stream.c` `streamEstimateDistanceFromFirstEverEntry`; `UInt64.max` is "unknown" (-1).
    func estimatedEntriesRead(_ id: StreamID) -> UInt64 {
        let added = entriesAdded ?? UInt64(entries.count)
        let length = UInt64(entries.count)
        let first = firstID ?? entries.first?.id ?? .zero
        let maxDeleted = maxDeletedEntryID ?? .zero
        if added == 0 { return 0 }
        if length == 0 && id <= lastID { return added }
        if id == lastID { return added }
        if id > lastID { return UInt64.max }
        if maxDeleted == .zero || maxDeleted < first {
            if id < first { return added - length }
            if id == first { return added - length + 1 }
        }
        return UInt64.max
    }
}
