// GEOSEARCHSTORE, GEORADIUS ... STORE|STOREDIST and GEORADIUSBYMEMBER ... STORE|STOREDIST (and
// the same searches without a store), as Redis 7.0's georadiusGeneric in src/geo.c computes them
// (8.x is the same): argument rules and errors in Redis's order, the nine geohash cells scanned in
// Redis's order (a member inside the radius but outside those cells is not found, as in Redis),
// COUNT / ANY / ASC / DESC, and the stored scores (the member's geohash score, or with STOREDIST
// its distance in the query's unit).
//
// API:
//   GeoSearch.run(argv, source:) -> GeoSearch.Outcome or a GeoError
//       `argv` is the whole command, name included (GEOSEARCHSTORE dest src ..., GEORADIUS src lon
//       lat radius unit ..., GEORADIUSBYMEMBER src member radius unit ..., GEOSEARCH src ...).
//       `source` is the source sorted set, nil when the key is missing. The caller checks first
//       that the source key holds a sorted set (WRONGTYPE comes before everything in Redis).
//   Outcome.storeKey: the destination (nil: a plain search); Outcome.stored: the destination's
//       new members and scores; empty means Redis deletes the destination (it replaces any value
//       of any type, and drops its TTL, otherwise). Outcome.matches: the results in reply order.
//       The reply of a store is `stored.count`.
// With COUNT and more matches than COUNT, the first COUNT are picked with Redis's own partial
// quicksort (PartialQuickSort.swift), so ties at the cut keep the same members as Redis.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sorted set as the search reads it.
public protocol GeoSortedSet {
    func score(of member: [UInt8]) -> Double?
    /// The members with `min <= score < max`, in the sorted set's order (score, then member bytes).
    func members(scoreFrom min: Double, below max: Double) -> [(member: [UInt8], score: Double)]
}

/// A `GeoSortedSet` over an array (sorted on creation).
public struct GeoMemberList: GeoSortedSet {
    let sorted: [(member: [UInt8], score: Double)]
    let scores: [[UInt8]: Double]

    public init(_ members: [(member: [UInt8], score: Double)]) {
        sorted = members.sorted { $0.score != $1.score ? $0.score < $1.score : $0.member.lexicographicallyPrecedes($1.member) }
        scores = Dictionary(members.map { ($0.member, $0.score) }, uniquingKeysWith: { _, b in b })
    }

    public func score(of member: [UInt8]) -> Double? { scores[member] }

    public func members(scoreFrom min: Double, below max: Double) -> [(member: [UInt8], score: Double)] {
        var lo = 0, hi = sorted.count
        while lo < hi { let mid = (lo + hi) / 2; if sorted[mid].score < min { lo = mid + 1 } else { hi = mid } }
        var out: [(member: [UInt8], score: Double)] = []
        var i = lo
        while i < sorted.count && sorted[i].score < max { out.append(sorted[i]); i += 1 }
        return out
    }
}

public struct GeoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The error reply, without the leading "-".
    public let message: String
    public var description: String { message }
}

public enum GeoSearch {
    public struct Match: Equatable, Sendable {
        public var member: [UInt8]
        public var score: Double
        /// The distance from the centre, in the query's unit.
        public var distance: Double
        public var longitude: Double, latitude: Double
    }

    public struct Outcome: Equatable, Sendable {
        public var storeKey: [UInt8]?
        public var storeDistance: Bool
        public var matches: [Match]
        /// What the destination holds afterwards (empty: deleted); with STOREDIST the scores are
        /// the distances.
        public var stored: [(member: [UInt8], score: Double)] {
            matches.map { ($0.member, storeDistance ? $0.distance : $0.score) }
        }
        public static func == (a: Outcome, b: Outcome) -> Bool {
            a.storeKey == b.storeKey && a.storeDistance == b.storeDistance && a.matches == b.matches
        }
    }

    static func err(_ s: String) -> GeoError { GeoError(message: s) }
    static let syntax = err("ERR syntax error")

