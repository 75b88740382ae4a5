/// Encodes commands as RESP multibulk arrays of bulk strings, the only form a replica sends.
public enum RESPEncoder {
    /// `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument.
    public static func command(_ arguments: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + arguments.reduce(0) { $0 + $1.count + 16 })
        out.append(UInt8(ascii: "*"))
        out.append(contentsOf: String(arguments.count).utf8)
        out.append(contentsOf: [13, 10])
        for arg in arguments {
            out.append(UInt8(ascii: "$"))
            out.append(contentsOf: String(arg.count).utf8)
            out.append(contentsOf: [13, 10])
            out.append(contentsOf: arg)
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    public static func command(_ arguments: [String]) -> [UInt8] {
        command(arguments.map { Array($0.utf8) })
    }

    public static func command(_ arguments: String...) -> [UInt8] {
        command(arguments)
    }

    /// Encodes any value (used by tests and tools to build master-side byte streams).
    public static func encode(_ value: RESPValue) -> [UInt8] {
        var out: [UInt8] = []
        encode(value, into: &out)
        return out
    }

    public static func encode(_ value: RESPValue, into out: inout [UInt8]) {
        func line(_ type: Character, _ body: [UInt8]) {
            out.append(contentsOf: String(type).utf8)
            out.append(contentsOf: body)
            out.append(contentsOf: [13, 10])
        }
        switch value {
        case .simpleString(let s): line("+", s)
        case .error(let s): line("-", s)
        case .integer(let n): line(":", Array(String(n).utf8))
        case .bulkString(nil): line("$", Array("-1".utf8))
        case .bulkString(let b?):
            line("$", Array(String(b.count).utf8))
            out.append(contentsOf: b)
            out.append(contentsOf: [13, 10])
        case .array(nil): line("*", Array("-1".utf8))
        case .array(let items?):
            line("*", Array(String(items.count).utf8))
            for item in items { encode(item, into: &out) }
        }
    }
}
