import Foundation
@testable import ReplicaNode
import ReplicaStore
import Testing

/// Polls a dataset follower's state until `cond` holds (20 s at most: then the test records an issue
/// naming `what` and the last state, and stops).
func waitFor(_ what: String, _ f: DatasetFollower, _ cond: (DatasetState) -> Bool) throws {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if cond(f.state) { return }
        usleep(5_000)
    }
    Issue.record("timed out waiting for \(what); state \(f.state)")
    throw CancellationError()
}
