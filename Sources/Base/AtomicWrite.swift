/// Replacing a file so that a crash at any point leaves either the old file or the complete new one under
/// its name, never a partial one: write a temporary file in the same directory, fsync it, rename it over
/// the final name, fsync the directory (the sequence of Redis's `rdbSave`, temp file + `rename`, plus the
/// directory fsync that makes the rename itself durable). The temporary file is removed when anything throws.
extension FileSystem {
    /// Writes `path` atomically: `body` writes the content to a temporary file (`temporary`, by default
    /// `path + ".tmp"`, which must be in the same directory), which is then published with
    /// `publish(temporary:as:)`. With `durable: false` the fsyncs are skipped (the rename stays atomic, but
    /// after a power loss the file may be empty or old: for advisory files only).
    public func writeAtomically<T>(_ path: String, temporary: String? = nil, durable: Bool = true,
                                   _ body: (DurableFile) throws -> T) throws -> T {
        let tmp = temporary ?? path + ".tmp"
        var published = false
        defer { if !published { try? remove(tmp) } }
        let file = try openForWriting(tmp, truncate: true)
        let result: T
        do {
            result = try body(file)
            if durable { try file.sync() }
            file.close()
        } catch {
            file.close()
            throw error
        }
        try rename(tmp, path)
        published = true
        if durable { try syncDirectory(parentDirectory(of: path)) }
        return result
    }

    /// Writes `bytes` to `path` atomically (see `writeAtomically`).
    public func writeAtomically(_ path: String, bytes: [UInt8], temporary: String? = nil, durable: Bool = true) throws {
        try writeAtomically(path, temporary: temporary, durable: durable) { try $0.write(bytes) }
    }

    /// Publishes a complete file written by someone else (e.g. SQLite) under its final name: fsync
    /// `temporary`, rename it to `path`, fsync the directory. On a throw the temporary file is removed
    /// (the final name keeps what it had, or, after the rename, the new content).
    public func publish(temporary: String, as path: String) throws {
        var renamed = false
        defer { if !renamed { try? remove(temporary) } }
        // Opened for reading: fsync works on any descriptor, and a missing file is an error, not created.
        let file = try openForReading(temporary)
        do {
            try file.sync()
            file.close()
        } catch {
            file.close()
            throw error
        }
        try rename(temporary, path)
        renamed = true
        try syncDirectory(parentDirectory(of: path))
    }
}
