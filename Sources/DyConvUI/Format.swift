#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Number formatting for the screen: fixed decimals, no Foundation, no locale.
///
/// Every number a panel shows goes through here, and every function is total: NaN and ±inf
/// come out as "nan" / "inf" / "-inf", huge values in short scientific form, never a trap.
public enum Format {
    /// `value` with `decimals` digits after the point (rounded half away from zero);
    /// "nan", "inf" and "-inf" for non-finite values; "-3.0e38" beyond ±1e9.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if abs(value) >= 1e9 { return scientific(value) }
        let d = min(max(decimals, 0), 9)
        var scale: Double = 1
        for _ in 0..<d { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e15 else { return scientific(value) }
        let n = UInt64(scaled)
        let intPart = n / UInt64(scale)
        var out = negative && n != 0 ? "-" : ""
        out += String(intPart)
        if d > 0 {
            var frac = String(n % UInt64(scale))
            while frac.count < d { frac = "0" + frac }
            out += "." + frac
        }
        return out
    }

    /// A finite value as "1.2e38" / "-3.0e-7": two significant digits and the exponent.
    static func scientific(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return fixed(value, 0) }
        let a = abs(value)
        var exponent = Int(log10(a).rounded(.down))
        var mantissa = a / pow(10, Double(exponent))
        if mantissa.rounded(.toNearestOrAwayFromZero) >= 10 || (mantissa * 10).rounded(.toNearestOrAwayFromZero) >= 100 {
            mantissa /= 10; exponent += 1
        }
        return (value < 0 ? "-" : "") + fixed(mantissa, 1) + "e" + String(exponent)
    }

    /// Float convenience for `fixed(_:_:)`.
    public static func fixed(_ value: Float, _ decimals: Int) -> String { fixed(Double(value), decimals) }

    /// A probability-like value in [0, 1] as "0.45" or ".45" (`compact` drops the leading zero).
    public static func unit(_ value: Float, compact: Bool = false) -> String {
        let s = fixed(Double(value), 2)
        if compact, s.hasPrefix("0.") { return String(s.dropFirst()) }
        return s
    }

    /// The widest `temperature(_:)` text of a τ within `Limits.temperature` (1e-4 → "0.0001", 1e5 → "100000").
    public static let temperatureWidth = 6

    /// A temperature with three significant digits: 0.0512, 0.800, 1.25, 30.0, 125.
    public static func temperature(_ t: Float) -> String {
        let v = Double(t)
        if !v.isFinite { return fixed(v, 0) }
        let a = abs(v)
        if a >= 100 { return fixed(v, 0) }
        if a >= 10 { return fixed(v, 1) }
        if a >= 1 { return fixed(v, 2) }
        if a >= 0.1 { return fixed(v, 3) }
        return fixed(v, 4)
    }

    /// A percentage with one decimal: "87.3%".
    public static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 1) + "%" }

    /// A duration in milliseconds: "0.84 ms", "12.3 ms", "1520 ms".
    public static func milliseconds(_ ms: Double) -> String {
        if ms < 10 { return fixed(ms, 2) + " ms" }
        if ms < 1000 { return fixed(ms, 1) + " ms" }
        return fixed(ms, 0) + " ms"
    }

    /// `s` cut to `width` characters (with "…" when cut) or padded with spaces to `width`.
    public static func pad(_ s: String, _ width: Int) -> String {
        let n = s.unicodeScalars.count
        if n == width { return s }
        if n < width { return s + String(repeating: " ", count: width - n) }
        guard width > 0 else { return "" }
        var v = String.UnicodeScalarView()
        for (i, c) in s.unicodeScalars.enumerated() where i < width - 1 { v.append(c) }
        v.append("…")
        return String(v)
    }

    /// `s` cut to `width` characters (with "…" when cut), not padded.
    public static func clip(_ s: String, _ width: Int) -> String {
        s.unicodeScalars.count <= width ? s : pad(s, width)
    }

    /// Subscript digits for small indices: 1 → "₁", 12 → "₁₂".
    public static func subscriptNumber(_ n: Int) -> String {
        let digits: [Unicode.Scalar] = ["₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"]
        var v = String.UnicodeScalarView()
        for c in String(n).unicodeScalars {
            if let d = Int(String(c)) { v.append(digits[d]) } else { v.append(c) }
        }
        return String(v)
    }
}

extension Format {
    /// A class name in at most `width` characters: whole when it fits, else its first
    /// synonym (ImageNet's names list synonyms separated by ", "), cut with "…" if still too
    /// long.
    public static func className(_ name: String, _ width: Int) -> String {
        guard name.unicodeScalars.count > width else { return name }
        let first = name.firstRange(of: ", ").map { String(name[..<$0.lowerBound]) } ?? name
        return clip(first, max(width, 0))
    }
}

extension Format {
    /// A probability in four characters with three decimals, for many classes (where the
    /// top ones are often below 0.01): ".012", ".500", "1.00"; non-finite values as `unit`.
    public static func smallUnit(_ value: Float) -> String {
        guard value.isFinite, value >= 0, value < 0.9995 else { return unit(value) }
        return String(fixed(Double(value), 3).dropFirst())
    }
}

// MARK: - Flowing text into a width (panels never cut a sentence they can wrap)

/// `parts` joined with " · " onto lines of at most `width` cells; a part starts a new line
/// rather than being cut (only a part wider than a whole line is clipped).
func flowParts(_ parts: [String], width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for part in parts where !part.isEmpty {
        let candidate = current.isEmpty ? part : current + " · " + part
        if candidate.unicodeScalars.count <= width || current.isEmpty {
            current = candidate
        } else {
            lines.append(current); current = part
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines.map { Format.clip($0, width) }
}

/// `text` wrapped at spaces onto lines of at most `width` cells.
func wrapWords(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
        let candidate = current.isEmpty ? String(word) : current + " " + word
        if candidate.unicodeScalars.count <= width || current.isEmpty {
            current = candidate
        } else {
            lines.append(current); current = String(word)
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines.map { Format.clip($0, max(width, 0)) }
}

extension Format {
    /// `s` cut to `width` columns at the front, with "…" first: for names whose end tells them
    /// apart (`features.14.conv.1` → `…14.conv.1`).
    static func clipLeading(_ s: String, _ width: Int) -> String {
        let scalars = s.unicodeScalars
        guard width > 0 else { return "" }
        guard scalars.count > width else { return s }
        guard width > 1 else { return "…" }
        return "…" + String(String.UnicodeScalarView(scalars.suffix(width - 1)))
    }
}
