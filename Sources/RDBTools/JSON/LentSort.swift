extension LentSortKey {
    /// Sorts `keys` by `prefixLess`. Stored orders are often sorted already or a few ascending or descending runs
    /// (intsets: one run per sign and number of digits, as "9" < "10" numerically but not in bytes, and
    /// negative numbers' text descends): those are merged in linear time, run by run, through scratch space at
    /// the array's end; anything else goes to introsort, or from `radixThreshold` keys on to a radix sort by
    /// prefix bytes (through the same scratch space). Keys with equal prefixes may end in any order (see
    /// `resolvePrefixTies`).
    static func sortByPrefix(_ keys: inout [LentSortKey], scratch: inout [LentSortKey]) {
        let count = keys.count
        guard count > 1 else { return }
        if count <= smallSortLimit {
            // A listpack hash's or set's few fields: insertion sort (linear when already in order) beats finding
            // and merging runs through scratch space.
            keys.withUnsafeMutableBufferPointer { insertionSort($0.baseAddress!, 0, count) { prefixLess($0, $1) } }
            return
        }
        // Run starts (at most 16 runs), found on the way; descending runs are reversed in place.
        var starts: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let runs: Int = keys.withUnsafeMutableBufferPointer { k in
            withUnsafeMutableBytes(of: &starts) { raw in
                let runStart = raw.bindMemory(to: Int.self)
                var runs = 0
                var i = 0
                while i < count {
                    if runs == 16 { return 17 }
                    runStart[runs] = i
                    runs &+= 1
                    var j = i &+ 1
                    if j < count && prefixLess(k[j], k[i]) {
                        while j &+ 1 < count && prefixLess(k[j &+ 1], k[j]) { j &+= 1 }
                        j &+= 1
                        reverse(k, i, j)
                    } else {
                        while j < count && !prefixLess(k[j], k[j &- 1]) { j &+= 1 }
                    }
                    i = j
                }
                runStart[runs] = count
                return runs
            }
        }
        if runs > 16 {
            if count < radixThreshold {
                keys.withUnsafeMutableBufferPointer { introsort($0) { prefixLess($0, $1) } }
                return
            }
            withScratch(&keys, &scratch) { k, scratch in radixSort(k, scratch, 0, count, byte: 0) }
            return
        }
        if runs == 1 { return }
        // Merge neighbouring runs until one is left; the left run of each merge is copied to the scratch space
        // (as long as the keys: a left run may hold all but one of them).
        withScratch(&keys, &scratch) { k, scratch in
            withUnsafeMutableBytes(of: &starts) { raw in
                let runStart = raw.bindMemory(to: Int.self)
                var n = runs
                while n > 1 {
                    var merged = 0
                    var r = 0
                    while r < n {
                        if r &+ 1 < n {
                            merge(k, runStart[r], runStart[r &+ 1], runStart[r &+ 2], scratch, room: count)
                        }
                        runStart[merged] = runStart[r]
                        merged &+= 1
                        r &+= 2
                    }
                    runStart[merged] = count
                    n = merged
                }
            }
        }
    }

    /// Calls `body` with the keys and scratch space for as many keys: `scratch`, grown when too short and
    /// otherwise kept from sort to sort (its contents are never read before being written).
    @inline(__always)
    private static func withScratch(_ keys: inout [LentSortKey], _ scratch: inout [LentSortKey],
                                    _ body: (UnsafeMutablePointer<LentSortKey>, UnsafeMutablePointer<LentSortKey>) -> Void) {
        let count = keys.count
        if scratch.count < count {
            scratch.append(contentsOf: repeatElement(LentSortKey(high: 0, low: 0, index: 0), count: count &- scratch.count))
        }
        keys.withUnsafeMutableBufferPointer { k in
            scratch.withUnsafeMutableBufferPointer { s in body(k.baseAddress!, s.baseAddress!) }
        }
    }

    /// Up to this many keys, `sortByPrefix` sorts by insertion.
    static let smallSortLimit = 32

    /// From this many keys on, an unordered input is radix-sorted.
    static let radixThreshold = 1024

    /// Byte `i` (0...15) of a key's 16-byte prefix.
    @inline(__always)
    private static func prefixByte(_ x: LentSortKey, _ i: Int) -> Int {
        Int(truncatingIfNeeded: (i < 8 ? x.high >> UInt64((7 &- i) &* 8) : x.low >> UInt64((15 &- i) &* 8)) & 0xff)
    }

    /// Most-significant-digit radix sort of `k[lo..<hi]` by prefix bytes `byte...15` (the bytes before are equal
    /// in the range): a byte every key shares is passed over, a range under `radixThreshold / 4` keys goes to
    /// insertion sort or introsort. At most 16 levels, so linear in the keys whatever the input. `scratch` has
    /// room for `hi` keys.
    private static func radixSort(_ k: UnsafeMutablePointer<LentSortKey>, _ scratch: UnsafeMutablePointer<LentSortKey>,
                                  _ lo: Int, _ hi: Int, byte first: Int) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 257) { counts in
            var byte = first
            while byte < 16 {
                let n = hi &- lo
                if n < radixThreshold / 4 {
                    introsort(UnsafeMutableBufferPointer(start: k + lo, count: n)) { prefixLess($0, $1) }
                    return
                }
                counts.initialize(repeating: 0)
                var i = lo
                while i < hi {
                    counts[prefixByte(k[i], byte) &+ 1] &+= 1
                    i &+= 1
                }
                if counts[prefixByte(k[lo], byte) &+ 1] == n {  // one byte value for all: next byte
                    byte &+= 1
                    continue
                }
                // counts[b] becomes the offset of bucket b; scatter to the scratch space and copy back.
                counts[0] = lo
                for b in 1...256 { counts[b] &+= counts[b &- 1] }
                i = lo
                while i < hi {
                    let b = prefixByte(k[i], byte)
                    scratch[counts[b]] = k[i]
                    counts[b] &+= 1
                    i &+= 1
                }
                (k + lo).update(from: scratch + lo, count: n)
                // counts[b] is now the end of bucket b.
                var start = lo
                for b in 0..<256 {
                    let end = counts[b]
                    if end &- start > 1 && byte < 15 { radixSort(k, scratch, start, end, byte: byte &+ 1) }
                    start = end
                }
                return
            }
        }
    }

    @inline(__always)
    private static func reverse(_ k: UnsafeMutableBufferPointer<LentSortKey>, _ lo: Int, _ hi: Int) {
        var a = lo, b = hi &- 1
        while a < b {
            k.swapAt(a, b)
            a &+= 1
            b &-= 1
        }
    }

    /// Merges the sorted ranges `[lo, mid)` and `[mid, hi)` of `k`, with `[lo, mid)` copied to `scratch` first
    /// (which has room for all of `k`).
    @inline(__always)
    private static func merge(_ k: UnsafeMutablePointer<LentSortKey>, _ lo: Int, _ mid: Int, _ hi: Int,
                              _ scratch: UnsafeMutablePointer<LentSortKey>, room: Int) {
        if !prefixLess(k[mid], k[mid &- 1]) { return }  // already in order
        let leftCount = mid &- lo
        precondition(leftCount <= room, "merge scratch space too small")
        scratch.update(from: k + lo, count: leftCount)
        var a = 0, b = mid, out = lo
        while a < leftCount && b < hi {
            if prefixLess(k[b], scratch[a]) {
                k[out] = k[b]
                b &+= 1
            } else {
                k[out] = scratch[a]
                a &+= 1
            }
            out &+= 1
        }
        if a < leftCount { (k + out).update(from: scratch + a, count: leftCount &- a) }
    }

    /// After `sortByPrefix`: re-sorts every group of keys with equal prefixes by `less` (the full order).
    @inline(__always)
    static func resolvePrefixTies(_ k: UnsafeMutableBufferPointer<LentSortKey>,
                                  _ less: (LentSortKey, LentSortKey) -> Bool) {
        let n = k.count
        var i = 0
        while i &+ 1 < n {
            if k[i].high != k[i &+ 1].high || k[i].low != k[i &+ 1].low {
                i &+= 1
                continue
            }
            var j = i &+ 2
            while j < n && k[j].high == k[i].high && k[j].low == k[i].low { j &+= 1 }
            introsort(UnsafeMutableBufferPointer(rebasing: k[i..<j]), less)
            i = j
        }
    }
}

