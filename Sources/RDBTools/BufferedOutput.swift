#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer that hands its bytes to a sink in `flushThreshold`-sized writes: the output
/// side shared by `JSONWriter` and `RESPOutput`, which write into `base` directly.
///
/// Not `open`: the subclasses live in this module, so whole-module optimization reaches the stored
/// properties directly (no dynamic dispatch on the hot path).
public class BufferedOutput {
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    // Checked statically; dynamic exclusivity checks on every append cost ~20% of `rdb dump`.
    @exclusivity(unchecked) final var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) final var capacity: Int
    /// Bytes buffered and not yet handed to the sink.
    @exclusivity(unchecked) public final internal(set) var count = 0
    public final var flushThreshold: Int
    final let sink: Sink?
    /// Bytes handed to the sink so far.
    public final private(set) var bytesFlushed: Int64 = 0

    init(flushThreshold: Int, sink: Sink?, initialCapacity: Int) {
        self.flushThreshold = flushThreshold
        self.sink = sink
        capacity = initialCapacity
        base = Self.allocate(initialCapacity)
    }

    deinit { free(base) }

    /// `malloc`, so that `grow` can `realloc`: a big buffer (mapped pages) then grows by remapping, not copying.
    private static func allocate(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        guard let p = malloc(n) else { fatalError("out of memory: \(n) bytes for an output buffer") }
        return p.assumingMemoryBound(to: UInt8.self)
    }

    /// The buffered bytes, valid until the next write.
    public final var pending: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Hands the buffered bytes to the sink when it holds at least `flushThreshold` bytes.
    @inline(__always)
    public final func flushIfNeeded() throws {
        if sink != nil && count >= flushThreshold { try flush() }
    }

    /// Hands every buffered byte to the sink (no-op without a sink).
    public final func flush() throws {
        guard let sink, count > 0 else { return }
        try sink(UnsafeRawBufferPointer(start: base, count: count))
        bytesFlushed += Int64(count)
        count = 0
    }

    @inline(__always) final func reserve(_ n: Int) {
        if count &+ n > capacity { grow(count &+ n) }
    }

    @inline(never) final func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        guard let fresh = realloc(base, c) else { fatalError("out of memory: \(c) bytes for an output buffer") }
        base = fresh.assumingMemoryBound(to: UInt8.self)
        capacity = c
    }
}
