// What every chart shares: the `Chart` protocol (draw into a panel frame, or be a document of
// its own) and `XYChart` (a frame sized for a wanted plot height), font sizes, the axis painter
// (ticks, grid, labels, titles), category labels that wrap, rotate, shorten or — when shortening
// would make them equal — become numbers with a `NumberedKey`, so they never overlap, the legend,
// and the panel grid that lays several charts out in rows inside one document.
//
// Worked example: a 720 px figure with five panels of at least 330 px each:
//   let grid = PanelGrid(count: 5, width: 720, minPanelWidth: 330, panelHeight: 260, top: 40)
//   grid.columns == 2, grid.rows == 3, grid.frame(0) == Frame(x: 10, y: 40, width: 344, height: 260)
//   (10 px outer margin, 12 px between panels: (720 − 2·10 − 12) / 2 = 344), height = 40 + 3·260 + 2·12 + 10.

/// A chart that draws itself into a frame of a document.
public protocol Chart: Sendable {
    /// Draws the whole chart (title, legend, axes, data) inside `frame`.
    func draw(into doc: inout SVGDocument, frame: Frame)
}

/// An x–y chart (line, scatter, bar, box plot) whose margins — title, legend, axes, labels —
/// depend on the frame's width only, so a frame can be sized for a wanted plot height. (The heat
/// map is not one: its row labels scale with its height.)
public protocol XYChart: Chart {
    /// The part of `frame` the data is drawn in.
    func plotArea(in frame: Frame) -> Frame
}

extension XYChart {
    /// A frame at (x, y), `width` wide, tall enough for a plot `plotHeight` tall under this
    /// chart's title and legend and over its axis: a legend of many series grows the figure
    /// instead of squeezing the data.
    public func frame(x: Double, y: Double, width: Double, plotHeight: Double) -> Frame {
        let probe = Frame(x: x, y: y, width: width, height: 100_000)
        return Frame(x: x, y: y, width: width, height: plotHeight + probe.height - plotArea(in: probe).height)
    }
}

extension Chart {
    /// The chart alone in a document of `width` × `height` px.
    public func document(width: Double, height: Double, title: String, desc: String? = nil) -> SVGDocument {
        var doc = SVGDocument(width: width, height: height, title: title, desc: desc)
        doc.rect(x: 0, y: 0, width: width, height: height, fill: "#FFFFFF")
        draw(into: &doc, frame: Frame(x: 6, y: 6, width: width - 12, height: height - 12))
        return doc
    }
}

/// Font sizes of the figures, in px.
public enum FontSize {
    public static let figureTitle = 15.0
    public static let panelTitle = 12.0
    public static let axisTitle = 11.0
    public static let tick = 10.0
    public static let note = 9.0
}

/// Draws axes, ticks, grid lines and axis titles around a plot area.
public enum AxisPainter {
    /// Width the y tick labels and title take left of the plot.
    public static func leftMargin(_ axis: Axis, title: String?) -> Double {
        return tickLabelWidth(axis) + 8 + (title == nil ? 0 : FontSize.axisTitle + 8)
    }

    /// The widest tick label's estimated width, plus 15 %: tick labels are digits and "%", which
    /// are wider (0.64 and 0.95 em in DejaVu Sans) than the 0.6 em average `SVGText.width` assumes,
    /// and a title placed from an underestimate would touch them.
    static func tickLabelWidth(_ axis: Axis) -> Double {
        1.15 * (axis.ticks.map { SVGText.width(axis.label($0), size: FontSize.tick) }.max() ?? 0)
    }

    /// Height numeric x tick labels and the title take below the plot.
    public static func bottomMargin(title: String?) -> Double {
        FontSize.tick + 8 + (title == nil ? 0 : FontSize.axisTitle + 6)
    }

    /// Horizontal grid lines, y ticks and labels on the left (or right) edge of `plot`, and the
    /// title written vertically outside them.
    public static func drawY(_ axis: Axis, plot: Frame, title: String?, into doc: inout SVGDocument,
                             grid: Bool = true, right: Bool = false) {
        let edge = right ? plot.maxX : plot.x
        let widest = tickLabelWidth(axis)
        for t in axis.ticks {
            let y = axis.position(t, from: plot.maxY, to: plot.y)
            if grid { doc.line(x1: plot.x, y1: y, x2: plot.maxX, y2: y, stroke: Palette.grid, width: 1) }
            doc.line(x1: edge, y1: y, x2: edge + (right ? 4 : -4), y2: y, stroke: Palette.axis, width: 1)
            doc.text(axis.label(t), x: edge + (right ? 6 : -6), y: y + FontSize.tick * 0.35, size: FontSize.tick,
                     anchor: right ? .start : .end, fill: Palette.axis)
        }
        doc.line(x1: edge, y1: plot.y, x2: edge, y2: plot.maxY, stroke: Palette.axis, width: 1)
        if let title {
            let x = right ? edge + widest + 10 + FontSize.axisTitle : edge - widest - 10
            let text = SVGText.abbreviate(title, maxWidth: plot.height, size: FontSize.axisTitle)
            doc.text(text, x: x, y: plot.y + plot.height / 2, size: FontSize.axisTitle, anchor: .middle,
                     fill: Palette.axis, rotate: right ? 90 : -90)
        }
    }

