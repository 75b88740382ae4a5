import Foundation
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

    /// XXH3-128 reference values (xxHash 0.8's XXH3_128bits, seed 0, as the Python xxhash 3.x module computes
    /// them) over the same pattern, at every length class: (length, low64, high64).
    static let vectors128: [(Int, UInt64, UInt64)] = [
        (0, 0x6001c324468d497f, 0x99aa06d3014798d8),
        (1, 0x4c5cca45d0f4811f, 0x495b62073ef70ca4),
        (2, 0xa7e250c97710ff27, 0x12b2847aa0de5aaa),
        (3, 0x15f7093b173d005c, 0x46f66cb935381565),
        (4, 0xb987ca5d9241572a, 0x7fefeeffb4d0eab3),
        (5, 0x752a86982353f4f3, 0x2fbb16712b4bf1d5),
        (8, 0x56bb836ceb6d4baa, 0x803c675a846cc6c2),
        (9, 0x4376673580310154, 0xd46556872d230f22),
        (12, 0x2f65dbab90c80af2, 0x48480c880e4976fd),
        (16, 0xf853dd94614dfa07, 0x650fe308c566747d),
        (17, 0x78c349fe81b2f26c, 0x18217300b5132d5a),
        (31, 0x45e862e1ac921624, 0xa7591e70669b73f8),
        (32, 0x5726e079716c6a62, 0x3220ff5fe507b3c0),
        (33, 0x3b25275300c8b44e, 0x91a4c56ad1b91d88),
        (64, 0x36c5f7e547426bc4, 0xf9bfa77da0891a96),
        (65, 0xd0d1d7884590a330, 0x5642c5d38e6e787d),
        (96, 0x63451be079edd707, 0x59861d1adb3e51a2),
        (97, 0xfa4138b7dc44e45b, 0x0912f66857975b13),
        (128, 0x1e04fad9f0cacb4d, 0xb4f87b99d2db8a51),
        (129, 0xc51bc887976aef63, 0x6881633650cd8924),
        (160, 0xf661814e66697391, 0xc000b788df6dbbc4),
        (161, 0x3514442284da8d47, 0x9ab20efd5075007b),
        (200, 0x60ea018811f9a437, 0x8d8629a1aef9ef90),
        (240, 0x93e173833f75ab66, 0xde57aab31e77a2ff),
        (241, 0x0b3b630948ce4a00, 0x92b991a7192f3f08),
        (256, 0xec85b75bafe6ca74, 0x24ee30633ca52c6a),
        (1024, 0x23bc880ebf0d29c6, 0x4c17271c906df792),
        (1025, 0xc09fdfbc398c7d82, 0x70a4eb1b9691d77f),
        (1087, 0x3ab6ed4b5be06fcc, 0x94b0b642c6bee26c),
        (2048, 0x19f6f9c987331373, 0xb318976b177a38c7),
        (5000, 0x559fff92c2b7f8ee, 0x3bf60aa89c7feeaa),
    ]

    @Test func referenceValues128() {
        for (n, low, high) in Self.vectors128 {
            #expect(XXH3.hash128(Array(Self.pattern.prefix(n))) == XXH3.Hash128(low: low, high: high), "length \(n)")
        }
    }

    /// Redis 8.10's IDMPAUTO ids, read from the IDMP section of a real 8.10.2's SAVE after `XADD s IDMPAUTO p1 *`
    /// with these fields (the second pair list in either order gave the same id: the master answered it as a
    /// duplicate).
    @Test func idempotencyIDsOfARealServer() {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        func hex(_ x: [UInt8]) -> String { x.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(XXH3.idempotencyID([(b("f"), b("v"))])) == "6e95729ee727f0814aedffba55730079")
        #expect(hex(XXH3.idempotencyID([(b("job"), b("j1")), (b("n"), b("12345"))])) == "6f85d1dd9e7840d351ef553587752ebc")
        #expect(hex(XXH3.idempotencyID([(b("n"), b("12345")), (b("job"), b("j1"))])) == "6f85d1dd9e7840d351ef553587752ebc")
        #expect(hex(XXH3.idempotencyID([(Array(repeating: 97, count: 100), Array(repeating: 98, count: 300))]))
                == "a21f614ac77bdedfe52c1e83b96198c0")
    }
}
