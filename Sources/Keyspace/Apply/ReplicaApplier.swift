import RDB

/// Why and where applying the stream stopped: the offset and name of the first command the dataset
/// could not take. Nothing at or after it is applied; the dataset is no longer the master's.
public struct Divergence: Sendable, Equatable, CustomStringConvertible {
    public var offset: Int64
    public var command: String
    public var reason: String
    public var description: String { "diverged at offset \(offset) on \(command): \(reason)" }
}

/// What one `apply` did.
public enum ApplyOutcome: Sendable, Equatable {
    /// The command changed (or may have changed) the dataset.
    case applied
    /// Counted, changing nothing (PING, REPLCONF, PUBLISH, …).
    case ignored
    /// Held until EXEC (inside MULTI).
    case queued
    /// This command could not be applied; see `divergence`.
    case diverged(Divergence)
    /// Already diverged earlier: nothing is applied any more.
    case skipped
}

/// Applies the commands a Redis 6.2/7.x/8.x or Valkey 8 master propagates to its replicas, in the
/// rewritten forms masters send (`SET … PXAT`, `PEXPIREAT`, `XCLAIM … JUSTID`, `ZADD` for GEOADD, …),
/// to a `Keyspace`.
///
/// Like a Redis replica it never expires anything itself. Relative times (`EXPIRE`, `SETEX`, `SET … EX`
/// from 6.2 masters) are made absolute with the `nowMs` of the `apply` call, as a 6.2 replica does with
/// its clock when the command arrives; `nowMs` is also XCLAIM's delivery and seen time. Callers pass the
/// time the command arrived (the log's clock records, see `LogRecord` in ReplicaStore), so a replay gives
/// the dataset a live apply gave. An EXPIRE whose time is already past is kept (a 6.2 master deletes the
/// key itself and propagates DEL: `checkAlreadyExpired` is false on a replica).
/// MULTI … EXEC is applied at EXEC, all or nothing. A command it cannot apply, or with bad arguments,
/// never traps: the applier records a `Divergence` (offset + command) and ignores everything after it.
public struct ReplicaApplier: Sendable {
    public private(set) var keyspace: Keyspace
    /// The database the stream has SELECTed (persist it with the offset: `repl-stream-db`).
    public private(set) var selectedDB: Int
    public private(set) var divergence: Divergence?
    /// Commands applied or counted so far.
    public private(set) var commandsSeen: Int64 = 0
    /// Queued commands while inside MULTI, with their offsets.
    private var transaction: [(args: [Bytes], offset: Int64)]?

    public init(keyspace: Keyspace = Keyspace(), selectedDB: Int = 0) {
        self.keyspace = keyspace
        self.selectedDB = selectedDB
    }

    /// True between MULTI and EXEC: not a command boundary (never snapshot here).
    public var inTransaction: Bool { transaction != nil }

    /// Applies one command (`args[0]` is its name, any case) that ends at stream `offset`.
    @discardableResult
    public mutating func apply(_ args: [Bytes], at offset: Int64, nowMs: Int64) -> ApplyOutcome {
        if divergence != nil { return .skipped }
        commandsSeen += 1
        guard let first = args.first, !first.isEmpty, first.count <= 32 else {
            return diverge(offset, "?", "empty or unreadable command name")
        }
        let name = String(decoding: first.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
        if var queued = transaction {
            switch name {
            case "EXEC":
                transaction = nil
                return exec(queued, nowMs: nowMs)
            case "DISCARD":
                transaction = nil
                return .ignored
            case "MULTI":
                return diverge(offset, name, "nested MULTI")
            default:
                transaction = nil
                queued.append((args, offset))
                transaction = queued
                return .queued
            }
        }
        switch name {
        case "MULTI":
            transaction = []
            return .queued
        case "EXEC", "DISCARD":
            return diverge(offset, name, "\(name) without MULTI")
        default:
            var ctx = ApplyContext(ks: keyspace, db: selectedDB, nowMs: nowMs)
            keyspace = Keyspace()  // hand the only reference to the context: values mutate in place
            defer {
                keyspace = ctx.ks
                selectedDB = ctx.db
            }
            do {
                return try ctx.run(name, args) ? .applied : .ignored
            } catch let e as ApplyError {
                return diverge(offset, name, e.reason)
            } catch {
                return diverge(offset, name, "\(error)")
            }
        }
    }

    /// Applies a transaction's commands on a copy-on-write snapshot, keeping it only if all succeed.
    private mutating func exec(_ queued: [(args: [Bytes], offset: Int64)], nowMs: Int64) -> ApplyOutcome {
        var ctx = ApplyContext(ks: keyspace, db: selectedDB, nowMs: nowMs)
        for (args, offset) in queued {
            let name = String(decoding: (args.first ?? []).map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
            do {
                _ = try ctx.run(name, args)
            } catch let e as ApplyError {
                return diverge(offset, name, e.reason)
            } catch {
                return diverge(offset, name, "\(error)")
            }
        }
        keyspace = ctx.ks
        selectedDB = ctx.db
        return .applied
    }

    private mutating func diverge(_ offset: Int64, _ command: String, _ reason: String) -> ApplyOutcome {
        let d = Divergence(offset: offset, command: command, reason: reason)
        divergence = d
        transaction = nil
        return .diverged(d)
    }
}

/// A command the applier cannot take.
struct ApplyError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    static let wrongType = ApplyError("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let syntax = ApplyError("syntax error")
    static func arity(_ name: String) -> ApplyError { ApplyError("wrong number of arguments for '\(name)'") }
}

/// The state one command runs against: the keyspace, the selected database, the apply-time clock.
struct ApplyContext {
    var ks: Keyspace
    var db: Int
    let nowMs: Int64

    /// `@Sendable`: the table is a global constant shared by every applier, on any thread.
    typealias Handler = @Sendable (inout ApplyContext, [Bytes]) throws -> Void

    /// Runs `name`; false for commands that are counted and change nothing.
    mutating func run(_ name: String, _ a: [Bytes]) throws -> Bool {
        if ApplyContext.noOps.contains(name) { return false }
        guard let h = ApplyContext.handlers[name] else {
            throw ApplyError("command not supported by the applier")
        }
        try h(&self, a)
        return true
    }

    /// Propagated commands that do not touch the dataset.
    static let noOps: Set<String> = ["PING", "REPLCONF", "PUBLISH", "SPUBLISH", "ECHO", "SCRIPT"]

    static let handlers: [String: Handler] = {
        var h: [String: Handler] = [:]
        registerKeys(&h)
        registerStrings(&h)
        registerLists(&h)
        registerSets(&h)
        registerZSets(&h)
        registerHashes(&h)
        registerStreams(&h)
        registerMisc(&h)
        registerHyperLogLog(&h)
        registerValueOps(&h)
        registerSort(&h)
        registerArrays(&h)
        return h
    }()
}
