import Base
import RESP

/// The streaming phase (`REPL_STATE_CONNECTED`): commands from the master, committed at boundaries
/// outside MULTI, `REPLCONF GETACK` answered and `REPLCONF ACK` sent every second (replication.c
/// `replicationCron`, `replicationSendAck`; networking.c `processMultibulkBuffer`).
struct StreamState: Sendable {
    /// After `input.readIndex`, `parsed` bytes are complete commands; the first `committable` of them end
    /// outside MULTI (`dbAtCommittable` is the db selected there).
    var parsed = 0
    var committable = 0
    var currentDB: Int
    var dbAtCommittable: Int
    var inMulti = false
    var lastAckSent: UInt64
    /// The command after the `parsed` bytes, scanned as far as it has arrived.
    var scanner: RESPCommandScanner
    /// Bytes after the committed position already handed out with `.appendUnfinished` (no longer in the
    /// input buffer): `input.buffer[input.readIndex]` is stream byte `position.offset + handedOut + 1`.
    var handedOut: Int64 = 0

    init(db: Int, lastAckSent: UInt64, limits: RESPLimits) {
        currentDB = db
        dbAtCommittable = db
        self.lastAckSent = lastAckSent
        scanner = RESPCommandScanner(limits: limits)
    }
}

extension ReplicaLink {
    mutating func sendAck(_ s: inout StreamState, _ out: inout [LinkAction], now: UInt64, offset: Int64) {
        s.lastAckSent = now
        out.append(.sendAck(offset: offset, bytes: ReplicaLink.ackCommand(offset: offset, fsynced: nil)))
    }

    /// `REPLCONF ACK <offset>`, or with `fsynced` `REPLCONF ACK <offset> FACK <fsynced>` (Redis 7.2+
    /// replication.c `replicationSendAck`: the master keeps the highest FACK as the replica's
    /// `repl_aof_off`, which `WAITAOF` counts; masters before 7.2 read the offset and ignore the rest).
    public static func ackCommand(offset: Int64, fsynced: Int64?) -> [UInt8] {
        guard let fsynced else { return RESPEncoder.command("REPLCONF", "ACK", String(offset)) }
        return RESPEncoder.command("REPLCONF", "ACK", String(offset), "FACK", String(fsynced))
    }

    /// The commands the link itself acts on; everything else is just counted and committed.
    enum StreamCommand {
        case multi, exec, select(db: Int?), getack, other
    }

