#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Base

/// An in-memory file system that models what survives a crash, for fault-injection tests (test equipment:
/// it lives in TestSupport, outside the product).
///
/// It keeps, per file, the bytes written and the bytes known durable (as of the last `sync()`), and for the
/// namespace the names as they are and as they were at the last `syncDirectory` plus the directory
/// operations since (creates, renames, removes, in order). It treats all paths as one journal: a
/// `syncDirectory` makes every pending name operation durable.
///
/// `crash(seed:)` turns the state into one a real machine could show after power loss:
/// - each file keeps its durable bytes plus a random prefix of what was appended after them
///   (unsynced data may be lost or torn at any byte); a file truncated since its last sync comes back
///   either truncated or not;
/// - the namespace is the durable one plus a random prefix of the pending name operations (journaling
///   file systems apply metadata operations in order).
/// Handles opened before the crash stop working.
///
/// `failAfter(operations:)` makes the N-th following mutating operation (write, sync, truncate, open
/// for writing, rename, remove, syncDirectory) throw `SimulatedCrashError` instead of running; a write chosen
/// that way may first apply a prefix of its bytes (`tearFailingWriteAt`), like a torn write.
public final class SimulatedFileSystem: FileSystem, @unchecked Sendable {
    final class Node {
        let serial: Int
        init(serial: Int) { self.serial = serial }
        var data: [UInt8] = []
        var durable: [UInt8] = []
        /// Set when a truncate since the last sync shrank or changed the file.
        var rewrittenSinceSync = false
    }

    enum NameOp {
        case link(String, Node)
        case rename(String, String)
        case remove(String)
    }

    private var names: [String: Node] = [:]
    private var durableNames: [String: Node] = [:]
    private var pendingNameOps: [NameOp] = []
    private var directories: Set<String> = ["/"]
    private(set) var epoch = 0
    private var nodeSerial = 0
    private func newNode() -> Node {
        nodeSerial += 1
        return Node(serial: nodeSerial)
    }
    private let lock = Lock()

    /// Mutating operations performed so far (counts every operation, also after a crash).
    public private(set) var mutatingOperations = 0
    private var failAt: Int?
    /// When the failing operation is a write: how many of its bytes land first (nil = none).
    public var tearFailingWriteAt: Int?

    public init() {}

    /// Arms a crash: the `n`-th mutating operation from now (1 = the next one) throws `SimulatedCrashError`
    /// and so does every later one, until `crash(seed:)`.
    public func failAfter(operations n: Int) {
        lock.withLock { failAt = mutatingOperations + n }
    }

    /// Whether an armed failure fired.
    public var hasFailed: Bool { lock.withLock { failAt.map { mutatingOperations >= $0 } ?? false } }

    /// Simulates power loss and reboot; see the type's documentation. Deterministic for a seed.
    public func crash(seed: UInt64) {
        lock.withLock {
            var rng = SeededRandom(seed: seed)
            var allNodes: [ObjectIdentifier: Node] = [:]
            for n in names.values { allNodes[ObjectIdentifier(n)] = n }
            for n in durableNames.values { allNodes[ObjectIdentifier(n)] = n }
            for op in pendingNameOps { if case .link(_, let n) = op { allNodes[ObjectIdentifier(n)] = n } }
            for node in allNodes.values.sorted(by: { $0.serial < $1.serial }) {
                if node.rewrittenSinceSync {
                    node.data = rng.next() & 1 == 0 ? node.durable : node.data
                } else if node.data.count > node.durable.count, node.data.starts(with: node.durable) {
                    let extra = node.data.count - node.durable.count
                    let keep = Int(rng.next() % UInt64(extra + 1))
                    node.data = Array(node.data.prefix(node.durable.count + keep))
                } else {
                    node.data = node.durable
                }
                node.durable = node.data
                node.rewrittenSinceSync = false
            }
            let keepOps = Int(rng.next() % UInt64(pendingNameOps.count + 1))
            var ns = durableNames
            for op in pendingNameOps.prefix(keepOps) { SimulatedFileSystem.apply(op, to: &ns) }
            names = ns
            durableNames = ns
            pendingNameOps = []
            failAt = nil
            tearFailingWriteAt = nil
            locked = [:]
            epoch += 1
        }
    }

