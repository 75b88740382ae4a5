// libFuzzer target: every input is an RDB file held in memory.
//
// For each input the reader runs three times:
//   - decoding values, feeding every record to the canonical JSON encoder, the RESTORE exporter
//     (`rdb dump --format restore`; the command exporter for inputs over 32 KiB), the memory
//     estimator and the RDB writer (`rdb convert`);
//   - validating only (`decodeValues: false`, what `rdb check` uses);
//   - lending values (`next(lendingInto:)`, what `rdb dump --format jsonl|resp` and `rdb memory` use),
//     feeding every record to the JSON encoder, the command exporter and the memory estimator.
//   - walking keys with `skipKeyQuickly()` (how `rdb dump --threads` cuts a file into runs), which must land
//     on every record boundary the full reader lands on whenever the full reader accepts the file.
// Findings: a crash, a hang, a leak, an error that is neither an `RDBError` nor (from a writer or
// exporter) an `RDBWriteError`, or the modes disagreeing about whether the input is valid or how many
// keys it holds.
import FuzzDriver
import Glibc
import RDB
import RDBTools

/// Keeps a fuzzed length from legitimately asking for hundreds of MB (which libFuzzer's
/// malloc limit would report as an out-of-memory finding).
let maxString = 16 << 20

/// RESTORE payloads are encoded by a writer of their own per key (about 1.6 MB of buffers to set up, slow
/// under ASan): only inputs up to this size are also exported in that style.
let restoreMaxInput = 32 << 10

struct Outcome: Equatable {
    var keys = 0
    var error: RDBError.Code?
}

func run(_ bytes: [UInt8], decodeValues: Bool, chunking: MemoryByteSource.Chunking, encode: Bool,
         lend: Bool = false) -> Outcome {
    let options = RDBReaderOptions(decodeValues: decodeValues, maxStringLength: maxString, bufferSize: 64 * 1024)
    let reader = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: chunking), fileName: "fuzz", options: options)
    let encoder = encode ? CanonicalJSONEncoder(format: .jsonl, writer: JSONWriter(flushThreshold: 1 << 16) { _ in }) : nil
    // The exporters and the writer may refuse what their target cannot hold (an `RDBWriteError`); they are
    // dropped from then on, and the reader goes on to its own verdict.
    var exporter: RESPExporter? = encode
        ? RESPExporter(output: RESPOutput(flushThreshold: 1 << 16) { _ in },
                       options: RESPExportOptions(style: lend || bytes.count > restoreMaxInput ? .commands : .restore)) : nil
    var writer: RDBWriter<MemoryByteSink>? = encode && !lend ? try? RDBWriter(sink: MemoryByteSink()) : nil
    try? writer?.writeHeader()
    let arena = lend ? RDBValueArena() : nil
    arena?.lendsStreamEntries = true  // as `rdb dump`'s JSON formats read them (the others put them back)
    var outcome = Outcome()
    do {
        while true {
            let next: RDBRecord?
            if let arena { next = try reader.next(lendingInto: arena) } else { next = try reader.next() }
            guard let record = next else { break }
            if case .entry(let e) = record {
                outcome.keys += 1
                if encode { _ = arena.map { MemoryEstimator.usage(of: e, lent: $0) } ?? MemoryEstimator.usage(of: e) }
                if writer != nil {
                    do { try writer?.writeEntry(e) } catch is RDBWriteError { writer = nil }
                }
            }
            try encoder?.consume(record, lent: arena)
            do { try exporter?.consume(record, lent: arena) } catch is RDBWriteError { exporter = nil }
        }
        try encoder?.finish()
        do { try exporter?.finish(); _ = try writer?.finish() } catch is RDBWriteError {}
    } catch let e as RDBError {
        outcome.error = e.code
        _ = e.description
    } catch {
        finding("non-RDBError thrown: \(error)")
    }
    return outcome
}

func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let full = run(bytes, decodeValues: true, chunking: .all, encode: true)
    let check = run(bytes, decodeValues: false, chunking: .random(seed: UInt64(size), maxChunk: 4096), encode: false)
    if (full.error == nil) != (check.error == nil) || (full.error == nil && full.keys != check.keys) {
        finding("decodeValues true/false disagree: \(full) vs \(check)")
    }
    let lent = run(bytes, decodeValues: true, chunking: .random(seed: UInt64(size) &+ 1, maxChunk: 4096), encode: true,
                   lend: true)
    if (full.error == nil) != (lent.error == nil) || (full.error == nil && full.keys != lent.keys) {
        finding("materialized and lent reads disagree: \(full) vs \(lent)")
    }
    let quick = boundaries(bytes, quick: true)
    if full.error == nil, let whole = boundaries(bytes, quick: false), quick != whole {
        finding("the quick key walk and the full reader disagree on record boundaries")
    }
    return 0
}

/// The offset after each record: read by the full reader (values validated, not kept), or walked the way
/// `rdb dump --threads` plans its runs (`skipKeyQuickly`, `next()` for the rest). nil when an error stops it.
func boundaries(_ bytes: [UInt8], quick: Bool) -> [Int64]? {
    let options = RDBReaderOptions(decodeValues: false, maxStringLength: maxString, bufferSize: 64 * 1024)
    let reader = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: .random(seed: UInt64(bytes.count) &+ 2, maxChunk: 4096)),
                           fileName: "fuzz", options: options)
    var out: [Int64] = []
    do {
        guard try reader.next() != nil else { return nil }
        while true {
            if quick {
                switch try reader.skipKeyQuickly() {
                case .skippedKey:
                    out.append(reader.bytesConsumed)
                    continue
                case .keyNeedsFullRead:
                    guard case .entry? = try reader.next() else { finding("a key the quick walk left was not an entry"); return nil }
                    out.append(reader.bytesConsumed)
                    continue
                case .notAKey:
                    if try reader.readHashTemplateIfNext() { continue }
                }
            }
            guard let r = try reader.next() else { return out }
            out.append(reader.bytesConsumed)
            if case .eof = r { return out }
        }
    } catch is RDBError {
        return nil
    } catch {
        finding("non-RDBError thrown by the \(quick ? "quick" : "full") walk: \(error)")
        return nil
    }
}

/// Also exported under libFuzzer's conventional name: depending on the linker, libFuzzer's own
/// `main` (which calls this) or the top-level code below (which calls the driver) starts the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(data, size)
}

runFuzzer { data, size in fuzzOne(data, size) }
