/// An error about the data directory: a value with a code, the file and (when it applies) the byte offset.
///
/// Its description is the one line users see: `FILE: error at byte N: WHAT` (or `FILE: WHAT`).
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The manifest is missing a piece, unparsable, or from another version.
        case badManifest
        /// A file the manifest names is not there.
        case missingFile
        /// The snapshot is not an RDB file, or cannot be read.
        case badSnapshot
        /// The snapshot's AUX replication fields disagree with the manifest.
        case snapshotMismatch
        /// A log segment is damaged somewhere a torn tail cannot explain.
        case logDamage
        /// Another process holds the directory's lock.
        case locked
        /// A call the store's state does not allow (e.g. append before the first full sync).
        case invalidState
        /// A caller-supplied value is out of range (bad replid, negative offset, oversized record).
        case invalidArgument
        /// An earlier write or fsync failed; the store must be reopened (recovery cuts what is partial).
        case failed
        case io
    }

    public var code: Code
    public var file: String?
    public var offset: Int64?
    public var message: String

    public init(_ code: Code, file: String?, offset: Int64?, _ message: String) {
        self.code = code
        self.file = file
        self.offset = offset
        self.message = message
    }

    public var description: String {
        var s = ""
        if let file { s += file + ": " }
        if let offset { s += "error at byte \(offset): " }
        return s + message
    }
}
