#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

// C's `stdout` and `stderr` are mutable globals to Swift 6 (`extern FILE *stdout`), so every read of them is
// flagged. This program never reassigns them, and stdio locks each stream internally, so reading them
// anywhere is safe: this file alone imports the C library `@preconcurrency` and hands them out.

/// C's `stdout` (the stream `print` writes to, so writes through it stay in order with `print`).
var standardOutput: UnsafeMutablePointer<FILE> { stdout }

/// C's `stderr`.
var standardError: UnsafeMutablePointer<FILE> { stderr }