    /// Whether `bytes` equals `lower` ignoring ASCII case (no allocation: this runs once per command).
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let l = lower.utf8Start
        for i in 0..<bytes.count where bytes[i] | 0x20 != l[i] { return false }
        return true
    }

    static func classify(_ frame: UnsafeRawBufferPointer, _ scan: RESPCommandScan) -> StreamCommand {
        if let r0 = scan.argumentRange(0) {
            guard r0.count >= 4, r0.count <= 8 else { return .other }
            return classify(name: UnsafeRawBufferPointer(rebasing: frame[r0]), frame, scan)
        }
        // The command's first bytes were released while it arrived in chunks: the scan kept copies.
        return scan.withArgument(0, in: frame) { classify(name: $0, frame, scan) } ?? .other
    }

    static func classify(name: UnsafeRawBufferPointer, _ frame: UnsafeRawBufferPointer, _ scan: RESPCommandScan) -> StreamCommand {
        switch name.count {
        case 4:
            return equalsIgnoringCase(name, "exec") ? .exec : .other
        case 5:
            return equalsIgnoringCase(name, "multi") ? .multi : .other
        case 6:
            if equalsIgnoringCase(name, "select") {
                return scan.withArgument(1, in: frame) { arg -> StreamCommand in
                    guard arg.count >= 1, arg.count <= 9 else { return .select(db: nil) }
                    var db = 0
                    for b in arg {
                        guard b >= 0x30 && b <= 0x39 else { return .select(db: nil) }
                        db = db * 10 + Int(b - 0x30)
                    }
                    return .select(db: db)
                } ?? .select(db: nil)
            }
            return .other
        case 7:
            return equalsIgnoringCase(name, "discard") ? .exec : .other
        case 8:
            guard equalsIgnoringCase(name, "replconf") else { return .other }
            return scan.withArgument(1, in: frame) { equalsIgnoringCase($0, "getack") } == true ? .getack : .other
        default:
            return .other
        }
    }

    mutating func processStream(_ s: inout StreamState, _ out: inout [LinkAction], now: UInt64) {
        while true {
            // Re-read each time: a GETACK flushes (and advances the position) mid-loop.
            guard let committed = position else { return }
            let start = input.readIndex + s.parsed
            guard start < input.buffer.count else { break }
            // The offset of the frame's first byte in the buffer (the command's, unless part was released).
            let streamOffset = committed.offset + s.handedOut + 1 + Int64(s.parsed)
            let found: (scan: RESPCommandScan, command: StreamCommand)?
            do {
                found = try input.buffer.withUnsafeBytes { raw -> (RESPCommandScan, StreamCommand)? in
                    let frame = UnsafeRawBufferPointer(rebasing: raw[start...])
                    guard let c = try s.scanner.scan(frame, baseOffset: streamOffset) else { return nil }
                    return (c, ReplicaLink.classify(frame, c))
                }
            } catch {
                let commandOffset = streamOffset - Int64(s.scanner.released)
                phase = .streaming(s)
                streamFailed(LinkFailure(.protocolError, "Protocol error in the replication stream in the command at master offset \(commandOffset): \(error)"), &out)
                return
            }
            guard let (scan, command) = found else { break }
            switch command {
            case .multi:
                s.inMulti = true
            case .exec:
                s.inMulti = false
            case .select(let db):
                if let db {
                    s.currentDB = db
                } else {
                    out.append(.log(.warning, "SELECT with a bad db index at master offset \(streamOffset) ignored"))
                }
            case .getack:
                // Answer with the offset processed before this GETACK (inside MULTI: before the MULTI). Outside
                // MULTI every parsed byte is committable, so after the flush that is the position.
                flushCommitted(&s, &out)
                sendAck(&s, &out, now: now, offset: position?.offset ?? committed.offset)
            case .other:
                break
            }
            s.parsed += scan.byteCount
            if !s.inMulti {
                s.committable = s.parsed
                s.dbAtCommittable = s.currentDB
            }
        }
        flushCommitted(&s, &out)
        releaseHeld(&s, &out)
        phase = .streaming(s)
    }

    /// When more than `maxHeldCommandBytes` of an unfinished command or transaction are held, hands out
    /// the ones the scan no longer needs (whole commands inside MULTI, whole arguments, a bulk payload up
    /// to its final CRLF) as `.appendUnfinished`, and drops them from the input buffer. The position does
    /// not move: it stays at the last boundary, as Redis's `reploff` does.
    mutating func releaseHeld(_ s: inout StreamState, _ out: inout [LinkAction]) {
        guard input.available > configuration.maxHeldCommandBytes, let p = position else { return }
        let frameInBuffer = input.available - s.parsed
        let n = s.parsed + min(s.scanner.releasableBytes, frameInBuffer)
        guard n > 0 else { return }
        let bytes = input.buffer[input.readIndex..<(input.readIndex + n)]
        let frameStart = input.readIndex + s.parsed
        input.buffer.withUnsafeBytes { s.scanner.release(n - s.parsed, from: UnsafeRawBufferPointer(rebasing: $0[frameStart...])) }
        input.readIndex += n
        s.parsed = 0
        s.handedOut += Int64(n)
        out.append(.appendUnfinished(bytes: bytes, endOffset: p.offset + s.handedOut))
    }

    /// A protocol error in the stream: close and retry with PSYNC from the committed offset. The same bytes
    /// would come again, so after `maxIdenticalStreamFailures` failures in a row at that offset the cached
    /// master is dropped and the next sync is a full one, as Redis does (it never caches a master it freed
    /// for a protocol error, replication.c `replicationCacheMaster` is only reached on a clean loss).
    mutating func streamFailed(_ failure: LinkFailure, _ out: inout [LinkAction]) {
        fail(failure, &out)
        guard let p = position else { return }
        var count = 1
        if let last = repeatedStreamFailure, last.offset == p.offset { count = last.count + 1 }
        repeatedStreamFailure = (p.offset, count)
        let limit = configuration.maxIdenticalStreamFailures
        if count >= limit {
            out.append(.log(.warning, "Protocol error in the replication stream at master offset \(p.offset + 1) \(count) time(s) in a row: discarding the cached master \(p.replid):\(p.offset); the next sync is a full one"))
            position = nil
            repeatedStreamFailure = nil
        } else {
            out.append(.log(.notice, "Protocol error \(count) of \(limit) at master offset \(p.offset + 1): retrying PSYNC \(p.replid) \(p.offset + 1)"))
        }
    }

    /// Hands out the complete commands that end outside MULTI and advances the committed position.
    ///
    /// The stream-byte path copies each byte at most twice in user space: the driver appends the socket's
    /// `ByteBuffer` bytes straight into `input.buffer` (copy 1, `receive(_:now:)`); the `.appendStream`
    /// action carries a slice of that buffer (no copy), and the store writes it to the log (copy 2: into a
    /// framed record for records up to 256 KiB, else written as is). `.appendUnfinished` slices go the same
    /// way. Besides these, `input.buffer` moves bytes only when it grows (a read that does not fit its
    /// capacity: the unconsumed bytes are copied once per doubling, bounded by `maxHeldCommandBytes` plus a
    /// read) and when `LinkInput.compact` moves an unconsumed tail to the front (a partial command's bytes
    /// the scan still needs; at most what was consumed before them).
    /// Bytes handed out before with `.appendUnfinished` are part of the first command here: the position
    /// advances over them too.
    mutating func flushCommitted(_ s: inout StreamState, _ out: inout [LinkAction]) {
        guard s.committable > 0, var p = position else { return }
        let bytes = input.buffer[input.readIndex..<(input.readIndex + s.committable)]
        p.offset += s.handedOut + Int64(s.committable)
        s.handedOut = 0
        p.streamDB = s.dbAtCommittable
        position = p
        input.readIndex += s.committable
        s.parsed -= s.committable
        s.committable = 0
        out.append(.appendStream(bytes: bytes, endOffset: p.offset, db: p.streamDB))
    }
}
