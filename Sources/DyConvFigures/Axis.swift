// Axes: a domain (linear or log10), its tick values and their labels, and the map from a value to
// a pixel coordinate.
//
// Tick values are "nice": multiples of 1, 2 or 5 × 10^e. They are computed from integer
// mantissas and an exact power of ten, so a tick is the Double nearest its decimal (0.3, not
// 0.30000000000000004), and its label is exact.
//
// Worked examples (hand-checked in AxisTests):
//   Ticks.linear(0.8712, 0.9431, maxCount: 5): raw step 0.0719/4 = 0.018 → nice 0.02 → 0.88 0.90 0.92 0.94
//   Ticks.log10(0.25, 100): powers 1, 10, 100 (three decades: powers only)
//   Ticks.log10(2e6, 1e7): one power (1e7), so 1-2-5 multiples: 2e6 5e6 1e7, labelled "2M" "5M" "10M"

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C library's log10 under a name that `Ticks.log10` and `Axis.Kind.log10` do not shadow.
func decimalLog(_ x: Double) -> Double { log10(x) }

/// Tick computations.
public enum Ticks {
    /// 10^e exactly as a Double (e in -20…20).
    static func power(_ e: Int) -> Double {
        var p = 1.0
        for _ in 0..<abs(e) { p *= 10 }
        return e < 0 ? 1 / p : p
    }

    /// m × 10^e without accumulating binary error: an integer times or over an exact power of ten.
    static func value(_ m: Int, _ e: Int) -> Double { e < 0 ? Double(m) / power(-e) : Double(m) * power(e) }

    /// The nice step (1, 2 or 5 × 10^e) at or above `raw`, as mantissa and exponent.
    static func niceStep(_ raw: Double) -> (mantissa: Int, exponent: Int) {
        let r = raw.isFinite && raw > 0 ? raw : 1
        var e = Int(decimalLog(r).rounded(.down))
        let f = r / power(e)
        let m: Int
        if f <= 1 + 1e-9 { m = 1 } else if f <= 2 + 1e-9 { m = 2 } else if f <= 5 + 1e-9 { m = 5 } else { m = 1; e += 1 }
        return (m, e)
    }

    /// Nice linear ticks inside [lower, upper], at most about `maxCount` of them.
    public static func linear(_ lower: Double, _ upper: Double, maxCount: Int = 6) -> [Double] {
        let (lo, hi) = ordered(lower, upper)
        let step = niceStep((hi - lo) / Double(Swift.max(1, maxCount - 1)))
        let unit = value(step.mantissa, step.exponent)
        let first = Int((lo / unit - 1e-9).rounded(.up)), last = Int((hi / unit + 1e-9).rounded(.down))
        guard first <= last, last - first < 1000 else { return [lo, hi] }
        return (first...last).map { value($0 * step.mantissa, step.exponent) }
    }

    /// The decimals a label needs for linear ticks of this domain (0 for steps ≥ 1).
    public static func linearDecimals(_ lower: Double, _ upper: Double, maxCount: Int = 6) -> Int {
        let (lo, hi) = ordered(lower, upper)
        return Swift.max(0, -niceStep((hi - lo) / Double(Swift.max(1, maxCount - 1))).exponent)
    }

    /// Log10 ticks inside [lower, upper] (both > 0): the powers of ten when there are three or
    /// more, else the 1-2-5 multiples when three or more, else the 1…9 multiples, else the two ends.
    public static func log10(_ lower: Double, _ upper: Double) -> [Double] {
        let (lo, hi) = ordered(Swift.max(lower, 1e-12), Swift.max(upper, 1e-12))
        let e0 = Int(decimalLog(lo).rounded(.down)), e1 = Int(decimalLog(hi).rounded(.up))
        guard e1 - e0 <= 40 else { return [lo, hi] }
        let low = lo * (1 - 1e-9), high = hi * (1 + 1e-9)
        func multiples(_ ms: [Int]) -> [Double] {
            var out: [Double] = []
            for e in e0...e1 {
                for m in ms {
                    let v: Double = value(m, e)
                    if v >= low && v <= high { out.append(v) }
                }
            }
            return out
        }
        let powers = multiples([1])
        if powers.count >= 3 { return powers }
        let oneTwoFive = multiples([1, 2, 5])
        if oneTwoFive.count >= 3 { return oneTwoFive }
        let all = multiples(Array(1...9))
        return all.count >= 2 ? all : [lo, hi]
    }

    /// The 1-2-5 value at or below `v` (for log domains).
    public static func niceLogFloor(_ v: Double) -> Double {
        let e = Int(decimalLog(Swift.max(v, 1e-12)).rounded(.down))
        for m in [5, 2, 1] where value(m, e) <= v * (1 + 1e-9) { return value(m, e) }
        return value(1, e)
    }

    /// The 1-2-5 value at or above `v`.
    public static func niceLogCeil(_ v: Double) -> Double {
        let e = Int(decimalLog(Swift.max(v, 1e-12)).rounded(.down))
        for m in [1, 2, 5] where value(m, e) >= v * (1 - 1e-9) { return value(m, e) }
        return value(1, e + 1)
    }

    static func ordered(_ a: Double, _ b: Double) -> (Double, Double) {
        var lo = Swift.min(a, b), hi = Swift.max(a, b)
        if !lo.isFinite || !hi.isFinite { return (0, 1) }
        if hi - lo < 1e-12 { let pad = Swift.max(abs(lo) * 0.05, 1e-3); lo -= pad; hi += pad }
        return (lo, hi)
    }
}

