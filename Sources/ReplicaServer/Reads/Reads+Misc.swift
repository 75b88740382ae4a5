import Foundation
import Keyspace
import RDB
import RDBTools
import RedisValueOps

/// PFCOUNT (hyperloglog.c; read-only here: the cached cardinality is computed, never written back), the geo
/// reads (geo.c: GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEORADIUS_RO, GEORADIUSBYMEMBER_RO), FUNCTION LIST/DUMP
/// (functions.c), and the script commands, which get an error: no Lua engine is embedded.
extension ReadContext {
    func miscCommand(_ name: String, _ a: [Bytes]) throws -> Reply {
        switch name {
        case "pfcount": return try pfcount(a)
        case "geopos":
            let z = try zset(a[1])
            return .array(a.dropFirst(2).map { m in
                guard let s = z?.score(m) else { return .nullArray }
                let (lon, lat) = Geo.decode(score: s)
                return .array([.doubleText(Self.humanDouble(lon)), .doubleText(Self.humanDouble(lat))])
            })
        case "geodist": return try geodist(a)
        case "geohash":
            let z = try zset(a[1])
            return .array(a.dropFirst(2).map { m in
                guard let s = z?.score(m) else { return .null }
                return .bulk(Self.geohashString(score: s))
            })
        case "geosearch", "georadius_ro", "georadiusbymember_ro": return try geosearch(name, a)
        case "function": return try function(a)
        case "xgroup": return try xgroup(a)
        default: throw ReadError(Errors.unknownCommand(a))
        }
    }

    /// hyperloglog.c `pfcountCommand`: one key counts it (0 when missing), several count their union.
    private func pfcount(_ a: [Bytes]) throws -> Reply {
        var values: [Bytes?] = []
        for k in a.dropFirst() {
            guard let s = try string(k) else { values.append(nil); continue }
            if let e = HyperLogLog.validate(s) { throw ReadError(.error(e.description)) }
            values.append(s)
        }
        if values.count == 1 {
            guard let v = values[0] else { return .integer(0) }
            switch HyperLogLog.count(v) {
            case .success(let r): return .integer(Int64(r.cardinality))
            case .failure(let e): throw ReadError(.error(e.description))
            }
        }
        switch HyperLogLog.countUnion(values) {
        case .success(let n): return .integer(Int64(n))
        case .failure(let e): throw ReadError(.error(e.description))
        }
    }

    /// `addReplyHumanLongDouble`: `%.17Lf` with trailing zeros (and a trailing point) removed.
    static func humanDouble(_ d: Double) -> String {
        var s = String(format: "%.17f", d)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// geo.c `extractUnitOrReply` (7.0: case-insensitive).
    static func unit(_ u: Bytes) throws -> Double {
        switch Arg.text(u).lowercased() {
        case "m": return 1
        case "km": return 1000
        case "ft": return 0.3048
        case "mi": return 1609.34
        default: throw ReadError.err("unsupported unit provided. please use M, KM, FT, MI")
        }
    }

    /// geo.c `geodistCommand`: the distance as `%.4f`, a bulk string in both protocols.
    private func geodist(_ a: [Bytes]) throws -> Reply {
        var toMeters = 1.0
        if a.count == 5 { toMeters = try Self.unit(a[4]) } else if a.count > 5 { throw ReadErrors.syntax }
        guard let z = try zset(a[1]) else { return .null }
        guard let s1 = z.score(a[2]), let s2 = z.score(a[3]) else { return .null }
        let p1 = Geo.decode(score: s1), p2 = Geo.decode(score: s2)
        let d = Geo.distance(lon1: p1.longitude, lat1: p1.latitude, lon2: p2.longitude, lat2: p2.latitude) / toMeters
        return .bulk(String(format: "%.4f", d))
    }

    /// geo.c `geohashCommand`: the position re-encoded against the standard latitude range (-90..90), 52
    /// bits as 11 base-32 characters (the last one always '0').
    static func geohashString(score: Double) -> Bytes {
        let (lon, lat) = Geo.decode(score: score)
        let alphabet = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)
        let latOffset = (lat + 90) / 180 * Double(1 << 26)
        let lonOffset = (lon + 180) / 360 * Double(1 << 26)
        func spread(_ v: UInt32) -> UInt64 {
            var x = UInt64(v)
            x = (x | (x << 16)) & 0x0000FFFF0000FFFF
            x = (x | (x << 8)) & 0x00FF00FF00FF00FF
            x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0F
            x = (x | (x << 2)) & 0x3333333333333333
            x = (x | (x << 1)) & 0x5555555555555555
            return x
        }
        let bits = spread(UInt32(truncatingIfNeeded: Int64(latOffset))) | (spread(UInt32(truncatingIfNeeded: Int64(lonOffset))) << 1)
        return (0..<11).map { i in
            let idx = i == 10 ? 0 : Int((bits >> UInt64(52 - (i + 1) * 5)) & 0x1f)
            return alphabet[idx]
        }
    }

