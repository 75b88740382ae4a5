/// The file operations everything durable goes through (the data directory, `rdb convert`'s output,
/// `rdb sqlite`'s publish, the RDB file reader and writer), behind a small protocol so tests can crash it.
///
/// Two implementations: `POSIXFileSystem` (the real one: open/pread/write/fsync/rename/ftruncate/unlink,
/// every call retried on EINTR and short counts) and, in the tests only, `SimulatedFileSystem` (in memory,
/// records what is durable and can crash, tear writes and flip bytes).
///
/// Durability model (the pessimistic POSIX one, which callers are written against):
/// - file data is durable only after `DurableFile.sync()` on that file;
/// - a name (create, rename, remove) is durable only after `syncDirectory` on its directory.
/// `writeAtomically` and `publish(temporary:as:)` (AtomicWrite.swift) are the one way to replace a file.
public protocol FileSystem: AnyObject {
    /// Opens (creating if needed) a file for appending writes. `truncate` empties it first.
    func openForWriting(_ path: String, truncate: Bool) throws -> DurableFile
    /// Opens an existing file for reading.
    func openForReading(_ path: String) throws -> DurableFile
    /// Atomically replaces `to` with `from` (rename(2)).
    func rename(_ from: String, _ to: String) throws
    /// Removes a file; a missing file is not an error.
    func remove(_ path: String) throws
    /// The names (not paths) in a directory, unsorted. Throws when the directory does not exist.
    func list(_ directory: String) throws -> [String]
    func exists(_ path: String) -> Bool
    func createDirectory(_ path: String) throws
    /// fsync on the directory itself: makes creates, renames and removes in it durable.
    func syncDirectory(_ path: String) throws
    /// Takes an exclusive advisory lock on `path` (created if needed) without waiting; throws
    /// `FileLockedError` if another holder has it. The lock lasts as long as the returned token.
    func lock(_ path: String) throws -> AnyObject
}

/// An open file. Writes append at the end; reads are positional.
public protocol DurableFile: AnyObject {
    /// The path it was opened by (for error messages).
    var path: String { get }
    /// Appends all the bytes (retrying short writes and EINTR).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Reads up to `buffer.count` bytes at `offset`; returns the count, 0 at the end (retrying EINTR).
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// fsync(2) (fdatasync is not enough after a size change on every file system; we use fsync).
    func sync() throws
    func truncate(to size: Int64) throws
    func size() throws -> Int64
    func close()
    /// Starts writing back the dirty pages of `count` bytes at `offset` without waiting (Linux
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`). Makes **nothing durable**: no metadata, no device cache
    /// flush; only `sync()` does. A large writer uses it to keep its dirty pages few (see `waitForWriteback`).
    /// Elsewhere (and in the simulated file system) it does nothing.
    func startWriteback(offset: Int64, count: Int64) throws
    /// Starts (if not yet) and waits for the writeback of `count` bytes at `offset` (Linux
    /// `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`): the pages are clean when it returns. Not durable
    /// either. Elsewhere it does nothing.
    func waitForWriteback(offset: Int64, count: Int64) throws
}

extension DurableFile {
    public func startWriteback(offset: Int64, count: Int64) throws {}
    public func waitForWriteback(offset: Int64, count: Int64) throws {}
}

extension DurableFile {
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Fills `buffer` from `offset`, looping over short reads; returns fewer bytes only at the end of the file.
    public func readFully(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var got = 0
        while got < buffer.count {
            let n = try read(at: offset + Int64(got), into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...]))
            if n == 0 { break }
            got += n
        }
        return got
    }

    /// Reads exactly `count` bytes at `offset` or fewer at the end of the file.
    public func readFully(at offset: Int64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let got = try out.withUnsafeMutableBytes { try readFully(at: offset, into: $0) }
        if got < count { out.removeSubrange(got...) }
        return out
    }
}

/// An I/O failure, naming the operation and the path.
public struct FileIOError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var path: String
    public var errno: Int32
    public var message: String
    public init(_ operation: String, _ path: String, errno: Int32, _ message: String) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.message = message
    }
    public var description: String { "\(path): \(operation) failed: \(message)" }
}

/// `FileSystem.lock` found the lock held by someone else.
public struct FileLockedError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public init(path: String) { self.path = path }
    public var description: String { "\(path): locked by another process" }
}

/// Joins a directory and a file name.
@inline(__always)
public func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

/// The parent of a path ("." for a bare name).
public func parentDirectory(of path: String) -> String {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    return slash == p.startIndex ? "/" : String(p[..<slash])
}
