import Foundation

/// A τ, a recipe number or a count, as short as it reads: 30, 0.25, 2.25, 1e-05; nan, inf, -inf.
/// The CLI's tables (`NumberText.compact`) and the report's labels and tables print τ the same way.
public func compactNumber(_ v: Float) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
    return String(format: "%.3g", Double(v))
}