    /// GEOSEARCH and the read-only GEORADIUS forms, computed by `GeoSearch.run` (geo.c `georadiusGeneric`).
    private func geosearch(_ name: String, _ a: [Bytes]) throws -> Reply {
        var argv = a
        let optionsFrom: Int
        switch name {
        case "georadius_ro": argv[0] = Array("georadius".utf8); optionsFrom = 6
        case "georadiusbymember_ro": argv[0] = Array("georadiusbymember".utf8); optionsFrom = 5
        default: argv[0] = Array("geosearch".utf8); optionsFrom = 2
        }
        // The _RO forms have no STORE (geo.c: RADIUS_RO makes it a syntax error).
        if name != "geosearch" && argv[optionsFrom...].contains(where: { Arg.equals($0, "store") || Arg.equals($0, "storedist") }) {
            throw ReadErrors.syntax
        }
        let z = try zset(a[1])
        let source = z.map { GeoMemberList($0.unordered) }
        switch GeoSearch.run(argv, source: source) {
        case .failure(let e): throw ReadError(.error(e.message))
        case .success(let outcome):
            let opts = argv[optionsFrom...]
            let withDist = opts.contains { Arg.equals($0, "withdist") }
            let withHash = opts.contains { Arg.equals($0, "withhash") }
            let withCoord = opts.contains { Arg.equals($0, "withcoord") }
            if z == nil { return .array([]) }
            return .array(outcome.matches.map { m in
                guard withDist || withHash || withCoord else { return .bulk(m.member) }
                var item: [Reply] = [.bulk(m.member)]
                if withDist { item.append(.bulk(String(format: "%.4f", m.distance))) }
                if withHash { item.append(.integer(Int64(m.score))) }
                if withCoord { item.append(.array([.doubleText(Self.humanDouble(m.longitude)), .doubleText(Self.humanDouble(m.latitude))])) }
                return .array(item)
            })
        }
    }

    // MARK: XGROUP

    /// XGROUP on a read-only replica (t_stream.c `xgroupCommand`): its write subcommands are refused before
    /// this runs (`Commands.refusal`); HELP's text, or an unknown subcommand.
    private func xgroup(_ a: [Bytes]) throws -> Reply {
        switch Arg.text(a[1]).lowercased() {
        case "help":
            return .array(["XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "CREATE <key> <groupname> <id|$> [option]", "    Create a new consumer group. Options are:",
                           "    * MKSTREAM", "      Create the empty stream if it does not exist.",
                           "    * ENTRIESREAD entries_read", "      Set the group's entries_read counter (internal use).",
                           "CREATECONSUMER <key> <groupname> <consumer>", "    Create a new consumer in the specified group.",
                           "DELCONSUMER <key> <groupname> <consumer>", "    Remove the specified consumer.",
                           "DESTROY <key> <groupname>", "    Remove the specified group.",
                           "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]", "    Set the current group ID and entries_read counter.",
                           "HELP", "    Print this help."].map { .simple($0) })
        default:
            throw ReadError(Errors.unknownSubcommand(a[1], "xgroup"))
        }
    }

    // MARK: FUNCTION

    private func function(_ a: [Bytes]) throws -> Reply {
        let sub = Arg.text(a[1]).lowercased()
        switch sub {
        case "dump":
            guard a.count == 2 else { throw ReadError.err("wrong number of arguments for 'function|dump' command") }
            return .bulk(try functionDump())
        case "list":
            return try functionList(a)
        case "load", "delete", "flush", "restore":
            throw ReadError(Errors.readOnly)  // refused before this runs (`Commands.refusal`)
        case "kill":
            // Not a write: no script ever runs here (a real 7.0 replica answers the same).
            guard a.count == 2 else { throw ReadError.err("wrong number of arguments for 'function|kill' command") }
            throw ReadError(.error("NOTBUSY No scripts in execution right now."))
        case "stats":
            return .map([(.bulk("running_script"), .null),
                         (.bulk("engines"), .map([(.bulk("LUA"), .map([(.bulk("libraries_count"), .integer(Int64(keyspace.functions.count))),
                                                                        (.bulk("functions_count"), .integer(Int64(keyspace.functions.reduce(0) { $0 + FunctionLibrary($1).functions.count })))]))]))])
        case "help":
            return .array(["FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                           "LIST [LIBRARYNAME PATTERN] [WITHCODE]", "    Return general information on all the libraries:",
                           "DUMP", "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
                           "STATS", "    Return information about the current function running.",
                           "HELP", "    Print this help."].map { .simple($0) })
        default:
            throw ReadError(Errors.unknownSubcommand(a[1], "function"))
        }
    }

