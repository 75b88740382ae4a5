import Testing
import ReplicaNode

@Suite("Reconnect backoff")
struct BackoffTests {
    @Test("doubles from the initial delay, caps, jitters within 50-100 %, resets")
    func backoff() {
        var b = Backoff(initialMs: 100, maxMs: 5000)
        #expect(b.nextDelayMs(random: 1) == 100)
        #expect(b.nextDelayMs(random: 1) == 200)
        #expect(b.nextDelayMs(random: 0) == 200)   // 400 * 0.5
        #expect(b.nextDelayMs(random: 1) == 800)
        for _ in 0..<40 { #expect(b.nextDelayMs(random: 0.999) <= 5000) }
        #expect(b.nextDelayMs(random: 0) == 2500)
        b.reset()
        #expect(b.nextDelayMs(random: 1) == 100)
    }
}
