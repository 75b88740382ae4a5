// libFuzzer's driver, called from each harness's top-level code: SwiftPM's generated main would
// hide libFuzzer's own, so each harness starts the run itself with its callback.
import Glibc

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments and `callback`, then exits with its status.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

/// Reads a fuzz input front to back: bytes, little-endian integers, and the rest; zeros past the end.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var index = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    public var isAtEnd: Bool { index >= bytes.count }
    public var remaining: Int { max(0, bytes.count - index) }

    public mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    public mutating func u16() -> Int { Int(byte()) | Int(byte()) << 8 }

    /// Up to `n` bytes (fewer at the end).
    public mutating func take(_ n: Int) -> [UInt8] {
        let end = min(bytes.count, index + max(0, n))
        defer { index = end }
        return Array(bytes[min(index, end)..<end])
    }

    public mutating func rest() -> [UInt8] { take(remaining) }
}

/// A finding: printed, then the process aborts so libFuzzer saves the input.
public func finding(_ message: String) -> Never {
    fatalError("FINDING: " + message)
}
