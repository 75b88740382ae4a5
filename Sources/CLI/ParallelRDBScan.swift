import Base
import Foundation
import RDB
import RDBTools

/// `rdb dump --threads N`: a plain RDB file read by N threads that format runs of keys side by side, written in
/// file order: byte for byte what one thread writes.
///
/// - A planner thread walks the file with `RDBReader.skipKeyQuickly()`, which reads only the lengths that say
///   where a key ends, and cuts the keys into runs of about `runBytes` bytes, never across a record that is
///   not a key (SELECTDB, AUX, FUNCTION, ...). It reads those records itself, fully, and passes them on in
///   order; its reader computes the CRC-64 over every byte.
/// - Workers read each run with a full reader resumed at its start (`RDBResumePoint`), format it into memory,
///   and must end exactly where the planner said the run ends. A run starts where the previous run or record
///   was proven to end, so every boundary is checked by a full read before anything after it is written.
/// - The calling thread hands the planner's records to its own formatter and writes each run's bytes when
///   its turn comes.
///
/// When the planner meets an error, or a worker ends elsewhere than planned, everything from there on is read
/// on the calling thread by one full reader (`readRest`), which reports the error as a single-threaded read
/// does (file, offset, key); its checksum goes on from a CRC-64 of the bytes before.
///
/// Memory: runs planned and not yet written are held as formatted bytes (a run is one key when that key alone is
/// bigger than `runBytes`). The planner stays at most `2 * workers + 2` runs ahead of the writer, or further while
/// those runs span less than `aheadBytes` of the file: a worker busy with one big key then does not leave the
/// other workers idle behind it.
final class ParallelRDBScan: @unchecked Sendable {
    // `@unchecked Sendable`: every shared var (`segments`, `runs`, `nextToClaim`, `runsWritten`, `planDone`,
    // `cancelled`, and a run's results before `done`) is touched only with `condition` locked.

    /// What a worker formats one run with: entries go in, bytes come out (valid while the formatter lives).
    struct RunFormatter {
        var consume: (RDBRecord, RDBValueArena?) throws -> Void
        var formatted: () -> UnsafeRawBufferPointer
    }

    /// One run of keys: planned, then read and formatted by a worker.
    final class Run: @unchecked Sendable {
        let point: RDBResumePoint
        let end: Int64
        let keys: Int
        /// Keys of this db read before the run since the last SELECTDB.
        let fileOrder: Int
        /// The db of the last key before this run (nil: none).
        let previousKeysDB: Int?

        fileprivate(set) var done = false
        /// The run's formatted bytes (with the formatter that holds them).
        fileprivate(set) var formatter: RunFormatter?
        /// Keys read and formatted (all of them unless an error stopped the run).
        fileprivate(set) var formattedKeys = 0
        fileprivate var empties = RDBFileScan.EmptyCollections()
        fileprivate var fileError: RDBError?
        fileprivate var errorBytes: Int64 = 0
        fileprivate var otherError: Error?
        /// The full read ended elsewhere than the planner's `end` (or met a record that is not a key).
        fileprivate var misplaced = false

        init(point: RDBResumePoint, end: Int64, keys: Int, fileOrder: Int, previousKeysDB: Int?) {
            self.point = point
            self.end = end
            self.keys = keys
            self.fileOrder = fileOrder
            self.previousKeysDB = previousKeysDB
        }
    }

    private enum Segment {
        case record(RDBRecord, end: Int64)
        case run(Run)
        /// The planner stopped here (nil: at the header): the rest is read by one full reader.
        case rest(RDBResumePoint?)
    }