    /// Numeric x ticks and labels below `plot` (labels that would collide are skipped), and the title.
    public static func drawX(_ axis: Axis, plot: Frame, title: String?, into doc: inout SVGDocument, grid: Bool = false) {
        var lastRight = -Double.infinity
        for t in axis.ticks {
            let x = axis.position(t, from: plot.x, to: plot.maxX)
            if grid { doc.line(x1: x, y1: plot.y, x2: x, y2: plot.maxY, stroke: Palette.grid, width: 1) }
            doc.line(x1: x, y1: plot.maxY, x2: x, y2: plot.maxY + 4, stroke: Palette.axis, width: 1)
            let label = axis.label(t)
            let w = SVGText.width(label, size: FontSize.tick)
            if x - w / 2 > lastRight + 4 {
                doc.text(label, x: x, y: plot.maxY + 6 + FontSize.tick, size: FontSize.tick, anchor: .middle, fill: Palette.axis)
                lastRight = x + w / 2
            }
        }
        doc.line(x1: plot.x, y1: plot.maxY, x2: plot.maxX, y2: plot.maxY, stroke: Palette.axis, width: 1)
        if let title {
            doc.text(SVGText.abbreviate(title, maxWidth: plot.width, size: FontSize.axisTitle), x: plot.x + plot.width / 2,
                     y: plot.maxY + FontSize.tick + 12 + FontSize.axisTitle, size: FontSize.axisTitle, anchor: .middle,
                     fill: Palette.axis)
        }
    }

    /// A panel title at the top left of `frame`, shortened to fit.
    public static func drawTitle(_ title: String?, frame: Frame, into doc: inout SVGDocument) {
        guard let title else { return }
        doc.text(SVGText.abbreviate(title, maxWidth: frame.width, size: FontSize.panelTitle), x: frame.x,
                 y: frame.y + FontSize.panelTitle, size: FontSize.panelTitle, bold: true)
    }

    /// Space a panel title takes.
    public static func titleHeight(_ title: String?) -> Double { title == nil ? 4 : FontSize.panelTitle + 8 }

    /// The top margin and left margin of an x–y chart with `title`, a legend of `legend` and
    /// the y axis: what `drawHeader` draws in.
    public static func headerMargins(title: String?, legend: [LegendEntry], yAxis: Axis, yTitle: String?,
                                     frame: Frame) -> (top: Double, left: Double) {
        let left = leftMargin(yAxis, title: yTitle)
        return (titleHeight(title) + Legend.height(legend, width: frame.width - left), left)
    }

    /// What every x–y chart draws first: the panel title, the legend under it, and the y axis
    /// with its grid and title.
    public static func drawHeader(title: String?, legend: [LegendEntry], yAxis: Axis, yTitle: String?, frame: Frame,
                                  plot: Frame, into doc: inout SVGDocument) {
        drawTitle(title, frame: frame, into: &doc)
        let left = leftMargin(yAxis, title: yTitle)
        Legend.draw(legend, x: frame.x + left, y: frame.y + titleHeight(title), width: frame.width - left, into: &doc)
        drawY(yAxis, plot: plot, title: yTitle, into: &doc)
    }

    /// The "axis does not start at zero" mark: a small zigzag across the bottom of the y axis.
    /// A muted note at the plot's top left (e.g. "y axis from 92%, not 0"), shortened to `maxWidth`
    /// (default: the plot's width); nothing for nil.
    public static func drawNote(_ note: String?, plot: Frame, maxWidth: Double? = nil, into doc: inout SVGDocument) {
        guard let note else { return }
        doc.text(SVGText.abbreviate(note, maxWidth: maxWidth ?? plot.width, size: FontSize.note), x: plot.x, y: plot.y - 5,
                 size: FontSize.note, fill: Palette.muted)
    }

