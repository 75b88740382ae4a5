/// A RESP protocol error: a value with a code and the absolute byte offset where it was found.
///
/// The offset counts bytes from the start of whatever the caller is decoding (a connection, a
/// replication stream); the decoder adds its `baseOffset` to positions inside the buffer.
public struct RESPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A type byte that is not one of `+ - : $ *`, or not `*` where a command must start.
        case unexpectedType
        /// A length or count that is not a decimal integer, or out of its bounds.
        case badLength
        /// An integer reply that is not a decimal integer.
        case badInteger
        /// A line longer than the limit without CRLF.
        case lineTooLong
        /// A bulk string whose payload is not followed by CRLF.
        case missingCRLF
        /// Arrays nested deeper than the limit.
        case tooDeep
    }

    public var code: Code
    /// Absolute byte offset of the offending byte.
    public var offset: Int64
    public var message: String

    public init(_ code: Code, at offset: Int64, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "RESP protocol error at byte \(offset): \(message)" }
}