/// One axis: kind, domain, ticks and how tick labels are written.
public struct Axis: Sendable {
    public enum Kind: Sendable { case linear, log10 }
    /// Tick label style: plain decimals, percent (value × 100), or compact with k/M/G suffixes.
    public enum Format: Sendable { case decimal, percent, compact }

    public var kind: Kind
    public var lower: Double
    public var upper: Double
    public var ticks: [Double]
    public var format: Format
    /// Decimals for `.decimal` and `.percent` labels.
    public var decimals: Int

    /// An axis over exactly [lower, upper]; ticks computed unless given.
    public init(kind: Kind = .linear, lower: Double, upper: Double, ticks: [Double]? = nil, format: Format = .decimal,
                maxTicks: Int = 6) {
        self.kind = kind
        let (lo, hi) = kind == .log10 ? Ticks.ordered(Swift.max(lower, 1e-12), Swift.max(upper, 1e-12))
            : Ticks.ordered(lower, upper)
        self.lower = lo; self.upper = hi; self.format = format
        self.ticks = ticks?.filter { $0 >= lo - 1e-9 * abs(hi - lo) && $0 <= hi + 1e-9 * abs(hi - lo) }
            ?? (kind == .log10 ? Ticks.log10(lo, hi) : Ticks.linear(lo, hi, maxCount: maxTicks))
        let step = kind == .linear ? Ticks.linearDecimals(lo, hi, maxCount: maxTicks) : 0
        self.decimals = format == .percent ? Swift.max(0, step - 2) : step
    }

    /// An axis whose domain covers `values` and is widened to the next ticks (linear) or 1-2-5
    /// values (log10); `padding` widens a linear range by that fraction first.
    public static func fitting(_ values: [Double], kind: Kind = .linear, format: Format = .decimal, maxTicks: Int = 6,
                               padding: Double = 0, clampTo limits: ClosedRange<Double>? = nil) -> Axis {
        let finite = values.filter { $0.isFinite && (kind == .linear || $0 > 0) }
        var lo = finite.min() ?? (kind == .log10 ? 1 : 0), hi = finite.max() ?? (kind == .log10 ? 10 : 1)
        switch kind {
        case .log10:
            lo = Ticks.niceLogFloor(lo); hi = Ticks.niceLogCeil(hi)
            if hi <= lo { hi = lo * 10 }
        case .linear:
            let pad = (hi - lo) * padding
            (lo, hi) = Ticks.ordered(lo - pad, hi + pad)
            let step = Ticks.niceStep((hi - lo) / Double(Swift.max(1, maxTicks - 1)))
            let unit = Ticks.value(step.mantissa, step.exponent)
            lo = Ticks.value(Int((lo / unit + 1e-9).rounded(.down)) * step.mantissa, step.exponent)
            hi = Ticks.value(Int((hi / unit - 1e-9).rounded(.up)) * step.mantissa, step.exponent)
        }
        if let limits { lo = Swift.max(lo, limits.lowerBound); hi = Swift.min(hi, limits.upperBound) }
        return Axis(kind: kind, lower: lo, upper: hi, format: format, maxTicks: maxTicks)
    }

    /// Where `value` lies in the domain: 0 at `lower`, 1 at `upper` (not clamped; log axes map
    /// values ≤ 0 to the lower end).
    public func fraction(_ value: Double) -> Double {
        switch kind {
        case .linear: return (value - lower) / (upper - lower)
        case .log10:
            guard value > 0 else { return 0 }
            let l = decimalLog(lower), u = decimalLog(upper)
            return (decimalLog(value) - l) / (u - l)
        }
    }

    /// The pixel coordinate of `value` on a span from `start` (at `lower`) to `end` (at `upper`);
    /// for a y axis pass start = plot bottom, end = plot top.
    public func position(_ value: Double, from start: Double, to end: Double) -> Double {
        start + (end - start) * fraction(value)
    }

    /// `position` of `value` clamped to the domain first (a whisker beyond the axis ends at its edge).
    public func clampedPosition(_ value: Double, from start: Double, to end: Double) -> Double {
        position(Swift.min(Swift.max(value, lower), upper), from: start, to: end)
    }

    public func contains(_ value: Double) -> Bool {
        let f = fraction(value)
        return f >= -1e-9 && f <= 1 + 1e-9
    }

    /// The label of a tick value.
    public func label(_ value: Double) -> String {
        switch format {
        case .decimal: return kind == .log10 ? Self.compact(value) : SVGNumber.fixed(value, decimals: decimals)
        case .percent: return SVGNumber.fixed(value * 100, decimals: decimals) + "%"
        case .compact: return Self.compact(value)
        }
    }

    /// 1500 → "1.5k", 2e6 → "2M", 0.25 → "0.25", 10 → "10".
    public static func compact(_ value: Double) -> String {
        let a = abs(value)
        if a >= 1e9 { return SVGNumber.trimmed(value / 1e9, maxDecimals: 2) + "G" }
        if a >= 1e6 { return SVGNumber.trimmed(value / 1e6, maxDecimals: 2) + "M" }
        if a >= 1e4 { return SVGNumber.trimmed(value / 1e3, maxDecimals: 1) + "k" }
        return SVGNumber.trimmed(value, maxDecimals: 3)
    }
}
