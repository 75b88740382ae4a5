#if canImport(Glibc)
import Glibc
#endif
import Base
import Foundation
import NIOCore
import ReplicaStore

/// A redis-server replicating from us, as Redis's master side serves one (replication.c `syncCommand`,
/// `masterTryPartialResynchronization`, `replicationFeedSlaves`):
///
/// - `PSYNC <replid> <offset>` is answered `+CONTINUE <replid>` when the replid is ours (or our replid2
///   with offset <= second_repl_offset) and offset - 1 lies in our log, from the snapshot's offset to its
///   end; the stream then continues from there.
/// - Otherwise `+FULLRESYNC <replid> <snapshot offset>`, the snapshot as `$<len>` and the log after it.
///   The snapshot is the master's own full-sync RDB, so its AUX (repl-id, repl-offset, repl-stream-db)
///   names that position. After an upstream +CONTINUE with a new id we announce the current replid (the
///   new history contains the old one up to the switch, PSYNC2's rule) and the AUX repl-id is rewritten to
///   it as the file is sent (`SnapshotReplidRewrite`), so the payload says what +FULLRESYNC said.
/// - The payload is always sent as `$<len>`, never with the EOF mark (`$EOF:<40 chars>`) that Redis uses
///   for diskless sync even when the replica says `capa eof`: the snapshot is a file of known size, and
///   a replica loads both forms the same way (docs/serve.md).
/// - Only bytes committed to our log are sent, read back from the segment files, so a replica's offsets
///   equal the master's byte for byte and a slow replica costs no memory: writes stop while the socket's
///   buffer is above its high-water mark, and the replica is dropped when it falls further behind our log
///   than `client-output-buffer-limit replica` allows (hard limit, or soft limit for soft seconds).
final class DownstreamReplica {
    enum State: String { case sendBulk = "send_bulk", online }

    unowned let server: ReplicaServer
    unowned let handler: ClientHandler
    let session: ClientSession
    private(set) var state = State.sendBulk
    private var tail: LogTail?
    private var rdbFile: DurableFile?
    private var rdbPosition: Int64 = 0
    private var rdbSize: Int64 = 0
    private var rewrite: SnapshotReplidRewrite?
    private var softSince: Date?
    private var stopped = false
    /// From `REPLCONF ACK <offset>`.
    private(set) var ackOffset: Int64 = 0
    private(set) var ackTime = Date()
    static let chunk = 64 << 10

    init(server: ReplicaServer, handler: ClientHandler, session: ClientSession) {
        self.server = server
        self.handler = handler
        self.session = session
    }

    var describe: String {
        "\(session.replicaAnnouncedIP ?? hostPart(session.address)):\(session.replicaListeningPort)"
    }

    var ip: String { session.replicaAnnouncedIP ?? hostPart(session.address) }

    private func hostPart(_ a: String) -> String {
        guard let colon = a.lastIndex(of: ":") else { return a }
        var h = String(a[..<colon])
        if h.hasPrefix("[") { h = String(h.dropFirst().dropLast()) }
        return h
    }

    /// Answers PSYNC/SYNC and starts sending.
    func start(replid: String, offset psyncOffset: Int64, isSync: Bool) {
        let store = server.store
        guard let m = store.currentManifest, let end = store.position?.offset else {
            handler.writeRaw(Array("-NOMASTERLINK Can't SYNC while not connected with my master\r\n".utf8), flush: true)
            handler.close()
            return
        }
        let psync2 = session.replicaCapabilities.contains("psync2")
        if !isSync && replid != "?" {
            let idMatches = replid == m.replid
                || (replid == m.replid2 && m.secondReplOffset.map { psyncOffset <= $0 } == true)
            if idMatches && psyncOffset >= m.snapshot.offset + 1 && psyncOffset <= end + 1 {
                do {
                    tail = try LogTail(store: store, after: psyncOffset - 1)
                    state = .online
                    ackOffset = psyncOffset - 1
                    server.syncPartialOK += 1
                    server.logger.notice("Replica \(describe) asks for synchronization: partial resynchronization accepted, sending \(end - psyncOffset + 1) bytes of backlog starting from offset \(psyncOffset)")
                    handler.writeRaw(Array((psync2 ? "+CONTINUE \(m.replid)\r\n" : "+CONTINUE\r\n").utf8), flush: true)
                    pump()
                    return
                } catch {
                    server.logger.warning("Partial resynchronization for \(describe) failed reading the log: \(error); falling back to a full sync")
                }
            } else {
                server.logger.notice("Partial resynchronization not accepted for replica \(describe): \(idMatches ? "offset \(psyncOffset) is outside our log (\(m.snapshot.offset + 1)...\(end + 1))" : "replication id \(replid) does not match \(m.replid)")")
            }
            server.syncPartialErr += 1
        }
        // Full sync: pin the snapshot and the log after it before answering. A compaction may switch the
        // manifest and delete the old snapshot between our look and the open: then look again.
        var pinned = m
        var file: DurableFile?
        var size: Int64 = 0
        for attempt in 1...5 {
            let path = joinPath(store.directory, pinned.snapshot.file)
            do {
                let f = try POSIXFileSystem().openForReading(path)
                file = f
                size = try f.size()
                tail = try LogTail(store: store, after: pinned.snapshot.offset)
                break
            } catch {
                file?.close()
                file = nil
                if attempt < 5, let now = store.currentManifest, now.snapshot.file != pinned.snapshot.file {
                    pinned = now
                    continue
                }
                server.logger.warning("Full sync for \(describe) failed: \(path): \(error)")
                handler.close()
                return
            }
        }
        guard let file else { return }
        rdbFile = file
        rdbSize = size
        var announced = pinned.replid
        if let auxID = pinned.snapshot.aux?.replid, auxID != pinned.replid {
            // An upstream +CONTINUE switched ids since the snapshot: its AUX repl-id is the old one.
            do {
                rewrite = try SnapshotReplidRewrite.make(file: file, size: size, oldReplid: auxID, newReplid: pinned.replid,
                                                         hasCRC: pinned.snapshot.crc64 != nil)
            } catch {
                server.logger.warning("Full sync for \(describe): cannot read the snapshot's AUX fields: \(error)")
            }
            if rewrite == nil {
                announced = auxID
                server.logger.notice("Snapshot \(pinned.snapshot.file) has no raw repl-id AUX record to rewrite: announcing its id \(auxID)")
            }
        }
        server.syncFull += 1
        server.logger.notice("Replica \(describe) asks for synchronization: full resync from snapshot \(pinned.snapshot.file) (\(rdbSize) bytes) at \(announced):\(pinned.snapshot.offset)\(rewrite == nil ? "" : " (AUX repl-id rewritten from \(pinned.snapshot.aux?.replid ?? ""))")")
        var head = isSync ? "" : "+FULLRESYNC \(announced) \(pinned.snapshot.offset)\r\n"
        head += "$\(rdbSize)\r\n"
        handler.writeRaw(Array(head.utf8), flush: true)
        pump()
    }

