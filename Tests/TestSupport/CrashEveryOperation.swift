import Base

/// Runs `operation` against a fresh simulated file system (prepared by `setUp`) once to count its mutating
/// file operations, then again with a crash armed at each of them, with and without a torn failing write,
/// power-losing the disk after each run with several seeds, and hands every resulting file system to
/// `check` (with whether the operation completed before the crash). Returns the number of operations.
public func crashAtEveryOperation(seeds: ClosedRange<UInt64> = 1...4,
                                  setUp: (SimulatedFileSystem) throws -> Void,
                                  operation: (SimulatedFileSystem) throws -> Void,
                                  check: (SimulatedFileSystem, _ completed: Bool) throws -> Void) throws -> Int {
    let counting = SimulatedFileSystem()
    try setUp(counting)
    let before = counting.mutatingOperations
    try operation(counting)
    let operations = counting.mutatingOperations - before
    for n in 1...(operations + 1) {
        for tear in [nil, 1] as [Int?] {
            for seed in seeds {
                let fs = SimulatedFileSystem()
                try setUp(fs)
                fs.failAfter(operations: n)
                fs.tearFailingWriteAt = tear
                var completed = true
                do {
                    try operation(fs)
                } catch {
                    completed = false
                }
                fs.crash(seed: seed &* 7919 &+ UInt64(n))
                try check(fs, completed)
            }
        }
    }
    return operations
}
