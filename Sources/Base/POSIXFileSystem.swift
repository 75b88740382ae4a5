#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system: plain POSIX calls, no buffering of our own; EINTR and short reads/writes are
/// retried here, so no caller loops on them.
/// `Sendable` as checked by the compiler: it has no stored state (each call opens its own descriptor).
public final class POSIXFileSystem: FileSystem, Sendable {
    public init() {}

    public func openForWriting(_ path: String, truncate: Bool) throws -> DurableFile {
        var flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        if truncate { flags |= O_TRUNC }
        let fd = try retryingEINTR("open", path) { open(path, flags, 0o644) }
        return POSIXFile(fd: fd, path: path)
    }

    public func openForReading(_ path: String) throws -> DurableFile {
        let fd = try retryingEINTR("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        return POSIXFile(fd: fd, path: path)
    }

    public func rename(_ from: String, _ to: String) throws {
        if sysRename(from, to) != 0 { throw posixError("rename to \(to)", from) }
    }

    public func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw posixError("unlink", path) }
    }

    public func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw posixError("opendir", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public func createDirectory(_ path: String) throws {
        // mkdir -p
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw posixError("mkdir", prefix) }
            prefix += "/"
        }
    }

    public func lock(_ path: String) throws -> AnyObject {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw posixError("open", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            _ = sysClose(fd)
            if code == EWOULDBLOCK { throw FileLockedError(path: path) }
            throw FileIOError("flock", path, errno: code, String(cString: strerror(code)))
        }
        return POSIXFile(fd: fd, path: path)
    }

    public func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw posixError("open directory", path) }
        defer { _ = sysClose(fd) }
        _ = try retryingEINTR("fsync directory", path) { fsync(fd) }
    }
}

/// `@unchecked Sendable`: the only mutable state is `fd`, which `close()` sets to -1 once; every other call
/// only reads it, and the kernel makes concurrent `write`/`pread`/`fsync` on one descriptor safe. Callers
/// don't `close()` a file another thread is using: the store shares its current segment with the
/// background fsync and never closes it explicitly (the last reference's `deinit` does).
final class POSIXFile: DurableFile, @unchecked Sendable {
    private var fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = sysWrite(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("write", path)
            }
            base += n
            left -= n
        }
    }

    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            var n = pread(fd, base, buffer.count, off_t(offset))
            // A pipe or FIFO (e.g. `<(gunzip -c f.rdb.gz)`) cannot pread; its readers read it front to
            // back, so the next bytes are the ones at `offset`.
            if n < 0 && errno == ESPIPE { n = sysRead(fd, base, buffer.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("read", path)
            }
            return n
        }
    }

    func sync() throws {
        _ = try retryingEINTR("fsync", path) { fsync(fd) }
    }

    func startWriteback(offset: Int64, count: Int64) throws {
        try syncFileRange(offset, count, syncFileRangeWrite)
    }

    func waitForWriteback(offset: Int64, count: Int64) throws {
        try syncFileRange(offset, count, syncFileRangeWaitBefore | syncFileRangeWrite | syncFileRangeWaitAfter)
    }

    /// Linux `sync_file_range(2)`, looked up at run time (Glibc's module map leaves out the `_GNU_SOURCE`
    /// declarations); nothing where it is missing.
    private func syncFileRange(_ offset: Int64, _ count: Int64, _ flags: UInt32) throws {
        guard let call = syncFileRangeFunction else { return }
        _ = try retryingEINTR("sync_file_range", path) { call(fd, offset, count, flags) }
    }

    func truncate(to size: Int64) throws {
        _ = try retryingEINTR("ftruncate", path) { ftruncate(fd, off_t(size)) }
    }

    func size() throws -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw posixError("fstat", path) }
        return Int64(st.st_size)
    }

    func close() {
        if fd >= 0 {
            _ = sysClose(fd)
            fd = -1
        }
    }
}

// sync_file_range(2)'s flags (linux/fs.h).
private let syncFileRangeWaitBefore: UInt32 = 1
private let syncFileRangeWrite: UInt32 = 2
private let syncFileRangeWaitAfter: UInt32 = 4
private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
private let syncFileRangeFunction: SyncFileRange? = {
    #if os(Linux)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
    return unsafeBitCast(symbol, to: SyncFileRange.self)
    #else
    return nil
    #endif
}()

func posixError(_ operation: String, _ path: String) -> FileIOError {
    let code = errno
    return FileIOError(operation, path, errno: code, String(cString: strerror(code)))
}

/// Runs a system call until it does not fail with EINTR; throws on any other failure (a negative result).
@inline(__always)
private func retryingEINTR(_ operation: String, _ path: String, _ call: () -> Int32) throws -> Int32 {
    while true {
        let r = call()
        if r >= 0 { return r }
        if errno != EINTR { throw posixError(operation, path) }
    }
}

// File-scope wrappers: inside the types above, `rename`/`close`/`write` name their own methods.
private func sysRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func sysClose(_ fd: Int32) -> Int32 { close(fd) }
private func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
private func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
