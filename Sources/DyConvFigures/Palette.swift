// Series styles that stay distinguishable without colour: the Okabe–Ito categorical palette
// (safe for the common colour-vision deficiencies), plus a dash pattern and a marker shape per
// series index, and a depth ramp (light → dark) for ordered series such as layers.
//
// Worked example: series 0 is blue #0072B2, solid, circle; series 1 vermillion #D55E00, dashed
// "6 3", square; series 2 bluish green #009E73, dotted "2 2", triangle. Index 8 wraps to colour 0
// but keeps a different (dash, marker) pair, because the three cycles have coprime lengths 8, 5, 6.

/// A series' look: colour, dash pattern and marker shape.
public struct SeriesStyle: Sendable, Equatable {
    public var color: String
    public var dash: [Double]
    public var marker: MarkerShape
    public init(color: String, dash: [Double] = [], marker: MarkerShape = .circle) {
        self.color = color; self.dash = dash; self.marker = marker
    }
}

public enum MarkerShape: String, Sendable, CaseIterable {
    case circle, square, triangle, diamond, triangleDown, cross

    /// The shape's name in the plural, as a caption says it ("downward triangles").
    public var pluralName: String {
        switch self {
        case .circle: "circles"
        case .square: "squares"
        case .triangle: "triangles"
        case .diamond: "diamonds"
        case .triangleDown: "downward triangles"
        case .cross: "crosses"
        }
    }

    /// Draws the marker centred at `p` with "radius" `size`, filled with `color` (open shapes
    /// outlined instead when `filled` is false).
    public func draw(into doc: inout SVGDocument, at p: Point, size: Double, color: String, filled: Bool = true) {
        let fill: String? = filled ? color : "#FFFFFF"
        switch self {
        case .circle:
            doc.circle(cx: p.x, cy: p.y, r: size, fill: fill, stroke: color, strokeWidth: 1)
        case .square:
            let s = size * 0.9
            doc.rect(x: p.x - s, y: p.y - s, width: 2 * s, height: 2 * s, fill: fill, stroke: color, strokeWidth: 1)
        case .triangle:
            doc.path(.polygon([Point(p.x, p.y - size * 1.15), Point(p.x + size, p.y + size * 0.75),
                               Point(p.x - size, p.y + size * 0.75)]), fill: fill, stroke: color, strokeWidth: 1)
        case .triangleDown:
            doc.path(.polygon([Point(p.x, p.y + size * 1.15), Point(p.x + size, p.y - size * 0.75),
                               Point(p.x - size, p.y - size * 0.75)]), fill: fill, stroke: color, strokeWidth: 1)
        case .diamond:
            doc.path(.polygon([Point(p.x, p.y - size * 1.2), Point(p.x + size, p.y), Point(p.x, p.y + size * 1.2),
                               Point(p.x - size, p.y)]), fill: fill, stroke: color, strokeWidth: 1)
        case .cross:
            doc.line(x1: p.x - size, y1: p.y - size, x2: p.x + size, y2: p.y + size, stroke: color, width: 2)
            doc.line(x1: p.x - size, y1: p.y + size, x2: p.x + size, y2: p.y - size, stroke: color, width: 2)
        }
    }
}

public enum Palette {
    /// Okabe–Ito, ordered for contrast on white (yellow last: it is the weakest on white).
    public static let okabeIto = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    /// Solid, dashed, dotted, dash-dot, long dash.
    public static let dashes: [[Double]] = [[], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4]]
    public static let markers: [MarkerShape] = [.circle, .square, .triangle, .diamond, .triangleDown, .cross]

    /// Neutral colours of the figures' furniture.
    public static let axis = "#333333"
    public static let grid = "#E3E3E3"
    public static let muted = "#666666"
    public static let noData = "#D9D9D9"

    /// The style of series `index`.
    public static func style(_ index: Int) -> SeriesStyle {
        let i = Swift.max(0, index)
        return SeriesStyle(color: okabeIto[i % okabeIto.count], dash: dashes[i % dashes.count],
                           marker: markers[i % markers.count])
    }

    /// `#RRGGBB` for an 8-bit RGB triple.
    public static func hex(_ c: (red: UInt8, green: UInt8, blue: UInt8)) -> String {
        let digits = Array("0123456789ABCDEF")
        return "#" + [c.red, c.green, c.blue].map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined()
    }

    /// Viridis at `f` as `#RRGGBB`.
    public static func viridis(_ f: Double) -> String { hex(Viridis.rgb(f)) }

    /// The colour of item `index` of `count` ordered items (e.g. layers, lowest first): light
    /// yellow-green for the first, dark violet for the last (viridis 0.85 → 0), so depth reads as
    /// darkness in colour and in grey-scale.
    public static func depthRamp(_ index: Int, of count: Int) -> String {
        guard count > 1 else { return viridis(0.3) }
        let t = Double(Swift.min(Swift.max(index, 0), count - 1)) / Double(count - 1)
        return viridis(0.85 * (1 - t))
    }

    /// Black or white, whichever reads better on `Viridis.rgb(f)` (for labels inside heat-map cells).
    public static func textOnViridis(_ f: Double) -> String {
        let c = Viridis.rgb(f)
        let luma = 0.2126 * Double(c.red) + 0.7152 * Double(c.green) + 0.0722 * Double(c.blue)
        return luma > 140 ? "#000000" : "#FFFFFF"
    }
}
