import DyConvEngine
import Foundation

/// The one path from a number to text for every printer of the CLI (text and JSON).
///
/// A checkpoint with extreme weights or a τ near the float limits sends NaN and ±inf to the
/// printers, and `Int(Double.nan)` (a bar's length) traps. So every printed number goes through
/// here: a finite value is formatted as asked, a non-finite one prints as `nan`, `inf` or `-inf`
/// (in JSON: `null`, see docs/CLI-JSON.md), and a bar of a non-finite value is blank.
enum NumberText {
    /// "nan", "inf" or "-inf" for a non-finite value; nil for a finite one.
    static func nonFinite(_ v: Double) -> String? {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return nil
    }

    /// `v` with `decimals` digits after the point (`+` before a positive value when `sign`),
    /// right-aligned to `width`: `fixed(0.5, 3, width: 6)` is " 0.500".
    static func fixed(_ v: Double, _ decimals: Int, width: Int = 0, sign: Bool = false) -> String {
        let text = nonFinite(v) ?? String(format: "%\(sign ? "+" : "").\(max(0, decimals))f", v)
        return text.leftPad(width)
    }

    /// `fixed` of a `Float`.
    static func fixed(_ v: Float, _ decimals: Int, width: Int = 0, sign: Bool = false) -> String {
        fixed(Double(v), decimals, width: width, sign: sign)
    }

    /// A fraction as a percentage: `percent(0.1234)` is "12.34%" (the width counts the "%").
    static func percent(_ fraction: Double, _ decimals: Int = 2, width: Int = 0, sign: Bool = false) -> String {
        (fixed(100 * fraction, decimals, sign: sign) + "%").leftPad(width)
    }

    /// A compact number: 1, 0.5, 2.25, 30, 1e-05; nan, inf.
    static func compact(_ v: Float) -> String { compactNumber(v) }

    /// A fixed-width horizontal bar for a value in [0, 1] (clamped); blank for NaN.
    static func bar(_ value: Double, width: Int) -> String {
        let width = max(0, width)
        guard !value.isNaN else { return String(repeating: " ", count: width) }
        let v = min(max(value, 0), 1)
        let eighths = Int((v * Double(width * 8)).rounded())
        let full = eighths / 8, rest = eighths % 8
        let parts = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var s = String(repeating: "█", count: full)
        if full < width { s += parts[rest] }
        return s.padding(toLength: width, withPad: " ", startingAt: 0)
    }
}

/// A compact number (`NumberText.compact`); the name the commands use.
func formatNumber(_ v: Float) -> String { NumberText.compact(v) }

/// A fixed-width bar (`NumberText.bar`).
func bar(_ value: Double, width: Int) -> String { NumberText.bar(value, width: width) }

extension String {
    /// Right-aligns to `width` characters.
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    /// Left-aligns to `width` characters (longer text is kept whole).
    func rightPad(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

// `JSONNumber`, `jsonText` and `.json` live in DyConvEngine (Formatting/JSONText.swift): the CLI
// and `dyconv report` write JSON through the same code.

/// Prints a `--json` output (`jsonText`).
func printJSON<T: Encodable>(_ value: T) throws {
    print(try jsonText(value))
}