/// An unstable in-place sort for `LentSortKey`s (where the order leaves ties, `resolvePrefixTies` orders them
/// afterwards by bytes and index, so the result equals what a stable sort gives): introsort, that is quicksort with a
/// median-of-three pivot, insertion sort below 16 elements, and heapsort past a depth of 2 log2(n) so that
/// no input (files are untrusted) makes it quadratic. About twice as fast as the standard library's
/// merge sort on the dump's sets and hashes, which spends its time moving runs through a buffer.
extension LentSortKey {
    @inline(__always)
    static func introsort(_ k: UnsafeMutableBufferPointer<LentSortKey>,
                          _ less: (LentSortKey, LentSortKey) -> Bool) {
        guard let p = k.baseAddress, k.count > 1 else { return }
        if k.count <= 16 {
            insertionSort(p, 0, k.count, less)
            return
        }
        var depth = 0
        var n = k.count
        while n > 0 {
            depth &+= 2
            n >>= 1
        }
        quicksort(p, 0, k.count, depth, less)
    }

    @inline(__always)
    private static func quicksort(_ k: UnsafeMutablePointer<LentSortKey>, _ lo0: Int, _ hi0: Int, _ depth0: Int,
                                  _ less: (LentSortKey, LentSortKey) -> Bool) {
        // An explicit stack of ranges on the stack (the larger half is pushed, so it holds at most log2(n) + 1
        // ranges: 64 is room for any count).
        withUnsafeTemporaryAllocation(of: (Int, Int, Int).self, capacity: 64) { stack in
            var top = 1
            stack[0] = (lo0, hi0, depth0)
            while top > 0 {
                top &-= 1
                let (lo0, hi0, depth0) = stack[top]
                var lo = lo0, hi = hi0, depth = depth0
                while hi &- lo > 16 {
                    if depth == 0 {
                        heapsort(k + lo, hi &- lo, less)
                        lo = hi
                        break
                    }
                    depth &-= 1
                    // Median of three to k[lo], then Hoare partition around it.
                    let mid = lo &+ (hi &- lo) / 2
                    if less(k[mid], k[lo]) { k.swapAt(mid, lo) }
                    if less(k[hi &- 1], k[lo]) { k.swapAt(hi &- 1, lo) }
                    if less(k[hi &- 1], k[mid]) { k.swapAt(hi &- 1, mid) }
                    k.swapAt(lo, mid)
                    let pivot = k[lo]
                    var i = lo
                    var j = hi
                    while true {
                        repeat { i &+= 1 } while i < hi && less(k[i], pivot)
                        repeat { j &-= 1 } while less(pivot, k[j])
                        if i >= j { break }
                        k.swapAt(i, j)
                    }
                    k.swapAt(lo, j)
                    // [lo, j) < pivot = k[j] < (j, hi)
                    if j &- lo < hi &- (j &+ 1) {
                        stack[top] = (j &+ 1, hi, depth)
                        hi = j
                    } else {
                        stack[top] = (lo, j, depth)
                        lo = j &+ 1
                    }
                    top &+= 1
                }
                insertionSort(k, lo, hi, less)
            }
        }
    }

