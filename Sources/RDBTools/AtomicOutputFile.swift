#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RDB

/// An output file that appears under its name only when complete: bytes go to a temporary file next to it,
/// which `commit()` fsyncs and renames over the name (then fsyncs the directory); anything else (an error,
/// `discard()`, deinit without commit) removes the temporary file and leaves the name untouched.
///
/// An existing file under the name is refused unless `force` (as `rdb sqlite` does).
public final class AtomicOutputFile {
    public let path: String
    public let temporaryPath: String
    private let sink: FileByteSink
    private var done = false

    public init(path: String, force: Bool) throws {
        if !force && access(path, F_OK) == 0 {
            throw RDBWriteError(.io, "\(path) already exists (use --force to replace it)")
        }
        self.path = path
        temporaryPath = path + ".tmp-\(getpid())"
        sink = try FileByteSink(path: temporaryPath)
    }

    deinit { discard() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes)
    }

    /// Publishes the file under its name.
    public func commit() throws {
        guard !done else { return }
        try sink.close(sync: true)
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw RDBWriteError(.io, "cannot rename \(temporaryPath) to \(path): \(reason)")
        }
        done = true
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try FileByteSink.syncDirectory(dir.isEmpty ? "/" : dir)
    }

    /// Removes the temporary file (no-op after `commit`).
    public func discard() {
        guard !done else { return }
        done = true
        try? sink.close(sync: false)
        _ = unlink(temporaryPath)
    }
}
