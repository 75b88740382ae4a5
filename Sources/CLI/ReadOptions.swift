import ArgumentParser
import RDB
import RDBTools

/// The key filters of every `rdb` command that reads keys (`dump`, `convert`, `sqlite`, ...): one parser,
/// one validation, one help text (docs/filters.md). Builds a `KeyFilter`.
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp(
        "Only keys in this database (repeatable, or comma-separated: --db 0,2).", valueName: "N"))
    var databases: [NumberList] = []

    @Option(name: .customLong("key-pattern"), help: ArgumentHelp(
        "Only keys matching this Redis glob (KEYS syntax: *, ?, [a-z], [^x], \\x), over the raw key bytes.",
        valueName: "GLOB"))
    var keyPattern: String?

    @Option(name: .customLong("type"), help: ArgumentHelp(
        "Only keys of this type: string, list, set, zset, hash, stream, array, module, or a 9-character module type name (repeatable, or comma-separated).",
        valueName: "TYPE"))
    var types: [NameList] = []

    @Flag(help: "Only keys whose TTL lies before the reference time (--now, else the file's ctime), or only the others.")
    var expiry: ExpiryFlag?

    @Option(name: .customLong("now"), help: ArgumentHelp(
        "Reference time for --expired/--not-expired, in Unix MILLISECONDS (default: the file's ctime AUX field, else the current time).",
        valueName: "MS"))
    var now: Int64?

    @Option(name: .customLong("min-size"), help: ArgumentHelp(
        "Only keys taking at least this many bytes in the RDB file (key, expiry and value as stored; suffixes k, m, g = KiB, MiB, GiB).",
        valueName: "BYTES"))
    var minSize: ByteCount?

    /// Values below this are taken for seconds, not milliseconds (1e11 ms is 1973-03-03).
    static let smallestMilliseconds: Int64 = 100_000_000_000

    func validate() throws {
        for list in databases {
            for db in list.values where db < 0 {
                throw ValidationError("--db must be a database number >= 0, got \(db)")
            }
        }
        for list in types {
            for t in list.values {
                if let problem = KeyFilter.typeNameProblem(t) { throw ValidationError("--type: \(problem)") }
            }
        }
        if let now {
            guard expiry != nil else { throw ValidationError("--now needs --expired or --not-expired") }
            guard now >= Self.smallestMilliseconds else {
                throw ValidationError("--now takes Unix milliseconds; \(now) looks like seconds (try \(now)000)")
            }
        }
    }

    var keyFilter: KeyFilter {
        KeyFilter(databases: Set(databases.flatMap(\.values)),
                  keyPattern: keyPattern.map { Array($0.utf8) },
                  types: Set(types.flatMap(\.values)),
                  expiry: expiry.map { $0 == .expired ? .expired : .notExpired },
                  now: now,
                  minSize: minSize?.bytes)
    }
}

/// `--expired` / `--not-expired` (at most one).
enum ExpiryFlag: String, EnumerableFlag {
    case expired
    case notExpired

    static func name(for value: ExpiryFlag) -> NameSpecification {
        switch value {
        case .expired: return .customLong("expired")
        case .notExpired: return .customLong("not-expired")
        }
    }

    static func help(for value: ExpiryFlag) -> ArgumentHelp? {
        switch value {
        case .expired: return "Only keys that have expired at the reference time."
        case .notExpired: return "Only keys without a TTL or not yet expired at the reference time."
        }
    }
}

/// A comma-separated list of integers (`0,2`).
struct NumberList: ExpressibleByArgument {
    var values: [Int]
    init?(argument: String) {
        var out: [Int] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = Int(part) else { return nil }
            out.append(n)
        }
        values = out
    }
}

/// A comma-separated list of names (`string,hash`).
struct NameList: ExpressibleByArgument {
    var values: [String]
    init?(argument: String) {
        values = argument.split(separator: ",").map(String.init)
        if values.isEmpty { return nil }
    }
}

/// A byte count: digits with an optional k, m or g suffix (powers of 1024).
struct ByteCount: ExpressibleByArgument {
    var bytes: Int64
    init?(argument: String) {
        var digits = Substring(argument.lowercased())
        var scale: Int64 = 1
        if let last = digits.last, let s = ["k": Int64(1) << 10, "m": 1 << 20, "g": 1 << 30][String(last)] {
            scale = s
            digits = digits.dropLast()
        }
        guard let n = Int64(digits), n >= 0 else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        bytes = product
    }
}

/// Reader switches shared by every `rdb` command that reads a file.
struct ReaderFlags: ParsableArguments {
    @Flag(name: .customLong("allow-pre-release-functions"), help: """
        Read functions in the Redis 7.0 release-candidate format (opcode 246), which Redis GA rejects.
        """)
    var allowPreReleaseFunctions = false

    func readerOptions(verifyChecksum: Bool = true, decodeValues: Bool = true) -> RDBReaderOptions {
        var options = RDBReaderOptions(verifyChecksum: verifyChecksum, decodeValues: decodeValues)
        options.allowPreReleaseFunctions = allowPreReleaseFunctions
        return options
    }
}
