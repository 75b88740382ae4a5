// libFuzzer target: the data directory's recovery (ReplicaStore.open and ReplicaStore.inspect)
// over arbitrary directory contents, in a scratch directory on tmpfs (/dev/shm) when there is one.
//
// A valid template directory is made once at start-up through the store's own API: a full sync of
// a small RDB carrying its repl-id/repl-offset/repl-stream-db AUX fields, then appends rolled over
// three log segments (some commands written as runs of records flagged `continues`, and an unfinished
// run at the tail), and a partial sync with a new replid. Each input then either
//   (even byte 0) patches the template's files: a list of (file, operation, offset, value) edits:
//       flip a byte, set a byte, truncate, cut out a range, delete the file, add junk at the end;
//   (odd byte 0)  replaces the template's files with length-prefixed contents from the input.
// Findings: a crash, a hang, a leak, an error that is not a `StoreError`; and, when the directory
// opens, a store that breaks its own rules: the position must be the snapshot offset plus the log
// bytes, the log contiguous, `inspect` must agree, a reopen must recover the same position, and an
// append must be there after another reopen.
import FuzzDriver
import Foundation
import Glibc
import ReplicaStore

let replidA = "8de1787ba490483314a4d30f1c628bc5025eb761"
let replidB = "0123456789abcdef0123456789abcdef01234567"

/// A minimal RDB 10 file: AUX repl-id/repl-offset/repl-stream-db, one string key, EOF, no checksum.
func snapshotRDB(replid: String, offset: Int64, streamDB: Int) -> [UInt8] {
    func str(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
    var b = Array("REDIS0010".utf8)
    b += [0xFA] + str("repl-id") + str(replid)
    b += [0xFA] + str("repl-offset") + str(String(offset))
    b += [0xFA] + str("repl-stream-db") + str(String(streamDB))
    b += [0xFE, 0x00, 0x00] + str("k") + str("v")
    b += [0xFF] + [UInt8](repeating: 0, count: 8)
    return b
}

func command(_ args: String...) -> [UInt8] {
    var out = Array("*\(args.count)\r\n".utf8)
    for a in args { out += Array("$\(a.utf8.count)\r\n\(a)\r\n".utf8) }
    return out
}

let options = ReplicaStore.Options(segmentSize: 600, backgroundSync: false)
let scratchBase = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
let scratch = "\(scratchBase)/fuzz-store-\(getpid())"

func clearScratch() {
    if let names = try? FileManager.default.contentsOfDirectory(atPath: scratch) {
        for n in names { unlink(scratch + "/" + n) }
    } else {
        mkdir(scratch, 0o700)
    }
}

/// The template: (file name, contents), MANIFEST first.
let template: [(name: String, bytes: [UInt8])] = {
    clearScratch()
    do {
        let store = try ReplicaStore.open(directory: scratch, fsync: .no, options: options)
        let w = try store.beginFullSync(replid: replidA, offset: 100)
        try w.write(snapshotRDB(replid: replidA, offset: 100, streamDB: 2))
        try w.finish()
        _ = try store.publish(w)
        for i in 0..<24 {
            let c = command("SET", "key:\(i)", String(repeating: "v", count: i * 3))
            if i % 5 == 4 {
                // A command streamed in chunks: records flagged `continues`, closed by the last one.
                _ = try store.appendUnfinished(Array(c[0..<(c.count / 3)]))
                _ = try store.appendUnfinished(Array(c[(c.count / 3)..<(c.count / 2)]))
                _ = try store.append(Array(c[(c.count / 2)...]), streamDB: i % 4)
            } else {
                _ = try store.append(c, streamDB: i % 4)
            }
        }
        try store.recordPartialSync(replid: replidB)
        _ = try store.append(command("PING"), streamDB: 1)
        // An unfinished command at the tail (cut by recovery).
        _ = try store.appendUnfinished(command("SET", "tail", "unfinished"))
        try store.close()
    } catch {
        finding("cannot build the template directory: \(error)")
    }
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).filter { $0 != "LOCK" }.sorted {
        ($0 == "MANIFEST" ? "" : $0) < ($1 == "MANIFEST" ? "" : $1)
    }
    let files = names.map { ($0, [UInt8](FileManager.default.contents(atPath: scratch + "/" + $0) ?? Data())) }
    guard files.count >= 4, files[0].0 == "MANIFEST" else { finding("unexpected template directory: \(names)") }
    return files
}()

