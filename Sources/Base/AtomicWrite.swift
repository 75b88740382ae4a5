/// Replacing a file so that a crash at any point leaves either the old file or the complete new one under
/// its name, never a partial one: write a temporary file in the same directory, fsync it, rename it over
/// the final name, fsync the directory (the sequence of Redis's `rdbSave`, temp file + `rename`, plus the
/// directory fsync that makes the rename itself durable). The temporary file is removed when anything throws.
///
/// Three entry points, one sequence (`commit`): `writeAtomically` (scoped: a closure writes the content),
/// `commit` (for writers that fill an open temporary file over time, e.g. `rdb dump -o`), and
/// `publish(temporary:as:)` (for a file another library wrote, e.g. SQLite's database).
extension FileSystem {
    /// Writes `path` atomically: `body` writes the content to a temporary file (`temporary`, by default
    /// `path + ".tmp"`, which must be in the same directory), then `commit` publishes it. With
    /// `durable: false` the fsyncs are skipped (the rename stays atomic, but after a power loss the file may
    /// be empty or old: for advisory files only).
    public func writeAtomically<T>(_ path: String, temporary: String? = nil, durable: Bool = true,
                                   _ body: (DurableFile) throws -> T) throws -> T {
        let tmp = temporary ?? path + ".tmp"
        let file = try openForWriting(tmp, truncate: true)
        let result: T
        do {
            result = try body(file)
        } catch {
            file.close()
            try? remove(tmp)
            throw error
        }
        try commit(file, temporary: tmp, as: path, durable: durable)
        return result
    }

    /// Creates (or truncates) `path`, lets `body` write it, fsyncs and closes it. On a throw the file is
    /// closed and left as it is: the caller decides what becomes of a partial file (the first half of a
    /// temp-file publish whose rename comes later, e.g. the store's manifest switch).
    public func writeSynced(_ path: String, _ body: (DurableFile) throws -> Void) throws {
        let file = try openForWriting(path, truncate: true)
        do {
            try body(file)
            try file.sync()
            file.close()
        } catch {
            file.close()
            throw error
        }
    }

    /// Writes `bytes` to `path` atomically (see `writeAtomically`).
    public func writeAtomically(_ path: String, bytes: [UInt8], temporary: String? = nil, durable: Bool = true) throws {
        try writeAtomically(path, temporary: temporary, durable: durable) { try $0.write(bytes) }
    }

    /// Publishes the complete temporary file `file` (opened at `temporary`, in `path`'s directory) under
    /// `path`: fsync it, close it, rename it over `path`, fsync the directory. On a throw before the rename
    /// the temporary file is removed and `path` keeps what it had.
    public func commit(_ file: DurableFile, temporary: String, as path: String, durable: Bool = true) throws {
        var renamed = false
        defer { if !renamed { try? remove(temporary) } }
        do {
            if durable { try file.sync() }
            file.close()
        } catch {
            file.close()
            throw error
        }
        try rename(temporary, path)
        renamed = true
        if durable { try syncDirectory(parentDirectory(of: path)) }
    }

    /// Publishes a complete file written by someone else (e.g. SQLite) under its final name (`commit`).
    /// The file is opened for reading (fsync works on any descriptor): a missing file is an error, never
    /// created empty and published.
    public func publish(temporary: String, as path: String) throws {
        let file: DurableFile
        do {
            file = try openForReading(temporary)
        } catch {
            try? remove(temporary)
            throw error
        }
        try commit(file, temporary: temporary, as: path)
    }
}
