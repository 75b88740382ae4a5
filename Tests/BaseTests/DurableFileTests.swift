import Base
import Foundation
import Testing
import TestSupport

/// The durable-file layer: CRC-32 and little-endian helpers, the POSIX file, and the atomic replace under
/// a crash at every file operation.
@Suite struct DurableFileTests {
    @Test func crc32IsZlibs() {
        // The CRC-32/ISO-HDLC check value (zlib's crc32 of "123456789").
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        let whole = CRC32.checksum(Array("hello, world".utf8))
        #expect(CRC32.update(CRC32.checksum(Array("hello, ".utf8)), Array("world".utf8)) == whole, "continues")
    }

    @Test func littleEndianRoundTrips() {
        var b = [UInt8](repeating: 0, count: 16)
        LittleEndian.store(UInt32(0x0102_0304), into: &b, at: 1)
        #expect(Array(b[1..<5]) == [4, 3, 2, 1])
        LittleEndian.store(Int64(-2), into: &b, at: 7)
        #expect(LittleEndian.load(b, at: 7, as: Int64.self) == -2)
        #expect(LittleEndian.load(b, at: 1, as: UInt32.self) == 0x0102_0304)
        #expect(LittleEndian.bytes(UInt16(0xABCD)) == [0xCD, 0xAB])
    }

    @Test func posixFileWritesReadsAndReplacesAtomically() throws {
        try TestPaths.withTemporaryDirectory { dir in
            let fs = POSIXFileSystem()
            let path = dir.appendingPathComponent("f").path
            try fs.writeAtomically(path, bytes: Array(repeating: 7, count: 3 << 20))
            let f = try fs.openForReading(path)
            defer { f.close() }
            #expect(try f.size() == 3 << 20)
            #expect(try f.readFully(at: (3 << 20) - 2, count: 10) == [7, 7], "fewer bytes only at the end")
            // A throwing body leaves the old file and no temporary file.
            struct Stop: Error {}
            #expect(throws: Stop.self) {
                try fs.writeAtomically(path) { file in
                    try file.write([1, 2, 3])
                    throw Stop()
                }
            }
            #expect(try fs.list(dir.path).sorted() == ["f"])
            #expect(try fs.openForReading(path).size() == 3 << 20)
            #expect(throws: FileIOError.self) { try fs.openForReading(dir.appendingPathComponent("missing").path) }
        }
    }

    /// A pipe cannot pread: the POSIX file reads it front to back instead.
    @Test func posixFileReadsAPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let bytes = Array("through a pipe".utf8)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        let f = try POSIXFileSystem().openForReading("/dev/fd/\(fds[0])")
        defer { f.close(); close(fds[0]) }
        #expect(try f.readFully(at: 0, count: 100) == bytes)
    }

    @Test func writeAtomicallyLeavesOldOrNewAtEveryCrash() throws {
        let path = "/d/file"
        let old = Array("old content".utf8)
        let new = Array(repeating: UInt8(ascii: "n"), count: 5000)
        var sawOld = false, sawNew = false
        let operations = try crashAtEveryOperation(
            setUp: { fs in
                try fs.createDirectory("/d")
                fs.setContents(path, old)
            },
            operation: { fs in
                try fs.writeAtomically(path) { file in
                    try file.write(Array(new[..<2000]))
                    try file.write(Array(new[2000...]))
                }
            },
            check: { fs, completed in
                let got = fs.contents(path)
                if completed { #expect(got == new) }
                #expect(got == old || got == new, "partial content under the final name")
                sawOld = sawOld || got == old
                sawNew = sawNew || got == new
            })
        #expect(operations == 6, "open, write, write, fsync, rename, directory fsync")
        #expect(sawOld && sawNew)
    }
}
