// Geohash arithmetic exactly as Redis's src/geohash.c and src/geohash_helper.c (7.0 = 8.x; 6.2
// computed distances without the equal-longitude shortcut and tested boxes with full haversines,
// kept here as `distance62` / `GeoShape.redis62`):
// 52-bit interleaved scores (26 steps per axis, latitude on the even bits), decoding to the cell
// centre, neighbours, the haversine distance on a sphere of radius 6372797.560856 m, and the
// choice of the nine cells a radius or box search scans. The same libm (sin, cos, asin, sqrt)
// and the same order of double operations as the C code, so results match bit for bit.
//
// API:
//   Geo.score(longitude:latitude:) -> the GEOADD score (nil outside -180...180, ±85.05112878)
//   Geo.decode(score:) -> (longitude, latitude) of the cell centre, as GEOPOS/GEOSEARCH see it
//   Geo.distance(...) -> metres (geohashGetDistance)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Geo {
    static let latMin = -85.05112878, latMax = 85.05112878
    static let lonMin = -180.0, lonMax = 180.0
    static let stepMax = 26
    static let earthRadius = 6372797.560856
    static let mercatorMax = 20037726.37
    static let dR = Double.pi / 180.0

    struct Bits: Equatable {
        var bits: UInt64
        var step: Int
        var isZero: Bool { bits == 0 && step == 0 }
    }

    struct Area {
        var lonMin: Double, lonMax: Double, latMin: Double, latMax: Double
    }

    static func interleave(_ xlo: UInt32, _ ylo: UInt32) -> UInt64 {
        let b: [UInt64] = [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF]
        let s: [UInt64] = [1, 2, 4, 8, 16]
        var x = UInt64(xlo), y = UInt64(ylo)
        for i in stride(from: 4, through: 0, by: -1) {
            x = (x | (x << s[i])) & b[i]
            y = (y | (y << s[i])) & b[i]
        }
        return x | (y << 1)
    }

    static func deinterleave(_ v: UInt64) -> UInt64 {
        let b: [UInt64] = [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF,
                           0x0000FFFF0000FFFF, 0x00000000FFFFFFFF]
        let s: [UInt64] = [0, 1, 2, 4, 8, 16]
        var x = v, y = v >> 1
        for i in 0..<6 {
            x = (x | (x >> s[i])) & b[i]
            y = (y | (y >> s[i])) & b[i]
        }
        return x | (y << 32)
    }

    /// C's conversion of a double to uint32_t / uint64_t as x86-64 compilers emit it, without
    /// trapping on values C leaves undefined.
    static func cUInt32(_ d: Double) -> UInt32 { UInt32(truncatingIfNeeded: cInt64(d)) }
    static func cInt64(_ d: Double) -> Int64 {
        guard d.isFinite, d > -9.223372036854775808e18, d < 9.223372036854775808e18 else { return .min }
        return Int64(d)
    }
    static func cUInt64(_ d: Double) -> UInt64 {
        if d.isNaN || d < 9.223372036854775808e18 { return UInt64(bitPattern: cInt64(d)) }
        return UInt64(bitPattern: cInt64(d - 9.223372036854775808e18)) ^ (1 << 63)
    }

    /// geohashEncode over the WGS84 ranges; nil outside them.
    static func encode(longitude: Double, latitude: Double, step: Int) -> Bits? {
        if step > 32 || step == 0 { return nil }
        if longitude > lonMax || longitude < lonMin || latitude > latMax || latitude < latMin { return nil }
        var latOffset = (latitude - latMin) / (latMax - latMin)
        var lonOffset = (longitude - lonMin) / (lonMax - lonMin)
        latOffset *= Double(UInt64(1) << UInt64(step))
        lonOffset *= Double(UInt64(1) << UInt64(step))
        return Bits(bits: interleave(cUInt32(latOffset), cUInt32(lonOffset)), step: step)
    }

    static func decodeArea(_ hash: Bits) -> Area? {
        if hash.isZero { return nil }
        let sep = deinterleave(hash.bits)
        let latScale = latMax - latMin, lonScale = lonMax - lonMin
        let ilato = UInt32(truncatingIfNeeded: sep)
        let ilono = UInt32(truncatingIfNeeded: sep >> 32)
        let div = Double(UInt64(1) << UInt64(hash.step))
        // (ilato + 1) is uint32_t arithmetic in C.
        return Area(lonMin: lonMin + (Double(ilono) * 1.0 / div) * lonScale,
                    lonMax: lonMin + (Double(ilono &+ 1) * 1.0 / div) * lonScale,
                    latMin: latMin + (Double(ilato) * 1.0 / div) * latScale,
                    latMax: latMin + (Double(ilato &+ 1) * 1.0 / div) * latScale)
    }

    /// decodeGeohash: a zset score (as 52-bit hash) to the centre of its cell, clamped.
    public static func decode(score: Double) -> (longitude: Double, latitude: Double) {
        let area = decodeArea(Bits(bits: cUInt64(score), step: stepMax))!
        var x = (area.lonMin + area.lonMax) / 2
        if x > lonMax { x = lonMax }
        if x < lonMin { x = lonMin }
        var y = (area.latMin + area.latMax) / 2
        if y > latMax { y = latMax }
        if y < latMin { y = latMin }
        return (x, y)
    }

    /// GEOADD's score for a point; nil where GEOADD answers "invalid longitude,latitude pair".
    public static func score(longitude: Double, latitude: Double) -> Double? {
        guard let h = encode(longitude: longitude, latitude: latitude, step: stepMax) else { return nil }
        return Double(align52(h))
    }

    static func align52(_ h: Bits) -> UInt64 { h.bits << UInt64(52 - h.step * 2) }

    static func move(_ h: inout Bits, x d: Int) {
        if d == 0 { return }
        var x = h.bits & 0xaaaaaaaaaaaaaaaa
        let y = h.bits & 0x5555555555555555
        let zz: UInt64 = 0x5555555555555555 >> UInt64(64 - h.step * 2)
        if d > 0 { x = x &+ (zz + 1) } else { x = x | zz; x = x &- (zz + 1) }
        x &= 0xaaaaaaaaaaaaaaaa >> UInt64(64 - h.step * 2)
        h.bits = x | y
    }

    static func move(_ h: inout Bits, y d: Int) {
        if d == 0 { return }
        let x = h.bits & 0xaaaaaaaaaaaaaaaa
        var y = h.bits & 0x5555555555555555
        let zz: UInt64 = 0xaaaaaaaaaaaaaaaa >> UInt64(64 - h.step * 2)
        if d > 0 { y = y &+ (zz + 1) } else { y = y | zz; y = y &- (zz + 1) }
        y &= 0x5555555555555555 >> UInt64(64 - h.step * 2)
        h.bits = x | y
    }

    /// geohashNeighbors, in the order membersOfAllNeighbors scans: centre, N, S, E, W, NE, NW, SE, SW.
    static func neighbors(_ h: Bits) -> [Bits] {
        func moved(_ dx: Int, _ dy: Int) -> Bits { var n = h; move(&n, x: dx); move(&n, y: dy); return n }
        return [h, moved(0, 1), moved(0, -1), moved(1, 0), moved(-1, 0), moved(1, 1), moved(-1, 1), moved(1, -1), moved(-1, -1)]
    }

    // MARK: Distances (geohash_helper.c)

    static func degRad(_ a: Double) -> Double { a * dR }
    static func radDeg(_ a: Double) -> Double { a / dR }

    static func latDistance(_ lat1: Double, _ lat2: Double) -> Double {
        earthRadius * fabs(degRad(lat2) - degRad(lat1))
    }

    /// geohashGetDistance: haversine, with the equal-longitude shortcut of Redis >= 7.0.
    public static func distance(lon1: Double, lat1: Double, lon2: Double, lat2: Double) -> Double {
        let lon1r = degRad(lon1), lon2r = degRad(lon2)
        let v = sin((lon2r - lon1r) / 2)
        if v == 0.0 { return latDistance(lat1, lat2) }
        let lat1r = degRad(lat1), lat2r = degRad(lat2)
        let u = sin((lat2r - lat1r) / 2)
        let a = u * u + cos(lat1r) * cos(lat2r) * v * v
        return 2.0 * earthRadius * asin(sqrt(a))
    }

    /// Redis 6.2's geohashGetDistance: the full haversine, whatever the longitudes.
    static func distance62(lon1: Double, lat1: Double, lon2: Double, lat2: Double) -> Double {
        let lat1r = degRad(lat1), lon1r = degRad(lon1), lat2r = degRad(lat2), lon2r = degRad(lon2)
        let u = sin((lat2r - lat1r) / 2)
        let v = sin((lon2r - lon1r) / 2)
        return 2.0 * earthRadius * asin(sqrt(u * u + cos(lat1r) * cos(lat2r) * v * v))
    }

    static func estimateSteps(radius: Double, latitude lat: Double) -> Int {
        if radius == 0 { return 26 }
        var range = radius
        var step = 1
        while range < mercatorMax {
            range *= 2
            step += 1
        }
        step -= 2
        if lat > 66 || lat < -66 {
            step -= 1
            if lat > 80 || lat < -80 { step -= 1 }
        }
        return min(max(step, 1), 26)
    }

    /// geohashCalculateAreasByShapeWGS84: the cells to scan (zeroed cells are skipped), in scan
    /// order, for a search centred on (lon, lat) with half-extents in metres.
    static func searchCells(_ shape: GeoShape) -> [Bits] {
        let (lon, lat) = (shape.longitude, shape.latitude)
        let height = shape.conversion * (shape.isRadius ? shape.radius : shape.height / 2)
        let width = shape.conversion * (shape.isRadius ? shape.radius : shape.width / 2)
        let latDelta = radDeg(height / earthRadius)
        let lonDeltaTop = radDeg(width / earthRadius / cos(degRad(lat + latDelta)))
        let lonDeltaBottom = radDeg(width / earthRadius / cos(degRad(lat - latDelta)))
        let southern = lat < 0
        let minLon = southern ? lon - lonDeltaBottom : lon - lonDeltaTop
        let maxLon = southern ? lon + lonDeltaBottom : lon + lonDeltaTop
        let minLat = lat - latDelta, maxLat = lat + latDelta

        var radiusMeters = shape.isRadius ? shape.radius
            : sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
        radiusMeters *= shape.conversion
        var steps = estimateSteps(radius: radiusMeters, latitude: lat)
        var hash = encode(longitude: lon, latitude: lat, step: steps) ?? Bits(bits: 0, step: steps)
        var cells = neighbors(hash)
        var area = decodeArea(hash) ?? Area(lonMin: 0, lonMax: 0, latMin: 0, latMax: 0)
        var decrease = false
        if let north = decodeArea(cells[1]), north.latMax < maxLat { decrease = true }
        if let south = decodeArea(cells[2]), south.latMin > minLat { decrease = true }
        if let east = decodeArea(cells[3]), east.lonMax < maxLon { decrease = true }
        if let west = decodeArea(cells[4]), west.lonMin > minLon { decrease = true }
        if steps > 1 && decrease {
            steps -= 1
            hash = encode(longitude: lon, latitude: lat, step: steps) ?? Bits(bits: 0, step: steps)
            cells = neighbors(hash)
            area = decodeArea(hash) ?? Area(lonMin: 0, lonMax: 0, latMin: 0, latMax: 0)
        }
        if steps >= 2 {
            let zero = Bits(bits: 0, step: 0)
            // Indices: 1 N, 2 S, 3 E, 4 W, 5 NE, 6 NW, 7 SE, 8 SW.
            if area.latMin < minLat { cells[2] = zero; cells[8] = zero; cells[7] = zero }
            if area.latMax > maxLat { cells[1] = zero; cells[5] = zero; cells[6] = zero }
            if area.lonMin < minLon { cells[4] = zero; cells[8] = zero; cells[6] = zero }
            if area.lonMax > maxLon { cells[3] = zero; cells[7] = zero; cells[5] = zero }
        }
        return cells
    }

    /// scoresOfGeoHashBox: the score range [min, max) of a cell.
    static func scoreRange(_ h: Bits) -> (min: Double, max: Double) {
        var next = h
        next.bits &+= 1
        return (Double(align52(h)), Double(align52(next)))
    }
}

