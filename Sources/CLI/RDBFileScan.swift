import ArgumentParser
import Foundation
import RDB
import RDBTools

/// Reads one RDB file from start to end through the streaming reader, the shared loop behind
/// `rdb check`, `rdb dump` and `rdb info`.
///
/// Besides what the reader enforces, it checks at the end that the stored CRC-64 matches the
/// computed one (0 = disabled, versions < 5 have none) and notes, as warnings, bytes left after
/// the RDB (an AOF tail after an RDB preamble) and keys whose collections are empty (Redis skips
/// those on load).
struct RDBFileScan {
    struct Outcome {
        var path: String
        var header: RDBHeader?
        var keys: Int64 = 0
        /// Bytes of RDB read (through the checksum).
        var bytes: Int64 = 0
        var storedChecksum: UInt64?
        var computedChecksum: UInt64?
        var error: RDBError?
        var warnings: [String] = []
        /// Runs of keys formatted on other threads (`ParallelRDBScan`; 0 when read on one).
        var parallelRuns = 0
        var ok: Bool { error == nil }

        /// Prints the file's error (`FILE: error at byte …`) on stderr and exits 1, if it has one.
        func exitOnError() throws {
            guard let error else { return }
            StandardOutput.error(error.description)
            throw ExitCode(1)
        }

        /// One `FILE: warning: …` line on stderr per warning.
        func printWarnings() {
            for w in warnings { StandardOutput.error("\(path): warning: \(w)") }
        }
    }

    /// Scans `path`, handing every record to `visit` (which may throw to stop, e.g. on write errors).
    /// Errors in the file are returned in the outcome, not thrown.
    /// With `lending`, records come from `RDBReader.next(lendingInto:)`: collections and strings are lent in the
    /// arena (valid during `visit`) and entries carry empty placeholder values.
    static func scan(path: String, options: RDBReaderOptions = .init(), lending: RDBValueArena? = nil,
                     visit: (RDBRecord) throws -> Void = { _ in }) throws -> Outcome {
        var outcome = Outcome(path: path)
        let reader: RDBReader<AnyByteSource>
        do {
            let source = AnyByteSource(try openRDBSource(path: path))
            reader = RDBReader(source: source, fileName: path, options: options)
        } catch let e as RDBError {
            outcome.error = withFile(e, path)
            return outcome
        } catch {
            outcome.error = RDBError(.io, at: 0, "cannot open: \(error)", file: path)
            return outcome
        }
        var empties = EmptyCollections()
        guard try readRecords(reader, path: path, emptiesDecoded: options.decodeValues && lending == nil,
                              lending: lending, outcome: &outcome, empties: &empties, visit: visit) else {
            return outcome
        }
        finish(&outcome, empties: empties)
        return outcome
    }

    /// Keys whose collections are empty: how many, and the first one's key and db.
    struct EmptyCollections {
        var count = 0
        var first: (key: Bytes, db: Int)?

        mutating func note(_ key: @autoclosure () -> Bytes, db: Int) {
            count += 1
            if first == nil { first = (key(), db) }
        }

        mutating func add(_ other: EmptyCollections) {
            count += other.count
            if first == nil { first = other.first }
        }
    }

