import Base
import CZlib

/// Reads a file sequentially through the durable-file seam (`Base.DurableFile`, positional reads that retry
/// EINTR) straight into the caller's buffer: no `Data`, no extra copy, no allocation per read.
public final class FileByteSource: ByteSource {
    public let path: String
    private let file: DurableFile
    private var offset: Int64
    /// Where reading stops (the file's end when nil).
    private let limit: Int64?

    public init(path: String, fileSystem: FileSystem = POSIXFileSystem()) throws {
        self.path = path
        do {
            file = try fileSystem.openForReading(path)
        } catch let e as FileIOError {
            throw RDBError(.io, at: 0, "cannot open: \(e.message)", file: path)
        }
        offset = 0
        limit = nil
    }

    /// Reads an open file from `offset` on, up to `limit` when one is given (the source then ends there; the
    /// file stays open as long as this source).
    public init(file: DurableFile, from offset: Int64 = 0, upTo limit: Int64? = nil) {
        self.path = file.path
        self.file = file
        self.offset = offset
        self.limit = limit
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var buffer = buffer
        if let limit {
            let left = Int(clamping: max(0, limit - offset))
            if left == 0 { return 0 }
            if left < buffer.count { buffer = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<left]) }
        }
        do {
            let n = try file.read(at: offset, into: buffer)
            offset += Int64(n)
            return n
        } catch let e as FileIOError {
            throw RDBError(.io, at: offset, "read failed: \(e.message)", file: path)
        }
    }
}

/// Inflates a gzip (or zlib) file on the fly with system zlib (`inflateInit2_` with windowBits 15+32,
/// automatic header detection). Concatenated gzip members are read one after another.
public final class GzipByteSource: ByteSource {
    public let path: String
    private let file: FileByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var inputEOF = false
    private var finished = false
    private var compressedOffset: Int64 = 0

    public init(path: String, inputBufferSize: Int = 256 * 1024, fileSystem: FileSystem = POSIXFileSystem()) throws {
        self.path = path
        file = try FileByteSource(path: path, fileSystem: fileSystem)
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: max(4096, inputBufferSize), alignment: 16)
        let rc = inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if rc != Z_OK {
            input.deallocate()
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw RDBError(.io, at: 0, "zlib inflateInit2 failed (\(rc))", file: path)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let out = buffer.baseAddress, buffer.count > 0, !finished else { return 0 }
        stream.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
        while stream.pointee.avail_out == UInt32(min(buffer.count, Int(UInt32.max))) {
            if stream.pointee.avail_in == 0 && !inputEOF {
                let n = try file.read(into: input)
                if n == 0 {
                    inputEOF = true
                } else {
                    compressedOffset += Int64(n)
                    stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            if stream.pointee.avail_in == 0 && inputEOF {
                // No more compressed input: a clean end only right after a member's end.
                throw RDBError(.truncated, at: compressedOffset, "gzip stream ends before its trailer", file: path)
            }
            let rc = inflate(stream, Z_NO_FLUSH)
            if rc == Z_STREAM_END {
                let produced = buffer.count - Int(stream.pointee.avail_out)
                // Another gzip member may follow (concatenated .gz files).
                if stream.pointee.avail_in == 0 {
                    let n = try file.read(into: input)
                    if n == 0 {
                        finished = true
                        return produced
                    }
                    compressedOffset += Int64(n)
                    stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_in = UInt32(n)
                }
                inflateReset(stream)
                if produced > 0 { return produced }
                continue
            }
            if rc != Z_OK && rc != Z_BUF_ERROR {
                let msg = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw RDBError(.io, at: compressedOffset, "gzip: \(msg)", file: path)
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }
}

/// Bytes in memory, handed out in configurable pieces (for drip-feed tests and in-memory parsing).
public struct MemoryByteSource: ByteSource {
    public enum Chunking: Sendable, Equatable {
        /// As much as the reader asks for.
        case all
        /// One byte per read call.
        case oneByte
        /// Seeded pseudo-random piece sizes in 1...maxChunk.
        case random(seed: UInt64, maxChunk: Int)
    }

    public let bytes: [UInt8]
    public let chunking: Chunking
    private var position = 0
    private var rngState: UInt64

    public init(bytes: [UInt8], chunking: Chunking = .all) {
        self.bytes = bytes
        self.chunking = chunking
        if case .random(let seed, _) = chunking { rngState = seed } else { rngState = 0 }
    }

    private mutating func nextRandom() -> UInt64 {
        rngState &+= 0x9e3779b97f4a7c15
        var z = rngState
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let remaining = bytes.count - position
        guard remaining > 0, buffer.count > 0, let dst = buffer.baseAddress else { return 0 }
        var n = min(remaining, buffer.count)
        switch chunking {
        case .all: break
        case .oneByte: n = 1
        case .random(_, let maxChunk):
            n = min(n, 1 + Int(nextRandom() % UInt64(max(1, maxChunk))))
        }
        bytes.withUnsafeBytes { src in
            if let from = src.baseAddress { dst.copyMemory(from: from + position, byteCount: n) }
        }
        position += n
        return n
    }
}

/// Type-erases a source so readers built from `openRDBSource` share one concrete type.
public struct AnyByteSource: ByteSource {
    public var base: any ByteSource
    public init(_ base: any ByteSource) { self.base = base }
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try base.read(into: buffer)
    }
}

/// Whether the file starts with the gzip magic `1f 8b` (false when it cannot be read).
public func isGzipFile(path: String, fileSystem: FileSystem = POSIXFileSystem()) -> Bool {
    guard let file = try? fileSystem.openForReading(path) else { return false }
    defer { file.close() }
    return (try? file.readFully(at: 0, count: 2)) == [0x1f, 0x8b]
}

/// Opens an RDB file for reading, inflating it transparently when it starts with the gzip magic `1f 8b`.
public func openRDBSource(path: String, fileSystem: FileSystem = POSIXFileSystem()) throws -> any ByteSource {
    let plain = try FileByteSource(path: path, fileSystem: fileSystem)
    if isGzipFile(path: path, fileSystem: fileSystem) {
        return try GzipByteSource(path: path, fileSystem: fileSystem)
    }
    return plain
}
