extension LentSortKey {
    /// Sorts by `prefixLess`. Stored orders are often sorted already or a few ascending or descending runs
    /// (intsets: one run per sign and number of digits, as "9" < "10" numerically but not in bytes, and
    /// negative numbers' text descends): those go to the standard library's merge sort, which finds runs
    /// (reversing descending ones) and merges them in linear time; anything else to introsort.
    static func sortByPrefix(_ k: UnsafeMutableBufferPointer<LentSortKey>) {
        let count = k.count
        var runs = 1
        var i = 1
        var direction = 0  // 1 ascending, -1 descending, 0 not known yet (one element in the run)
        while i < count && runs <= 16 {
            let down = prefixLess(k[i], k[i &- 1])
            if direction == 0 {
                direction = down ? -1 : 1
            } else if down != (direction < 0) {
                runs &+= 1
                direction = 0
            }
            i &+= 1
        }
        if runs > 16 {
            introsort(k) { prefixLess($0, $1) }
        } else if runs > 1 || direction < 0 {
            var m = k
            m.sort { prefixLess($0, $1) }
        }
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

/// An unstable in-place sort for `LentSortKey`s under a strict total order (the comparators break every
/// tie by index, so the result equals what a stable sort gives): introsort, that is quicksort with a
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
        // An explicit stack of ranges (the larger half is pushed, so it holds at most log2(n) ranges).
        var stack: [(Int, Int, Int)] = [(lo0, hi0, depth0)]
        while let (lo, hi, depth) = stack.popLast() {
            var lo = lo, hi = hi, depth = depth
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
                    stack.append((j &+ 1, hi, depth))
                    hi = j
                } else {
                    stack.append((lo, j, depth))
                    lo = j &+ 1
                }
            }
            insertionSort(k, lo, hi, less)
        }
    }

    @inline(__always)
    private static func insertionSort(_ k: UnsafeMutablePointer<LentSortKey>, _ lo: Int, _ hi: Int,
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
