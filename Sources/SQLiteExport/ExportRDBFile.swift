import Base
import Foundation
import RDB

extension SQLiteExporter {
    /// Converts an RDB file (plain or gzip) to a new SQLite database: `redis-replica rdb sqlite`.
    ///
    /// Streams the file with `RDBReader` (bounded memory: one key's value at a time) into a `SQLiteSink`
    /// writing `OUT.tmp-<pid>`, published as `outputPath` at the end (fsync, rename, directory fsync); on any error (corrupt input, disk full)
    /// the temporary file is removed and an existing output is left untouched.
    /// - Parameters:
    ///   - progress: called with (bytes read, keys seen) after every record.
    ///   - loaded: called with (bytes read, keys seen) when the input is read, before the index build.
    public static func exportFile(inputPath: String, outputPath: String, options: SQLiteExportOptions,
                                  readerOptions: RDBReaderOptions = RDBReaderOptions(),
                                  progress: ((Int64, Int) -> Void)? = nil,
                                  loaded: ((Int64, Int) -> Void)? = nil,
                                  fileSystem: FileSystem = POSIXFileSystem()) throws -> SQLiteExportSummary {
        try checkOutput(outputPath, force: options.force)
        if sameFile(inputPath, outputPath) {
            throw SQLiteExportError("\(outputPath): is the input file; choose another output")
        }
        let source = try openRDBSource(path: inputPath, fileSystem: fileSystem)
        let reader = RDBReader(source: source, fileName: inputPath, options: readerOptions)
        let name = (inputPath as NSString).lastPathComponent
        return try export(to: outputPath, sourceFileName: name, options: options, next: reader.next,
                          onRecord: { summary in progress?(reader.bytesConsumed, summary.keysSeen) },
                          onLoaded: { summary in loaded?(reader.bytesConsumed, summary.keysSeen) },
                          rereadRecords: {
                              // Only after a duplicate key: keys, expiries and types are all the filter reads.
                              var options = readerOptions
                              options.decodeValues = false
                              let again = RDBReader(source: try openRDBSource(path: inputPath, fileSystem: fileSystem),
                                                    fileName: inputPath, options: options)
                              return again.next
                          },
                          fileSystem: fileSystem)
    }

    /// Whether the input is gzip-compressed (then `bytesConsumed` counts inflated bytes, not file bytes).
    public static func isGzip(_ path: String, fileSystem: FileSystem = POSIXFileSystem()) -> Bool {
        isGzipFile(path: path, fileSystem: fileSystem)
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
