// libFuzzer target: every input is an RDB file held in memory.
//
// For each input the reader runs twice, once decoding values (and feeding every record to the
// canonical JSON encoder) and once validating only (`decodeValues: false`, what `rdb check` uses).
// Findings: a crash, a hang, a leak, an error that is not an `RDBError`, or the two modes
// disagreeing about whether the input is valid or how many keys it holds.
import FuzzDriver
import Glibc
import RDB
import RDBTools

/// Keeps a fuzzed length from legitimately asking for hundreds of MB (which libFuzzer's
/// malloc limit would report as an out-of-memory finding).
let maxString = 16 << 20

struct Outcome: Equatable {
    var keys = 0
    var error: RDBError.Code?
}

func run(_ bytes: [UInt8], decodeValues: Bool, chunking: MemoryByteSource.Chunking, encode: Bool) -> Outcome {
    let options = RDBReaderOptions(decodeValues: decodeValues, maxStringLength: maxString, bufferSize: 64 * 1024)
    let reader = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: chunking), fileName: "fuzz", options: options)
    let encoder = encode ? CanonicalJSONEncoder(format: .jsonl, writer: JSONWriter(flushThreshold: 1 << 16) { _ in }) : nil
    var outcome = Outcome()
    do {
        while let record = try reader.next() {
            if case .entry = record { outcome.keys += 1 }
            try encoder?.consume(record)
        }
        try encoder?.finish()
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
    return 0
}

/// Also exported under libFuzzer's conventional name: depending on the linker, libFuzzer's own
/// `main` (which calls this) or the top-level code below (which calls the driver) starts the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(data, size)
}

runFuzzer { data, size in fuzzOne(data, size) }
