import Testing
import Foundation
import RDB
import TestSupport
@testable import RDBTools

/// The tools write the same bytes from lent values (`RDBReader.next(lendingInto:)`, what `rdb dump` and
/// `rdb memory` use) as from materialized ones (`next()`): canonical JSON, RESP commands, memory estimates and
/// `rdb diff`'s content digests, for every Fixtures/ file and every readable corpus file.
@Suite struct LentOutputTests {
    struct Outputs: Equatable {
        var json: [UInt8] = []
        var resp: [UInt8] = []
        var respError: String?
        var memory: [Int] = []
        var digests: [ContentDigest] = []
    }

    static func rdbFiles(under dir: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "rdb" }.sorted { $0.path < $1.path }
    }

    /// The three outputs of one file, read with or without lending; nil when the file does not read.
    /// `streams`: the arena lends streams' entries too (`lendsStreamEntries`, as `rdb dump`'s JSON formats do;
    /// the other consumers then put them back with `materialized`).
    static func outputs(_ path: String, lending: Bool, streams: Bool = false) -> Outputs? {
        var options = RDBReaderOptions()
        options.allowPreReleaseFunctions = true
        guard let reader = try? RDBReader(path: path, options: options) else { return nil }
        let arena = lending ? RDBValueArena() : nil
        arena?.lendsStreamEntries = streams
        let json = JSONWriter()
        let encoder = CanonicalJSONEncoder(format: .jsonl, writer: json)
        let resp = RESPOutput()
        let exporter = RESPExporter(output: resp, options: RESPExportOptions())
        var out = Outputs()
        do {
            while let record = try (arena.map { try reader.next(lendingInto: $0) } ?? reader.next()) {
                try encoder.consume(record, lent: arena)
                if out.respError == nil {
                    do { try exporter.consume(record, lent: arena) } catch { out.respError = "\(error)" }
                }
                if case .entry(let e) = record {
                    out.memory.append(arena.map { MemoryEstimator.usage(of: e, lent: $0) } ?? MemoryEstimator.usage(of: e))
                    out.digests.append(RDBDiff.digest(e, arena?.kind == RDBValueArena.Kind.none ? nil : arena))
                }
            }
            try encoder.finish()
        } catch {
            return nil
        }
        out.json = json.buffer
        out.resp = resp.bytes
        return out
    }

    func compare(_ files: [URL]) -> Int {
        var compared = 0
        for f in files {
            guard let model = Self.outputs(f.path, lending: false) else { continue }
            for streams in [false, true] {
                let lent = Self.outputs(f.path, lending: true, streams: streams)
                let how = streams ? "lent with streams" : "lent"
                #expect(lent?.json == model.json, "\(f.path): JSON differs when \(how)")
                #expect(lent?.resp == model.resp && lent?.respError == model.respError, "\(f.path): RESP differs when \(how)")
                #expect(lent?.memory == model.memory, "\(f.path): memory estimates differ when \(how)")
                #expect(lent?.digests == model.digests, "\(f.path): diff's content digests differ when \(how)")
            }
            compared += 1
        }
        return compared
    }

    /// The short-decimal fast path of `JSONWriter.double` writes what `description` writes.
    @Test func doublesWithFewDecimalsMatchDescription() {
        var rng = SeededRandom(seed: 5)
        var values: [Double] = [0.001, -0.001, 0.0015, 0.1, 0.5, 1.25, 99_999_999.9999, -12_345.678, 0.0001, 1e8 - 0.5]
        for _ in 0..<20_000 {
            let decimals = Int(rng.next() % 5)
            let scale = [1.0, 10, 100, 1000, 10_000][decimals]
            let k = Double(Int64(bitPattern: rng.next()) % 2_000_000_000_000)
            values.append(k / scale)
            values.append(Double(bitPattern: rng.next()))
        }
        for v in values where v.isFinite && v != v.rounded(.towardZero) {
            let w = JSONWriter()
            w.double(v)
            #expect(String(decoding: w.buffer, as: UTF8.self) == v.description, "\(v)")
        }
    }

    /// `plainString` (intset members: copied, not scanned) writes what `bytes` writes for decimal text of every
    /// length 0-40, after other output (unaligned destinations) and at every source offset.
    @Test func plainStringsMatchTheEscapingWriter() {
        var rng = SeededRandom(seed: 12)
        let digits = (0..<64).map { i in i == 0 ? UInt8(ascii: "-") : UInt8(ascii: "0") + UInt8(rng.next() % 10) }
        for length in 0...40 {
            for offset in 0..<3 {
                let text = Array(digits[offset..<(offset + length)])
                let plain = JSONWriter(), escaping = JSONWriter()
                for w in [plain, escaping] { w.raw(String(repeating: "x", count: length % 5)) }
                text.withUnsafeBytes { plain.plainString($0) }
                escaping.bytes(text)
                #expect(plain.buffer == escaping.buffer, "length \(length), offset \(offset)")
            }
        }
    }

    /// `ShortestDoubleText` (no `String` built) is `description`, byte for byte, for every kind of double.
    @Test func shortestDoubleTextIsDescription() {
        var rng = SeededRandom(seed: 6)
        var values: [Double] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e23, 0.1, 1e16, 123_456_789_012_345_680]
        for _ in 0..<20_000 { values.append(Double(bitPattern: rng.next())) }
        for v in values {
            let text = ShortestDoubleText(v).withBytes { String(decoding: $0, as: UTF8.self) }
            #expect(text == v.description, "\(v)")
        }
    }

    /// The single-pass string writer (8-byte scans, escapes, UTF-8 checks, base64 roll-back) writes what a
    /// byte-at-a-time reference writes, for seeded strings of every length 0-40 mixing plain ASCII, escapes,
    /// control bytes, valid and broken UTF-8.
    @Test func stringsMatchAByteAtATimeReference() {
        func reference(_ b: [UInt8]) -> [UInt8] {
            guard b.withUnsafeBufferPointer({ JSONWriter.isValidUTF8($0) }) else {
                let w = JSONWriter()
                w.raw("{\"b64\":")
                w.base64String(b)
                w.raw("}")
                return w.buffer
            }
            var out: [UInt8] = [0x22]
            for c in b {
                switch c {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0x08: out += Array("\\b".utf8)
                case 0x0C: out += Array("\\f".utf8)
                case 0..<0x20: out += Array(String(format: "\\u%04x", Int(c)).utf8)
                default: out.append(c)
                }
            }
            out.append(0x22)
            return out
        }
        let pieces: [[UInt8]] = [Array("abcdefgh".utf8), Array("\"".utf8), Array("\\".utf8), [0x0A], [0x01], [0x1F],
                                 [0x7F], Array("é".utf8), Array("€".utf8), Array("😀".utf8), [0xC3], [0xE2, 0x82],
                                 [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0x80], [0xFF], Array(" x".utf8)]
        var rng = SeededRandom(seed: 11)
        var strings: [[UInt8]] = []
        for length in 0...40 {
            for _ in 0..<60 {
                var b: [UInt8] = []
                while b.count < length {
                    if rng.next() % 3 == 0 {
                        b += pieces[Int(rng.next() % UInt64(pieces.count))]
                    } else {
                        b.append(UInt8(0x20 + rng.next() % 95))
                    }
                }
                strings.append(Array(b.prefix(length)))
            }
        }
        for b in strings {
            let w = JSONWriter()
            w.raw("[")  // an offset, so the output is not 8-byte aligned
            w.bytes(b)
            #expect(Array(w.buffer.dropFirst()) == reference(b), "\(b)")
        }
    }

    /// Every byte that needs attention (each control byte, `"`, `\\`, DEL, a UTF-8 lead byte alone), at every
    /// position of strings of 1-24 bytes, so it falls in the 8-byte word loop, the overlapping tail word and the
    /// short-string word (1-7 bytes, built from 4-byte and single loads) alike.
    @Test func everySpecialByteAtEveryPositionMatchesTheReference() {
        var specials: [UInt8] = Array(0..<0x20)
        specials += [0x22, 0x5C, 0x7F, 0xC3, 0xFF]
        for length in 1...24 {
            for at in 0..<length {
                for c in specials {
                    var b = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    b[at] = c
                    let w = JSONWriter()
                    w.raw("[")
                    w.bytes(b)
                    let valid = b.withUnsafeBufferPointer { JSONWriter.isValidUTF8($0) }
                    var expected: [UInt8] = valid ? [0x22] : Array("{\"b64\":\"".utf8)
                    if valid {
                        for x in b {
                            switch x {
                            case 0x22, 0x5C: expected += [0x5C, x]
                            case 0x0A: expected += Array("\\n".utf8)
                            case 0x0D: expected += Array("\\r".utf8)
                            case 0x09: expected += Array("\\t".utf8)
                            case 0x08: expected += Array("\\b".utf8)
                            case 0x0C: expected += Array("\\f".utf8)
                            case 0..<0x20: expected += Array(String(format: "\\u%04x", Int(x)).utf8)
                            default: expected.append(x)
                            }
                        }
                        expected.append(0x22)
                    } else {
                        expected += Array(Data(b).base64EncodedString().utf8) + Array("\"}".utf8)
                    }
                    #expect(Array(w.buffer.dropFirst()) == expected, "byte \(c) at \(at) of \(length)")
                }
            }
        }
    }

    @Test func fixturesWriteTheSameFromLentValues() {
        let compared = compare(Self.rdbFiles(under: TestPaths.fixturesDirectory))
        #expect(compared >= 21, "Fixtures/ files compared: \(compared)")
    }

    @Test(.enabled(if: TestPaths.sharedCorpusDirectory != nil, "../shared/rdb-corpus is not present"))
    func corpusWritesTheSameFromLentValues() throws {
        let root = try #require(TestPaths.sharedCorpusDirectory)
        let compared = compare(Self.rdbFiles(under: root))
        #expect(compared >= 100, "corpus files compared: \(compared)")
    }
}