/// A search area: centre, radius or box (in the unit), and the unit's size in metres.
struct GeoShape {
    var longitude: Double, latitude: Double
    var isRadius: Bool
    var radius = 0.0, width = 0.0, height = 0.0
    var conversion: Double
    /// Redis 6.2's distance and box test (geohash_helper.c before 7.0).
    var redis62 = false

    /// geoWithinShape for a point already decoded: the distance from the centre if inside.
    func distanceIfInside(lon: Double, lat: Double) -> Double? {
        if redis62 {
            let d62 = Geo.distance62
            if isRadius {
                let d = d62(longitude, latitude, lon, lat)
                return d > radius * conversion ? nil : d
            }
            let lonDistance = d62(lon, lat, longitude, lat)
            let latDistance = d62(lon, lat, lon, latitude)
            if lonDistance > width * conversion / 2 || latDistance > height * conversion / 2 { return nil }
            return d62(longitude, latitude, lon, lat)
        }
        if isRadius {
            let d = Geo.distance(lon1: longitude, lat1: latitude, lon2: lon, lat2: lat)
            return d > radius * conversion ? nil : d
        }
        let widthM = width * conversion, heightM = height * conversion
        if Geo.latDistance(lat, latitude) > heightM / 2 { return nil }
        if Geo.distance(lon1: lon, lat1: lat, lon2: longitude, lat2: lat) > widthM / 2 { return nil }
        return Geo.distance(lon1: longitude, lat1: latitude, lon2: lon, lat2: lat)
    }
}
