import RDB
import RedisValueOps
import Testing
@testable import Keyspace

/// Redis 8.10 arrays (`t_array.c`): the write commands a master propagates as sent. Expected states are what a
/// real Redis 8.10.2 answered (ARGETRANGE, ARNEXT) to the same commands.
@Suite struct ApplierArrayTests {
    /// "index=value" by index, then "next=<ARNEXT>".
    func array(_ r: Run, _ key: String = "k") -> [String]? {
        guard case .array(let a)? = r.entry(key)?.value else { return nil }
        let next = a.insertIndex.map { $0 == UInt64.max - 1 ? "nil" : String($0 + 1) } ?? "0"
        return a.sorted.map { "\($0.index)=\(String(decoding: $0.value, as: UTF8.self))" } + ["next=\(next)"]
    }

    @Test func setsInsertsAndDeletes() {
        var r = Run()
        r.callAll(["ARSET k 2 a b c", "ARMSET k 10 x 0 y 10 z", "ARINSERT k p q"])
        #expect(!r.diverged)
        #expect(array(r) == ["0=p", "1=q", "2=a", "3=b", "4=c", "10=z", "next=2"])
        r.callAll(["ARDEL k 1 99 3", "ARDELRANGE k 10 4 0 0"])
        #expect(array(r) == ["2=a", "next=2"])
        // ARSEEK: the next insert goes to the index given; 0 clears the cursor.
        r.callAll(["ARSEEK k 7", "ARINSERT k s t"])
        #expect(array(r) == ["2=a", "7=s", "8=t", "next=9"])
        r.callAll(["ARSEEK k 0", "ARINSERT k u"])
        #expect(array(r) == ["0=u", "2=a", "7=s", "8=t", "next=1"])
        // The last element gone: the key goes.
        r.callAll(["ARDELRANGE k 0 100"])
        #expect(r.entry("k") == nil && !r.diverged)
        // ARSEEK and ARDEL of a missing key change nothing.
        r.callAll(["ARSEEK k 5", "ARDEL k 1", "ARDELRANGE k 0 1"])
        #expect(r.entry("k") == nil && !r.diverged)
    }

    /// ARRING, and the rebuild when the ring's size changes (checked against Redis 8.10.2).
    @Test func ringsAndTheirRebuild() {
        var r = Run()
        r.call("ARRING k 3 a b c d")
        #expect(array(r) == ["0=d", "1=b", "2=c", "next=1"])
        r.call("ARRING k 2 e")  // shrink: keep the newest 2 (c, d) from 0, then e wraps over c
        #expect(array(r) == ["0=e", "1=d", "next=1"])
        r.call("ARRING k 4 f g")  // grow after a wrap: rebuilt oldest first (d, e), then f, g
        #expect(array(r) == ["0=d", "1=e", "2=f", "3=g", "next=4"])
        r.callAll(["ARSEEK k 0", "ARRING k 6 h"])  // ARSEEK 0 is honoured on grow: no rebuild
        #expect(array(r) == ["0=h", "1=e", "2=f", "3=g", "next=1"])
        r.callAll(["ARSET j 3 x", "ARRING j 5 y"])
        #expect(array(r, "j") == ["0=y", "3=x", "next=1"])
        // Shrink from a cursor: the newest two (c, d) move to 0 and 1, then z wraps to 0.
        r.callAll(["ARMSET h 0 a 2 c 3 d", "ARSEEK h 4", "ARRING h 2 z"])
        #expect(array(r, "h") == ["0=z", "1=d", "next=1"])
        #expect(!r.diverged)
    }

    /// `strtoull` forms a master accepts as indexes, and the cursor's terminal state.
    @Test func indexFormsAndLimits() {
        var r = Run()
        r.callAll(["ARSET k 007 a", "ARSET k +3 b", "ARSEEK k 18446744073709551615"])
        #expect(array(r) == ["3=b", "7=a", "next=nil"])
        // Shrink (span 8 > 4) anchored at the cursor folded into the span (2^64-2 % 8 = 6): a hole, so nothing
        // is kept, and z goes to 0 of the rebuilt array.
        r.call("ARRING k 4 z")
        #expect(array(r) == ["0=z", "next=1"])
        #expect(RedisArgument.uint64(Array(" 42".utf8)) == 42)
        #expect(RedisArgument.uint64(Array("-1".utf8)) == nil)
        #expect(RedisArgument.uint64(Array("-18446744073709551615".utf8)) == 1)
        #expect(RedisArgument.uint64(Array("18446744073709551616".utf8)) == nil)
        #expect(RedisArgument.uint64(Array("5\u{0}x".utf8)) == 5)
        #expect(RedisArgument.uint64(Array("".utf8)) == nil && RedisArgument.uint64(Array("+".utf8)) == nil)
        #expect(!r.diverged)
    }