    /// Test helper: the current bytes of a file (nil if absent).
    public func contents(_ path: String) -> [UInt8]? { lock.withLock { names[path]?.data } }

    /// Test helper: replaces a file's bytes, durably (models damage on the medium).
    public func setContents(_ path: String, _ bytes: [UInt8]) {
        lock.withLock {
            let node = names[path] ?? newNode()
            node.data = bytes
            node.durable = bytes
            names[path] = node
            durableNames[path] = node
        }
    }

    /// Test helper: XORs one byte of a file, durably.
    public func flipByte(_ path: String, at offset: Int, mask: UInt8 = 0x40) {
        lock.withLock {
            guard let node = names[path], offset < node.data.count else { return }
            node.data[offset] ^= mask
            if offset < node.durable.count { node.durable[offset] ^= mask }
        }
    }

    /// Test helper: bytes read so far through handles opened on each path.
    public func bytesRead(_ path: String) -> Int { lock.withLock { readCounts[path] ?? 0 } }
    fileprivate var readCounts: [String: Int] = [:]

    /// Test helper: all paths, sorted.
    public func allPaths() -> [String] { lock.withLock { names.keys.sorted() } }

    // MARK: FileSystem

    public func openForWriting(_ path: String, truncate: Bool) throws -> DurableFile {
        try lock.withLock {
            try countMutation("open", path)
            let node: Node
            if let existing = names[path] {
                node = existing
                if truncate && !node.data.isEmpty {
                    node.data = []
                    node.rewrittenSinceSync = true
                }
            } else {
                node = newNode()
                names[path] = node
                pendingNameOps.append(.link(path, node))
            }
            return SimulatedFile(fs: self, node: node, path: path, epoch: epoch)
        }
    }

    public func openForReading(_ path: String) throws -> DurableFile {
        try lock.withLock {
            guard let node = names[path] else {
                throw FileIOError("open", path, errno: ENOENT, "No such file or directory")
            }
            return SimulatedFile(fs: self, node: node, path: path, epoch: epoch)
        }
    }

    public func rename(_ from: String, _ to: String) throws {
        try lock.withLock {
            try countMutation("rename", from)
            guard names[from] != nil else {
                throw FileIOError("rename to \(to)", from, errno: ENOENT, "No such file or directory")
            }
            let op = NameOp.rename(from, to)
            SimulatedFileSystem.apply(op, to: &names)
            pendingNameOps.append(op)
        }
    }

    public func remove(_ path: String) throws {
        try lock.withLock {
            try countMutation("unlink", path)
            guard names[path] != nil else { return }
            let op = NameOp.remove(path)
            SimulatedFileSystem.apply(op, to: &names)
            pendingNameOps.append(op)
        }
    }

    public func list(_ directory: String) throws -> [String] {
        try lock.withLock {
            let dir = directory.hasSuffix("/") ? directory : directory + "/"
            guard directories.contains(directory) || directories.contains(dir) else {
                throw FileIOError("opendir", directory, errno: ENOENT, "No such file or directory")
            }
            return names.keys.compactMap { path in
                guard path.hasPrefix(dir) else { return nil }
                let rest = path.dropFirst(dir.count)
                return rest.contains("/") ? nil : String(rest)
            }
        }
    }

    public func exists(_ path: String) -> Bool {
        lock.withLock { names[path] != nil || directories.contains(path) }
    }

    public func createDirectory(_ path: String) throws {
        // Directories are durable at once in this model (the store creates its directory once).
        lock.withLock {
            var prefix = ""
            for part in path.split(separator: "/") {
                prefix += "/" + part
                directories.insert(prefix)
            }
        }
    }

    private var locked: [String: ObjectIdentifier] = [:]

    final class LockToken {
        weak var fs: SimulatedFileSystem?
        let path: String
        init(fs: SimulatedFileSystem, path: String) {
            self.fs = fs
            self.path = path
        }
        deinit { fs?.unlock(path, ObjectIdentifier(self)) }
    }

