import Base
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RDB

/// An output file that appears under its name only when complete: bytes go to a temporary file next to it,
/// which `commit()` publishes through Base's durable sequence (`FileSystem.commit`: fsync, rename over the
/// name, fsync the directory); anything else (an error, `discard()`, deinit without commit) removes the
/// temporary file and leaves the name untouched.
///
/// An existing file under the name is refused unless `force` (as `rdb sqlite` does).
public final class AtomicOutputFile {
    public let path: String
    public let temporaryPath: String
    private let fileSystem: FileSystem
    private let file: DurableFile
    private var done = false

    public init(path: String, force: Bool, fileSystem: FileSystem = POSIXFileSystem()) throws {
        if !force && fileSystem.exists(path) {
            throw RDBWriteError(.io, "\(path) already exists (use --force to replace it)")
        }
        self.path = path
        self.fileSystem = fileSystem
        temporaryPath = path + ".tmp-\(getpid())"
        do {
            file = try fileSystem.openForWriting(temporaryPath, truncate: true)
        } catch {
            throw RDBWriteError(.io, "\(temporaryPath): cannot create: \(error)")
        }
    }

    deinit { discard() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        do { try file.write(bytes) } catch {
            throw RDBWriteError(.io, "\(temporaryPath): write failed: \(error)")
        }
    }

    /// Publishes the file under its name.
    public func commit() throws {
        guard !done else { return }
        done = true
        do {
            try fileSystem.commit(file, temporary: temporaryPath, as: path)
        } catch {
            throw RDBWriteError(.io, "cannot publish \(path): \(error)")
        }
    }

    /// Removes the temporary file (no-op after `commit`).
    public func discard() {
        guard !done else { return }
        done = true
        file.close()
        try? fileSystem.remove(temporaryPath)
    }
}
