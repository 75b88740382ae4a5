import Base

/// An in-memory sink: everything written ends up in `bytes`.
public struct MemoryByteSink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}

/// A buffered sink writing to a `Base.DurableFile` (the durable-file seam), with `sync()` (fsync) for durability.
///
/// Small writes are gathered in a buffer; writes at least as large as the buffer go straight to
/// the file once the buffer is drained. The file layer retries short writes and EINTR. Errors are
/// `RDBWriteError(.io)` naming the path and errno text. To replace a file atomically, write through
/// `FileSystem.writeAtomically` and `init(file:)` (as `RDBConvert` does).
public final class FileByteSink: ByteSink {
    public let path: String
    private let file: DurableFile
    private var isClosed = false
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    /// Bytes handed to the kernel so far (excludes what is still buffered).
    public private(set) var bytesFlushed: Int64 = 0

    /// Creates (or truncates) `path` with mode 0644.
    public init(path: String, bufferSize: Int = 1 << 20, fileSystem: FileSystem = POSIXFileSystem()) throws {
        do {
            file = try fileSystem.openForWriting(path, truncate: true)
        } catch let e as FileIOError {
            throw RDBWriteError(.io, "\(path): cannot create: \(e.message)")
        }
        self.path = path
        capacity = max(4096, bufferSize)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// Writes to an open (empty) file; `close` closes it.
    public init(file: DurableFile, bufferSize: Int = 1 << 20) {
        self.file = file
        path = file.path
        capacity = max(4096, bufferSize)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        if !isClosed { file.close() }
        buffer.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0, let src = bytes.baseAddress else { return }
        if used + bytes.count <= capacity {
            (buffer + used).copyMemory(from: src, byteCount: bytes.count)
            used += bytes.count
            return
        }
        try flush()
        if bytes.count >= capacity {
            try writeAll(src, bytes.count)
        } else {
            buffer.copyMemory(from: src, byteCount: bytes.count)
            used = bytes.count
        }
    }

    /// Hands buffered bytes to the kernel.
    public func flush() throws {
        if used > 0 {
            try writeAll(UnsafeRawPointer(buffer), used)
            used = 0
        }
    }

    /// Flushes and fsyncs the file.
    public func sync() throws {
        try flush()
        guard !isClosed else { throw RDBWriteError(.io, "\(path): sync after close") }
        do {
            try file.sync()
        } catch let e as FileIOError {
            throw RDBWriteError(.io, "\(path): fsync failed: \(e.message)")
        }
    }

    /// Flushes (and fsyncs when `sync`), then closes the file.
    public func close(sync: Bool = true) throws {
        guard !isClosed else { return }
        if sync { try self.sync() } else { try flush() }
        isClosed = true
        file.close()
    }

    private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws {
        guard !isClosed else { throw RDBWriteError(.io, "\(path): write after close") }
        do {
            try file.write(UnsafeRawBufferPointer(start: p, count: n))
        } catch let e as FileIOError {
            throw RDBWriteError(.io, "\(path): write failed at byte \(bytesFlushed): \(e.message)")
        }
        bytesFlushed += Int64(n)
    }
}