    fileprivate func unlock(_ path: String, _ token: ObjectIdentifier) {
        lock.withLock { if locked[path] == token { locked[path] = nil } }
    }

    /// Locks are not files here and do not count as operations; a crash releases them.
    public func lock(_ path: String) throws -> AnyObject {
        try lock.withLock {
            if locked[path] != nil {
                throw FileLockedError(path: path)
            }
            let token = LockToken(fs: self, path: path)
            locked[path] = ObjectIdentifier(token)
            return token
        }
    }

    public func syncDirectory(_ path: String) throws {
        try lock.withLock {
            try countMutation("fsync directory", path)
            for op in pendingNameOps { SimulatedFileSystem.apply(op, to: &durableNames) }
            pendingNameOps = []
        }
    }

    // MARK: internals (called with the lock held)

    fileprivate func countMutation(_ operation: String, _ path: String, tear: ((Int) -> Void)? = nil) throws {
        mutatingOperations += 1
        if let failAt, mutatingOperations >= failAt {
            if mutatingOperations == failAt, let tear, let at = tearFailingWriteAt { tear(at) }
            throw SimulatedCrashError(operation: operation, path: path)
        }
    }

    fileprivate func checkEpoch(_ e: Int, _ path: String) throws {
        if e != epoch { throw FileIOError("use of a handle from before the crash", path, errno: EBADF, "stale handle") }
    }

    fileprivate var lockForFiles: Lock { lock }

    private static func apply(_ op: NameOp, to ns: inout [String: Node]) {
        switch op {
        case .link(let path, let node): ns[path] = node
        case .rename(let from, let to):
            if let n = ns.removeValue(forKey: from) { ns[to] = n }
        case .remove(let path): ns.removeValue(forKey: path)
        }
    }
}

/// Thrown by `SimulatedFileSystem` at the armed failure point.
public struct SimulatedCrashError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var path: String
    public init(operation: String, path: String) {
        self.operation = operation
        self.path = path
    }
    public var description: String { "simulated crash at \(operation) \(path)" }
}

final class SimulatedFile: DurableFile, @unchecked Sendable {
    private let fs: SimulatedFileSystem
    private let node: SimulatedFileSystem.Node
    let path: String
    private let epoch: Int

    init(fs: SimulatedFileSystem, node: SimulatedFileSystem.Node, path: String, epoch: Int) {
        self.fs = fs
        self.node = node
        self.path = path
        self.epoch = epoch
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try fs.lockForFiles.withLock {
            try fs.checkEpoch(epoch, path)
            let node = self.node
            try fs.countMutation("write", path, tear: { at in
                node.data.append(contentsOf: bytes.prefix(max(0, min(at, bytes.count))))
            })
            node.data.append(contentsOf: bytes)
        }
    }

    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try fs.lockForFiles.withLock {
            try fs.checkEpoch(epoch, path)
            guard offset >= 0, offset < Int64(node.data.count) else { return 0 }
            let start = Int(offset)
            let n = min(buffer.count, node.data.count - start)
            fs.readCounts[path, default: 0] += n
            node.data.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            return n
        }
    }

    func sync() throws {
        try fs.lockForFiles.withLock {
            try fs.checkEpoch(epoch, path)
            try fs.countMutation("fsync", path)
            node.durable = node.data
            node.rewrittenSinceSync = false
        }
    }

    func truncate(to size: Int64) throws {
        try fs.lockForFiles.withLock {
            try fs.checkEpoch(epoch, path)
            try fs.countMutation("ftruncate", path)
            let n = Int(max(0, size))
            if n < node.data.count {
                node.data.removeSubrange(n...)
            } else {
                node.data.append(contentsOf: [UInt8](repeating: 0, count: n - node.data.count))
            }
            node.rewrittenSinceSync = true
        }
    }

    func size() throws -> Int64 {
        try fs.lockForFiles.withLock {
            try fs.checkEpoch(epoch, path)
            return Int64(node.data.count)
        }
    }

    func close() {}
}
