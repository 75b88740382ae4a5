import XCTest
@testable import RDB
import TestSupport

/// `DecimalText`'s text must equal Swift's own, and nothing may land past the 20 bytes its callers reserve.
final class DecimalTextTests: XCTestCase {
    private func text(_ write: (UnsafeMutableRawPointer) -> Int) -> (String, guardIntact: Bool) {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 1)
        defer { buf.deallocate() }
        buf.initializeMemory(as: UInt8.self, repeating: 0xEE)
        let n = write(buf.baseAddress!)
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: buf[0..<n]), as: UTF8.self)
        return (s, buf[20...].allSatisfy { $0 == 0xEE })
    }

    private var samples: [UInt64] {
        var values: [UInt64] = [0, 1, 9, 10, 99, 100, UInt64.max, UInt64.max - 1, UInt64(Int64.max),
                                UInt64(Int64.max) + 1]
        var p: UInt64 = 1
        for _ in 0..<20 {
            values += [p &- 1, p, p &+ 1, p &* 9, p &* 5 &+ 3]
            if p > UInt64.max / 10 { break }
            p *= 10
        }
        values.append(10_000_000_000_000_000_000)
        var rng = SeededRandom(seed: 20261201)
        for _ in 0..<20_000 {
            let bits = UInt64.random(in: 0...64, using: &rng)
            let v = UInt64.random(in: .min ... .max, using: &rng)
            values.append(bits == 64 ? v : v & ((1 << bits) &- 1))
        }
        return values
    }

    func testUnsignedMatchesDescription() {
        for m in samples {
            let (s, intact) = text { DecimalText.write(m, to: $0) }
            XCTAssertEqual(s, String(m))
            XCTAssertTrue(intact, "\(m) wrote past 20 bytes")
            XCTAssertEqual(DecimalText.digitCount(m), String(m).count)
        }
    }

    func testSignedMatchesDescription() {
        var values: [Int64] = [.min, .max, .min + 1, -1, 0, -9_999_999, -10_000_000, -99_999_999, -100_000_000]
        for m in samples {
            values.append(Int64(truncatingIfNeeded: m))
            if m <= UInt64(Int64.max) { values.append(-Int64(m)) }
        }
        for v in values {
            let (s, intact) = text { DecimalText.write(v, to: $0) }
            XCTAssertEqual(s, String(v))
            XCTAssertTrue(intact, "\(v) wrote past 20 bytes")
        }
    }
}
