import Base
import Foundation
import TestSupport
import Testing
@testable import ReplicaStore

/// A wall clock tests set by hand (`ReplicaStore.Options.clock`).
final class ManualClock: @unchecked Sendable {
    private let lock = Lock()
    private var ms: Int64
    /// Added after every read (0: stands still).
    private let tick: Int64
    init(_ ms: Int64, tick: Int64 = 0) {
        self.ms = ms
        self.tick = tick
    }
    func set(_ v: Int64) { lock.withLock { ms = v } }
    func read() -> Int64 {
        lock.withLock {
            defer { ms += tick }
            return ms
        }
    }
}

func clockOptions(_ clock: ManualClock, segmentSize: Int64 = 64 << 20) -> ReplicaStore.Options {
    var o = noBackground(segmentSize: segmentSize)
    o.clock = { clock.read() }
    o.recordArrivalTime = true
    return o
}

/// Clock records (`LogRecord`): when the stream bytes arrived, recorded in the log without being stream
/// bytes, read back with the records after them by every reader, and kept across a reopen.
@Suite struct ClockRecordTests {
    static let dir = "/data"
    static let base: Int64 = 5000
    static let t0: Int64 = 1_700_000_000_000

    /// Publishes, then appends three commands at t0, t0 (no new clock record), t0 + 2000.
    static func populate(_ fs: SimulatedFileSystem, _ clock: ManualClock, segmentSize: Int64 = 64 << 20) throws -> [[UInt8]] {
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: clockOptions(clock, segmentSize: segmentSize))
        try fullSync(store, replid: replid("a"), offset: base, rdb: TestRDB.make(replid: replid("a"), offset: base))
        let cmds = [resp("SET", "a", "1"), resp("SETEX", "b", "100", "2"), resp("SET", "c", "3")]
        clock.set(t0)
        try store.append(cmds[0], streamDB: 0)
        try store.append(cmds[1], streamDB: 0)
        clock.set(t0 + 2000)
        try store.append(cmds[2], streamDB: 0)
        try store.close()
        return cmds
    }

    @Test func entriesCarryTheirArrivalTimeAndOffsetsCountOnlyStreamBytes() throws {
        let fs = SimulatedFileSystem()
        let clock = ManualClock(Self.t0 - 50_000)
        let cmds = try Self.populate(fs, clock)
        // Reopened much later: the times are the recorded ones, not the reopen's.
        clock.set(Self.t0 + 3_600_000)
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: clockOptions(clock))
        defer { try? store.close() }
        #expect(store.recoveredTornTail == nil)
        let streamBytes = cmds.reduce(0) { $0 + $1.count }
        #expect(store.position?.offset == Self.base + Int64(streamBytes))
        #expect(store.currentManifest?.version == Manifest.currentVersion)
        var entries: [LogEntry] = []
        try store.forEachLogRecord { entries.append($0); return true }
        #expect(entries.map(\.payload) == cmds)
        #expect(entries.map(\.arrivalMs) == [Self.t0, Self.t0, Self.t0 + 2000])
        #expect(entries.map(\.startOffset) == [Self.base, Self.base + Int64(cmds[0].count), Self.base + Int64(cmds[0].count + cmds[1].count)])
        // Two clock records on disk (t0 once, t0 + 2000), each a header and 8 bytes.
        let seg = try #require(store.currentManifest?.segments.last?.file)
        let size = try #require(fs.contents(joinPath(Self.dir, seg))?.count)
        #expect(size == 3 * LogRecord.headerSize + streamBytes + 2 * (LogRecord.headerSize + LogRecord.clockPayloadSize))

        let view = try StoreReadView.open(directory: Self.dir, fileSystem: fs)
        defer { view.close() }
        var viewed: [LogEntry] = []
        try view.forEachLogRecord { viewed.append($0); return true }
        #expect(viewed == entries)
    }

    @Test func logTailReportsTheTimeOfTheBytesItReturns() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "clock")
        defer { dir.remove() }
        let clock = ManualClock(Self.t0)
        let store = try ReplicaStore.open(directory: dir.url.path, fsync: .no, options: clockOptions(clock, segmentSize: 120))
        defer { try? store.close() }
        try fullSync(store, replid: replid("a"), offset: Self.base, rdb: TestRDB.make(replid: replid("a"), offset: Self.base))
        var expected: [(offset: Int64, ms: Int64)] = []
        var end = Self.base
        for i in 0..<30 {
            clock.set(Self.t0 + Int64(i / 3) * 10)  // a new clock record every third append, and in every new segment
            let c = resp("SET", "k\(i)", "v")
            try store.append(c, streamDB: 0)
            end += Int64(c.count)
            expected.append((end, Self.t0 + Int64(i / 3) * 10))
        }
        #expect((store.currentManifest?.segments.count ?? 0) > 3)
        // From any command boundary, every byte comes with the time of the append that wrote it.
        for from in [Self.base] + expected.map(\.offset).dropLast() {
            let tail = try LogTail(store: store, after: from)
            defer { tail.close() }
            while tail.offset < end {
                let bytes = try tail.read(upTo: end, maxChunk: 1 << 20) { store.currentManifest }
                #expect(!bytes.isEmpty)
                let owner = try #require(expected.first { $0.offset >= tail.offset })
                #expect(tail.arrivalMs == owner.ms, "bytes up to \(tail.offset) read from \(from)")
            }
        }
    }

    @Test func logsWithoutClockRecordsReadAsBefore() throws {
        let fs = SimulatedFileSystem()
        // Turned off: stream records only, byte for byte the older format.
        var options = noBackground()
        options.recordArrivalTime = false
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: options)
        try fullSync(store, replid: replid("a"), offset: Self.base, rdb: TestRDB.make(replid: replid("a"), offset: Self.base))
        let c = resp("SET", "a", "1")
        try store.append(c, streamDB: 0)
        let seg = try #require(store.currentManifest?.segments.last?.file)
        #expect(fs.contents(joinPath(Self.dir, seg))?.count == LogRecord.headerSize + c.count)
        try store.close()
        // A version 2 manifest (written by an older build) opens, and no clock record goes into its log
        // before the manifest says version 3.
        let path = joinPath(Self.dir, Manifest.fileName)
        var m = try Manifest.decode(try #require(fs.contents(path)), path: path)
        m.version = 2
        fs.setContents(path, try m.encoded())
        let clock = ManualClock(Self.t0)
        let reopened = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: clockOptions(clock))
        #expect(reopened.currentManifest?.version == 2)
        try reopened.append(c, streamDB: 0)
        #expect(fs.contents(joinPath(Self.dir, seg))?.count == 2 * (LogRecord.headerSize + c.count))
        var times: [Int64?] = []
        try reopened.forEachLogRecord { times.append($0.arrivalMs); return true }
        #expect(times == [nil, nil])
        // The next manifest write (here a +CONTINUE) makes it version 3; appends then carry the time.
        try reopened.recordPartialSync(replid: replid("a"))
        #expect(reopened.currentManifest?.version == 3)
        try reopened.append(c, streamDB: 0)
        times = []
        try reopened.forEachLogRecord { times.append($0.arrivalMs); return true }
        #expect(times == [nil, nil, Self.t0])
        try reopened.close()
    }

    @Test func aTornClockRecordIsCutAndATrailingOneIsKept() throws {
        let fs = SimulatedFileSystem()
        let clock = ManualClock(Self.t0)
        let cmds = try Self.populate(fs, clock)
        let m = try Manifest.decode(try #require(fs.contents(joinPath(Self.dir, Manifest.fileName))), path: Manifest.fileName)
        let path = joinPath(Self.dir, try #require(m.segments.last?.file))
        let whole = try #require(fs.contents(path))
        // A clock record at the end, at a boundary (a crash between it and its stream record, were they
        // separate writes): valid, kept, no stream bytes.
        let end = Self.base + Int64(cmds.reduce(0) { $0 + $1.count })
        let trailing = LogRecord.clockRecord(startOffset: end, streamDB: 0, unixMs: Self.t0 + 9000)
        fs.setContents(path, whole + trailing)
        var store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: clockOptions(clock))
        #expect(store.recoveredTornTail == nil && store.position?.offset == end)
        try store.close()
        // Torn inside the clock record: cut back to the last whole record.
        for cut in [1, LogRecord.headerSize, LogRecord.headerSize + 3] {
            fs.setContents(path, whole + trailing.prefix(cut))
            store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: clockOptions(clock))
            #expect(store.recoveredTornTail?.fileOffset == Int64(whole.count) && store.position?.offset == end)
            try store.close()
        }
        // A damaged clock record followed by a whole record is damage, not a torn tail.
        var damaged = trailing
        damaged[LogRecord.headerSize + 2] ^= 0xFF
        let after = resp("PING")
        let next = after.withUnsafeBytes { LogRecord.header(startOffset: end, streamDB: 0, payload: $0) } + after
        fs.setContents(path, whole + damaged + next)
        let e = try #require(throws: StoreError.self) {
            _ = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: clockOptions(clock))
        }
        #expect(e.code == .logDamage && e.offset == Int64(whole.count))
    }
}