    let path: String
    let options: RDBReaderOptions
    let workers: Int
    let runBytes: Int64
    /// How far (in file bytes) the planner may run ahead of the writer once `2 * workers + 2` runs are pending.
    let aheadBytes: Int64 = 32 << 20
    let lendsKeys: Bool
    /// Whether streams' entries are lent too (`RDBValueArena.lendsStreamEntries`: the formatter reads `.stream`).
    let lendsStreamEntries: Bool
    /// Tests only: added to every planned run's end, to prove that a run read to anywhere else than where the
    /// planner said is caught (the rest of the file is then read on one thread).
    var runEndSkewForTests: Int64 = 0
    private let file: DurableFile
    private let condition = NSCondition()
    private var segments: [Segment] = []
    private var runs: [Run] = []
    private var nextToClaim = 0
    private var runsWritten = 0
    /// File bytes spanned by the runs planned and not yet written.
    private var bytesAhead: Int64 = 0
    private var planDone = false
    private var cancelled = false
    private var threadsRunning = 0

    /// Whether `path` can be read this way: a regular file that is not gzip-compressed.
    static func canRead(_ path: String) -> Bool {
        RDBFileScan.regularFileSize(path) != nil && !RDBFileScan.isGzip(path)
    }

    init(path: String, options: RDBReaderOptions, workers: Int, runBytes: Int64 = 1 << 20, lendsKeys: Bool,
         lendsStreamEntries: Bool = false) throws {
        self.path = path
        self.options = options
        self.workers = max(1, workers)
        self.runBytes = max(1, runBytes)
        self.lendsKeys = lendsKeys
        self.lendsStreamEntries = lendsStreamEntries
        do {
            file = try POSIXFileSystem().openForReading(path)
        } catch let e as FileIOError {
            throw RDBError(.io, at: 0, "cannot open: \(e.message)", file: path)
        }
    }

    deinit { file.close() }

    /// Reads the file. `makeFormatter` (called on worker threads) gives each run its own formatter; `consume`
    /// gets, here, every record that is not in a run, and every record from a point where the planner stopped
    /// on; `writeRun` gets each run, in file order, with the number of keys its formatter holds.
    func run(makeFormatter: @escaping @Sendable (Run) -> RunFormatter,
             consume: (RDBRecord, RDBValueArena?) throws -> Void,
             writeRun: (Run, _ keys: Int) throws -> Void) throws -> RDBFileScan.Outcome {
        start(Thread { [self] in plan() })
        for _ in 0..<workers {
            start(Thread { [self] in work(makeFormatter) })
        }
        defer { stopAndJoin() }
        var outcome = RDBFileScan.Outcome(path: path)
        var empties = RDBFileScan.EmptyCollections()
        var index = 0
        while let segment = nextSegment(index) {
            index += 1
            switch segment {
            case .record(let record, let end):
                switch record {
                case .header(let h): outcome.header = h
                case .eof(let stored, let computed):
                    outcome.storedChecksum = stored
                    outcome.computedChecksum = computed
                    outcome.bytes = end
                default: break
                }
                try consume(record, nil)
                if case .eof = record {
                    RDBFileScan.finish(&outcome, empties: empties)
                    return outcome
                }
            case .run(let run):
                waitUntilDone(run)
                if run.misplaced {
                    try readRest(from: run.point, outcome: &outcome, empties: &empties, consume: consume)
                    return outcome
                }
                try writeRun(run, run.formattedKeys)
                outcome.parallelRuns += 1
                outcome.keys += Int64(run.formattedKeys)
                empties.add(run.empties)
                release(run)
                if let e = run.fileError {
                    outcome.error = e
                    outcome.bytes = run.errorBytes
                    return outcome
                }
                if let e = run.otherError { throw e }
            case .rest(let point):
                try readRest(from: point, outcome: &outcome, empties: &empties, consume: consume)
                return outcome
            }
        }
        // The planner always ends with EOF or a rest point; reaching here means it was cancelled.
        throw RDBError(.io, at: 0, "internal: the file's planner stopped early", file: path)
    }

    // MARK: - Threads

