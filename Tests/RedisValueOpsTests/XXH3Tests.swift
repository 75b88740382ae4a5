import Testing
@testable import RedisValueOps

/// XXH3-64 against reference values (xxHash 0.8's XXH3_64bits, seed 0) over a fixed byte pattern, at every
/// length class (0, 1-3, 4-8, 9-16, 17-128, 129-240, and the striped path: one block, a block and a stripe,
/// several blocks), and Redis's own DIGEST example ("Hello world" -> b6acb9d84a38ff74, Redis 8.4 docs).
@Suite struct XXH3Tests {
    static let pattern: [UInt8] = (0..<6000).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
    static let vectors: [(Int, UInt64)] = [
        (0, 0x2d06800538d394c2), (1, 0x4c5cca45d0f4811f), (2, 0xa7e250c97710ff27), (3, 0x15f7093b173d005c),
        (4, 0xdca012f95811b6b9), (5, 0xb290cafc7b254345), (8, 0xdec6a9a43575982e), (9, 0xcbe393399f17ffbd),
        (12, 0x46aaf92c7550afa4), (16, 0x7e484c18d74895d0), (17, 0x208bde5ee2bed407), (31, 0xa937652b0119ca11),
        (32, 0x03df0ac5255d1446), (33, 0x199a362122d71f46), (64, 0xdd30702ab46b3745), (65, 0xfab36b851b94ce20),
        (96, 0xd245cd2541582982), (97, 0x60e3e1d0d43785b3), (128, 0xf92b70eaa21a6288), (129, 0xf8f76713f2bb60fa),
        (200, 0x12fdb864685f344d), (240, 0xccc7375172c41f03), (241, 0x0b3b630948ce4a00), (256, 0xec85b75bafe6ca74),
        (1024, 0x23bc880ebf0d29c6), (1025, 0xc09fdfbc398c7d82), (1087, 0x3ab6ed4b5be06fcc), (2048, 0x19f6f9c987331373),
        (5000, 0x559fff92c2b7f8ee),
    ]

    @Test func referenceValues() {
        for (n, want) in Self.vectors {
            #expect(XXH3.hash64(Array(Self.pattern.prefix(n))) == want, "length \(n)")
        }
    }

    @Test func redisDigestText() {
        #expect(XXH3.redisDigest(Array("Hello world".utf8)) == "b6acb9d84a38ff74")
        #expect(XXH3.redisDigest(Array(Self.pattern.prefix(32))) == "03df0ac5255d1446")  // leading zero kept
        #expect(XXH3.redisDigest(Array("12345".utf8)) == "f34099ede96b5581")  // DIGEST on a real Redis 8
    }
}
