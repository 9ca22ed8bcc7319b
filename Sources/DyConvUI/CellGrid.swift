/// A terminal colour: the terminal's default, or an index of the xterm 256-colour palette.
///
/// Indices 0–7 are the ANSI colours (usable on 8-colour terminals), 16–231 the 6×6×6 colour
/// cube and 232–255 the 24-step grey ramp.
public struct Color: Hashable, Sendable {
    /// `0xFFFF` is the terminal default; otherwise a palette index 0–255.
    public let rawValue: UInt16

    /// Wraps a raw value (`0xFFFF` = terminal default, otherwise a palette index).
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The terminal's default foreground or background colour.
    public static let `default` = Color(rawValue: 0xFFFF)

    /// A palette colour by index.
    public static func index(_ i: Int) -> Color { Color(rawValue: UInt16(min(max(i, 0), 255))) }

    /// Whether this is the terminal default colour.
    public var isDefault: Bool { rawValue == 0xFFFF }

    /// The palette index, or -1 for the default colour (ncurses' convention).
    public var paletteIndex: Int { isDefault ? -1 : Int(rawValue) }

    // ANSI colours (the only ones an 8-colour terminal has).
    public static let black = Color(rawValue: 0)
    public static let red = Color(rawValue: 1)
    public static let green = Color(rawValue: 2)
    public static let yellow = Color(rawValue: 3)
    public static let blue = Color(rawValue: 4)
    public static let magenta = Color(rawValue: 5)
    public static let cyan = Color(rawValue: 6)
    public static let white = Color(rawValue: 7)

    /// An xterm colour-cube entry from components 0–5.
    public static func cube(_ r: Int, _ g: Int, _ b: Int) -> Color {
        .index(16 + 36 * min(max(r, 0), 5) + 6 * min(max(g, 0), 5) + min(max(b, 0), 5))
    }

    /// The closest xterm palette grey to an 8-bit grey level (0 = black, 255 = white),
    /// drawn from the 24-step grey ramp plus the cube's pure black and white (26 levels).
    public static func gray(_ level: UInt8) -> Color {
        // Ramp 232...255 covers 8, 18, ..., 238; cube 16 is 0 and 231 is 255.
        let v = Int(level)
        if v < 4 { return .index(16) }
        if v > 246 { return .index(231) }
        let step = min(max((v - 8 + 5) / 10, 0), 23)
        return .index(232 + step)
    }
}

/// Text attributes of a cell (bold, dim, reverse, underline).
public struct CellAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let dim = CellAttributes(rawValue: 2)
    public static let reverse = CellAttributes(rawValue: 4)
    public static let underline = CellAttributes(rawValue: 8)
}

/// Foreground, background and attributes, applied together to a run of cells.
public struct Style: Hashable, Sendable {
    public var foreground: Color
    public var background: Color
    public var attributes: CellAttributes

    public init(foreground: Color = .default, background: Color = .default, attributes: CellAttributes = []) {
        self.foreground = foreground; self.background = background; self.attributes = attributes
    }

    /// The terminal's default style.
    public static let plain = Style()

    /// This style with extra attributes.
    public func with(_ extra: CellAttributes) -> Style {
        var s = self; s.attributes.formUnion(extra); return s
    }

    /// This style with another background.
    public func on(_ background: Color) -> Style {
        var s = self; s.background = background; return s
    }
}

/// One character cell of the terminal: a single-width Unicode scalar and its style.
public struct Cell: Hashable, Sendable {
    public var scalar: Unicode.Scalar
    public var style: Style

    public init(_ scalar: Unicode.Scalar = " ", style: Style = .plain) {
        self.scalar = scalar; self.style = style
    }

    /// An empty cell in the default style.
    public static let blank = Cell()
}

/// A rectangle of cells, `x`/`y` of the top-left corner, in grid coordinates.
public struct Rect: Hashable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(width, 0); self.height = max(height, 0)
    }

    /// Whether the rectangle has no cells.
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    /// One past the last column.
    public var maxX: Int { x + width }
    /// One past the last row.
    public var maxY: Int { y + height }

    /// Whether a cell lies inside.
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }

    /// The rectangle shrunk by `dx` columns and `dy` rows on each side.
    public func inset(dx: Int, dy: Int) -> Rect { Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy) }

    /// The top `n` rows and the rest.
    public func splitTop(_ n: Int) -> (Rect, Rect) {
        let h = min(max(n, 0), height)
        return (Rect(x: x, y: y, width: width, height: h), Rect(x: x, y: y + h, width: width, height: height - h))
    }

    /// The left `n` columns and the rest.
    public func splitLeft(_ n: Int) -> (Rect, Rect) {
        let w = min(max(n, 0), width)
        return (Rect(x: x, y: y, width: w, height: height), Rect(x: x + w, y: y, width: width - w, height: height))
    }
}

