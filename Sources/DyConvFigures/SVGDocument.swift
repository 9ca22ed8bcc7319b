// A small, deterministic SVG writer: the one place where figures become text.
//
// Inside: `SVGNumber` (the one number formatter), `SVGText` (XML escaping and the approximate text
// width every layout decision uses), `Point`/`Frame` (geometry), and `SVGDocument` (elements,
// groups, <title>/<desc>, `render()`).
//
// Determinism is the point: a test regenerates the committed figures and compares bytes, so every
// coordinate goes through `SVGNumber.format` (two decimals, never an exponent, never "-0.00"),
// attributes are written in a fixed order, and nothing depends on the clock, the locale or paths.
//
// Worked example:
//   var doc = SVGDocument(width: 100, height: 50, title: "A & B")
//   doc.rect(x: 10, y: 10, width: 30, height: 20, fill: "#0072B2")
//   doc.text("x<y", x: 50, y: 45, size: 12, anchor: .middle)
//   doc.render()
// gives
//   <svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100.00 50.00" font-family="DejaVu Sans, sans-serif" role="img">
//   <title>A &amp; B</title>
//   <rect x="10.00" y="10.00" width="30.00" height="20.00" fill="#0072B2"/>
//   <text x="50.00" y="45.00" font-size="12.00" text-anchor="middle" fill="#000000">x&lt;y</text>
//   </svg>

/// The one number formatter of the figures: fixed two decimals, no exponent, "-0.00" written as
/// "0.00", non-finite values written as "0.00" (a chart never emits them; this keeps the output
/// valid XML if one slips through), magnitudes clamped to 1e12.
public enum SVGNumber {
    public static func format(_ value: Double) -> String { fixed(value, decimals: 2) }

    /// `value` with exactly `decimals` (0…6) decimals, the same rules as `format`.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return decimals == 0 ? "0" : "0." + String(repeating: "0", count: decimals) }
        let d = Swift.min(Swift.max(decimals, 0), 6)
        var scale: Int64 = 1
        for _ in 0..<d { scale *= 10 }
        let clamped = Swift.min(Swift.max(value, -1e12), 1e12)
        let units = Int64((clamped * Double(scale)).rounded())
        let sign = units < 0 ? "-" : ""
        let magnitude = units.magnitude
        let whole = magnitude / UInt64(scale)
        guard d > 0 else { return "\(sign)\(whole)" }
        let fraction = String(magnitude % UInt64(scale))
        return "\(sign)\(whole)." + String(repeating: "0", count: d - fraction.count) + fraction
    }

    /// `value` with at most `maxDecimals` decimals and trailing zeros removed ("0.25", "2", "0.1").
    public static func trimmed(_ value: Double, maxDecimals: Int = 3) -> String {
        var s = fixed(value, decimals: maxDecimals)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}

/// XML escaping and the approximate text metrics used for layout.
public enum SVGText {
    /// `s` with & < > " ' replaced by entities, safe in text and in attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Approximate rendered width of `s` at font size `size`: 0.6 em per character. DejaVu Sans
    /// averages about 0.55 em for mixed text, so this errs on the wide side and labels laid out
    /// with it do not collide.
    public static func width(_ s: String, size: Double) -> Double { 0.6 * size * Double(s.count) }

    /// `s` shortened with a trailing "…" so that `width(_, size)` ≤ `maxWidth` (at least one
    /// character and the ellipsis are kept).
    public static func abbreviate(_ s: String, maxWidth: Double, size: Double) -> String {
        if width(s, size: size) <= maxWidth { return s }
        let fit = Swift.max(1, Int(maxWidth / (0.6 * size)) - 1)
        return String(s.prefix(fit)) + "…"
    }
}

/// A point in SVG user units (y grows downwards).
public struct Point: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// A rectangle in SVG user units: a panel's outer frame or a chart's plot area.
public struct Frame: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    /// The frame shrunk by the given margins.
    public func inset(top: Double = 0, left: Double = 0, bottom: Double = 0, right: Double = 0) -> Frame {
        Frame(x: x + left, y: y + top, width: Swift.max(1, width - left - right), height: Swift.max(1, height - top - bottom))
    }
    /// Whether the two frames share interior area (touching edges do not overlap).
    public func overlaps(_ other: Frame) -> Bool {
        !(maxX <= other.x || other.maxX <= x || maxY <= other.y || other.maxY <= y)
    }
    /// Whether `p` lies strictly inside the frame.
    public func contains(_ p: Point) -> Bool { p.x > x && p.x < maxX && p.y > y && p.y < maxY }
}

/// One SVG document: a size in px (the viewBox is the same size, origin 0,0), an accessible
/// <title> and optional <desc>, and a body of elements written in call order.
public struct SVGDocument: Sendable {
    public enum Anchor: String, Sendable { case start, middle, end }

    public let width: Double
    public let height: Double
    public var title: String
    public var desc: String?
    private var body: [String] = []

    public static let fontFamily = "DejaVu Sans, sans-serif"

    public init(width: Double, height: Double, title: String, desc: String? = nil) {
        self.width = width; self.height = height; self.title = title; self.desc = desc
    }

    /// The width and height as written in the root element (whole pixels: what a renderer's
    /// PNG has).
    public var pixelWidth: Int { Int(width.rounded()) }
    public var pixelHeight: Int { Int(height.rounded()) }

