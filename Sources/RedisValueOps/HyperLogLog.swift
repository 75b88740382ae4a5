// HyperLogLog commands over string values, byte for byte as Redis's src/hyperloglog.c (6.2, 7.x, 8.x).
//
// API (pure functions; values are the raw string bytes, `nil` for a missing key):
//
//   HyperLogLog.add(to: value, elements: [...], sparseMaxBytes: 3000)
//       PFADD key ele...: creates the HLL when `value` is nil. Returns the new bytes and `changed`
//       (the integer reply: 1 when a register changed or the key was created). Bytes are returned
//       even when unchanged (then equal to the input). On a damaged sparse value Redis may have
//       changed registers before failing: `.corruptedAfterPartialWrite(bytes)` carries them.
//   HyperLogLog.count(value)
//       PFCOUNT key (one key): the cardinality and, when the cached cardinality was invalid, the
//       new bytes with the cache written and its invalid bit cleared (`updatedValue`, nil when the
//       cache was valid and nothing changes). A master propagates PFCOUNT exactly when it writes
//       the cache, so a replica applying a propagated PFCOUNT stores `updatedValue` if non-nil.
//   HyperLogLog.countUnion([value?, ...])
//       PFCOUNT k1 k2 ...: the cardinality of the union; never writes.
//   HyperLogLog.merge(destination: value?, sources: [value?, ...], sparseMaxBytes: 3000)
//       PFMERGE dest src...: the new destination bytes. The destination's own registers take part
//       (Redis reads argv[1...]). The result is dense if any input (destination included) is dense,
//       else sparse, promoted to dense as registers are set exactly as PFADD would. The cache is
//       always invalidated.
//   HyperLogLog.validate(value)
//       isHLLObjectOrReply's checks: at least 16 bytes, "HYLL", encoding 0 or 1, a dense value of
//       exactly 12304 bytes. Sparse opcodes are checked lazily, as in Redis (`.corrupted`).
//
// The caller checks the key's type first (a non-string key is WRONGTYPE before any of this).
// `sparseMaxBytes` is the server's hll-sparse-max-bytes (default 3000). Work is bounded by the
// input's length: the only allocation not sized by the input is one 12304-byte dense value.

public enum HyperLogLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The string is not an HLL (isHLLObjectOrReply).
    case notHyperLogLog
    /// A sparse HLL whose opcodes do not cover exactly 16384 registers.
    case corrupted
    /// PFADD only: the same error, met after earlier elements had already changed registers in
    /// place; the key now holds these bytes, as in Redis (the master does not propagate the failed
    /// command, so a replica never sees it; a server answering clients stores the bytes).
    case corruptedAfterPartialWrite([UInt8])

    /// The error reply Redis sends, without the leading "-".
    public var description: String {
        switch self {
        case .notHyperLogLog: return "WRONGTYPE Key is not a valid HyperLogLog string value."
        case .corrupted, .corruptedAfterPartialWrite: return "INVALIDOBJ Corrupted HLL object detected"
        }
    }
}

public enum HyperLogLog {
    /// hll-sparse-max-bytes's default.
    public static let defaultSparseMaxBytes = 3000
    /// The size of a dense HLL (HLL_DENSE_SIZE).
    public static let denseSize = HLL.denseSize

    public struct AddResult: Equatable, Sendable {
        public var value: [UInt8]
        /// PFADD's reply: true (1) when the key was created or a register changed.
        public var changed: Bool
    }

    public struct CountResult: Equatable, Sendable {
        public var cardinality: UInt64
        /// The value with the refreshed cache, or nil when the cache was valid (no write).
        public var updatedValue: [UInt8]?
    }