/// The directory contents an input describes.
func contents(_ input: inout FuzzInput) -> [(name: String, bytes: [UInt8]?)] {
    var files: [(name: String, bytes: [UInt8]?)] = template.map { ($0.name, $0.bytes) }
    if input.byte() & 1 == 0 {
        while !input.isAtEnd {
            let f = Int(input.byte()) % files.count
            let op = input.byte() % 8
            guard var b = files[f].bytes else { continue }
            let at = b.isEmpty ? 0 : input.u16() % (b.count + 1)
            let value = input.byte()
            switch op {
            case 0, 1, 2: if at < b.count { b[at] ^= value == 0 ? 1 : value }   // flips: the most common edit
            case 3: if at < b.count { b[at] = value }
            case 4: b.removeSubrange(at...)                                        // torn tail
            case 5: b.removeSubrange(at..<min(b.count, at + Int(value)))
            case 6: files[f].bytes = nil; continue                                 // file lost
            default: b += input.take(Int(value))                                   // junk after the end
            }
            files[f].bytes = b
        }
    } else {
        for i in files.indices {
            files[i].bytes = input.isAtEnd ? nil : input.take(input.u16())
        }
    }
    return files
}

func logBytes(_ store: ReplicaStore) throws -> (first: Int64?, count: Int64) {
    var first: Int64?
    var end: Int64?
    var count: Int64 = 0
    try store.forEachLogRecord { e in
        if first == nil { first = e.startOffset }
        if let end, e.startOffset != end { finding("log not contiguous: a record starts at \(e.startOffset), the previous ended at \(end)") }
        end = e.endOffset
        count += Int64(e.payload.count)
        return true
    }
    return (first, count)
}

func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let files = contents(&input)
    clearScratch()
    for f in files {
        guard let b = f.bytes else { continue }
        guard FileManager.default.createFile(atPath: scratch + "/" + f.name, contents: Data(b)) else {
            finding("cannot write \(f.name) in \(scratch)")
        }
    }
    // `status` reads the directory without changing it: it must not crash either.
    do { _ = try ReplicaStore.inspect(directory: scratch) } catch is StoreError {} catch {
        finding("inspect threw a non-StoreError: \(type(of: error)) \(error)")
    }
    let position: (replid: String, offset: Int64)?
    do {
        let store = try ReplicaStore.open(directory: scratch, fsync: .no, options: options)
        // A writable open takes sealed segments on trust; `follow` reads them in the background right after.
        // Damage found there refuses the directory from then on (DAMAGED), as a refused open does.
        switch store.verifySealedSegments() {
        case .damaged:
            do {
                _ = try store.append(command("SET", "after", "damage"), streamDB: 0)
                finding("a store with a damaged sealed segment took an append")
            } catch is StoreError {}
            do {
                _ = try ReplicaStore.open(directory: scratch, fsync: .no, options: options)
                finding("a directory with a damaged sealed segment opened again")
            } catch is StoreError {}
            try? store.close()
            return 0
        case .verified, .stopped:
            break
        }
        let p = store.position
        if let p, let m = store.currentManifest {
            let log = try logBytes(store)
            if m.snapshot.offset + log.count != p.offset {
                finding("position \(p.offset) != snapshot offset \(m.snapshot.offset) + \(log.count) log bytes")
            }
            if let first = log.first, first != m.snapshot.offset {
                finding("the log starts at \(first), the snapshot ends at \(m.snapshot.offset)")
            }
        }
        position = p.map { ($0.replid, $0.offset) }
        if p != nil { _ = try store.append(command("SET", "after", "recovery"), streamDB: 0) }
        try store.close()
    } catch is StoreError {
        return 0
    } catch {
        finding("open threw a non-StoreError: \(type(of: error)) \(error)")
    }
    // Recovery is idempotent, and what was appended after it is there.
    do {
        let again = try ReplicaStore.open(directory: scratch, fsync: .no, options: options)
        defer { try? again.close() }
        let appended = Int64(command("SET", "after", "recovery").count)
        let want = position.map { ($0.replid, $0.offset + appended) }
        let got = again.position.map { ($0.replid, $0.offset) }
        if got?.0 != want?.0 || got?.1 != want?.1 {
            finding("reopen recovered \(String(describing: got)), expected \(String(describing: want))")
        }
    } catch {
        finding("a directory that opened once fails to reopen: \(error)")
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(data, size)
}

_ = template
runFuzzer { data, size in fuzzOne(data, size) }
