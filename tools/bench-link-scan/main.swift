// tools/bench-link-scan: event-loop time the replica link spends on the stream as it arrives in 16 KiB
// reads: `huge N` is one command of N arguments (a big SADD, as a master may send), `small N` is N
// `SET key:<i> <16 bytes>` commands (the usual write load). Driven by ./run, which compiles the link's
// sources (Base, RESP, Replication) into one optimized executable.
import Foundation

let args = CommandLine.arguments
let mode = args.count > 1 ? args[1] : "huge"
let n = args.count > 2 ? Int(args[2])! : 1_000_000
let chunk = args.count > 3 ? Int(args[3])! : 16 * 1024

var command: [UInt8] = []
command.reserveCapacity(n * 48)
if mode == "small" {
    for i in 0..<n {
        let key = "key:\(i)"
        command += Array("*3\r\n$3\r\nSET\r\n$\(key.utf8.count)\r\n\(key)\r\n$16\r\nvalue-0123456789\r\n".utf8)
    }
} else {
    command += Array("*\(n + 2)\r\n$4\r\nSADD\r\n$3\r\nset\r\n".utf8)
    for i in 0..<n {
        let member = String(i)
        command += Array("$\(member.utf8.count)\r\n\(member)\r\n".utf8)
    }
}

let replid = String(repeating: "a", count: 40)
var link = ReplicaLink(configuration: LinkConfiguration(), position: ReplicationPosition(replid: replid, offset: 0, streamDB: 0))
_ = link.handle(.connecting(now: 0))
_ = link.handle(.connected(now: 0))
_ = link.handle(.received(Array("+PONG\r\n+OK\r\n+OK\r\n+CONTINUE\r\n".utf8), now: 0))
precondition(link.state == .connected, "not streaming: \(link.state)")

let chunks = stride(from: 0, to: command.count, by: chunk).map { Array(command[$0..<min($0 + chunk, command.count)]) }
var appended = 0
let start = DispatchTime.now().uptimeNanoseconds
for c in chunks {
    for a in link.handle(.received(c, now: 1)) {
        if case .appendStream(let b, _, _) = a {
            appended += b.count
        } else if let child = Mirror(reflecting: a).children.first, child.label == "appendUnfinished",
                  let bytes = Mirror(reflecting: child.value).children.first?.value as? ArraySlice<UInt8> {
            // A command past maxHeldCommandBytes handed out in chunks (checkouts that have the action;
            // read through Mirror so this file also compiles against older ones).
            appended += bytes.count
        }
    }
}
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
precondition(appended == command.count, "appended \(appended) of \(command.count)")
print("mode=\(mode) n=\(n) bytes=\(command.count) reads=\(chunks.count) seconds=\(String(format: "%.3f", seconds))")
