import Testing
@testable import RESP
import TestSupport

/// Feeds `input` to the buffer-based decoder in the given chunk sizes and collects every frame.
func decodeAll(_ input: [UInt8], chunks: [Int]) throws -> [RESPFrame] {
    let decoder = RESPDecoder()
    var buffer = RESPByteBuffer()
    var frames: [RESPFrame] = []
    var pos = 0
    for size in chunks {
        let end = min(input.count, pos + size)
        buffer.append(contentsOf: input[pos..<end])
        pos = end
        while let frame = try decoder.decode(buffer: &buffer) {
            frames.append(frame)
        }
        buffer.discardReadBytes()
    }
    #expect(pos == input.count)
    #expect(buffer.readableBytes == 0)
    return frames
}

let sampleValues: [RESPValue] = [
    .simpleString(Array("OK".utf8)),
    .simpleString(Array("FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 0".utf8)),
    .error(Array("ERR unknown command".utf8)),
    .integer(0), .integer(-42), .integer(Int64.max), .integer(Int64.min + 1),
    .bulkString(nil), .bulkString([]),
    .bulkString([0, 13, 10, 255, 36, 42, 13]),
    .bulkString(Array(repeating: 0x61, count: 1000)),
    .array(nil), .array([]),
    .array([.bulkString(Array("SET".utf8)), .bulkString(Array("k".utf8)), .bulkString([1, 2, 3])]),
    .array([.array([.integer(1), .array([.simpleString([]), .bulkString(nil)])]), .error([])]),
]

@Suite("RESP decoder")
struct RESPDecoderTests {
    @Test("every sample value round-trips with its exact byte count")
    func roundTrip() throws {
        for value in sampleValues {
            let bytes = RESPEncoder.encode(value)
            let frame = try #require(try RESPDecoder().decode(bytes))
            #expect(frame.value == value)
            #expect(frame.byteCount == bytes.count)
            // Every strict prefix is "need more data".
            for cut in 0..<bytes.count {
                #expect(try RESPDecoder().decode(Array(bytes[0..<cut])) == nil)
            }
        }
    }

    @Test("drip-fed, random splits and all at once give the same frames and byte counts", arguments: [1, 2, 3, 99, 12345] as [UInt64])
    func splitsAgree(seed: UInt64) throws {
        var input: [UInt8] = []
        var expected: [RESPFrame] = []
        for value in sampleValues + sampleValues.reversed() {
            let b = RESPEncoder.encode(value)
            input += b
            expected.append(RESPFrame(value: value, byteCount: b.count))
        }
        #expect(try decodeAll(input, chunks: [input.count]) == expected)
        #expect(try decodeAll(input, chunks: Array(repeating: 1, count: input.count)) == expected)
        #expect(try decodeAll(input, chunks: randomChunks(total: input.count, seed: seed)) == expected)
        #expect(try decodeAll(input, chunks: randomChunks(total: input.count, seed: seed &+ 7, maxChunk: 300)) == expected)
    }

