import Testing
@testable import DyConvEngine

/// `EntropyHistogram`, the one quantile routine behind `dyconv report`'s box plots, `eval
/// --json`'s `entropyBox` and the TUI's dataset view: nearest-rank quantiles good to half a bin,
/// exact at the extremes, NaN left out, and merging equal to adding everything.
///
/// Example: values 0.1 0.3 0.5 0.7 (sorted); the nearest-rank median is the value of rank
/// ⌈0.5·4⌉ = 2, 0.3 (an interpolating quantile would say 0.4).
@Suite struct EntropyHistogramTests {
    /// Half a bin: the resolution `EntropyHistogram` promises.
    static let halfBin = 0.5 / Double(EntropyHistogram.binCount)

    /// Oracle: the nearest-rank definition on the hand-sorted list — the value of rank
    /// max(1, ⌈p·n⌉) (1-based) in ascending order.
    static func nearestRank(_ sorted: [Double], _ p: Double) -> Double {
        var rank = Int((p * Double(sorted.count)).rounded(.up))
        rank = min(max(rank, 1), sorted.count)
        return sorted[rank - 1]
    }

    static func histogram(_ values: [Float]) -> EntropyHistogram {
        var h = EntropyHistogram()
        for v in values { h.add(v) }
        return h
    }

    /// Oracle: the list sorted by hand (below), nearest rank. An even count tells nearest rank
    /// from interpolation: the median of four values is the second, not the mean of two.
    @Test func quantilesOfASmallListAreNearestRank() throws {
        let values: [Float] = [0.7, 0.1, 0.5, 0.3]
        let sorted = [0.1, 0.3, 0.5, 0.7]                  // by hand
        let h = Self.histogram(values)
        #expect(h.count == 4 && h.nonFinite == 0)
        for (p, want) in [(0.05, 0.1), (0.25, 0.1), (0.26, 0.3), (0.5, 0.3), (0.51, 0.5), (0.75, 0.5), (0.95, 0.7), (1, 0.7)] {
            let got = try #require(h.quantile(p))
            #expect(abs(got - want) <= Self.halfBin + 1e-7, "p \(p): \(got) vs \(want)")
            #expect(Self.nearestRank(sorted, p) == want, "the hand table itself")
        }
        // Interpolation would put the median at 0.4: more than half a bin away.
        #expect(abs(try #require(h.quantile(0.5)) - 0.4) > 0.09)
    }

    /// Oracle: the nearest-rank quantile of the sorted list of 997 values spread over [0, 1]
    /// (the fractional parts of i·φ), within half a bin, at the box's five p and a few others;
    /// `box` holds the same five quantiles.
    @Test func quantilesMatchTheSortedListWithinHalfABin() throws {
        let values = (1...997).map { Float((Double($0) * 0.6180339887498949).truncatingRemainder(dividingBy: 1)) }
        let sorted = values.map(Double.init).sorted()
        let h = Self.histogram(values)
        for p in [0, 0.01, 0.05, 0.25, 1.0 / 3, 0.5, 0.75, 0.95, 0.999, 1] {
            let got = try #require(h.quantile(p))
            let want = Self.nearestRank(sorted, p)
            #expect(abs(got - want) <= Self.halfBin + 1e-9, "p \(p): \(got) vs \(want)")
        }
        let box = try #require(h.box)
        #expect(box == EntropyBox(p5: h.quantile(0.05)!, q1: h.quantile(0.25)!, median: h.quantile(0.5)!,
                                  q3: h.quantile(0.75)!, p95: h.quantile(0.95)!))
        // Every quantile stays within the values added (the clamp).
        #expect(h.minimum == sorted.first && h.maximum == sorted.last)
        #expect(h.quantile(0)! >= sorted.first! && h.quantile(1)! <= sorted.last!)
    }

    /// Oracle: the clamp to [minimum, maximum]. A layer whose images are all exactly 1 (flat
    /// attention, or K = 1) reports exactly 1 — not its bin's centre 0.9995; all 0 reports 0.
    @Test func constantLayersAreExact() throws {
        let ones = Self.histogram([Float](repeating: 1, count: 50))
        #expect(ones.box == EntropyBox(p5: 1, q1: 1, median: 1, q3: 1, p95: 1))
        let zeros = Self.histogram([Float](repeating: 0, count: 7))
        #expect(zeros.box == EntropyBox(p5: 0, q1: 0, median: 0, q3: 0, p95: 0))
        // Rounding just outside [0, 1] falls in the end bins and stays the extreme.
        let outside = Self.histogram([-1e-7, 0.5, 1.0000001])
        #expect(outside.counts.first == 1 && outside.counts.last == 1 && outside.counts.reduce(0, +) == 3)
        #expect(outside.minimum == Double(Float(-1e-7)) && outside.maximum == Double(Float(1.0000001)))
    }

    /// Oracle: the definition of `nonFinite`. NaN (and ±∞) is counted there and left out of
    /// the quantiles, which are those of the finite values alone; only NaN gives no box.
    @Test func nonFiniteValuesAreCountedApart() throws {
        let h = Self.histogram([0.2, .nan, 0.4, .infinity, 0.6, .nan])
        #expect(h.count == 3 && h.nonFinite == 3)
        #expect(h.counts.reduce(0, +) == 3)
        #expect(h.box == Self.histogram([0.2, 0.4, 0.6]).box)
        let nan = Self.histogram([.nan, .nan])
        #expect(nan.nonFinite == 2 && nan.count == 0)
        #expect(nan.box == nil && nan.quantile(0.5) == nil && nan.minimum == nil)
        #expect(EntropyHistogram().box == nil)
    }

    /// Oracle: one histogram with every value added. Merging the parts (any split, with an
    /// empty part and NaN) gives the same counts, extremes, NaN count and quantiles.
    @Test func mergeEqualsAddingEverything() {
        let values = (0..<300).map { i -> Float in i % 37 == 0 ? .nan : Float((Double(i) * 0.377).truncatingRemainder(dividingBy: 1)) }
        let whole = Self.histogram(values)
        for cuts in [[0, 300], [0, 1, 300], [0, 100, 200, 300], [0, 299, 300], [0, 0, 150, 300]] {
            var merged = EntropyHistogram()
            for (a, b) in zip(cuts, cuts.dropFirst()) { merged.merge(Self.histogram(Array(values[a..<b]))) }
            #expect(merged == whole, "cuts \(cuts)")
            #expect(merged.box == whole.box)
        }
        // Merging into a non-empty histogram keeps the extremes of both.
        var a = Self.histogram([0.3, 0.9])
        a.merge(Self.histogram([0.1]))
        #expect(a.minimum == Double(Float(0.1)) && a.maximum == Double(Float(0.9)) && a.count == 3)
    }
}