    /// `redis62`: compute as a Redis 6.2 master does (case-sensitive units, 6.2's distance and
    /// box test, 6.2's error texts).
    public static func run(_ argv: [[UInt8]], source: GeoSortedSet?, redis62: Bool = false) -> Result<Outcome, GeoError> {
        let unit = { (u: [UInt8]) in GeoSearch.unit(u, caseSensitive: redis62) }
        let unitError = redis62 ? "ERR unsupported unit provided. please use m, km, ft, mi"
                                : "ERR unsupported unit provided. please use M, KM, FT, MI"
        guard let name = argv.first else { return .failure(syntax) }
        let isSearch = RedisArgument.equalsIgnoringCase(name, "geosearch") || RedisArgument.equalsIgnoringCase(name, "geosearchstore")
        let isSearchStore = RedisArgument.equalsIgnoringCase(name, "geosearchstore")
        let byCoords = RedisArgument.equalsIgnoringCase(name, "georadius")
        let byMember = RedisArgument.equalsIgnoringCase(name, "georadiusbymember")
        guard isSearch || byCoords || byMember else { return .failure(err("ERR Unknown georadius search type")) }
        let minArgs = isSearchStore ? 8 : isSearch ? 7 : byCoords ? 6 : 5  // the commands' arities
        guard argv.count >= minArgs else { return .failure(err("ERR wrong number of arguments for '\(String(decoding: name, as: UTF8.self).lowercased())' command")) }

        var shape = GeoShape(longitude: 0, latitude: 0, isRadius: true, conversion: 0, redis62: redis62)
        var storeKey: [UInt8]? = nil
        var storeDist = false
        var base: Int
        if byCoords {
            base = 6
            switch lonLat(argv[2], argv[3]) { case .failure(let e): return .failure(e); case .success(let xy): (shape.longitude, shape.latitude) = xy }
            switch radiusAndUnit(argv[4], argv[5], redis62) { case .failure(let e): return .failure(e); case .success(let ru): (shape.radius, shape.conversion) = ru }
        } else if byMember {
            base = 5
            if let source {
                guard let s = source.score(of: argv[2]) else { return .failure(err("ERR could not decode requested zset member")) }
                (shape.longitude, shape.latitude) = Geo.decode(score: s)
                switch radiusAndUnit(argv[3], argv[4], redis62) { case .failure(let e): return .failure(e); case .success(let ru): (shape.radius, shape.conversion) = ru }
            }
        } else {
            base = isSearchStore ? 3 : 2
            if isSearchStore { storeKey = argv[1] }
        }

        var withAny = false, fromMember = false, fromLoc = false, byRadius = false, byBox = false
        var withOptions = false
        var sort = 0  // 0 none, 1 asc, 2 desc
        var count: Int64 = 0
        let remaining = argv.count - base
        var i = 0
        func arg(_ k: Int) -> [UInt8] { argv[base + k] }
        func isArg(_ word: String) -> Bool { RedisArgument.equalsIgnoringCase(arg(i), word) }
        while i < remaining {
            if isArg("withdist") || isArg("withhash") || isArg("withcoord") {
                withOptions = true
            } else if isArg("any") {
                withAny = true
            } else if isArg("asc") {
                sort = 1
            } else if isArg("desc") {
                sort = 2
            } else if isArg("count") && i + 1 < remaining {
                guard let c = RedisArgument.int64(arg(i + 1)) else { return .failure(err("ERR value is not an integer or out of range")) }
                if c <= 0 { return .failure(err("ERR COUNT must be > 0")) }
                count = c
                i += 1
            } else if (isArg("store") || isArg("storedist")) && i + 1 < remaining && !isSearch {
                storeKey = arg(i + 1)
                storeDist = isArg("storedist")
                i += 1
            } else if isArg("storedist") && isSearchStore {
                storeDist = true
            } else if isArg("frommember") && i + 1 < remaining && isSearch && !fromLoc {
                fromMember = true
                if let source {
                    guard let s = source.score(of: arg(i + 1)) else { return .failure(err("ERR could not decode requested zset member")) }
                    (shape.longitude, shape.latitude) = Geo.decode(score: s)
                }
                i += 1
            } else if isArg("fromlonlat") && i + 2 < remaining && isSearch && !fromMember {
                switch lonLat(arg(i + 1), arg(i + 2)) { case .failure(let e): return .failure(e); case .success(let xy): (shape.longitude, shape.latitude) = xy }
                fromLoc = true
                i += 2
            } else if isArg("byradius") && i + 2 < remaining && isSearch && !byBox {
                switch radiusAndUnit(arg(i + 1), arg(i + 2), redis62) { case .failure(let e): return .failure(e); case .success(let ru): (shape.radius, shape.conversion) = ru }
                shape.isRadius = true
                byRadius = true
                i += 2
            } else if isArg("bybox") && i + 3 < remaining && isSearch && !byRadius {
                guard let w = RedisDouble.parse(arg(i + 1)) else { return .failure(err("ERR need numeric width")) }
                guard let h = RedisDouble.parse(arg(i + 2)) else { return .failure(err("ERR need numeric height")) }
                if h < 0 || w < 0 { return .failure(err("ERR height or width cannot be negative")) }
                guard let conv = unit(arg(i + 3)) else { return .failure(err(unitError)) }
                (shape.width, shape.height, shape.conversion) = (w, h, conv)
                shape.isRadius = false
                byBox = true
                i += 3
            } else {
                return .failure(syntax)
            }
            i += 1
        }
        if storeKey != nil && withOptions && redis62 {
            return .failure(err("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORDS options"))
        }
        if storeKey != nil && withOptions {
            return .failure(err("ERR \(isSearchStore ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS") is not compatible with WITHDIST, WITHHASH and WITHCOORD options"))
        }
        let typed = String(decoding: name, as: UTF8.self)
        if isSearch && !(fromMember || fromLoc) { return .failure(err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for \(typed)")) }
        if isSearch && !(byRadius || byBox) { return .failure(err("ERR exactly one of BYRADIUS and BYBOX can be specified for \(typed)")) }
        if withAny && count == 0 { return .failure(err("ERR the ANY argument requires COUNT argument")) }
        guard let source else { return .success(Outcome(storeKey: storeKey, storeDistance: storeDist, matches: [])) }
        if count != 0 && sort == 0 && !withAny { sort = 1 }

        // membersOfAllNeighbors.
        let limit = withAny ? Int(count) : 0
        var found: [Match] = []
        let cells = Geo.searchCells(shape)
        var lastProcessed = 0
        for (k, cell) in cells.enumerated() {
            if cell.isZero { continue }
            // Redis compares with the last processed cell only when that is not the centre (index 0).
            if lastProcessed != 0 && cell == cells[lastProcessed] { continue }
            if !found.isEmpty && limit > 0 && found.count >= limit { break }
            let (lo, hi) = Geo.scoreRange(cell)
            for (member, score) in source.members(scoreFrom: lo, below: hi) {
                let (lon, lat) = Geo.decode(score: score)
                if let d = shape.distanceIfInside(lon: lon, lat: lat) {
                    found.append(Match(member: member, score: score, distance: d, longitude: lon, latitude: lat))
                }
                if !found.isEmpty && limit > 0 && found.count >= limit { break }
            }
            lastProcessed = k
        }
        if sort != 0 {
            // sort_gp_asc / sort_gp_desc; all of them: glibc's qsort (a stable merge sort); the
            // first COUNT only: Redis's pqsort.
            let sign = sort == 1 ? 1 : -1
            let cmp = { (a: Match, b: Match) -> Int in sign * (a.distance > b.distance ? 1 : a.distance == b.distance ? 0 : -1) }
            if count == 0 || found.count <= Int(count) {
                found = found.enumerated().sorted { x, y in
                    let c = cmp(x.element, y.element)
                    return c != 0 ? c < 0 : x.offset < y.offset
                }.map(\.element)
            } else {
                PartialQuickSort.sort(&found, lrange: 0, rrange: Int(count) - 1, by: cmp)
            }
        }
        if count > 0 && found.count > Int(count) { found.removeLast(found.count - Int(count)) }
        for k in found.indices { found[k].distance /= shape.conversion }
        return .success(Outcome(storeKey: storeKey, storeDistance: storeDist, matches: found))
    }

    /// extractLongLatOrReply.
    static func lonLat(_ a: [UInt8], _ b: [UInt8]) -> Result<(Double, Double), GeoError> {
        guard let x = RedisDouble.parse(a), let y = RedisDouble.parse(b) else { return .failure(err("ERR value is not a valid float")) }
        if x < Geo.lonMin || x > Geo.lonMax || y < Geo.latMin || y > Geo.latMax {
            return .failure(err("ERR invalid longitude,latitude pair \(RedisDouble.percentF(x)),\(RedisDouble.percentF(y))"))
        }
        return .success((x, y))
    }

    /// extractDistanceOrReply: the radius, then the unit's size in metres.
    static func radiusAndUnit(_ r: [UInt8], _ u: [UInt8], _ redis62: Bool) -> Result<(Double, Double), GeoError> {
        guard let d = RedisDouble.parse(r) else { return .failure(err("ERR need numeric radius")) }
        if d < 0 { return .failure(err("ERR radius cannot be negative")) }
        guard let conv = unit(u, caseSensitive: redis62) else {
            return .failure(err(redis62 ? "ERR unsupported unit provided. please use m, km, ft, mi"
                                        : "ERR unsupported unit provided. please use M, KM, FT, MI"))
        }
        return .success((d, conv))
    }

    /// extractUnitOrReply: the unit's size in metres (6.2 compares with strcmp, 7.0 with strcasecmp).
    static func unit(_ u: [UInt8], caseSensitive: Bool) -> Double? {
        func isUnit(_ w: String) -> Bool {
            caseSensitive ? Array(u.prefix { $0 != 0 }) == Array(w.utf8) : RedisArgument.equalsIgnoringCase(u, w)
        }
        if isUnit("m") { return 1 }
        if isUnit("km") { return 1000 }
        if isUnit("ft") { return 0.3048 }
        if isUnit("mi") { return 1609.34 }
        return nil
    }
}

enum RedisDouble {
    /// string2d (src/util.c): strtod over the whole argument; no leading space, no NaN, and an
    /// overflow or underflow to zero is refused.
    static func parse(_ s: [UInt8]) -> Double? {
        guard let first = s.first, !isSpace(first) else { return nil }
        var text = s
        text.append(0)
        return text.withUnsafeBufferPointer { buf -> Double? in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                errno = 0
                var end: UnsafeMutablePointer<CChar>? = nil
                let v = strtod(p, &end)
                guard let end, end - UnsafeMutablePointer(mutating: p) == s.count else { return nil }
                if errno == ERANGE && (v == .infinity || v == -.infinity || v == 0) { return nil }
                if v.isNaN { return nil }
                return v
            }
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

    /// printf("%f").
    static func percentF(_ v: Double) -> String {
        var buf = [CChar](repeating: 0, count: 400)
        _ = withVaList([v]) { vsnprintf(&buf, buf.count, "%f", $0) }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