    /// functions.c `functionDumpCommand`: every library as an RDB FUNCTION2 record (opcode 245, the code as
    /// an RDB string), then the DUMP footer (RDB version, CRC-64).
    private func functionDump() throws -> Bytes {
        var payload: Bytes = []
        for code in keyspace.functions {
            let asString = try DumpPayload.encode(.string(code), rdbVersion: 10)
            payload.append(RDBOpcode.function2.rawValue)
            payload.append(contentsOf: asString[1..<(asString.count - DumpPayload.footerSize)])
        }
        payload.append(10)
        payload.append(0)
        let crc = CRC64.checksum(payload)
        for i in 0..<8 { payload.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
        return payload
    }

    /// functions.c `functionListCommand`. The function names, flags and descriptions come from reading the
    /// library's `redis.register_function` calls (we do not run Lua), which covers the literal forms.
    private func functionList(_ a: [Bytes]) throws -> Reply {
        var withCode = false
        var pattern: Bytes?
        var i = 2
        while i < a.count {
            if Arg.equals(a[i], "withcode") && !withCode {
                withCode = true
                i += 1
            } else if Arg.equals(a[i], "libraryname") && i + 1 < a.count && pattern == nil {
                pattern = a[i + 1]
                i += 2
            } else {
                throw ReadError.err("Unknown argument \(Arg.text(a[i]))")
            }
        }
        var libs: [Reply] = []
        for code in keyspace.functions {
            let lib = FunctionLibrary(code)
            if let p = pattern, !RedisGlob.matches(pattern: p, lib.name) { continue }
            var fields: [(Reply, Reply)] = [
                (.bulk("library_name"), .bulk(lib.name)), (.bulk("engine"), .bulk(lib.engine)),
                (.bulk("functions"), .array(lib.functions.map { f in
                    .map([(.bulk("name"), .bulk(f.name)), (.bulk("description"), f.description.map { .bulk($0) } ?? .null),
                          (.bulk("flags"), .set(f.flags.map { .bulk($0) }))])
                })),
            ]
            if withCode { fields.append((.bulk("library_code"), .bulk(code))) }
            libs.append(.map(fields))
        }
        return .array(libs)
    }
}

/// A function library's name, engine and registered functions, read from its code without running it:
/// the `#!<engine> name=<lib>` shebang, and each `redis.register_function('name', ...)` or
/// `redis.register_function{function_name='name', callback=..., flags={...}, description='...'}`.
struct FunctionLibrary {
    struct Function { var name: Bytes; var description: Bytes?; var flags: [Bytes] }
    var name: Bytes = []
    var engine: Bytes = Array("LUA".utf8)
    var functions: [Function] = []

    init(_ code: Bytes) {
        name = Keyspace.libraryName(code) ?? []
        let shebang = code.prefix { $0 != UInt8(ascii: "\n") }
        if shebang.count > 2, let e = shebang.dropFirst(2).split(separator: UInt8(ascii: " ")).first {
            engine = Array(String(decoding: e, as: UTF8.self).uppercased().utf8)
        }
        let text = String(decoding: code, as: UTF8.self)
        var rest = text[...]
        while let r = rest.range(of: "register_function") {
            rest = rest[r.upperBound...]
            let body = rest.drop { $0 == " " || $0 == "\t" }
            if body.first == "(" {
                if let n = Self.quoted(body.dropFirst()) { functions.append(Function(name: Array(n.utf8), description: nil, flags: [])) }
            } else if body.first == "{" {
                guard let close = body.firstIndex(of: "}") ?? body.indices.last else { continue }
                var table = body[body.index(after: body.startIndex)..<close]
                // flags={...} closes with its own brace: take the table up to the matching one.
                if let f = table.range(of: "flags"), let inner = body[f.upperBound...].firstIndex(of: "}"),
                   let outer = body[body.index(after: inner)...].firstIndex(of: "}") {
                    table = body[body.index(after: body.startIndex)..<outer]
                }
                guard let nameKey = table.range(of: "function_name"),
                      let n = Self.quoted(table[nameKey.upperBound...].drop { $0 == " " || $0 == "=" }) else { continue }
                var fn = Function(name: Array(n.utf8), description: nil, flags: [])
                if let d = table.range(of: "description"), let v = Self.quoted(table[d.upperBound...].drop { $0 == " " || $0 == "=" }) {
                    fn.description = Array(v.utf8)
                }
                if let f = table.range(of: "flags"), let open = table[f.upperBound...].firstIndex(of: "{"),
                   let end = table[open...].firstIndex(of: "}") {
                    var list = table[table.index(after: open)..<end]
                    while let q = Self.quoted(list.drop { $0 == " " || $0 == "," }) {
                        fn.flags.append(Array(q.utf8))
                        guard let next = list.range(of: q) else { break }
                        list = list[next.upperBound...].dropFirst()
                    }
                }
                functions.append(fn)
            }
        }
    }

    /// The contents of a leading '…' or "…" literal.
    static func quoted(_ s: Substring) -> String? {
        guard let q = s.first, q == "'" || q == "\"" else { return nil }
        let body = s.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }
}
