/// A pull-based source of bytes for the streaming RDB reader: a file, a gzip stream, a socket, memory.
///
/// `read(into:)` fills at most `buffer.count` bytes and returns how many it wrote; 0 means the end.
/// It may return fewer bytes than asked for at any time (the reader must not care how input is split).
public protocol ByteSource {
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A push-side sink for the RDB writer.
public protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}
