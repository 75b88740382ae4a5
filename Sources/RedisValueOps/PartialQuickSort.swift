// Redis's pqsort (src/pqsort.c): Bentley & McIlroy's quicksort that only recurses into the parts
// overlapping the element range [lrange, rrange], so those positions end up holding what a full
// sort would put there. GEORADIUS/GEOSEARCH use it to pick the first COUNT matches; with ties at
// the cut, which tied elements are kept follows this exact sequence of swaps.

enum PartialQuickSort {
    /// Sorts `v` enough that v[lrange...rrange] is in its sorted place; `cmp` returns <0, 0, >0.
    static func sort<T>(_ v: inout [T], lrange: Int, rrange: Int, by cmp: (T, T) -> Int) {
        func med3(_ a: Int, _ b: Int, _ c: Int) -> Int {
            cmp(v[a], v[b]) < 0
                ? (cmp(v[b], v[c]) < 0 ? b : (cmp(v[a], v[c]) < 0 ? c : a))
                : (cmp(v[b], v[c]) > 0 ? b : (cmp(v[a], v[c]) < 0 ? a : c))
        }
        func vecswap(_ a: Int, _ b: Int, _ n: Int) {
            for k in 0..<max(n, 0) { v.swapAt(a + k, b + k) }
        }
        /// Whether [base, base+count) lies wholly before or after [lrange, rrange].
        func outside(_ base: Int, _ count: Int) -> Bool {
            (lrange < base && rrange < base) || (lrange > base + count - 1 && rrange > base + count - 1)
        }
        func partial(_ base0: Int, _ n0: Int) {
            var base = base0, n = n0
            while true {
                if n < 7 {
                    var pm = base + 1
                    while pm < base + n {
                        var pl = pm
                        while pl > base && cmp(v[pl - 1], v[pl]) > 0 { v.swapAt(pl, pl - 1); pl -= 1 }
                        pm += 1
                    }
                    return
                }
                var pm = base + n / 2
                if n > 7 {
                    var pl = base, pn = base + n - 1
                    if n > 40 {
                        let d = n / 8
                        pl = med3(pl, pl + d, pl + 2 * d)
                        pm = med3(pm - d, pm, pm + d)
                        pn = med3(pn - 2 * d, pn - d, pn)
                    }
                    pm = med3(pl, pm, pn)
                }
                v.swapAt(base, pm)
                var pa = base + 1, pb = base + 1, pc = base + n - 1, pd = base + n - 1
                while true {
                    while pb <= pc {
                        let r = cmp(v[pb], v[base])
                        if r > 0 { break }
                        if r == 0 { v.swapAt(pa, pb); pa += 1 }
                        pb += 1
                    }
                    while pb <= pc {
                        let r = cmp(v[pc], v[base])
                        if r < 0 { break }
                        if r == 0 { v.swapAt(pc, pd); pd -= 1 }
                        pc -= 1
                    }
                    if pb > pc { break }
                    v.swapAt(pb, pc)
                    pb += 1
                    pc -= 1
                }
                let pn = base + n
                var r = min(pa - base, pb - pa)
                vecswap(base, pb - r, r)
                r = min(pd - pc, pn - pd - 1)
                vecswap(pb, pn - r, r)
                r = pb - pa
                if r > 1 && !outside(base, r) { partial(base, r) }
                r = pd - pc
                if r > 1 {
                    base = pn - r
                    n = r
                    if !outside(base, n) { continue }
                }
                return
            }
        }
        if v.count > 1 { partial(0, v.count) }
    }
}
