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
        out.append(.sendAck(offset: offset, bytes: RESPEncoder.command("REPLCONF", "ACK", String(offset))))
    }

    private static func lowercasedASCII(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        bytes.map { ($0 >= 0x41 && $0 <= 0x5a) ? $0 | 0x20 : $0 }
    }

    mutating func processStream(_ s: inout StreamState, _ out: inout [LinkAction], now: UInt64) {
        while true {
            // Re-read each time: a GETACK flushes (and advances the position) mid-loop.
            guard let committed = position else { return }
            let start = input.readIndex + s.parsed
            guard start < input.buffer.count else { break }
            let streamOffset = committed.offset + 1 + Int64(s.parsed)
            var name: [UInt8] = []
            var arg1: [UInt8] = []
            let scan: RESPCommandScan?
            do {
                scan = try input.buffer.withUnsafeBytes { raw -> RESPCommandScan? in
                    let frame = UnsafeRawBufferPointer(rebasing: raw[start...])
                    guard let c = try s.scanner.scan(frame, baseOffset: streamOffset) else { return nil }
                    if let r = c.argumentRange(0), r.count <= 16 {
                        name = ReplicaLink.lowercasedASCII(UnsafeRawBufferPointer(rebasing: frame[r]))
                    }
                    if let r = c.argumentRange(1), r.count <= 32 {
                        arg1 = ReplicaLink.lowercasedASCII(UnsafeRawBufferPointer(rebasing: frame[r]))
                    }
                    return c
                }
            } catch {
                phase = .streaming(s)
                streamFailed(LinkFailure(.protocolError, "Protocol error in the replication stream at master offset \(streamOffset): \(error)"), &out)
                return
            }
            guard let scan else { break }
            let offsetBefore = committed.offset + Int64(s.parsed)
            switch name {
            case Array("multi".utf8):
                s.inMulti = true
            case Array("exec".utf8), Array("discard".utf8):
                s.inMulti = false
            case Array("select".utf8):
                if let db = Int(String(decoding: arg1, as: UTF8.self)), db >= 0 {
                    s.currentDB = db
                } else {
                    out.append(.log(.warning, "SELECT with a bad db index at master offset \(streamOffset) ignored"))
                }
            case Array("replconf".utf8) where arg1 == Array("getack".utf8):
                // Answer with the offset processed before this GETACK (inside MULTI: before the MULTI).
                flushCommitted(&s, &out)
                let ackOffset = s.inMulti ? (position?.offset ?? committed.offset) : offsetBefore
                sendAck(&s, &out, now: now, offset: ackOffset)
            default:
                break
            }
            s.parsed += scan.byteCount
            if !s.inMulti {
                s.committable = s.parsed
                s.dbAtCommittable = s.currentDB
            }
        }
        flushCommitted(&s, &out)
        phase = .streaming(s)
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
    /// framed record for records up to 256 KiB, else written as is).
    mutating func flushCommitted(_ s: inout StreamState, _ out: inout [LinkAction]) {
        guard s.committable > 0, var p = position else { return }
        let bytes = input.buffer[input.readIndex..<(input.readIndex + s.committable)]
        p.offset += Int64(s.committable)
        p.streamDB = s.dbAtCommittable
        position = p
        input.readIndex += s.committable
        s.parsed -= s.committable
        s.committable = 0
        out.append(.appendStream(bytes: bytes, endOffset: p.offset, db: p.streamDB))
    }
}
