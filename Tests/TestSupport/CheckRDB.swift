import Foundation

extension RedisServerProcess {
    /// Runs `redis-check-rdb` (`binary`; the 7.0 one by default) on `url`: its exit status and its stdout and
    /// stderr together ("RDB looks OK" on success).
    public static func checkRDB(_ url: URL, binary: String = checkRDBBinaryPath) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [url.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