    @Test("scanCommand finds frames and argument ranges without copying")
    func scanCommand() throws {
        let cmd = RESPEncoder.command("SELECT", "12")
        let input = cmd + RESPEncoder.command("SET", "key", "value", "PXAT", "1") + [UInt8(ascii: "*")]
        let decoder = RESPDecoder()
        let first = try #require(try decoder.scanCommand(input))
        #expect(first.byteCount == cmd.count)
        #expect(first.argumentCount == 2)
        let r0 = try #require(first.argumentRange(0)), r1 = try #require(first.argumentRange(1))
        #expect(Array(input[r0]) == Array("SELECT".utf8))
        #expect(Array(input[r1]) == Array("12".utf8))
        #expect(first.argumentRange(2) == nil)
        let second = try #require(try decoder.scanCommand(input, from: cmd.count))
        #expect(second.argumentCount == 5)
        #expect(Array(input[cmd.count...][(cmd.count + second.argumentRange(2)!.lowerBound)...].prefix(5)) == Array("value".utf8))
        #expect(try decoder.scanCommand(input, from: cmd.count + second.byteCount) == nil)
        // Every prefix of a command is incomplete, never an error.
        for cut in 0..<cmd.count { #expect(try decoder.scanCommand(Array(cmd[0..<cut])) == nil) }
        // Empty multibulk counts its bytes.
        #expect(try decoder.scanCommand(Array("*0\r\n".utf8))?.byteCount == 4)
    }

    func expectError(_ input: String, _ code: RESPError.Code, at offset: Int64, command: Bool = false,
                     limits: RESPLimits = .default, base: Int64 = 0, sourceLocation: SourceLocation = #_sourceLocation) {
        let decoder = RESPDecoder(limits: limits)
        do {
            if command {
                _ = try decoder.scanCommand(Array(input.utf8), baseOffset: base)
            } else {
                _ = try decoder.decode(Array(input.utf8), baseOffset: base)
            }
            Issue.record("expected \(code) for \(input.debugDescription)", sourceLocation: sourceLocation)
        } catch let e as RESPError {
            #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
            #expect(e.offset == offset, "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("garbage gives errors with offsets")
    func garbage() {
        expectError("?what\r\n", .unexpectedType, at: 0)
        expectError("PING\r\n", .unexpectedType, at: 100, command: true, base: 100)
        expectError("\n", .unexpectedType, at: 0, command: true)
        expectError("*2\r\n$4\r\nPING\r\n:1\r\n", .unexpectedType, at: 14, command: true)
        expectError("*1\r\n$4\r\nPINGxx", .missingCRLF, at: 12, command: true)
        expectError("$3\r\nabcd\r\n", .missingCRLF, at: 7)
        expectError("$x\r\n", .badLength, at: 1)
        expectError("$-2\r\n", .badLength, at: 1)
        expectError("*99999999999999999999\r\n", .badLength, at: 1)
        expectError("$1000\r\n", .badLength, at: 1, limits: RESPLimits(maxBulkLength: 999))
        expectError("*5\r\n", .badLength, at: 1, command: true, limits: RESPLimits(maxArrayCount: 4))
        expectError(":12a\r\n", .badInteger, at: 1)
        expectError("+OK\rX", .missingCRLF, at: 4)
        expectError("+OK\n", .missingCRLF, at: 3)
        expectError("*1\r\n*1\r\n*1\r\n:1\r\n", .tooDeep, at: 8, limits: RESPLimits(maxDepth: 2))
        expectError("*1\r\n$-1\r\n", .badLength, at: 5, command: true)
        expectError("+" + String(repeating: "a", count: 100), .lineTooLong, at: 1, limits: RESPLimits(maxLineLength: 50))
    }

    @Test("an absurd bulk length is rejected before any allocation; a large sane one waits for data")
    func absurdLengths() throws {
        expectError("$9223372036854775807\r\n", .badLength, at: 1)
        #expect(try RESPDecoder().decode(Array("$100000000\r\nabc".utf8)) == nil)
        #expect(try RESPDecoder().decode(Array("*2000000000\r\n".utf8)) == nil)
    }

    @Test("readLine strips CR, keeps empty lines, bounds length")
    func readLine() throws {
        let d = RESPDecoder()
        let bytes = Array("\n+PONG\r\nrest".utf8)
        let (l1, n1) = try #require(bytes.withUnsafeBytes { try d.readLine($0) })
        #expect(l1.isEmpty && n1 == 1)
        let (l2, n2) = try #require(bytes.withUnsafeBytes { try d.readLine(UnsafeRawBufferPointer(rebasing: $0[1...])) })
        #expect(l2 == Array("+PONG".utf8) && n2 == 7)
        #expect(try Array("abc".utf8).withUnsafeBytes { try d.readLine($0) } == nil)
    }

    @Test("the encoder writes commands byte-exactly")
    func encoder() {
        #expect(RESPEncoder.command("REPLCONF", "ACK", "123") == Array("*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n123\r\n".utf8))
        #expect(RESPEncoder.command("PING") == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(RESPEncoder.command([[0, 255]]) == [42, 49, 13, 10, 36, 50, 13, 10, 0, 255, 13, 10])
    }
}

@Suite("RESP decoder on random input")
struct RESPRandomInputTests {
    @Test("seeded random bytes and mutated frames never crash; a frame never claims more bytes than given", arguments: Array(UInt64(1)...UInt64(40)))
    func randomInput(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let alphabet = Array("*$+-:0123456789\r\n-x".utf8)
        var valid: [UInt8] = []
        for v in sampleValues { valid += RESPEncoder.encode(v) }
        for round in 0..<200 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int.random(in: 0...64, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            } else {
                input = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    input[Int.random(in: 0..<input.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
            }
            let decoder = RESPDecoder(limits: RESPLimits(maxBulkLength: 1 << 20, maxArrayCount: 1 << 16, maxDepth: 8))
            var start = 0
            while start < input.count {
                guard let frame = try? decoder.decode(input, from: start) else { break }
                #expect(frame.byteCount > 0 && start + frame.byteCount <= input.count)
                start += frame.byteCount
            }
            if let scan = try? decoder.scanCommand(input) {
                #expect(scan.byteCount <= input.count)
            }
        }
    }
}
