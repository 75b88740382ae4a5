#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An in-memory sink: everything written ends up in `bytes`.
public struct MemoryByteSink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}

/// A buffered sink writing to a file descriptor, with `sync()` (fsync) for durability.
///
/// Small writes are gathered in a buffer; writes at least as large as the buffer go straight to
/// the file once the buffer is drained. Short writes and EINTR are retried. Errors are
/// `RDBWriteError(.io)` naming the path and errno text.
public final class FileByteSink: ByteSink {
    public let path: String
    private var fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    /// Bytes handed to the kernel so far (excludes what is still buffered).
    public private(set) var bytesFlushed: Int64 = 0

    /// Creates (or truncates) `path` with mode 0644.
    public init(path: String, bufferSize: Int = 1 << 20) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RDBWriteError(.io, "\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        capacity = max(4096, bufferSize)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        if fd >= 0 { _ = systemClose(fd) }
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
        guard fd >= 0 else { throw RDBWriteError(.io, "\(path): sync after close") }
        if fsync(fd) != 0 {
            throw RDBWriteError(.io, "\(path): fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Flushes (and fsyncs when `sync`), then closes the descriptor.
    public func close(sync: Bool = true) throws {
        guard fd >= 0 else { return }
        if sync { try self.sync() } else { try flush() }
        let rc = systemClose(fd)
        fd = -1
        if rc != 0 {
            throw RDBWriteError(.io, "\(path): close failed: \(String(cString: strerror(errno)))")
        }
    }

    private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws {
        guard fd >= 0 else { throw RDBWriteError(.io, "\(path): write after close") }
        var done = 0
        while done < n {
            let r = systemWrite(fd, p + done, n - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw RDBWriteError(.io, "\(path): write failed at byte \(bytesFlushed): \(String(cString: strerror(errno)))")
            }
            done += r
            bytesFlushed += Int64(r)
        }
    }

    /// fsyncs a directory (after a rename into it), so the new name is durable.
    public static func syncDirectory(_ path: String) throws {
        let dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else {
            throw RDBWriteError(.io, "\(path): cannot open directory: \(String(cString: strerror(errno)))")
        }
        defer { _ = systemClose(dfd) }
        if fsync(dfd) != 0 {
            throw RDBWriteError(.io, "\(path): directory fsync failed: \(String(cString: strerror(errno)))")
        }
    }
}

@inline(__always) private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

@inline(__always) private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
