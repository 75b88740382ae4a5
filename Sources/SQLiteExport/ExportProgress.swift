import Foundation

/// A one-line progress bar on stderr: bytes read of total, percentage, rate and ETA, redrawn at most
/// ten times a second. Only for terminals: callers create it when `isatty(STDERR_FILENO)`.
public final class ExportProgressBar {
    private let total: Int64?
    private let start: UInt64
    private var lastDraw: UInt64 = 0
    private var lastWidth = 0
    private var calls = 0

    /// - Parameter total: the input size in bytes, when known (nil for a pipe).
    public init(total: Int64?) {
        self.total = total.flatMap { $0 > 0 ? $0 : nil }
        start = Self.nowNs()
    }

    /// Whether stderr is a terminal.
    public static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Cheap to call per record: looks at the clock every 64 calls.
    public func update(bytes: Int64, keys: Int) {
        calls &+= 1
        guard calls & 63 == 0 else { return }
        let now = Self.nowNs()
        guard now - lastDraw >= 100_000_000 else { return }
        lastDraw = now
        draw(bytes: bytes, keys: keys, now: now, final: false)
    }

    /// Draws the final state and ends the line.
    public func finish(bytes: Int64, keys: Int, note: String = "") {
        draw(bytes: bytes, keys: keys, now: Self.nowNs(), final: true, note: note)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// Erases the line (before an error message).
    public func clear() {
        guard lastWidth > 0 else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: lastWidth) + "\r").utf8))
        lastWidth = 0
    }

    private func draw(bytes: Int64, keys: Int, now: UInt64, final: Bool, note: String = "") {
        let seconds = max(Double(now - start) / 1e9, 1e-6)
        let rate = Double(bytes) / seconds
        var line = "  "
        if let total {
            let fraction = min(1, max(0, Double(bytes) / Double(total)))
            let width = 24
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += String(format: "%5.1f%% ", fraction * 100)
            line += Self.size(bytes) + " / " + Self.size(total)
        } else {
            line += Self.size(bytes)
        }
        line += "  " + Self.size(Int64(rate)) + "/s"
        line += "  \(keys) keys"
        if final {
            line += String(format: "  %.1fs", seconds)
        } else if let total, rate > 0, bytes < total {
            line += "  ETA " + Self.duration(Double(total - bytes) / rate)
        }
        line += note
        let pad = max(0, lastWidth - line.count)
        lastWidth = line.count
        FileHandle.standardError.write(Data(("\r" + line + String(repeating: " ", count: pad)).utf8))
    }

    static func size(_ b: Int64) -> String {
        let d = Double(b)
        if d >= 1_073_741_824 { return String(format: "%.2f GB", d / 1_073_741_824) }
        if d >= 1_048_576 { return String(format: "%.1f MB", d / 1_048_576) }
        if d >= 1024 { return String(format: "%.1f KB", d / 1024) }
        return "\(b) B"
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
