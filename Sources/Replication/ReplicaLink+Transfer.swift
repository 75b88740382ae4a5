import Base
import RESP

/// The id and offset a full sync's RDB belongs to (`replid` nil after the `SYNC` fallback).
struct FullSyncTarget: Sendable {
    var replid: String?
    var offset: Int64
}

/// The transfer phase (`REPL_STATE_TRANSFER`): the RDB preamble, the payload, then waiting for the driver
/// to persist it (replication.c `readSyncBulkPayload`).
struct TransferState: Sendable {
    enum Progress: Sendable {
        /// Waiting for `$<len>` or `$EOF:<mark>` (newlines before it are the master's keepalives).
        case awaitingPreamble
        /// Disk-based: `remaining` of `total` payload bytes still to come.
        case sized(remaining: Int64, total: Int64)
        /// Diskless: up to 39 bytes are held back in case they start the mark.
        case eofMark(mark: [UInt8], holdback: [UInt8], total: Int64)
        /// The RDB is complete; the driver is persisting it. Stream bytes wait in the input buffer.
        case awaitingPersist
    }
    var target: FullSyncTarget
    var progress: Progress = .awaitingPreamble
    /// When the last keepalive newline went out while awaiting persistence.
    var lastNewline: UInt64 = 0
}

extension ReplicaLink {
    mutating func transferTick(_ t: inout TransferState, _ out: inout [LinkAction], now: UInt64, idle: UInt64) {
        if case .awaitingPersist = t.progress {
            // The master counts its repl-timeout from the end of the transfer until our first ACK; while
            // the driver fsyncs, verifies and publishes, a newline shows we are alive
            // (replication.c `replicationSendNewlineToMaster`, called while loading).
            if now &- t.lastNewline >= configuration.keepaliveNewlineIntervalNanos - configuration.keepaliveNewlineIntervalNanos / 4 {
                t.lastNewline = now
                out.append(.send([UInt8(ascii: "\n")]))
                phase = .transfer(t)
            }
            return
        }
        if idle > configuration.replTimeoutNanos {
            fail(LinkFailure(.timeout, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter to a larger value."), &out)
        }
    }

    mutating func processTransfer(_ t: inout TransferState, _ out: inout [LinkAction], now: UInt64) {
        switch t.progress {
        case .awaitingPreamble:
            guard let line = readReplyLine(&out) else { return }
            if line.isEmpty { return } // keepalive newline while the master prepares the RDB
            let text = ReplicaLink.text(line)
            if ReplicaLink.hasPrefix(line, "-") {
                fail(LinkFailure(.masterNotReady, "MASTER aborted replication with an error: \(text)"), &out)
                return
            }
            guard ReplicaLink.hasPrefix(line, "$") else {
                fail(LinkFailure(.protocolError, "Bad protocol from MASTER, the first byte is not '$' (we received '\(text)'), are you sure the host and port are right?"), &out)
                return
            }
            if ReplicaLink.hasPrefix(line, "$EOF:") {
                guard line.count >= 5 + 40 else {
                    fail(LinkFailure(.protocolError, "Bad EOF mark from MASTER: '\(text)'"), &out)
                    return
                }
                let mark = Array(line[5..<45])
                out.append(.log(.notice, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"))
                out.append(.beginFullSync(replid: t.target.replid, offset: t.target.offset, transfer: .eofMark))
                t.progress = .eofMark(mark: mark, holdback: [], total: 0)
                phase = .transfer(t)
            } else {
                guard let length = Int64(String(decoding: line[1...], as: UTF8.self)), length >= 0, length <= (1 << 50) else {
                    fail(LinkFailure(.protocolError, "Bad RDB length from MASTER: '\(text)'"), &out)
                    return
                }
                out.append(.log(.notice, "MASTER <-> REPLICA sync: receiving \(length) bytes from master to disk"))
                out.append(.beginFullSync(replid: t.target.replid, offset: t.target.offset, transfer: .sized(length: length)))
                t.progress = .sized(remaining: length, total: length)
                if length == 0 { finishRDB(&t, &out, total: 0) }
                phase = .transfer(t)
            }
        case .sized(let remaining, let total):
            let n = Int(min(Int64(input.available), remaining))
            if n > 0 {
                out.append(.rdbBytes(Array(input.buffer[input.readIndex..<(input.readIndex + n)])))
                input.readIndex += n
            }
            let left = remaining - Int64(n)
            t.progress = .sized(remaining: left, total: total)
            if left == 0 { finishRDB(&t, &out, total: total) }
            phase = .transfer(t)
        case .eofMark(let mark, let holdback, let total):
            // The last 40 bytes might be the mark: hold back up to 39 bytes of a possible partial mark,
            // and look for the whole mark anywhere in holdback + new bytes (it may span reads).
            var window = holdback
            window.append(contentsOf: input.buffer[input.readIndex...])
            input.readIndex = input.buffer.count
            if let at = ReplicaLink.find(mark, in: window) {
                if at > 0 { out.append(.rdbBytes(Array(window[0..<at]))) }
                // Anything after the mark is stream data: keep it for after the snapshot.
                input.buffer = Array(window[(at + 40)...])
                input.readIndex = 0
                input.connectionBase = 0
                finishRDB(&t, &out, total: total + Int64(at))
            } else {
                let keep = min(window.count, 39)
                let emit = window.count - keep
                if emit > 0 { out.append(.rdbBytes(Array(window[0..<emit]))) }
                t.progress = .eofMark(mark: mark, holdback: Array(window[emit...]), total: total + Int64(emit))
            }
            phase = .transfer(t)
        case .awaitingPersist:
            return // stream bytes wait until the snapshot is persisted
        }
    }

    private mutating func finishRDB(_ t: inout TransferState, _ out: inout [LinkAction], total: Int64) {
        t.progress = .awaitingPersist
        t.lastNewline = input.lastActivity
        out.append(.log(.notice, "MASTER <-> REPLICA sync: Finished with success (\(total) bytes)"))
        out.append(.endOfRDB(totalBytes: total))
    }

    /// First index of `needle` in `haystack` (a simple scan keyed on the first byte).
    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        let last = haystack.count - needle.count
        var i = 0
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// The driver persisted the RDB: adopt its position and start streaming (if still connected).
    mutating func snapshotPersisted(_ out: inout [LinkAction], now: UInt64, streamDB: Int?) {
        let target: FullSyncTarget
        var connectedTransfer = false
        if case .transfer(let t) = phase, case .awaitingPersist = t.progress {
            target = t.target
            connectedTransfer = true
        } else if let orphan = orphanedPersist {
            target = orphan
        } else {
            out.append(.log(.debug, "snapshotPersisted ignored: no snapshot pending"))
            return
        }
        orphanedPersist = nil
        let replid = target.replid ?? String(repeating: "0", count: 40)
        if target.replid == nil {
            out.append(.log(.warning, "The master did not send a replication id (SYNC): partial resynchronization will not be possible"))
        }
        let p = ReplicationPosition(replid: replid, offset: target.offset, streamDB: streamDB ?? 0)
        position = p
        guard connectedTransfer else { return }
        input.lastActivity = now
        var s = StreamState(db: p.streamDB, lastAckSent: now, limits: configuration.limits)
        move(to: .streaming(s), &out)
        // A diskless master starts streaming only after this first ACK.
        sendAck(&s, &out, now: now, offset: target.offset)
        phase = .streaming(s)
        process(&out, now: now)
    }

    /// The driver's verification refused the RDB: it is discarded, and a new transfer is needed.
    mutating func snapshotRejected(_ out: inout [LinkAction], now: UInt64, reason: String) {
        let failure = LinkFailure(.protocolError, "received RDB failed verification: \(reason)")
        if case .transfer(let t) = phase, case .awaitingPersist = t.progress {
            fail(failure, &out, keepPendingSnapshot: false)
        } else if orphanedPersist != nil {
            orphanedPersist = nil
            out.append(.log(.warning, failure.message))
        } else {
            out.append(.log(.debug, "snapshotRejected ignored: no snapshot pending"))
        }
    }
}