    public static func drawBreak(plot: Frame, into doc: inout SVGDocument) {
        let x = plot.x, y = plot.maxY - 8
        doc.rect(x: x - 5, y: y - 3, width: 10, height: 6, fill: "#FFFFFF")
        doc.polyline(points: [Point(x - 5, y - 1), Point(x - 2, y - 4), Point(x + 2, y + 2), Point(x + 5, y - 1)],
                     stroke: Palette.axis, width: 1)
        doc.polyline(points: [Point(x - 5, y + 3), Point(x - 2, y), Point(x + 2, y + 6), Point(x + 5, y + 3)],
                     stroke: Palette.axis, width: 1)
    }
}

/// A plot area with its two axes: data → pixels (y clamped to its axis, so a whisker beyond the
/// axis ends at the edge).
public struct PlotMap: Sendable {
    public let plot: Frame
    public let xAxis: Axis
    public let yAxis: Axis
    public init(plot: Frame, xAxis: Axis, yAxis: Axis) { self.plot = plot; self.xAxis = xAxis; self.yAxis = yAxis }
    public func x(_ v: Double) -> Double { xAxis.position(v, from: plot.x, to: plot.maxX) }
    public func y(_ v: Double) -> Double { yAxis.clampedPosition(v, from: plot.maxY, to: plot.y) }
    public func point(_ p: Point) -> Point { Point(x(p.x), y(p.y)) }
}

/// A key of numbered entries, "1  dycnn 8/16/32 K=4 softmax constant τ 1", for marks too crowded
/// to carry their labels (scatter points, bar groups): bold numbers right-aligned in their own
/// colour, then the label, in columns as wide as the longest entry, read down then across.
public struct NumberedKey: Sendable {
    public struct Entry: Sendable {
        public var number: Int
        public var label: String
        public var color: String
        public init(number: Int, label: String, color: String = Palette.axis) {
            self.number = number; self.label = label; self.color = color
        }
    }

    public var entries: [Entry]
    public init(_ entries: [Entry]) { self.entries = entries }

    static let rowHeight = 13.0
    static let columnGap = 18.0

    var numberWidth: Double { SVGText.width(String(entries.map(\.number).max() ?? 0), size: FontSize.note) + 6 }

    /// Columns in `width` px: as many as the widest entry allows (at least one).
    public func columns(width: Double) -> Int {
        let widest = (entries.map { SVGText.width($0.label, size: FontSize.note) }.max() ?? 0) + numberWidth
        return Swift.max(1, Int((width + Self.columnGap) / (widest + Self.columnGap)))
    }

    /// Rows in `width` px.
    public func rows(width: Double) -> Int {
        let c = columns(width: width)
        return (entries.count + c - 1) / c
    }

    /// Height in `width` px (0 without entries).
    public func height(width: Double) -> Double { Double(rows(width: width)) * Self.rowHeight }

    /// The key with its top left at (x, top), `width` px wide; labels too long for a column are
    /// shortened with "…".
    public func draw(into doc: inout SVGDocument, x: Double, top: Double, width: Double) {
        let rows = Swift.max(1, rows(width: width))
        let columnWidth = width / Double(columns(width: width))
        for (k, entry) in entries.enumerated() {
            let ex = x + Double(k / rows) * columnWidth
            let y = top + Double(k % rows) * Self.rowHeight + FontSize.note
            doc.text(String(entry.number), x: ex + numberWidth - 6, y: y, size: FontSize.note, anchor: .end, bold: true,
                     fill: entry.color)
            doc.text(SVGText.abbreviate(entry.label, maxWidth: columnWidth - numberWidth - 4, size: FontSize.note),
                     x: ex + numberWidth, y: y, size: FontSize.note, fill: Palette.axis)
        }
    }
}

/// Labels of equally spaced categories under a plot: horizontal when they fit their slot;
/// with `maxLines` > 1, wrapped at spaces onto at most that many centred lines when every word
/// fits the slot; otherwise rotated by −45° (or −90° when the slot is narrower than 1.5 lines)
/// and shortened to `maxLength` px; when even a rotated line does not fit, only every n-th label
/// is written. With `keyWhenAmbiguous`, labels that shortening would make equal (five recipes
/// all cut to "dycnn 8/16/32 K=4…") are numbered 1…n instead, and the whole labels are listed in
/// a `NumberedKey` under the numbers; `height` includes the key.
public struct CategoryLabels: Sendable {
    public let texts: [String]
    public let rotation: Double?
    /// Every `stride`-th label is written (1 = all).
    public let stride: Int
    /// Vertical space the labels need below the axis (and the key, when there is one).
    public let height: Double
    public let size: Double
    /// Per label, its lines when wrapped (nil: one line per label, `texts`).
    public private(set) var lines: [[String]]? = nil
    /// The whole labels, in order, when the categories are numbered (`texts` are then "1"…"n").
    public private(set) var key: [String] = []
    /// The key's width: the plot's (the slots') width.
    let keyWidth: Double
    /// Space between the numbers and the key.
    static let keyGap = 6.0
    /// Where the key starts below the axis: under the one-line numbers and the gap.
    static func keyTop(size: Double) -> Double { size + 8 + keyGap }

