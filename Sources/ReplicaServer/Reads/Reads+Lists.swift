import Keyspace
import RDB

/// List reads, as Redis 7.0's t_list.c answers them: LRANGE, LLEN, LINDEX, LPOS.
extension ReadContext {
    func listCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "lrange":
            var start = try Arg.integer(a[2])
            var end = try Arg.integer(a[3])
            guard let l = try list(a[1]) else { return .array([]) }
            let n = Int64(l.count)
            if start < 0 { start += n }
            if end < 0 { end += n }
            if start < 0 { start = 0 }
            if start > end || start >= n { return .array([]) }
            if end >= n { end = n - 1 }
            return .listRange(l, Int(start)..<Int(end + 1))
        case "llen":
            return .integer(Int64(try list(a[1])?.count ?? 0))
        case "lindex":
            guard let l = try list(a[1]) else { return .null }
            var index = try Arg.integer(a[2])
            if index < 0 { index += Int64(l.count) }
            guard index >= 0 && index < Int64(l.count) else { return .null }
            return .bulk(l[Int(index)])
        case "lpos":
            return try lpos(a)
        default:
            throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// t_list.c `lposCommand`: options first, then the key; RANK picks the n-th match (negative: from the
    /// tail), COUNT asks for an array of up to n positions (0: all), MAXLEN bounds the elements compared.
    private func lpos(_ a: [Bytes]) throws -> Reply {
        var rank: Int64 = 1
        var count: Int64 = -1
        var maxlen: Int64 = 0
        var j = 3
        while j < a.count {
            let more = a.count - 1 - j
            if Arg.equals(a[j], "rank") && more > 0 {
                j += 1
                guard let r = Arg.int64(a[j]) else { throw ReadErrors.notInteger }
                guard r != Int64.min else {
                    throw ReadError.err("value is out of range, must be between -9223372036854775807 and 9223372036854775807")
                }
                guard r != 0 else {
                    throw ReadError.err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                }
                rank = r
            } else if Arg.equals(a[j], "count") && more > 0 {
                j += 1
                guard let c = Arg.int64(a[j]), c >= 0 else { throw ReadError.err("COUNT can't be negative") }
                count = c
            } else if Arg.equals(a[j], "maxlen") && more > 0 {
                j += 1
                guard let m = Arg.int64(a[j]), m >= 0 else { throw ReadError.err("MAXLEN can't be negative") }
                maxlen = m
            } else {
                throw ReadErrors.syntax
            }
            j += 1
        }
        guard let l = try list(a[1]) else { return count != -1 ? .array([]) : .null }
        let items = l.elements
        let element = a[2]
        let fromTail = rank < 0
        var skip = fromTail ? -rank : rank
        var matches: [Reply] = []
        var compared: Int64 = 0
        var index = fromTail ? items.count - 1 : 0
        while index >= 0 && index < items.count && (maxlen == 0 || compared < maxlen) {
            compared += 1
            if items[index] == element {
                skip -= 1
                if skip <= 0 {
                    matches.append(.integer(Int64(index)))
                    if count != 0 && Int64(matches.count) >= max(count, 1) { break }
                    skip = 0
                }
            }
            index += fromTail ? -1 : 1
        }
        if count == -1 { return matches.first ?? .null }
        return .array(matches)
    }
}
