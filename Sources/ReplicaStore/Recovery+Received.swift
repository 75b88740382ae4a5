import Base

extension Recovery {
    /// The received-snapshot markers (see `ReceivedSnapshot` and the decision table on `Recovery`): the
    /// highest-numbered usable one, and why others were not usable. Reads only the markers, the RDBs'
    /// first records (AUX) and their 9-byte trailers. Never modifies anything.
    static func findReceived(fs: FileSystem, directory: String, names: [String],
                             manifestSnapshot: String?) -> (ReceivedSnapshot?, [String]) {
        let markers = names.filter(ReceivedSnapshot.isMarkerName)
            .sorted { (fileNumber($0) ?? 0) > (fileNumber($1) ?? 0) }
        var discarded: [String] = []
        for name in markers {
            let path = joinPath(directory, name)
            do {
                let r = try checkReceived(fs: fs, directory: directory, names: names, marker: name)
                if r.file == manifestSnapshot { continue } // published; the marker is a leftover
                return (r, discarded)
            } catch {
                discarded.append("\(path): \(error)")
            }
        }
        return (nil, discarded)
    }

    /// One marker and its RDB: the marker's checksum and fields, the RDB present with the recorded size,
    /// CRC-64 trailer, and AUX fields that do not contradict the recorded +FULLRESYNC position.
    static func checkReceived(fs: FileSystem, directory: String, names: [String], marker: String) throws -> ReceivedSnapshot {
        let path = joinPath(directory, marker)
        let mfile = try fs.openForReading(path)
        defer { mfile.close() }
        let msize = try mfile.size()
        guard msize <= 1 << 20 else {
            throw StoreError(.badManifest, file: path, offset: nil, "marker is \(msize) bytes, not plausible")
        }
        let r = try ReceivedSnapshot.decode(try mfile.readFully(at: 0, count: Int(msize)), path: path)
        guard ReceivedSnapshot.markerName(forSnapshot: r.file) == marker else {
            throw StoreError(.badManifest, file: path, offset: 0, "the marker names \(r.file), not its own snapshot")
        }
        let snapPath = joinPath(directory, r.file)
        guard names.contains(r.file) else {
            throw StoreError(.missingFile, file: snapPath, offset: nil, "the received snapshot named by \(marker) is missing")
        }
        let snap = try fs.openForReading(snapPath)
        defer { snap.close() }
        let size = try snap.size()
        guard size == r.size else {
            throw StoreError(.badSnapshot, file: snapPath, offset: nil, "received snapshot is \(size) bytes but \(marker) recorded \(r.size)")
        }
        let (header, aux) = try SnapshotInspector.readPosition(file: snap, name: snapPath)
        if let aux, let problem = aux.disagreement(replid: r.replid, offset: r.offset) {
            throw StoreError(.snapshotMismatch, file: snapPath, offset: nil, "received snapshot AUX \(problem) (\(marker): \(r.replid) \(r.offset))")
        }
        let trailer = try SnapshotInspector.trailerCRC64(file: snap, size: size, header: header).map { hexDigits($0, 16) }
        guard trailer == r.crc64 else {
            throw StoreError(.badSnapshot, file: snapPath, offset: max(0, size - 8),
                             "CRC-64 trailer \(trailer ?? "(none)") differs from \(marker)'s \(r.crc64 ?? "(none)")")
        }
        return r
    }
}