    static let lineGap = 2.0

    public init(_ labels: [String], slot: Double, size: Double = FontSize.tick, maxLength: Double = 84, maxLines: Int = 1,
                keyWhenAmbiguous: Bool = false) {
        self.size = size
        keyWidth = slot * Double(labels.count)
        let widest = labels.map { SVGText.width($0, size: size) }.max() ?? 0
        if widest <= slot - 4 {
            texts = labels; rotation = nil; stride = 1; height = size + 8
            return
        }
        if maxLines > 1, let wrapped = Self.wrap(labels, width: slot - 4, size: size, maxLines: maxLines) {
            texts = labels; rotation = nil; stride = 1; lines = wrapped
            height = Double(wrapped.map(\.count).max() ?? 1) * (size + Self.lineGap) + 8
            return
        }
        let short = labels.map { SVGText.abbreviate($0, maxWidth: maxLength, size: size) }
        if keyWhenAmbiguous && Set(short).count < short.count {
            texts = labels.indices.map { String($0 + 1) }; rotation = nil; stride = 1; key = labels
            height = Self.keyTop(size: size) + Self.numberedKey(labels).height(width: keyWidth)
            return
        }
        texts = short
        let longest = texts.map { SVGText.width($0, size: size) }.max() ?? 0
        if slot >= size * 1.5 {
            rotation = -45; stride = 1; height = longest * 0.71 + size + 8
        } else {
            rotation = -90
            stride = Swift.max(1, Int((size * 1.2 / Swift.max(slot, 0.1)).rounded(.up)))
            height = longest + 10
        }
    }

    /// Greedy word wrap of every label into lines at most `width` px wide; nil when a word is
    /// wider than that or a label needs more than `maxLines` lines.
    static func wrap(_ labels: [String], width: Double, size: Double, maxLines: Int) -> [[String]]? {
        var out: [[String]] = []
        for label in labels {
            var lines: [String] = []
            for word in label.split(separator: " ").map(String.init) {
                guard SVGText.width(word, size: size) <= width else { return nil }
                if let last = lines.last, SVGText.width(last + " " + word, size: size) <= width {
                    lines[lines.count - 1] = last + " " + word
                } else {
                    lines.append(word)
                }
            }
            guard lines.count <= maxLines else { return nil }
            out.append(lines.isEmpty ? [""] : lines)
        }
        return out
    }

    /// Writes label i centred under x = `centres[i]`, starting `y` below the axis line; a key,
    /// when there is one, under the numbers from the first centre's slot on.
    public func draw(centres: [Double], y: Double, into doc: inout SVGDocument, fill: String = Palette.axis) {
        for (i, text) in texts.enumerated() where i < centres.count && i % stride == 0 {
            let x = centres[i]
            switch rotation {
            case nil:
                for (l, line) in (lines.flatMap { i < $0.count ? $0[i] : nil } ?? [text]).enumerated() {
                    doc.text(line, x: x, y: y + size + 4 + Double(l) * (size + Self.lineGap), size: size, anchor: .middle,
                             bold: !key.isEmpty, fill: fill)
                }
            case let angle?:
                let baseline = angle == -90 ? x + size * 0.35 : x + size * 0.3
                doc.text(text, x: baseline, y: y + 6, size: size, anchor: .end, fill: fill, rotate: angle)
            }
        }
        guard !key.isEmpty, let first = centres.first else { return }
        numberedKey.draw(into: &doc, x: first - keyWidth / Double(Swift.max(1, centres.count)) / 2, top: y + Self.keyTop(size: size),
                         width: keyWidth)
    }

    /// The key of the numbered labels.
    var numberedKey: NumberedKey { Self.numberedKey(key) }
    static func numberedKey(_ labels: [String]) -> NumberedKey {
        NumberedKey(labels.enumerated().map { .init(number: $0.offset + 1, label: $0.element) })
    }
}

/// One legend entry: a line (with its dash), a marker, or a filled swatch.
public struct LegendEntry: Sendable {
    public enum Glyph: Sendable { case line, marker, swatch, lineAndMarker }
    public var label: String
    public var style: SeriesStyle
    public var glyph: Glyph
    public init(_ label: String, style: SeriesStyle, glyph: Glyph = .lineAndMarker) {
        self.label = label; self.style = style; self.glyph = glyph
    }
}