    /// What a master refuses never arrives; here it diverges.
    @Test(arguments: ["ARSET k -1 a", "ARSET k 18446744073709551615 a", "ARSET k 18446744073709551614 a b",
                      "ARMSET k 1 a 2", "ARDEL k x", "ARDELRANGE k 1", "ARRING k 0 a", "ARRING k x a",
                      "ARSEEK k", "ARINSERT k", "SET s v|ARSET s 0 a"])
    func badFormsDiverge(_ line: String) {
        var r = Run()
        r.callAll(["ARSET k 1 v"])
        for part in line.split(separator: "|") { r.call(String(part)) }
        #expect(r.diverged, "\(line)")
    }

    @Test func insertOverflowDiverges() {
        var r = Run()
        r.callAll(["ARSET k 1 v", "ARSEEK k 18446744073709551615", "ARINSERT k a"])
        #expect(r.diverged)
    }

    /// An array survives RDB 15 save and load (cursor included), and RDB 12 refuses it.
    @Test func survivesSaveAndLoad() throws {
        var r = Run()
        r.callAll(["ARSET k 0 1 2.50 1.0 -0.0 abc", "ARSET k 100000 far", "ARINSERT k z", "EXPIRE k 1000"])
        let bytes = try r.ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 15))
        let back = try Keyspace.load(rdb: bytes)
        #expect(back == r.ks)
        #expect(throws: RDBWriteError.self) { try r.ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 12)) }
    }

    /// RESTORE of an array's DUMP payload, and COPY / RENAME of arrays.
    @Test func restoreCopyRename() throws {
        var r = Run()
        r.callAll(["ARSET k 5 a b", "ARINSERT k c"])
        guard case .array(let a)? = r.entry("k")?.value else { Issue.record("no array"); return }
        let payload = try DumpPayload.encode(.array(a.rdbValue), rdbVersion: 15)
        r.call([Array("RESTORE".utf8), Array("r".utf8), Array("0".utf8), payload])
        r.callAll(["COPY k c", "RENAME k n"])
        #expect(!r.diverged)
        let want = ["0=c", "5=a", "6=b", "next=1"]
        #expect(array(r, "r") == want && array(r, "c") == want && array(r, "n") == want && r.entry("k") == nil)
    }
}

/// Redis 8.10's LMOVEM (and BLMOVEM, which arrives as LMOVEM EXACTLY): every direction and ordering, checked
/// against what a real Redis 8.10.2 left in both lists.
@Suite struct ApplierLMoveMTests {
    @Test(arguments: [
        ("LEFT LEFT COUNT 3 OBO", "d e", "c b a x y"), ("LEFT LEFT COUNT 3 BULK", "d e", "a b c x y"),
        ("LEFT RIGHT COUNT 3 OBO", "d e", "x y a b c"), ("LEFT RIGHT COUNT 3 BULK", "d e", "x y a b c"),
        ("RIGHT LEFT COUNT 3 OBO", "a b", "c d e x y"), ("RIGHT LEFT COUNT 3 BULK", "a b", "c d e x y"),
        ("RIGHT RIGHT COUNT 3 OBO", "a b", "x y e d c"), ("RIGHT RIGHT COUNT 3 BULK", "a b", "x y c d e"),
        ("LEFT RIGHT", "b c d e", "x y a"), ("RIGHT LEFT EXACTLY 5 BULK", "", "a b c d e x y"),
        ("LEFT LEFT EXACTLY 6 OBO", "a b c d e", "x y"), ("LEFT RIGHT COUNT 99 BULK", "", "x y a b c d e"),
    ])
    func directionsAndOrderings(_ options: String, _ source: String, _ destination: String) {
        var r = Run()
        r.callAll(["RPUSH s a b c d e", "RPUSH d x y", "LMOVEM s d " + options])
        #expect(!r.diverged)
        #expect((r.list("s") ?? []).joined(separator: " ") == source, "\(options)")
        #expect(r.list("d")?.joined(separator: " ") == destination, "\(options)")
    }

    @Test func rotationNewDestinationAndRefusals() {
        var r = Run()
        r.callAll(["RPUSH s a b c d e", "LMOVEM s s RIGHT LEFT COUNT 2 BULK"])
        #expect(r.list("s") == ["d", "e", "a", "b", "c"])
        r.callAll(["LMOVEM s d2 LEFT RIGHT", "LMOVEM nokey d2 LEFT RIGHT"])
        #expect(r.list("d2") == ["d"] && !r.diverged)
        for bad in ["LMOVEM s d UP LEFT", "LMOVEM s d LEFT RIGHT COUNT 0 BULK", "LMOVEM s d LEFT RIGHT COUNT 2",
                    "LMOVEM s d LEFT RIGHT MANY 2 BULK", "LMOVEM s d LEFT RIGHT COUNT 2 SOME", "SET str v|LMOVEM s str LEFT LEFT"] {
            var b = Run()
            b.call("RPUSH s a b")
            for part in bad.split(separator: "|") { b.call(String(part)) }
            #expect(b.diverged, "\(bad)")
        }
    }
}