    /// Writes what the socket takes: the rest of the snapshot, then committed log bytes.
    func pump() {
        guard !stopped, let ch = handler.channel, let tail else { return }
        let store = server.store
        var wrote = false
        do {
            while ch.isWritable {
                if state == .sendBulk {
                    let n = Int(min(Int64(DownstreamReplica.chunk), rdbSize - rdbPosition))
                    if n > 0 {
                        var buf = [UInt8](repeating: 0, count: n)
                        guard let rdbFile else { throw LogTail.Failure.io(file: "snapshot", errno: EBADF) }
                        let got = try buf.withUnsafeMutableBytes { try rdbFile.readFully(at: rdbPosition, into: $0) }
                        guard got == n else { throw LogTail.Failure.damaged(file: rdbFile.path, at: rdbPosition + Int64(got), "the snapshot is shorter than when the sync began") }
                        rewrite?.apply(&buf, at: rdbPosition)
                        rdbPosition += Int64(n)
                        handler.writeRaw(buf, flush: false)
                        wrote = true
                        continue
                    }
                    rdbFile?.close()
                    rdbFile = nil
                    state = .online
                    ackTime = Date()
                    server.logger.notice("Synchronization with replica \(describe) succeeded (snapshot sent)")
                }
                let end = store.position?.offset ?? tail.offset
                let bytes = try tail.read(upTo: end, maxChunk: DownstreamReplica.chunk, manifest: { store.currentManifest })
                if bytes.isEmpty { break }
                handler.writeRaw(bytes, flush: false)
                wrote = true
            }
        } catch {
            server.logger.warning("Replica \(describe): reading our log failed: \(error); disconnecting it")
            handler.close()
            return
        }
        if wrote { ch.flush() }
        checkLimits()
    }

    /// `client-output-buffer-limit replica`: counted as bytes of our log not yet sent to this replica.
    private func checkLimits() {
        guard let tail, let end = server.store.position?.offset else { return }
        let behind = end - tail.offset
        let c = server.configuration
        var exceeded = behind > c.replicaHardLimit
        if behind > c.replicaSoftLimit {
            let since = softSince ?? Date()
            softSince = since
            if Date().timeIntervalSince(since) >= Double(c.replicaSoftSeconds) { exceeded = true }
        } else {
            softSince = nil
        }
        if exceeded {
            server.logger.warning("Client \(session.address) (replica \(describe)) closed for overcoming of output buffer limits: \(behind) bytes behind our log")
            handler.close()
            stop()
        }
    }

    /// Commands from the replica: only `REPLCONF ACK <offset> [FACK <offset>]` matters (no reply).
    func received(_ args: [[UInt8]]) {
        guard args.count >= 3, String(decoding: args[0], as: UTF8.self).lowercased() == "replconf",
              String(decoding: args[1], as: UTF8.self).lowercased() == "ack",
              let off = Int64(String(decoding: args[2], as: UTF8.self)) else { return }
        if off > ackOffset { ackOffset = off }
        ackTime = Date()
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        rdbFile?.close()
        rdbFile = nil
        tail?.close()
        tail = nil
    }
}
