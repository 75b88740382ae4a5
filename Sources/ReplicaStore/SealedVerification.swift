import Base
import Foundation

/// `DAMAGED` in the data directory: written when the background verification finds a sealed segment
/// damaged. Its presence refuses every later open (writable or read-only) with the file and byte offset:
/// the log cannot be replayed past the damage, so neither the position nor a dataset built from it can
/// be trusted. What to do is in the message: move the directory aside and let `follow` full-sync into a
/// new one (the damaged directory stays for inspection).
struct DamageMarker: Codable, Sendable, Equatable {
    static let fileName = "DAMAGED"
    var file: String
    var offset: Int64
    var reason: String
    var unixMs: Int64

    static func refusal(fs: FileSystem, directory: String) throws -> StoreError {
        let path = joinPath(directory, fileName)
        var found: DamageMarker?
        if let f = try? fs.openForReading(path) {
            defer { f.close() }
            if let n = try? f.size(), n < 64 << 10, let bytes = try? f.readFully(at: 0, count: Int(n)) {
                found = try? JSONDecoder().decode(DamageMarker.self, from: Data(bytes))
            }
        }
        guard let m = found else {
            return StoreError(.logDamage, file: path, offset: nil,
                              "\(fileName) is present (a sealed log segment was found damaged) but unreadable; refusing to start: move this directory aside and run `follow` with a new one (one full sync)")
        }
        return StoreError(.logDamage, file: joinPath(directory, m.file), offset: m.offset,
                          "\(m.reason) (found by the background verification of sealed segments, recorded in \(path)); the log cannot be replayed past it, so this directory is refused: move it aside and run `follow` with a new one (one full sync)")
    }
}

/// The outcome of `ReplicaStore.verifySealedSegments`.
public enum SealedVerification: Sendable, Equatable {
    /// Every sealed segment taken on trust at open was read whole and its CRCs matched.
    case verified(segments: Int, bytes: Int64)
    /// A sealed segment is damaged: the store is stopped (every later call throws) and `DAMAGED` written.
    case damaged(file: String, offset: Int64, reason: String)
    /// Stopped on request, or the store was closed or replaced by a full sync meanwhile.
    case stopped
}

/// **Start-up in constant time.** A writable open reads only the last (unsealed) segment; the sealed
/// ones (fsynced before the next segment was created, every record CRC-checked) are taken on trust and
/// read here, in the background, after PSYNC went out. Until this has finished no compaction runs, so
/// nothing is built from an unverified log into a snapshot.
///
/// **A damaged sealed segment** is reported (the returned case, which `follow` logs at error level with
/// the file and byte offset), recorded durably as `DAMAGED` (every later open refuses the directory,
/// naming the file and offset), and stops the store: appends throw, so `follow` exits with that error
/// rather than going on from a log that cannot be replayed. A segment deleted meanwhile (a full sync or
/// a compaction replaced it) is skipped: nothing depends on it any more.
extension ReplicaStore {
    /// Whether the sealed segments taken on trust at open have all been read and found whole.
    /// Read without the store's lock (StoreWatch.swift).
    public var sealedSegmentsVerified: Bool { published.sealedVerified.load(ordering: .acquiring) }

    public func verifySealedSegments(shouldStop: () -> Bool = { false }) -> SealedVerification {
        var segments = 0
        var bytes: Int64 = 0
        while true {
            if shouldStop() { return .stopped }
            let next: SegmentScan? = lock.withLock { closed || failure != nil ? nil : unverifiedSealed.first }
            guard let scan = next else {
                return lock.withLock { closed || failure != nil } ? .stopped : .verified(segments: segments, bytes: bytes)
            }
            let path = joinPath(directory, scan.file)
            let stillNamed = { [self] in readableSegments().contains { $0.file == scan.file } }
            var found: (Int64, String)?
            do {
                let file = try fs.openForReading(path)
                defer { file.close() }
                let s = try LogScanner.scan(file: file, name: scan.file, startOffset: scan.startOffset)
                if let d = s.damage {
                    found = (d.fileOffset, "\(d.reason) (\(s.records) whole records before it)")
                } else if let run = s.unfinished {
                    found = (s.validBytes, "the segment ends inside a command (\(run.records) record(s) flagged continues without their closing record; a run never spans segments)")
                } else if s.endOffset != scan.endOffset {
                    found = (s.validBytes, "the segment ends at offset \(s.endOffset) but the next segment starts at \(scan.endOffset)")
                }
                bytes += s.fileSize
            } catch {
                if !stillNamed() { found = nil } else { found = (0, "cannot read it: \(error)") }
            }
            if let (offset, reason) = found, stillNamed() {
                let marker = DamageMarker(file: scan.file, offset: offset, reason: reason, unixMs: options.clock())
                if let data = try? JSONEncoder().encode(marker) {
                    try? fs.writeAtomically(joinPath(directory, DamageMarker.fileName), bytes: Array(data))
                }
                lock.withLock {
                    _ = poison(StoreError(.logDamage, file: path, offset: offset,
                                          "sealed segment damaged: \(reason); recorded in \(DamageMarker.fileName), the directory is refused from now on"),
                               "verifying sealed segments")
                }
                return .damaged(file: path, offset: offset, reason: reason)
            }
            segments += 1
            lock.withLock { unverifiedSealed.removeAll { $0.file == scan.file } }
        }
    }
}
