import Foundation

/// Reads an exported database back through the `sqlite3` command-line shell, so tests check the file
/// as any user would see it, not through our own SQLite layer.
enum SQLite3CLI {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static var executable: String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/sqlite3") {
            return dir + "/sqlite3"
        }
        return nil
    }

    /// Runs `sqlite3 -json -readonly DB SQL` and returns the rows (an empty result prints nothing).
    static func query(_ db: String, _ sql: String) throws -> [[String: Any]] {
        let out = try run(["-json", "-readonly", db, sql])
        let trimmed = out.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        guard let rows = try MiniJSON.parse(Data(trimmed.utf8)) as? [[String: Any]] else {
            throw Failure(description: "sqlite3 -json printed something else: \(trimmed.prefix(200))")
        }
        return rows
    }

    /// One integer from `SELECT ...`.
    static func int(_ db: String, _ sql: String) throws -> Int {
        let out = try run(["-readonly", db, sql]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let v = Int(out) else { throw Failure(description: "not an integer: \(out) for \(sql)") }
        return v
    }

    static func text(_ db: String, _ sql: String) throws -> String {
        try run(["-readonly", db, sql]).trimmingCharacters(in: .newlines)
    }

    static func run(_ args: [String]) throws -> String {
        guard let exe = executable else { throw Failure(description: "sqlite3 not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // Read before waiting so a large result cannot fill the pipe and block the child.
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(description: "sqlite3 \(args.dropFirst().joined(separator: " ").prefix(300)) failed: "
                + String(decoding: err, as: UTF8.self))
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A fresh temporary directory, removed by the caller with `remove()`.
struct TempDir {
    let path: String
    init() throws {
        let base = FileManager.default.temporaryDirectory.path + "/sqlite-export-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }
    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path).sorted()) ?? [] }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02X", $0) }.joined() }
}
