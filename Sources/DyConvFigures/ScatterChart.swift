// Scatter plots with vertical error bars and point labels: one marker shape and colour per
// series (listed in the legend), labels placed right of their point, or moved left, below or
// above when they would overlap an earlier label or leave the plot.
//
// Worked example: points (9.44e6, 0.939 ± [0.937, 0.941], "dycnn 299k", series 0) and
// (9.15e6, 0.925, "static 75k", series 2) on a log x axis 2M…10M: a blue circle with a whisker and
// a green triangle, each labelled, the two labels stacked so they do not collide.

public struct ScatterChart: Chart {
    public struct Item: Sendable {
        public var x: Double
        public var y: Double
        public var yMin: Double?
        public var yMax: Double?
        public var label: String
        public var series: Int
        public init(x: Double, y: Double, yMin: Double? = nil, yMax: Double? = nil, label: String, series: Int) {
            self.x = x; self.y = y; self.yMin = yMin; self.yMax = yMax; self.label = label; self.series = series
        }
    }

    public var title: String?
    public var items: [Item]
    /// Series names; series i is drawn with `styles[i]` (default `Palette.style(i)`).
    public var seriesNames: [String]
    public var styles: [SeriesStyle]
    public var xAxis: Axis
    public var yAxis: Axis
    public var xTitle: String?
    public var yTitle: String?
    /// Join each series' points in increasing x with a line (for a sweep such as K = 1, 2, 4, 8).
    public var connect: Bool
    /// A note written at the plot's top left (e.g. "y axis from 92%, not 0").
    public var note: String?

    public init(title: String?, items: [Item], seriesNames: [String], styles: [SeriesStyle]? = nil, xAxis: Axis, yAxis: Axis,
                xTitle: String? = nil, yTitle: String? = nil, connect: Bool = false, note: String? = nil) {
        self.connect = connect; self.note = note
        self.title = title; self.items = items; self.seriesNames = seriesNames
        self.styles = styles ?? seriesNames.indices.map { Palette.style($0) }
        self.xAxis = xAxis; self.yAxis = yAxis; self.xTitle = xTitle; self.yTitle = yTitle
    }

    func style(_ i: Int) -> SeriesStyle { i >= 0 && i < styles.count ? styles[i] : Palette.style(i) }

    var legendEntries: [LegendEntry] { seriesNames.enumerated().map { LegendEntry($0.element, style: style($0.offset), glyph: .marker) } }

    public func plotArea(in frame: Frame) -> Frame {
        let m = AxisPainter.headerMargins(title: title, legend: legendEntries, yAxis: yAxis, yTitle: yTitle, frame: frame)
        return frame.inset(top: m.top + (note == nil ? 4 : 16), left: m.left, bottom: AxisPainter.bottomMargin(title: xTitle), right: 10)
    }

    public func draw(into doc: inout SVGDocument, frame: Frame) {
        let plot = plotArea(in: frame)
        let map = PlotMap(plot: plot, xAxis: xAxis, yAxis: yAxis)
        doc.group(label: title) { doc in
            AxisPainter.drawHeader(title: title, legend: legendEntries, yAxis: yAxis, yTitle: yTitle, frame: frame, plot: plot,
                                   into: &doc)
            AxisPainter.drawX(xAxis, plot: plot, title: xTitle, into: &doc, grid: true)
            AxisPainter.drawNote(note, plot: plot, into: &doc)
            if connect {
                for series in Set(items.map(\.series)).sorted() {
                    let points = items.filter { $0.series == series }.sorted { $0.x < $1.x }.map { Point(map.x($0.x), map.y($0.y)) }
                    doc.polyline(points: points, stroke: style(series).color, width: 1.5, dash: style(series).dash)
                }
            }
            var placed: [Frame] = []
            for item in items {
                let p = Point(map.x(item.x), map.y(item.y))
                let s = style(item.series)
                // A range of zero length (one seed) has no whisker: caps on a point would read as a
                // measured spread. The whisker's box is kept clear of labels like the markers.
                if let lo = item.yMin, let hi = item.yMax, hi > lo {
                    doc.line(x1: p.x, y1: map.y(hi), x2: p.x, y2: map.y(lo), stroke: s.color, width: 1)
                    doc.line(x1: p.x - 3, y1: map.y(hi), x2: p.x + 3, y2: map.y(hi), stroke: s.color, width: 1)
                    doc.line(x1: p.x - 3, y1: map.y(lo), x2: p.x + 3, y2: map.y(lo), stroke: s.color, width: 1)
                    placed.append(Frame(x: p.x - 4, y: map.y(hi) - 1, width: 8, height: map.y(lo) - map.y(hi) + 2))
                }
                s.marker.draw(into: &doc, at: p, size: 4, color: s.color)
                placed.append(Frame(x: p.x - 5, y: p.y - 5, width: 10, height: 10))
            }
            // Labels after all markers, so a label box also avoids every marker.
            let size = FontSize.note
            for item in items {
                let p = Point(map.x(item.x), map.y(item.y))
                let w = SVGText.width(item.label, size: size), h = size + 2
                let candidates = [Frame(x: p.x + 7, y: p.y - h / 2, width: w, height: h),
                                  Frame(x: p.x - 7 - w, y: p.y - h / 2, width: w, height: h),
                                  Frame(x: p.x - w / 2, y: p.y + 7, width: w, height: h),
                                  Frame(x: p.x - w / 2, y: p.y - 7 - h, width: w, height: h),
                                  Frame(x: p.x + 7, y: p.y + 4, width: w, height: h),
                                  Frame(x: p.x + 7, y: p.y - 4 - h, width: w, height: h)]
                func fits(_ f: Frame) -> Bool {
                    f.x >= plot.x && f.maxX <= plot.maxX && f.y >= plot.y && f.maxY <= plot.maxY
                        && !placed.contains { !($0.maxX <= f.x || f.maxX <= $0.x || $0.maxY <= f.y || f.maxY <= $0.y) }
                }
                let inside = candidates.filter { $0.x >= plot.x && $0.maxX <= plot.maxX }
                let chosen = candidates.first(where: fits) ?? inside.first ?? candidates[0]
                placed.append(chosen)
                doc.text(item.label, x: chosen.x, y: chosen.maxY - 3, size: size, fill: Palette.axis)
            }
        }
    }
}
