import Base
import RDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `RDBConvert` keeps and how it writes.
public struct RDBConvertOptions: Sendable {
    /// Target version; nil: the input's (capped at 12; Valkey files map to 11).
    public var rdbVersion: Int?
    /// Which keys to keep (databases, a Redis glob over the key, types, expiry, size); empty: all.
    public var filter: KeyFilter
    public var compress = true
    public var dropFieldTTL = false
    public var dropFunctions = false
    /// fsync the output file and its directory before returning.
    public var sync = true

    public init(rdbVersion: Int? = nil, databases: Set<Int>? = nil, keyPattern: Bytes? = nil, types: Set<String>? = nil,
                compress: Bool = true, dropFieldTTL: Bool = false, dropFunctions: Bool = false, sync: Bool = true) {
        self.rdbVersion = rdbVersion
        self.filter = KeyFilter(databases: databases ?? [], keyPattern: keyPattern, types: types ?? [])
        self.compress = compress
        self.dropFieldTTL = dropFieldTTL
        self.dropFunctions = dropFunctions
        self.sync = sync
    }

    var filtersKeys: Bool { !filter.isEmpty }
}

/// What a conversion did.
public struct RDBConvertSummary: Sendable {
    public var inputHeader: RDBHeader?
    public var outputVersion = 0
    public var keysRead = 0
    public var keysWritten = 0
    public var bytesWritten: Int64 = 0
    /// Per output database: keys and keys with an expiry (the RESIZEDB values written).
    public var databases: [Int: (keys: UInt64, expires: UInt64)] = [:]
    /// Records with no equivalent in the output that were left out: Valkey SLOT_IMPORT, and
    /// SLOT_INFO hints when filtering or below RDB 12.
    public var droppedRecords = 0
    public var writer = RDBWriterStats()
}

/// Rewrites an RDB file: same or older target version, optionally only some databases / keys / types.
///
/// Two streaming passes over the input: the first (values validated but not materialized) counts the
/// kept keys and expires per database, so RESIZEDB is exact; the second writes. Output is replaced with
/// `FileSystem.writeAtomically`: a temporary file next to `output` (`OUT.tmp-<pid>`), fsynced and renamed
/// over `output` only when complete, then the directory fsynced; on any error the temporary file is
/// removed and `output` is untouched. A crash at any point leaves the old output or the whole new one.
public enum RDBConvert {
    public static func convert(input: String, output: String, options: RDBConvertOptions = RDBConvertOptions(),
                               readerOptions: RDBReaderOptions = RDBReaderOptions(),
                               fileSystem: FileSystem = POSIXFileSystem()) throws -> RDBConvertSummary {
        func openReader(_ options: RDBReaderOptions) throws -> AnyRDBReader {
            RDBReader(source: AnyByteSource(try openRDBSource(path: input, fileSystem: fileSystem)),
                      fileName: input, options: options)
        }
        var summary = RDBConvertSummary()

        // Pass 1: header and exact per-db counts of what will be written.
        var countOptions = readerOptions
        countOptions.decodeValues = false
        let counter = try openReader(countOptions)
        var filter = options.filter
        while let record = try counter.next() {
            filter.observe(record)
            switch record {
            case .header(let h): summary.inputHeader = h
            case .entry(let e):
                summary.keysRead += 1
                if filter.accepts(e) {
                    var c = summary.databases[e.db] ?? (0, 0)
                    c.keys += 1
                    if e.expireAtMs != nil { c.expires += 1 }
                    summary.databases[e.db] = c
                }
            default: break
            }
        }
        let inputVersion = summary.inputHeader?.version ?? RDBWriterOptions.newestVersion
        let version = options.rdbVersion
            ?? RDBWriterOptions.defaultVersion(forInput: inputVersion, magic: summary.inputHeader?.magic ?? .redis)
        summary.outputVersion = version
        var writerOptions = RDBWriterOptions(rdbVersion: version, compress: options.compress,
                                             dropFieldTTL: options.dropFieldTTL, dropFunctions: options.dropFunctions)
        writerOptions.checksum = true

        // Pass 2: write to a temporary file, then publish it under the final name.
        let writer: RDBWriter<FileByteSink>
        do {
            writer = try fileSystem.writeAtomically(output, temporary: output + ".tmp-\(getpid())",
                                                    durable: options.sync) { file in
                let writer = try RDBWriter(sink: FileByteSink(file: file), options: writerOptions)
                try copyRecords(from: try openReader(readerOptions), to: writer, summary: &summary, filter: &filter,
                                options: options,
                                sameVersion: inputVersion == version
                                    && (summary.inputHeader?.magic == .valkey) == (version >= RDBVersion.valkeyFirst))
                try writer.sink.flush()
                return writer
            }
        } catch let e as FileIOError {
            throw RDBWriteError(.io, e.description)
        }
        summary.bytesWritten = writer.bytesWritten
        summary.writer = writer.stats
        return summary
    }