    private func start(_ thread: Thread) {
        condition.lock()
        threadsRunning += 1
        condition.unlock()
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func threadFinished() {
        condition.lock()
        threadsRunning -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func stopAndJoin() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while threadsRunning > 0 { condition.wait() }
        condition.unlock()
    }

    private func nextSegment(_ index: Int) -> Segment? {
        condition.lock()
        defer { condition.unlock() }
        while segments.count <= index && !planDone { condition.wait() }
        return index < segments.count ? segments[index] : nil
    }

    private func waitUntilDone(_ run: Run) {
        condition.lock()
        while !run.done { condition.wait() }
        condition.unlock()
    }

    private func release(_ run: Run) {
        condition.lock()
        run.formatter = nil
        runsWritten += 1
        bytesAhead -= run.end - run.point.offset
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - Planner

    private func push(_ segment: Segment) {
        condition.lock()
        if case .run(let run) = segment {
            while runs.count - runsWritten >= 2 * workers + 2 && bytesAhead >= aheadBytes && !cancelled {
                condition.wait()
            }
            runs.append(run)
            bytesAhead += run.end - run.point.offset
        }
        segments.append(segment)
        condition.broadcast()
        condition.unlock()
    }

    private var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    private func plan() {
        defer {
            condition.lock()
            planDone = true
            condition.broadcast()
            condition.unlock()
            threadFinished()
        }
        var plannerOptions = options
        plannerOptions.decodeValues = false
        plannerOptions.rejectDuplicates = false
        let reader = RDBReader(source: FileByteSource(file: file), fileName: path, options: plannerOptions)
        do {
            guard let header = try reader.next() else { return }
            push(.record(header, end: reader.bytesConsumed))
        } catch {
            push(.rest(nil))
            return
        }
        guard var here = reader.resumePoint else { return }
        var runStart: RDBResumePoint?
        var runKeys = 0
        var keysSinceSelect = 0
        var previousKeysDB: Int?
        func closeRun(at end: Int64) {
            guard let start = runStart, runKeys > 0 else { return }
            push(.run(Run(point: start, end: end + runEndSkewForTests, keys: runKeys, fileOrder: keysSinceSelect,
                          previousKeysDB: previousKeysDB)))
            previousKeysDB = start.db
            keysSinceSelect += runKeys
            runStart = nil
            runKeys = 0
        }
        while !isCancelled {
            var recordStart = reader.bytesConsumed
            if runStart == nil, let p = reader.resumePoint { here = p }
            // Keys passed by the quick walk, not yet counted in the run.
            var skipped = 0
            func countSkipped() {
                guard skipped > 0 else { return }
                if runStart == nil { runStart = here }
                runKeys += skipped
                skipped = 0
            }
            do {
                // Keys up to the run's size in one call; then the record that stopped the walk, if any.
                let budgetEnd = (runStart?.offset ?? recordStart) + runBytes
                let stop = try reader.skipKeysQuickly(until: budgetEnd, skipped: &skipped, recordStart: &recordStart)
                countSkipped()
                switch stop {
                case .skippedKey:
                    break
                case .keyNeedsFullRead:
                    if runStart == nil { runStart = here }
                    guard case .entry? = try reader.next() else { throw PlannerStop() }
                    runKeys += 1
                case .notAKey:
                    closeRun(at: recordStart)
                    if try reader.readHashTemplateIfNext() { continue }
                    guard let record = try reader.next() else { throw PlannerStop() }
                    switch record {
                    case .entry: throw PlannerStop()
                    case .selectDB: keysSinceSelect = 0
                    default: break
                    }
                    push(.record(record, end: reader.bytesConsumed))
                    if case .eof = record { return }
                    continue
                }
                if let start = runStart, reader.bytesConsumed - start.offset >= runBytes {
                    closeRun(at: reader.bytesConsumed)
                }
            } catch {
                // The keys before this record are whole; from it on, one full reader finds what is wrong.
                countSkipped()
                closeRun(at: recordStart)
                var point = here
                point.offset = recordStart
                push(.rest(point))
                return
            }
        }
    }

    private struct PlannerStop: Error {}

    // MARK: - Workers

    private func claim() -> Run? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if cancelled { return nil }
            if nextToClaim < runs.count {
                let run = runs[nextToClaim]
                nextToClaim += 1
                return run
            }
            if planDone { return nil }
            condition.wait()
        }
    }

