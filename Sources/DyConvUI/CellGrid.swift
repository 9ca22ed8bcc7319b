/// A terminal colour: the terminal's default, an index of the xterm 256-colour palette, or a
/// 24-bit RGB colour (drawn only on direct-colour terminals, `ColorMode.truecolor`).
///
/// Indices 0–7 are the ANSI colours (usable on 8-colour terminals), 16–231 the 6×6×6 colour
/// cube and 232–255 the 24-step grey ramp.
public struct Color: Hashable, Sendable {
    /// `0xFFFF_FFFF` is the terminal default; `0x0100_0000 | 0xRRGGBB` a 24-bit colour;
    /// otherwise a palette index 0–255.
    public let rawValue: UInt32

    /// Wraps a raw value (see `rawValue`).
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The terminal's default foreground or background colour.
    public static let `default` = Color(rawValue: 0xFFFF_FFFF)

    /// The tag bit of a 24-bit colour.
    static let rgbTag: UInt32 = 0x0100_0000

    /// A palette colour by index.
    public static func index(_ i: Int) -> Color { Color(rawValue: UInt32(min(max(i, 0), 255))) }

    /// A 24-bit colour.
    public static func rgb(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Color {
        Color(rawValue: rgbTag | UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
    }

    /// Whether this is the terminal default colour.
    public var isDefault: Bool { rawValue == 0xFFFF_FFFF }

    /// Whether this is a 24-bit colour.
    public var isRGB: Bool { !isDefault && rawValue & Color.rgbTag != 0 }

    /// The 24-bit value 0xRRGGBB of a colour: its own for an RGB colour, xterm's standard
    /// palette value for an index (`paletteRGB`); nil for the default colour.
    public var rgbValue: UInt32? {
        if isDefault { return nil }
        if isRGB { return rawValue & 0xFF_FFFF }
        let (r, g, b) = Color.paletteRGB(Int(rawValue))
        return UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
    }

    /// The palette index, or -1 for the default colour (ncurses' convention); an RGB colour
    /// gives the index `nearest256` picks.
    public var paletteIndex: Int {
        if isDefault { return -1 }
        if isRGB {
            let v = rawValue
            return Color.nearest256(UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
                                    UInt8(truncatingIfNeeded: v)).paletteIndex
        }
        return Int(rawValue)
    }

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

    /// The levels of the xterm colour cube's six steps per component.
    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The RGB components xterm gives palette index `i` (0–255): the 16 system colours as
    /// xterm's defaults, the 6×6×6 cube, the grey ramp 8, 18, …, 238.
    public static func paletteRGB(_ i: Int) -> (UInt8, UInt8, UInt8) {
        let system: [(UInt8, UInt8, UInt8)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
            (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
        ]
        let i = min(max(i, 0), 255)
        if i < 16 { return system[i] }
        if i >= 232 { let v = UInt8(8 + 10 * (i - 232)); return (v, v, v) }
        let c = i - 16
        return (UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[c / 6 % 6]), UInt8(cubeLevels[c % 6]))
    }

    /// The palette colour (cube 16–231 or grey ramp 232–255) nearest to an RGB colour in
    /// Euclidean RGB distance. The 16 system colours are left out: terminals redefine them.
    ///
    /// The cube is a product grid, so its nearest point is the nearest level per component;
    /// the nearest ramp grey is the one nearest the components' mean (the distance to a grey
    /// v is a parabola in v with its minimum at the mean). The closer of the two wins, the
    /// cube on a tie.
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Color {
        @inline(__always) func level(_ v: Int) -> Int {
            // Midpoints between the levels 0, 95, 135, 175, 215, 255.
            v < 48 ? 0 : v < 115 ? 1 : v < 155 ? 2 : v < 195 ? 3 : v < 235 ? 4 : 5
        }
        let ri = Int(r), gi = Int(g), bi = Int(b)
        let lr = level(ri), lg = level(gi), lb = level(bi)
        @inline(__always) func sq(_ d: Int) -> Int { d * d }
        let cubeDistance = sq(ri - cubeLevels[lr]) + sq(gi - cubeLevels[lg]) + sq(bi - cubeLevels[lb])
        // Ramp grey v = 8 + 10 s nearest the mean m: s = round((m - 8) / 10), clamped; the
        // mean is kept in thirds to round exactly.
        let sum = ri + gi + bi
        let step = min(max((sum - 24 + 15) / 30, 0), 23)
        let v = 8 + 10 * step
        let greyDistance = sq(ri - v) + sq(gi - v) + sq(bi - v)
        return greyDistance < cubeDistance ? .index(232 + step) : .index(16 + 36 * lr + 6 * lg + lb)
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
/// Drawing is clipped to the grid and to the current clip rectangle (`withClip`): `render`
/// draws each panel inside its layout rectangle, so a panel never writes outside its area.
/// A write the clip drops is counted (`clippedWrites`, the first few in `clippedLog`), so the
/// layout tests can assert that no panel tried to cross its border at any size.
/// Every glyph must be a single-width scalar.
public struct CellGrid: Equatable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    /// Row-major cells, `height * width`.
    public private(set) var cells: [Cell]
    /// The rectangle writes are confined to (the whole grid outside `withClip`).
    public private(set) var clip: Rect
    /// The name of the current clip (the panel being drawn), for `clippedLog`.
    public private(set) var clipName: String = ""
    /// Writes inside the grid that the clip rectangle dropped since the last `reset`: a
    /// renderer that wrote across its panel's border (0 when every panel kept to its rect).
    public private(set) var clippedWrites = 0
    /// The first `clippedLogLimit` dropped writes, as "panel (x,y) 'c'", to say which panel
    /// overflowed where.
    public private(set) var clippedLog: [String] = []
    static let clippedLogLimit = 20

    /// A grid of blank cells.
    public init(width: Int, height: Int) {
        self.width = max(width, 0); self.height = max(height, 0)
        cells = [Cell](repeating: .blank, count: self.width * self.height)
        clip = Rect(x: 0, y: 0, width: self.width, height: self.height)
    }

    /// Grids are equal when they show the same cells (the clip bookkeeping is not content).
    public static func == (a: CellGrid, b: CellGrid) -> Bool {
        a.width == b.width && a.height == b.height && a.cells == b.cells
    }

    /// Runs `body` with writes confined to `rect` (intersected with the current clip); writes
    /// outside are dropped and counted under `name`. Clips nest; the previous one is restored.
    public mutating func withClip(_ rect: Rect, _ name: String, _ body: (inout CellGrid) -> Void) {
        let saved = clip, savedName = clipName
        let x0 = max(rect.x, saved.x), y0 = max(rect.y, saved.y)
        clip = Rect(x: x0, y: y0, width: min(rect.maxX, saved.maxX) - x0, height: min(rect.maxY, saved.maxY) - y0)
        clipName = name
        body(&self)
        clip = saved; clipName = savedName
    }

    /// Whether a cell inside the grid may be written; counts (and logs) a dropped write.
    @inline(__always)
    private mutating func allowed(_ x: Int, _ y: Int, _ scalar: Unicode.Scalar) -> Bool {
        if clip.contains(x: x, y: y) { return true }
        clippedWrites += 1
        if clippedLog.count < CellGrid.clippedLogLimit {
            clippedLog.append("\(clipName) (\(x),\(y)) '\(Character(scalar))'")
        }
        return false
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
        clip = Rect(x: 0, y: 0, width: w, height: h)
        clipName = ""
        clippedWrites = 0
        clippedLog.removeAll(keepingCapacity: true)
    }

    /// The cell at column `x`, row `y` (must be inside the grid).
    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Sets one cell; ignored outside the grid.
    @inline(__always)
    public mutating func put(_ x: Int, _ y: Int, _ scalar: Unicode.Scalar, _ style: Style) {
        guard x >= 0, y >= 0, x < width, y < height, allowed(x, y, scalar) else { return }
        cells[y * width + x] = Cell(scalar, style: style)
    }

    /// Changes the style of one cell, keeping its character; ignored outside the grid.
    public mutating func restyle(_ x: Int, _ y: Int, _ transform: (inout Style) -> Void) {
        guard x >= 0, y >= 0, x < width, y < height, clip.contains(x: x, y: y) else { return }
        transform(&cells[y * width + x].style)
    }

    /// Fills a rectangle with one character and style (the part inside the clip; the cells
    /// outside it count as dropped writes).
    public mutating func fill(_ rect: Rect, _ scalar: Unicode.Scalar = " ", _ style: Style = .plain) {
        let gx0 = max(rect.x, 0), gx1 = min(rect.maxX, width)
        let gy0 = max(rect.y, 0), gy1 = min(rect.maxY, height)
        guard gx0 < gx1, gy0 < gy1 else { return }
        let x0 = max(gx0, clip.x), x1 = min(gx1, clip.maxX)
        let y0 = max(gy0, clip.y), y1 = min(gy1, clip.maxY)
        let inside = max(x1 - x0, 0) * max(y1 - y0, 0)
        if inside < (gx1 - gx0) * (gy1 - gy0) {
            clippedWrites += (gx1 - gx0) * (gy1 - gy0) - inside
            if clippedLog.count < CellGrid.clippedLogLimit {
                clippedLog.append("\(clipName) fill \(rect) beyond \(clip)")
            }
        }
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