/// A width × height grid of cells: what the renderer draws and the presenter shows.
///
/// Drawing is clipped to the grid (and to an optional clip rectangle), so panels never
/// write outside their area. Every glyph must be a single-width scalar.
public struct CellGrid: Equatable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    /// Row-major cells, `height * width`.
    public private(set) var cells: [Cell]

    /// A grid of blank cells.
    public init(width: Int, height: Int) {
        self.width = max(width, 0); self.height = max(height, 0)
        cells = [Cell](repeating: .blank, count: self.width * self.height)
    }

    /// The whole grid as a rectangle.
    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// Resizes (when needed) and blanks every cell, reusing the storage.
    public mutating func reset(width w: Int, height h: Int) {
        let w = max(w, 0), h = max(h, 0)
        if w * h != cells.count {
            cells = [Cell](repeating: .blank, count: w * h)
        } else {
            cells.withUnsafeMutableBufferPointer { buf in
                for i in buf.indices { buf[i] = .blank }
            }
        }
        width = w; height = h
    }

    /// The cell at column `x`, row `y` (must be inside the grid).
    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Sets one cell; ignored outside the grid.
    @inline(__always)
    public mutating func put(_ x: Int, _ y: Int, _ scalar: Unicode.Scalar, _ style: Style) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        cells[y * width + x] = Cell(scalar, style: style)
    }

    /// Changes the style of one cell, keeping its character; ignored outside the grid.
    public mutating func restyle(_ x: Int, _ y: Int, _ transform: (inout Style) -> Void) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        transform(&cells[y * width + x].style)
    }

    /// Fills a rectangle with one character and style.
    public mutating func fill(_ rect: Rect, _ scalar: Unicode.Scalar = " ", _ style: Style = .plain) {
        let x0 = max(rect.x, 0), x1 = min(rect.maxX, width)
        let y0 = max(rect.y, 0), y1 = min(rect.maxY, height)
        guard x0 < x1, y0 < y1 else { return }
        let cell = Cell(scalar, style: style)
        for y in y0..<y1 { for x in x0..<x1 { cells[y * width + x] = cell } }
    }

    /// Writes text from (x, y) to the right, clipped to `maxWidth` columns (and the grid);
    /// returns the column after the last character written. Text is not wrapped.
    @discardableResult
    public mutating func text(_ x: Int, _ y: Int, _ string: String, _ style: Style = .plain, maxWidth: Int = .max) -> Int {
        var cx = x
        let limit = maxWidth == .max ? Int.max : x + maxWidth
        for s in string.unicodeScalars {
            if cx >= limit { break }
            put(cx, y, s, style)
            cx += 1
        }
        return cx
    }

    /// Writes text right-aligned so that it ends just before column `endX`.
    @discardableResult
    public mutating func textRight(_ endX: Int, _ y: Int, _ string: String, _ style: Style = .plain) -> Int {
        let n = string.unicodeScalars.count
        text(endX - n, y, string, style)
        return endX - n
    }

    /// Writes text centred within `rect`'s width on row `y`.
    public mutating func textCentered(_ rect: Rect, _ y: Int, _ string: String, _ style: Style = .plain) {
        let n = string.unicodeScalars.count
        text(rect.x + max((rect.width - n) / 2, 0), y, string, style, maxWidth: rect.width)
    }

    /// The grid as text, one string per row, trailing spaces removed (for snapshots and tests).
    public func textLines() -> [String] {
        (0..<height).map { y in
            var s = String.UnicodeScalarView()
            for x in 0..<width { s.append(cells[y * width + x].scalar) }
            var line = String(s)
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// The grid as one text block (rows joined by newlines).
    public var text: String { textLines().joined(separator: "\n") }

    /// The text of one row (trailing spaces kept), for tests.
    public func row(_ y: Int) -> String {
        var s = String.UnicodeScalarView()
        for x in 0..<width { s.append(cells[y * width + x].scalar) }
        return String(s)
    }
}