    /// An empty HLL as createHLLObject makes it: sparse, one XZERO opcode of 16384 registers.
    public static func empty() -> [UInt8] {
        var v = HLL.magic + [HLL.encodingSparse, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        let (a, b) = HLL.xzeroOpcode(len: HLL.sparseXZeroMaxLen)
        v += [a, b]
        return v
    }

    /// Whether `value` passes isHLLObjectOrReply.
    public static func validate(_ value: [UInt8]) -> HyperLogLogError? {
        guard value.count >= HLL.headerSize, Array(value[0..<4]) == HLL.magic,
              value[4] <= HLL.encodingSparse else { return .notHyperLogLog }
        if value[4] == HLL.encodingDense && value.count != HLL.denseSize { return .notHyperLogLog }
        return nil
    }

    public static func isDense(_ value: [UInt8]) -> Bool { value.count > 4 && value[4] == HLL.encodingDense }

    /// PFADD.
    public static func add(to value: [UInt8]?, elements: [[UInt8]],
                           sparseMaxBytes: Int = defaultSparseMaxBytes) -> Result<AddResult, HyperLogLogError> {
        var updated = false
        let start: [UInt8]
        if let value {
            if let error = validate(value) { return .failure(error) }
            start = value
        } else {
            start = empty()
            updated = true
        }
        var buffer = HLLBuffer(start)
        var dense: [UInt8]? = buffer.encoding == HLL.encodingDense ? start : nil
        for element in elements {
            let (index, count) = HLL.patternLength(element)
            if dense != nil {
                if HLL.denseSetIfGreater(&dense!, index, count) { updated = true }
                continue
            }
            switch buffer.sparseSet(index: index, count: count, sparseMaxBytes: sparseMaxBytes) {
            case .changed: updated = true
            case .unchanged: break
            case .invalid:
                let partial = buffer.value
                return .failure(partial == start ? .corrupted : .corruptedAfterPartialWrite(partial))
            }
            if buffer.encoding == HLL.encodingDense { dense = buffer.value }
        }
        var out = dense ?? buffer.value
        if updated { HLL.invalidateCache(&out) }
        return .success(AddResult(value: out, changed: updated))
    }

    /// PFCOUNT with one key (a missing key counts 0 and is not created: don't call this for it).
    public static func count(_ value: [UInt8]) -> Result<CountResult, HyperLogLogError> {
        if let error = validate(value) { return .failure(error) }
        if HLL.isCacheValid(value) {
            return .success(CountResult(cardinality: HLL.cachedCardinality(value), updatedValue: nil))
        }
        var histogram = [Int](repeating: 0, count: 64)
        if value[4] == HLL.encodingDense {
            HLL.denseHistogram(value, into: &histogram)
        } else if !HLL.sparseHistogram(value, into: &histogram) {
            return .failure(.corrupted)
        }
        let card = HLL.estimate(histogram: histogram)
        var out = value
        HLL.storeCardinality(&out, card)
        return .success(CountResult(cardinality: card, updatedValue: out))
    }

    /// PFCOUNT with several keys: the cardinality of their union (missing keys are empty HLLs).
    public static func countUnion(_ values: [[UInt8]?]) -> Result<UInt64, HyperLogLogError> {
        var max = [UInt8](repeating: 0, count: HLL.registerCount)
        for case let value? in values {
            if let error = validate(value) { return .failure(error) }
            if !HLL.mergeRegisters(into: &max, from: value) { return .failure(.corrupted) }
        }
        var histogram = [Int](repeating: 0, count: 64)
        for r in max { histogram[Int(r)] += 1 }
        return .success(HLL.estimate(histogram: histogram))
    }

    /// PFMERGE.
    public static func merge(destination: [UInt8]?, sources: [[UInt8]?],
                             sparseMaxBytes: Int = defaultSparseMaxBytes) -> Result<[UInt8], HyperLogLogError> {
        var max = [UInt8](repeating: 0, count: HLL.registerCount)
        var useDense = false
        for case let value? in [destination] + sources {
            if let error = validate(value) { return .failure(error) }
            if value[4] == HLL.encodingDense { useDense = true }
            if !HLL.mergeRegisters(into: &max, from: value) { return .failure(.corrupted) }
        }
        var buffer = HLLBuffer(destination ?? empty())
        if useDense && !buffer.convertToDense() { return .failure(.corrupted) }
        var dense: [UInt8]? = nil
        for j in 0..<HLL.registerCount where max[j] != 0 {
            if dense != nil {
                _ = HLL.denseSetIfGreater(&dense!, j, Int(max[j]))
                continue
            }
            if buffer.encoding == HLL.encodingDense {
                dense = buffer.value
                _ = HLL.denseSetIfGreater(&dense!, j, Int(max[j]))
            } else {
                // Redis ignores hllSparseSet's result here; the destination was validated above.
                _ = buffer.sparseSet(index: j, count: Int(max[j]), sparseMaxBytes: sparseMaxBytes)
            }
        }
        var out = dense ?? buffer.value
        HLL.invalidateCache(&out)
        return .success(out)
    }
}
