/// A tiny deterministic PRNG (SeededRandom) so random splits and fuzz inputs are reproducible from a seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Chunk sizes in 1...maxChunk drawn from `seed`, adding up to `total` (the last one cut to fit): a schedule
/// for drip-feeding a decoder.
public func randomChunks(total: Int, seed: UInt64, maxChunk: Int = 17) -> [Int] {
    var rng = SeededRandom(seed: seed)
    var out: [Int] = []
    var left = total
    while left > 0 {
        let n = Int.random(in: 1...maxChunk, using: &rng)
        out.append(min(n, left))
        left -= n
    }
    return out
}

/// `input` cut into the pieces `randomChunks` draws for its length.
public func randomSplits(_ input: [UInt8], seed: UInt64, maxChunk: Int) -> [[UInt8]] {
    var i = 0
    return randomChunks(total: input.count, seed: seed, maxChunk: maxChunk).map { n in
        defer { i += n }
        return Array(input[i..<i + n])
    }
}
