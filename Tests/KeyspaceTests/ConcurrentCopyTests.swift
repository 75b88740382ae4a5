import Foundation
import Synchronization
import Testing
@testable import Keyspace

/// The follower applies commands to its keyspace under a lock while readers (`follow --port`, compaction)
/// take O(1) copies under that lock and drop them on their own threads, at any moment. A copy dropped
/// while a change walks the trie must leave the change's keyspace whole: swift-collections 1.6's optional
/// in-place accessor (`TreeDictionary.subscript(key)._modify`) keeps each node of the key's path as it
/// was before copy-on-write replaced it, and its debug assertion then reads that old node, which the
/// reader's drop may just have freed (`follow` built in debug crashed so: a reads test's server vanished
/// while the master propagated PFCOUNT for the read the test had just sent both). `Keyspace.modify` must
/// not go through that accessor.
@Suite struct ConcurrentCopyTests {
    /// Each round the writer hands a copy to the reader, then changes a key while the reader drops the
    /// copy after a varying spin: the drop sweeps the change's walk of the trie.
    @Test("changes while another thread drops the last copy of the old nodes: the keyspace stays exact")
    func modifyWhileCopiesAreDropped() throws {
        var ks = Keyspace()
        let keys = (0..<4096).map { Array("key:\($0)".utf8) }
        for k in keys { ks[0, k] = KeyEntry(value: .string(k)) }
        let hand = Handoff()
        let reader = Thread {
            var round = 0
            while true {
                while hand.phase.load(ordering: .acquiring) != 1 { sched_yield() }
                guard var held = hand.take() else { break }
                hand.phase.store(2, ordering: .releasing)
                while hand.phase.load(ordering: .acquiring) != 3 { sched_yield() }
                for _ in 0..<(round % 97) { _ = hand.phase.load(ordering: .relaxed) }
                held = Keyspace()  // the copy's last reference to the old nodes, dropped here
                _ = held
                round += 1
                hand.phase.store(4, ordering: .releasing)
            }
            hand.phase.store(9, ordering: .releasing)
        }
        reader.start()
        var expected = [Int](repeating: 0, count: keys.count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for round in 0..<30_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let i = Int(state >> 33) % keys.count
            hand.give(ks)
            hand.phase.store(1, ordering: .releasing)
            while hand.phase.load(ordering: .acquiring) != 2 { sched_yield() }
            hand.phase.store(3, ordering: .releasing)
            switch round % 4 {
            case 0, 1:
                ks.modify(0, keys[i]) { $0 = KeyEntry(value: .string(Array("\(round)".utf8))) }
                expected[i] = round + 1
            case 2:
                ks.modify(0, keys[i]) { $0 = nil }
                expected[i] = -1
            default:
                ks.modify(0, keys[i]) { _ in }  // a look that changes nothing, the key maybe missing
            }
            while hand.phase.load(ordering: .acquiring) != 4 { sched_yield() }
        }
        hand.give(nil)
        hand.phase.store(1, ordering: .releasing)
        while hand.phase.load(ordering: .acquiring) != 9 { sched_yield() }
        for (i, k) in keys.enumerated() {
            switch expected[i] {
            case 0: #expect(ks[0, k]?.value == .string(k))
            case -1: #expect(ks[0, k] == nil)
            case let n: #expect(ks[0, k]?.value == .string(Array("\(n - 1)".utf8)))
            }
        }
    }

    /// The copy in transit and the round's phase (1 given, 2 taken, 3 changing, 4 dropped, 9 reader done).
    final class Handoff: @unchecked Sendable {
        let phase = Atomic<Int>(0)
        private let lock = NSLock()
        private var copy: Keyspace?
        private var end = false
        func give(_ k: Keyspace?) {
            lock.lock()
            copy = k
            end = k == nil
            lock.unlock()
        }
        func take() -> Keyspace? {
            lock.lock()
            defer { copy = nil; lock.unlock() }
            return end ? nil : copy
        }
    }
}