    @inline(__always)
    static func insertionSort(_ k: UnsafeMutablePointer<LentSortKey>, _ lo: Int, _ hi: Int,
                              _ less: (LentSortKey, LentSortKey) -> Bool) {
        var i = lo &+ 1
        while i < hi {
            let x = k[i]
            var j = i
            while j > lo && less(x, k[j &- 1]) {
                k[j] = k[j &- 1]
                j &-= 1
            }
            k[j] = x
            i &+= 1
        }
    }

    private static func heapsort(_ k: UnsafeMutablePointer<LentSortKey>, _ n: Int,
                                 _ less: (LentSortKey, LentSortKey) -> Bool) {
        func siftDown(_ start: Int, _ end: Int) {
            var root = start
            while true {
                var child = 2 &* root &+ 1
                if child >= end { return }
                if child &+ 1 < end && less(k[child], k[child &+ 1]) { child &+= 1 }
                if !less(k[root], k[child]) { return }
                k.swapAt(root, child)
                root = child
            }
        }
        var start = n / 2
        while start > 0 {
            start &-= 1
            siftDown(start, n)
        }
        var end = n
        while end > 1 {
            end &-= 1
            k.swapAt(0, end)
            siftDown(0, end)
        }
    }
}

extension UnsafeMutablePointer where Pointee == LentSortKey {
    @inline(__always)
    fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