    /// Pass 2's loop: every record the filter keeps, SELECTDB/RESIZEDB emitted lazily with exact counts.
    private static func copyRecords(from reader: AnyRDBReader, to writer: RDBWriter<FileByteSink>,
                                    summary: inout RDBConvertSummary, filter: inout KeyFilter,
                                    options: RDBConvertOptions, sameVersion: Bool) throws {
        var resized = Set<Int>()
        var sawEOF = false
        // `filter` keeps pass 1's reference time, so both passes keep the same keys.
        var recordStart = reader.bytesConsumed
        while let record = try reader.next() {
            defer { recordStart = reader.bytesConsumed }
            filter.observe(record)
            do {
                try copyRecord(record, to: writer, summary: &summary, filter: filter, options: options,
                               sameVersion: sameVersion, resized: &resized, sawEOF: &sawEOF)
            } catch let e as RDBWriteError where e.code != .io {
                // What the target cannot hold names the input file, where the record starts and its key.
                var start = recordStart
                if case .entry(let entry) = record { start = entry.startOffset }
                throw e.located(file: reader.fileName, offset: start)
            }
        }
        guard sawEOF else { throw RDBWriteError(.invalidValue, "\(reader.fileName ?? "input"): no EOF record") }
    }

    private static func copyRecord(_ record: RDBRecord, to writer: RDBWriter<FileByteSink>,
                                   summary: inout RDBConvertSummary, filter: KeyFilter, options: RDBConvertOptions,
                                   sameVersion: Bool, resized: inout Set<Int>, sawEOF: inout Bool) throws {
        let version = writer.version
        switch record {
        case .header:
            try writer.writeHeader()
        case .aux(let key, let value):
            try writeAux(key, value, writer: writer, sameVersion: sameVersion)
        case .selectDB, .resizeDB:
            break  // emitted lazily before the first kept key of each db, with exact counts
        case .slotInfo(let slot, let keys, let expires):
            if options.filtersKeys || version < 12 {
                summary.droppedRecords += 1
            } else {
                try writer.writeSlotInfo(slot: slot, keys: keys, expires: expires)
            }
        case .function(let code):
            try writer.writeFunction(code: code)
        case .moduleAux(let aux):
            try writer.writeModuleAux(aux)
        case .valkeySlotImport:
            summary.droppedRecords += 1
        case .entry(let e):
            guard filter.accepts(e) else { return }
            if writer.currentDB != e.db {
                if resized.insert(e.db).inserted, let c = summary.databases[e.db] {
                    try writer.selectDB(e.db, resize: c)
                } else {
                    try writer.selectDB(e.db)
                }
            }
            try writer.writeEntry(e)
            summary.keysWritten += 1
        case .eof:
            try writer.finish()
            sawEOF = true
        }
    }

    /// AUX fields pass through, except: `redis-ver` (and `valkey-ver` into a Valkey file) names the first
    /// release writing the target
    /// version when the version changes, and the AOF-base flag uses the target's name for it
    /// (`aof-base` for 10+, `aof-preamble` for 8-9, nothing for 7).
    static func writeAux<S: ByteSink>(_ key: Bytes, _ value: Bytes, writer: RDBWriter<S>, sameVersion: Bool) throws {
        let name = String(decoding: key, as: UTF8.self)
        switch name {
        case "redis-ver" where !sameVersion, "valkey-ver" where !sameVersion && writer.isValkey:
            try writer.writeAux(writer.isValkey ? "valkey-ver" : "redis-ver", RDBWriterOptions.redisVersionString(for: writer.fileVersion))
        case "aof-base", "aof-preamble":
            if writer.version >= 10 {
                try writer.writeAux(Array("aof-base".utf8), value)
            } else if writer.version >= 8 {
                try writer.writeAux(Array("aof-preamble".utf8), value)
            }
        default:
            try writer.writeAux(key, value)
        }
    }
}