/// Legend entries laid out in rows that wrap at the available width.
public enum Legend {
    static let rowHeight = 15.0
    static let glyphWidth = 22.0

    static func entryWidth(_ e: LegendEntry) -> Double { glyphWidth + 4 + SVGText.width(e.label, size: FontSize.tick) + 12 }

    /// The x offset and row of every entry within `width`.
    static func positions(_ entries: [LegendEntry], width: Double) -> [(x: Double, row: Int)] {
        var out: [(Double, Int)] = [], x = 0.0, row = 0
        for e in entries {
            let w = Swift.min(entryWidth(e), width)
            if x > 0 && x + w > width { x = 0; row += 1 }
            out.append((x, row)); x += w
        }
        return out
    }

    /// Height the legend takes in `width` (0 without entries).
    public static func height(_ entries: [LegendEntry], width: Double) -> Double {
        guard !entries.isEmpty else { return 0 }
        return Double((positions(entries, width: width).last?.row ?? 0) + 1) * rowHeight + 4
    }

    public static func draw(_ entries: [LegendEntry], x: Double, y: Double, width: Double, into doc: inout SVGDocument) {
        for (e, pos) in zip(entries, positions(entries, width: width)) {
            let gx = x + pos.x, cy = y + Double(pos.row) * rowHeight + rowHeight / 2
            switch e.glyph {
            case .swatch:
                doc.rect(x: gx + 4, y: cy - 5, width: 14, height: 10, fill: e.style.color, stroke: Palette.axis, strokeWidth: 0.5)
                e.style.marker.draw(into: &doc, at: Point(gx + 11, cy), size: 2.5, color: "#FFFFFF")
            case .line, .lineAndMarker, .marker:
                if e.glyph != .marker {
                    doc.line(x1: gx, y1: cy, x2: gx + glyphWidth, y2: cy, stroke: e.style.color, width: 2, dash: e.style.dash)
                }
                if e.glyph != .line { e.style.marker.draw(into: &doc, at: Point(gx + glyphWidth / 2, cy), size: 3.5, color: e.style.color) }
            }
            let maxText = Swift.max(10, width - pos.x - glyphWidth - 4)
            doc.text(SVGText.abbreviate(e.label, maxWidth: maxText, size: FontSize.tick), x: gx + glyphWidth + 4,
                     y: cy + FontSize.tick * 0.35, size: FontSize.tick, fill: "#000000")
        }
    }
}

/// Panels of equal size in rows: as many columns as fit `minPanelWidth`, wrapping into rows.
public struct PanelGrid: Sendable {
    public let columns: Int
    public let rows: Int
    public let panelWidth: Double
    public let panelHeight: Double
    public let top: Double
    public static let margin = 10.0
    public static let gap = 12.0

    public init(count: Int, width: Double, minPanelWidth: Double, panelHeight: Double, top: Double, maxColumns: Int = 4) {
        let usable = width - 2 * Self.margin
        var cols = Swift.max(1, Swift.min(maxColumns, Int((usable + Self.gap) / (minPanelWidth + Self.gap))))
        cols = Swift.min(cols, Swift.max(1, count))
        columns = cols
        rows = Swift.max(1, (count + cols - 1) / cols)
        panelWidth = (usable - Double(cols - 1) * Self.gap) / Double(cols)
        self.panelHeight = panelHeight
        self.top = top
    }

    /// The frame of panel `index` (row-major).
    public func frame(_ index: Int) -> Frame {
        let c = index % columns, r = index / columns
        return Frame(x: Self.margin + Double(c) * (panelWidth + Self.gap), y: top + Double(r) * (panelHeight + Self.gap),
                     width: panelWidth, height: panelHeight)
    }

    /// Total document height for `rows` rows plus a bottom margin of `bottom`.
    public func height(bottom: Double = 10) -> Double {
        top + Double(rows) * panelHeight + Double(rows - 1) * Self.gap + bottom
    }
}

/// Draws a figure title (and an optional subtitle line) at the top of a document; returns the
/// y where panels may start.
@discardableResult
public func drawFigureHeading(_ title: String, subtitle: String? = nil, width: Double, into doc: inout SVGDocument) -> Double {
    doc.text(SVGText.abbreviate(title, maxWidth: width - 20, size: FontSize.figureTitle), x: 10, y: 22,
             size: FontSize.figureTitle, bold: true)
    guard let subtitle else { return 34 }
    doc.text(SVGText.abbreviate(subtitle, maxWidth: width - 20, size: FontSize.tick), x: 10, y: 38, size: FontSize.tick,
             fill: Palette.muted)
    return 48
}
