// Loads every record of an RDB file into memory, then times only the writing of a new RDB file
// (RDBWriter -> FileByteSink, fsync included, as Redis's SAVE fsyncs). Prints one JSON object.
//
// usage: bench-write INPUT OUTPUT [--rdb-version N] [--no-compress] [--repeat N]
#if canImport(Glibc)
import Glibc
#endif
import RDB

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A field of /proc/self/status in kB (VmRSS, VmHWM).
func statusKB(_ field: String) -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, 512, f) != nil {
        let s = String(cString: line)
        if s.hasPrefix(field + ":") {
            return Int(s.dropFirst(field.count + 1).trimmingCharacters(in: " \tkB\n")) ?? -1
        }
    }
    return -1
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let c = s.first, chars.contains(c) { s.removeFirst() }
        while let c = s.last, chars.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// Resets VmHWM to the current RSS (Linux >= 4.0: write "5" to /proc/self/clear_refs).
func resetPeak() -> Bool {
    guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
    defer { fclose(f) }
    return fputs("5", f) >= 0
}

var args = Array(CommandLine.arguments.dropFirst())
var version: Int?
var compress = true
var repeats = 1
var positional: [String] = []
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--rdb-version": version = Int(args.removeFirst())
    case "--no-compress": compress = false
    case "--repeat": repeats = max(1, Int(args.removeFirst()) ?? 1)
    default: positional.append(a)
    }
}
guard positional.count == 2 else {
    fputs("usage: bench-write INPUT OUTPUT [--rdb-version N] [--no-compress] [--repeat N]\n", stderr)
    exit(2)
}
let input = positional[0], output = positional[1]

do {
    let rssStart = statusKB("VmRSS")
    let t0 = now()
    let reader = try RDBReader(path: input)
    var records: [RDBRecord] = []
    var header: RDBHeader?
    while let r = try reader.next() {
        if case .header(let h) = r { header = h }
        records.append(r)
    }
    let loadSeconds = now() - t0
    let rssLoaded = statusKB("VmRSS")
    let target = version ?? RDBWriterOptions.defaultVersion(forInput: header?.version ?? 12, magic: header?.magic ?? .redis)

    var times: [Double] = []
    var bytes: Int64 = 0
    var extraPeakKB = 0
    var keys = 0
    for _ in 0..<repeats {
        let peakReset = resetPeak()
        let before = statusKB("VmRSS")
        let start = now()
        let sink = try FileByteSink(path: output)
        let w = try RDBWriter(sink: sink, options: RDBWriterOptions(rdbVersion: target, compress: compress))
        keys = 0
        for r in records {
            switch r {
            case .header: try w.writeHeader()
            case .aux(let k, let v): try w.writeAux(k, v)
            case .selectDB(let db): try w.selectDB(db)
            case .resizeDB(let a, let b):
                // SELECTDB was just written; RESIZEDB follows it in the input too.
                try w.writeResizeDB(keys: a, expires: b)
            case .function(let code): try w.writeFunction(code: code)
            case .moduleAux(let m): try w.writeModuleAux(m)
            case .entry(let e):
                try w.writeEntry(e)
                keys += 1
            case .eof: try w.finish()
            default: break
            }
        }
        try sink.close(sync: true)
        times.append(now() - start)
        bytes = w.bytesWritten
        let peak = peakReset ? statusKB("VmHWM") : statusKB("VmRSS")
        extraPeakKB = max(extraPeakKB, peak - before)
    }
    let best = times.min() ?? 0
    print("""
    {"input": "\(input)", "records": \(records.count), "keys": \(keys), "rdb_version": \(target), \
    "load_seconds": \(loadSeconds), "rss_start_kb": \(rssStart), "rss_after_load_kb": \(rssLoaded), \
    "write_seconds": \(times), "best_write_seconds": \(best), "bytes_written": \(bytes), \
    "write_mb_per_s": \(Double(bytes) / 1e6 / max(best, 1e-9)), "write_peak_extra_rss_kb": \(extraPeakKB)}
    """)
} catch {
    fputs("bench-write: \(error)\n", stderr)
    exit(1)
}
