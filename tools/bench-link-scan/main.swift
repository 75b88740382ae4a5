// tools/bench-link-scan: event-loop time the replica link spends on one huge command (N arguments)
// that arrives in 16 KiB reads, as a master sends e.g. a big SADD or MSET. Driven by ./run, which compiles
// the link's sources (Base, RESP, Replication) into one optimized executable.
import Foundation

let args = CommandLine.arguments
let n = args.count > 1 ? Int(args[1])! : 1_000_000
let chunk = args.count > 2 ? Int(args[2])! : 16 * 1024

var command = Array("*\(n + 2)\r\n$4\r\nSADD\r\n$3\r\nset\r\n".utf8)
command.reserveCapacity(n * 16)
for i in 0..<n {
    let member = String(i)
    command += Array("$\(member.utf8.count)\r\n\(member)\r\n".utf8)
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
        if case .appendStream(let b, _, _) = a { appended += b.count }
    }
}
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
precondition(appended == command.count, "appended \(appended) of \(command.count)")
print("args=\(n) bytes=\(command.count) reads=\(chunks.count) seconds=\(String(format: "%.3f", seconds))")
