/// The file operations the data directory needs, behind a small protocol so tests can crash it.
///
/// Two implementations: `POSIXFileSystem` (the real one: open/pwrite/fsync/rename/ftruncate/unlink) and
/// `SimulatedFileSystem` (in memory, records what is durable and can crash, tear writes and flip bytes).
///
/// Durability model (the pessimistic POSIX one, which the store is written against):
/// - file data is durable only after `StoreFile.sync()` on that file;
/// - a name (create, rename, remove) is durable only after `syncDirectory` on its directory.
public protocol StoreFileSystem: AnyObject {
    /// Opens (creating if needed) a file for appending writes. `truncate` empties it first.
    func openForWriting(_ path: String, truncate: Bool) throws -> StoreFile
    /// Opens an existing file for reading.
    func openForReading(_ path: String) throws -> StoreFile
    /// Atomically replaces `to` with `from` (rename(2)).
    func rename(_ from: String, _ to: String) throws
    func remove(_ path: String) throws
    /// The names (not paths) in a directory, unsorted. Throws when the directory does not exist.
    func list(_ directory: String) throws -> [String]
    func exists(_ path: String) -> Bool
    func createDirectory(_ path: String) throws
    /// fsync on the directory itself: makes creates, renames and removes in it durable.
    func syncDirectory(_ path: String) throws
    /// Takes an exclusive advisory lock on `path` (created if needed) without waiting; throws
    /// `StoreError.locked` if another holder has it. The lock lasts as long as the returned token.
    func lock(_ path: String) throws -> AnyObject
}

/// An open file. Writes append at the end; reads are positional.
public protocol StoreFile: AnyObject {
    /// Appends all the bytes (retrying short writes).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Reads up to `buffer.count` bytes at `offset`; returns the count, 0 at the end.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// fsync(2) (fdatasync is not enough after a size change on every file system; we use fsync).
    func sync() throws
    func truncate(to size: Int64) throws
    func size() throws -> Int64
    func close()
}

extension StoreFile {
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Reads exactly `count` bytes at `offset` or fewer at the end of the file.
    public func readFully(at offset: Int64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = try out.withUnsafeMutableBytes { buf in
                try read(at: offset + Int64(got), into: UnsafeMutableRawBufferPointer(rebasing: buf[got...]))
            }
            if n == 0 { break }
            got += n
        }
        if got < count { out.removeSubrange(got...) }
        return out
    }
}

/// An I/O failure, naming the operation and the path.
public struct StoreIOError: Error, CustomStringConvertible, Sendable, Equatable {
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

/// Joins a directory and a file name.
@inline(__always)
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