    private static func n(_ v: Double) -> String { SVGNumber.format(v) }

    /// Optional presentation attributes in a fixed order.
    private static func paint(fill: String?, stroke: String?, strokeWidth: Double?, dash: [Double]?,
                              opacity: Double? = nil) -> String {
        var s = ""
        if let fill { s += " fill=\"\(SVGText.escape(fill))\"" }
        if let stroke { s += " stroke=\"\(SVGText.escape(stroke))\"" }
        if let strokeWidth { s += " stroke-width=\"\(n(strokeWidth))\"" }
        if let dash, !dash.isEmpty { s += " stroke-dasharray=\"\(dash.map(n).joined(separator: " "))\"" }
        if let opacity { s += " opacity=\"\(n(opacity))\"" }
        return s
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String? = nil,
                              stroke: String? = nil, strokeWidth: Double? = nil, dash: [Double]? = nil,
                              opacity: Double? = nil) {
        body.append("<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(Swift.max(0, width)))\" "
            + "height=\"\(Self.n(Swift.max(0, height)))\""
            + Self.paint(fill: fill ?? "none", stroke: stroke, strokeWidth: strokeWidth, dash: dash, opacity: opacity) + "/>")
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String = "#000000",
                              width: Double = 1, dash: [Double]? = nil) {
        body.append("<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\""
            + Self.paint(fill: nil, stroke: stroke, strokeWidth: width, dash: dash) + "/>")
    }

    public mutating func polyline(points: [Point], stroke: String = "#000000", width: Double = 1,
                                  dash: [Double]? = nil) {
        guard !points.isEmpty else { return }
        let pts = points.map { "\(Self.n($0.x)),\(Self.n($0.y))" }.joined(separator: " ")
        body.append("<polyline points=\"\(pts)\"" + Self.paint(fill: "none", stroke: stroke, strokeWidth: width, dash: dash)
            + " stroke-linejoin=\"round\"/>")
    }

    public mutating func circle(cx: Double, cy: Double, r: Double, fill: String? = nil, stroke: String? = nil,
                                strokeWidth: Double? = nil) {
        body.append("<circle cx=\"\(Self.n(cx))\" cy=\"\(Self.n(cy))\" r=\"\(Self.n(r))\""
            + Self.paint(fill: fill ?? "none", stroke: stroke, strokeWidth: strokeWidth, dash: nil) + "/>")
    }

    /// A path from `PathData` (so its numbers go through the one formatter too).
    public mutating func path(_ d: PathData, fill: String? = nil, stroke: String? = nil, strokeWidth: Double? = nil,
                              dash: [Double]? = nil, opacity: Double? = nil) {
        body.append("<path d=\"\(d.text)\"" + Self.paint(fill: fill ?? "none", stroke: stroke, strokeWidth: strokeWidth,
                                                          dash: dash, opacity: opacity) + "/>")
    }

    /// Text at (x, y) (the baseline), optionally rotated by `rotate` degrees about (x, y).
    public mutating func text(_ s: String, x: Double, y: Double, size: Double = 11, anchor: Anchor = .start,
                              bold: Bool = false, fill: String = "#000000", rotate: Double? = nil) {
        var a = "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" font-size=\"\(Self.n(size))\""
        if anchor != .start { a += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { a += " font-weight=\"bold\"" }
        a += " fill=\"\(SVGText.escape(fill))\""
        if let rotate { a += " transform=\"rotate(\(Self.n(rotate)) \(Self.n(x)) \(Self.n(y)))\"" }
        body.append(a + ">\(SVGText.escape(s))</text>")
    }

    /// A <g> around what `build` draws; `label` becomes an accessible aria-label (e.g. a panel's title).
    public mutating func group(id: String? = nil, label: String? = nil, _ build: (inout SVGDocument) -> Void) {
        var open = "<g"
        if let id { open += " id=\"\(SVGText.escape(id))\"" }
        if let label { open += " aria-label=\"\(SVGText.escape(label))\"" }
        body.append(open + ">")
        build(&self)
        body.append("</g>")
    }

    /// The document as SVG 1.1 text, one element per line, ending with a newline.
    public func render() -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(pixelWidth)\" height=\"\(pixelHeight)\" "
            + "viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" font-family=\"\(Self.fontFamily)\" role=\"img\">\n"
        out += "<title>\(SVGText.escape(title))</title>\n"
        if let desc { out += "<desc>\(SVGText.escape(desc))</desc>\n" }
        for element in body { out += element + "\n" }
        return out + "</svg>\n"
    }
}

/// Path data built from commands, numbers through `SVGNumber`.
public struct PathData: Sendable {
    public private(set) var text = ""
    public init() {}
    public mutating func move(_ p: Point) { append("M\(SVGNumber.format(p.x)) \(SVGNumber.format(p.y))") }
    public mutating func lineTo(_ p: Point) { append("L\(SVGNumber.format(p.x)) \(SVGNumber.format(p.y))") }
    public mutating func close() { append("Z") }
    private mutating func append(_ s: String) { text += text.isEmpty ? s : " " + s }

    /// A closed polygon through `points`.
    public static func polygon(_ points: [Point]) -> PathData {
        var d = PathData()
        for (i, p) in points.enumerated() { i == 0 ? d.move(p) : d.lineTo(p) }
        if !points.isEmpty { d.close() }
        return d
    }
}
