/// Drawing primitives shared by the panels: bars, boxes, rules and a braille dot canvas.
extension CellGrid {
    /// Left-to-right partial blocks, 1/8 … 8/8 of a cell.
    static let eighths: [Unicode.Scalar] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"]
    /// Bottom-to-top partial blocks, 1/8 … 8/8 of a cell.
    static let verticalEighths: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A horizontal bar `width` cells long filled to `fraction` (0–1) with eighth-block
    /// precision; the unfilled part is a dotted track in `track` style.
    public mutating func bar(_ x: Int, _ y: Int, width: Int, fraction: Double, fill: Style, track: Style,
                             trackGlyph: Unicode.Scalar = "·") {
        guard width > 0 else { return }
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let eighthsTotal = Int((f * Double(width * 8)).rounded())
        let full = eighthsTotal / 8, part = eighthsTotal % 8
        for i in 0..<width {
            if i < full {
                put(x + i, y, "█", fill)
            } else if i == full && part > 0 {
                put(x + i, y, CellGrid.eighths[part - 1], fill)
            } else {
                put(x + i, y, trackGlyph, track)
            }
        }
    }

    /// A vertical scroll bar `height` cells tall at column `x`: a dotted track with a thumb
    /// whose length and position show which `visible` of `total` rows, from `first`, are shown.
    public mutating func scrollBar(x: Int, y: Int, height: Int, first: Int, visible: Int, total: Int,
                                   track: Style, thumb: Style) {
        guard height > 0, total > 0 else { return }
        let length = min(max(height * visible / total, 1), height)
        // The thumb reaches the bottom exactly when the last row is shown.
        let start = total > visible ? min((height - length) * first / (total - visible), height - length) : 0
        for i in 0..<height {
            let inThumb = i >= start && i < start + length
            put(x, y + i, inThumb ? "┃" : "│", inThumb ? thumb : track)
        }
    }

    /// A one-cell vertical level glyph for a fraction 0–1 (" " for 0, "█" for 1).
    public static func levelGlyph(_ fraction: Double) -> Unicode.Scalar {
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let n = Int((f * 8).rounded())
        return n == 0 ? " " : verticalEighths[n - 1]
    }

    /// A box outline with an optional title on the top edge.
    public mutating func box(_ rect: Rect, style: Style, title: String? = nil, titleStyle: Style? = nil) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let x0 = rect.x, x1 = rect.maxX - 1, y0 = rect.y, y1 = rect.maxY - 1
        for x in (x0 + 1)..<x1 { put(x, y0, "─", style); put(x, y1, "─", style) }
        for y in (y0 + 1)..<y1 { put(x0, y, "│", style); put(x1, y, "│", style) }
        put(x0, y0, "┌", style); put(x1, y0, "┐", style)
        put(x0, y1, "└", style); put(x1, y1, "┘", style)
        if let title, rect.width > 4 {
            text(x0 + 2, y0, " " + Format.clip(title, rect.width - 6) + " ", titleStyle ?? style)
        }
    }

    /// A section heading: the title, then a thin rule to the end of the rectangle's row.
    public mutating func heading(_ rect: Rect, _ title: String, style: Style, rule: Style, right: String? = nil, rightStyle: Style? = nil) {
        guard !rect.isEmpty else { return }
        let end = text(rect.x, rect.y, Format.clip(title, rect.width), style, maxWidth: rect.width)
        var ruleEnd = rect.maxX
        if let right, !right.isEmpty {
            let n = right.unicodeScalars.count
            if end + 2 + n <= rect.maxX {
                textRight(rect.maxX, rect.y, right, rightStyle ?? rule)
                ruleEnd = rect.maxX - n - 1
            }
        }
        if end + 1 < ruleEnd {
            for x in (end + 1)..<ruleEnd { put(x, rect.y, "─", rule) }
        }
    }
}

/// The nearest integer cell or dot coordinate of a plotted value, or nil when it is NaN,
/// infinite or beyond ±`limit` (that far off, nothing of it is on screen).
///
/// The one conversion of floats computed from the engine's numbers to `Int` in the panels:
/// `Int(_:)` traps on NaN and infinity, which a τ of 1e-40 or extreme weights produce, so a
/// point that cannot be placed is left out instead.
public func plotCoordinate(_ v: Double, limit: Double = 1_000_000) -> Int? {
    guard v.isFinite, abs(v) <= limit else { return nil }
    return Int(v.rounded())
}

/// A canvas of braille dots (2 × 4 dots per cell) with one style per cell, for plotting
/// clouds, lines and polygons at sub-cell resolution; blitted onto a `CellGrid`.
public struct BrailleCanvas {
    /// Size in cells.
    public let columns: Int, rows: Int
    /// Size in dots.
    public var dotWidth: Int { columns * 2 }
    public var dotHeight: Int { rows * 4 }
    private var bits: [UInt8]
    private var styles: [Style]
    private var priority: [UInt8]

    /// An empty canvas of `columns × rows` cells.
    public init(columns: Int, rows: Int) {
        self.columns = max(columns, 0); self.rows = max(rows, 0)
        bits = [UInt8](repeating: 0, count: self.columns * self.rows)
        styles = [Style](repeating: .plain, count: self.columns * self.rows)
        priority = [UInt8](repeating: 0, count: self.columns * self.rows)
    }

    /// Braille dot bit for (column 0–1, row 0–3) within a cell (Unicode braille numbering).
    private static let dotBit: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    /// Sets the dot at dot coordinates (x, y); a cell takes the style of its highest-priority dot.
    public mutating func set(_ x: Int, _ y: Int, style: Style, priority p: UInt8 = 1) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        let c = (y / 4) * columns + x / 2
        bits[c] |= BrailleCanvas.dotBit[x & 1][y & 3]
        if p >= priority[c] { priority[c] = p; styles[c] = style }
    }

    /// A straight line of dots between two dot coordinates (Bresenham).
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, style: Style, priority p: UInt8 = 1) {
        stroke(x0, y0, x1, y1, every: 1, style: style, priority: p)
    }

    /// A dotted line: every `period`-th dot of `line` (a hidden edge, a guide).
    public mutating func dottedLine(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, period: Int = 3, style: Style,
                                    priority p: UInt8 = 1) {
        stroke(x0, y0, x1, y1, every: max(period, 1), style: style, priority: p)
    }

    /// Bresenham from (x0, y0) to (x1, y1), setting every `every`-th dot (the first included).
    private mutating func stroke(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, every: Int, style: Style, priority p: UInt8) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        var steps = 0
        while steps < 100_000 {
            if steps % every == 0 { set(x, y, style: style, priority: p) }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
            steps += 1
        }
    }

    /// Copies the non-empty cells onto the grid with their top-left at (x, y).
    public func blit(into grid: inout CellGrid, x: Int, y: Int) {
        for r in 0..<rows {
            for c in 0..<columns {
                let i = r * columns + c
                guard bits[i] != 0, let scalar = Unicode.Scalar(0x2800 + UInt32(bits[i])) else { continue }
                grid.put(x + c, y + r, scalar, styles[i])
            }
        }
    }
}