    /// Reads records from `reader` (from the start of a file, or from a resume point) until the EOF record,
    /// handing each to `visit`; counts keys and empty collections into `outcome` and `empties`. Returns false
    /// when the file has an error, which is then in `outcome` (errors thrown by `visit` are rethrown).
    static func readRecords<S: ByteSource>(_ reader: RDBReader<S>, path: String, emptiesDecoded: Bool,
                                           lending: RDBValueArena?,
                                           outcome: inout Outcome, empties: inout EmptyCollections,
                                           visit: (RDBRecord) throws -> Void) throws -> Bool {
        var sawEOF = false
        do {
            while true {
                let arena = lending
                guard let record = try (arena.map { try reader.next(lendingInto: $0) } ?? reader.next()) else { break }
                switch record {
                case .header(let h):
                    outcome.header = h
                case .entry(let e):
                    outcome.keys += 1
                    if isEmptyCollection(e, decoded: emptiesDecoded) {
                        empties.note(arena?.key(of: e) ?? e.key, db: e.db)
                    }
                case .eof(let stored, let computed):
                    sawEOF = true
                    outcome.storedChecksum = stored
                    outcome.computedChecksum = computed
                    if let stored, stored != 0, let computed, stored != computed {
                        throw RDBError(.checksumMismatch, at: max(0, reader.bytesConsumed - 8),
                                       "checksum mismatch: stored \(CanonicalJSONEncoder.hex16(stored)) computed \(CanonicalJSONEncoder.hex16(computed))",
                                       file: path)
                    }
                default:
                    break
                }
                try visit(record)
                if sawEOF { break }
            }
            outcome.bytes = reader.bytesConsumed
            if !sawEOF {
                throw RDBError(.truncated, at: reader.bytesConsumed, "input ended before the EOF opcode", file: path)
            }
        } catch let e as RDBError {
            outcome.error = withFile(e, path)
            outcome.bytes = reader.bytesConsumed
            return false
        }
        return true
    }

    /// The warnings of a file read without error: empty collections, and bytes after the RDB's end.
    static func finish(_ outcome: inout Outcome, empties: EmptyCollections) {
        if empties.count > 0, let (key, db) = empties.first {
            outcome.warnings.append("\(empties.count) empty collection key(s), e.g. \(RDBError.quote(key)) in db \(db) (Redis skips them on load)")
        }
        if let size = regularFileSize(outcome.path), !isGzip(outcome.path), size > outcome.bytes {
            outcome.warnings.append("\(size - outcome.bytes) trailing byte(s) after the RDB end at byte \(outcome.bytes) (not RDB data, ignored)")
        }
    }

    static func withFile(_ e: RDBError, _ path: String) -> RDBError {
        var e = e
        if e.file == nil { e.file = path }
        return e
    }

    /// A list, set, sorted set or hash with no elements (an empty stream is legitimate). Uses the
    /// reader's `elementCount`, which it sets whether or not values are decoded.
    static func isEmptyCollection(_ e: RDBEntry, decoded: Bool) -> Bool {
        switch e.value {
        case .list(let a), .set(let a):
            return e.elementCount.map { $0 == 0 } ?? (decoded && a.isEmpty)
        case .sortedSet(let a):
            return e.elementCount.map { $0 == 0 } ?? (decoded && a.isEmpty)
        case .hash(let a):
            return e.elementCount.map { $0 == 0 } ?? (decoded && a.isEmpty)
        case .string, .stream, .module, .array:  // an empty array is refused by the reader
            return false
        }
    }

    static func regularFileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func isGzip(_ path: String) -> Bool { isGzipFile(path: path) }
}

/// Buffered stdout for big outputs: the JSON writer's 1 MiB chunks go out with one `fwrite` each.
enum StandardOutput {
    static func sink() -> JSONWriter.Sink {
        return { chunk in
            guard let base = chunk.baseAddress, chunk.count > 0 else { return }
            let n = fwrite(base, 1, chunk.count, standardOutput)
            if n != chunk.count {
                throw RDBError(.io, at: 0, "write to standard output failed: \(String(cString: strerror(errno)))", file: "<stdout>")
            }
        }
    }

    /// One small JSON document written by `body`, then a newline, in one `fwrite`.
    static func writeJSONLine(_ body: (JSONWriter) -> Void) {
        let w = JSONWriter()
        body(w)
        w.raw("\n")
        let line = w.pending
        _ = fwrite(line.baseAddress, 1, line.count, standardOutput)
    }

    static func write(_ text: String) {
        var t = text
        t.withUTF8 { p in _ = fwrite(p.baseAddress, 1, p.count, standardOutput) }
    }

    static func error(_ text: String) {
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        t.withUTF8 { p in _ = fwrite(p.baseAddress, 1, p.count, standardError) }
    }
}