    private func work(_ makeFormatter: (Run) -> RunFormatter) {
        defer { threadFinished() }
        var workerOptions = options
        workerOptions.bufferSize = 256 * 1024
        let arena = RDBValueArena()
        arena.lendsKeys = lendsKeys
        arena.lendsStreamEntries = lendsStreamEntries
        while let run = claim() {
            let formatter = makeFormatter(run)
            // The source ends with the run: a full read that needs more than the planner said is misplaced.
            let reader = RDBReader(source: FileByteSource(file: file, from: run.point.offset, upTo: run.end),
                                   fileName: path,
                                   options: workerOptions, resumingAt: run.point, checksumSoFar: nil)
            var keys = 0
            var empties = RDBFileScan.EmptyCollections()
            var misplaced = false
            var fileError: RDBError?
            var otherError: Error?
            do {
                while reader.bytesConsumed < run.end {
                    guard let record = try reader.next(lendingInto: arena) else {
                        misplaced = true
                        break
                    }
                    // A switch borrows the entry from the record: no copy of it (a retain and release of each of
                    // its arrays) per key.
                    switch record {
                    case .entry(let e):
                        if RDBFileScan.isEmptyCollection(e, decoded: false) { empties.note(arena.key(of: e), db: e.db) }
                    default:
                        misplaced = true
                    }
                    if misplaced { break }
                    try formatter.consume(record, arena.kind == .none ? nil : arena)
                    keys += 1
                }
                if reader.bytesConsumed != run.end || keys != run.keys { misplaced = true }
            } catch let e as RDBError where e.code == .truncated {
                misplaced = true
            } catch let e as RDBError {
                fileError = RDBFileScan.withFile(e, path)
            } catch {
                otherError = error
            }
            condition.lock()
            run.formatter = formatter
            run.formattedKeys = keys
            run.empties = empties
            run.misplaced = misplaced
            run.fileError = fileError
            run.errorBytes = reader.bytesConsumed
            run.otherError = otherError
            run.done = true
            condition.broadcast()
            condition.unlock()
        }
    }

    // MARK: - The rest, on one reader

    /// Reads from `point` to the end with one full reader, handing `consume` every record.
    private func readRest(from point: RDBResumePoint?, outcome: inout RDBFileScan.Outcome,
                          empties: inout RDBFileScan.EmptyCollections,
                          consume: (RDBRecord, RDBValueArena?) throws -> Void) throws {
        // Stop the planner and the workers first: nothing they do from here on is used.
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
        var checksum: UInt64?
        if let point, options.verifyChecksum {
            do {
                checksum = try checksumOfPrefix(point.offset)
            } catch let e as RDBError {
                outcome.error = e
                return
            }
        }
        let arena = RDBValueArena()
        arena.lendsKeys = lendsKeys
        arena.lendsStreamEntries = lendsStreamEntries
        let reader: RDBReader<FileByteSource>
        if let point {
            reader = RDBReader(source: FileByteSource(file: file, from: point.offset), fileName: path,
                               options: options, resumingAt: point, checksumSoFar: checksum)
        } else {
            reader = RDBReader(source: FileByteSource(file: file), fileName: path, options: options)
        }
        guard try RDBFileScan.readRecords(reader, path: path, emptiesDecoded: false, lending: arena,
                                          outcome: &outcome, empties: &empties,
                                          visit: { try consume($0, arena.kind == .none ? nil : arena) }) else { return }
        RDBFileScan.finish(&outcome, empties: empties)
    }

    /// The CRC-64 of the file's first `count` bytes.
    private func checksumOfPrefix(_ count: Int64) throws -> UInt64 {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { block.deallocate() }
        var crc: UInt64 = 0
        var offset: Int64 = 0
        while offset < count {
            let want = Int(min(Int64(block.count), count - offset))
            let n: Int
            do {
                n = try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: block[0..<want]))
            } catch let e as FileIOError {
                throw RDBError(.io, at: offset, "read failed: \(e.message)", file: path)
            }
            guard n > 0 else { throw RDBError(.truncated, at: offset, "file shrank while being read", file: path) }
            crc = CRC64.update(crc, UnsafeRawPointer(block.baseAddress!), n)
            offset += Int64(n)
        }
        return crc
    }
}
