import RDB

/// Functions (`functions.c`): FUNCTION LOAD [REPLACE], DELETE, FLUSH propagate verbatim.
extension ApplyContext {
    static func registerMisc(_ h: inout [String: Handler]) {
        h["FUNCTION"] = { try $0.functionCommand($1) }
    }

    mutating func functionCommand(_ a: [Bytes]) throws {
        guard a.count >= 2 else { throw ApplyError.arity("function") }
        switch Arg.upper(a[1]) {
        case "LOAD":
            guard a.count == 3 || (a.count == 4 && Arg.upper(a[2]) == "REPLACE") else { throw ApplyError.syntax }
            let code = a[a.count - 1]
            guard let name = Keyspace.libraryName(code) else { throw ApplyError("missing library metadata") }
            if let i = ks.functionIndex(named: name) {
                guard a.count == 4 else { throw ApplyError("Library '\(String(decoding: name, as: UTF8.self))' already exists") }
                ks.functions[i] = code
            } else {
                ks.functions.append(code)
            }
        case "DELETE":
            guard a.count == 3 else { throw ApplyError.arity("function delete") }
            guard let i = ks.functionIndex(named: a[2]) else { throw ApplyError("Library not found") }
            ks.functions.remove(at: i)
        case "RESTORE":
            try functionRestore(a)
        case "FLUSH":
            guard a.count <= 3 else { throw ApplyError.syntax }
            ks.functions = []
        default:
            throw ApplyError("FUNCTION \(Arg.upper(a[1])) not supported by the applier")
        }
    }
}
