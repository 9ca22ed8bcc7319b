// Line charts: several series on a linear or log10 x axis, with point markers, an optional
// legend, labels at the series' ends (spread apart so they do not overlap), vertical marker
// lines with a label (e.g. "trained τ"), and small box glyphs at chosen x (e.g. snapshot epochs).
//
// Worked example: two series on a log x axis 0.2…100, y 0…1 —
//   LineChart(title: "accuracy", series: [.init(name: "a", points: [Point(1, 0.9), Point(10, 0.8)], style: Palette.style(0))],
//             xAxis: Axis(kind: .log10, lower: 0.2, upper: 100), yAxis: Axis(lower: 0, upper: 1),
//             markers: [.init(x: 1, label: "trained τ")])
// draws the series in blue with circles, a dashed grey line at x = 1 labelled "trained τ".

public struct LineChart: XYChart {
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public var style: SeriesStyle
        public var showMarkers: Bool
        public var lineWidth: Double
        /// A label written right of the last point (nil: none).
        public var endLabel: String?
        /// A shaded range around the line (e.g. min–max over seeds), drawn under every line; empty: none.
        public var band: [BandPoint]
        public init(name: String, points: [Point], style: SeriesStyle, showMarkers: Bool = true, lineWidth: Double = 1.75,
                    endLabel: String? = nil, band: [BandPoint] = []) {
            self.name = name; self.points = points; self.style = style; self.showMarkers = showMarkers
            self.lineWidth = lineWidth; self.endLabel = endLabel; self.band = band
        }
    }

    /// One x of a band: its lower and upper y.
    public struct BandPoint: Sendable, Equatable {
        public var x: Double, low: Double, high: Double
        public init(x: Double, low: Double, high: Double) { self.x = x; self.low = low; self.high = high }
    }

    /// A vertical reference line.
    public struct MarkerLine: Sendable {
        public var x: Double
        public var label: String
        public var color: String
        public init(x: Double, label: String, color: String = Palette.muted) { self.x = x; self.label = label; self.color = color }
    }

    /// A small box (q1…q3, whiskers p5…p95, median) at x, shifted by `offset` px.
    public struct BoxGlyph: Sendable {
        public var x: Double
        public var box: BoxValues
        public var color: String
        public var offset: Double
        public init(x: Double, box: BoxValues, color: String, offset: Double = 0) {
            self.x = x; self.box = box; self.color = color; self.offset = offset
        }
    }

    public var title: String?
    public var series: [Series]
    public var xAxis: Axis
    public var yAxis: Axis
    public var xTitle: String?
    public var yTitle: String?
    public var markers: [MarkerLine]
    public var glyphs: [BoxGlyph]
    public var legend: Bool
    /// At least this much room left of the plot, so stacked panels can share x positions.
    public var minimumLeftMargin: Double = 0

    public init(title: String?, series: [Series], xAxis: Axis, yAxis: Axis, xTitle: String? = nil, yTitle: String? = nil,
                markers: [MarkerLine] = [], glyphs: [BoxGlyph] = [], legend: Bool = true) {
        self.title = title; self.series = series; self.xAxis = xAxis; self.yAxis = yAxis; self.xTitle = xTitle
        self.yTitle = yTitle; self.markers = markers; self.glyphs = glyphs; self.legend = legend
    }

    var legendEntries: [LegendEntry] {
        legend ? series.map { LegendEntry($0.name, style: $0.style, glyph: $0.showMarkers ? .lineAndMarker : .line) } : []
    }

    var endLabelWidth: Double {
        let w = series.compactMap { $0.endLabel }.map { SVGText.width($0, size: FontSize.note) }.max()
        return w.map { $0 + 8 } ?? 0
    }

    public func plotArea(in frame: Frame) -> Frame {
        let m = AxisPainter.headerMargins(title: title, legend: legendEntries, yAxis: yAxis, yTitle: yTitle, frame: frame)
        return frame.inset(top: m.top + (markers.isEmpty ? 4 : 14), left: Swift.max(m.left, minimumLeftMargin), bottom: AxisPainter.bottomMargin(title: xTitle),
                           right: 10 + endLabelWidth)
    }

    public func draw(into doc: inout SVGDocument, frame: Frame) {
        let plot = plotArea(in: frame)
        let map = PlotMap(plot: plot, xAxis: xAxis, yAxis: yAxis)
        doc.group(label: title) { doc in
            AxisPainter.drawHeader(title: title, legend: legendEntries, yAxis: yAxis, yTitle: yTitle, frame: frame, plot: plot,
                                   into: &doc)
            AxisPainter.drawX(xAxis, plot: plot, title: xTitle, into: &doc)
            for m in markers where xAxis.contains(m.x) {
                let x = map.x(m.x)
                doc.line(x1: x, y1: plot.y - 4, x2: x, y2: plot.maxY, stroke: m.color, width: 1, dash: [4, 3])
                let w = SVGText.width(m.label, size: FontSize.note)
                let anchor: SVGDocument.Anchor = x + w / 2 > plot.maxX ? .end : (x - w / 2 < plot.x ? .start : .middle)
                doc.text(m.label, x: x, y: plot.y - 6, size: FontSize.note, anchor: anchor, fill: m.color)
            }
            for g in glyphs where xAxis.contains(g.x) {
                let x = map.x(g.x) + g.offset, w = 2.5
                doc.line(x1: x, y1: map.y(g.box.p95), x2: x, y2: map.y(g.box.p5), stroke: g.color, width: 1)
                doc.rect(x: x - w, y: map.y(g.box.q3), width: 2 * w, height: map.y(g.box.q1) - map.y(g.box.q3), fill: "#FFFFFF",
                         stroke: g.color, strokeWidth: 1)
                doc.line(x1: x - w, y1: map.y(g.box.median), x2: x + w, y2: map.y(g.box.median), stroke: g.color, width: 1.5)
            }
            // Bands first (translucent, in the series colour), so no band hides a line. A band needs
            // two x values to have an area; a single x is the series' whisker instead.
            for s in series {
                let band = s.band.filter { $0.x.isFinite && $0.low.isFinite && $0.high.isFinite && (xAxis.kind == .linear || $0.x > 0) }
                    .sorted { $0.x < $1.x }
                if band.count > 1 {
                    doc.path(.polygon(band.map { Point(map.x($0.x), map.y($0.high)) } + band.reversed().map { Point(map.x($0.x), map.y($0.low)) }),
                             fill: s.style.color, opacity: 0.18)
                } else if let b = band.first, b.high > b.low {
                    doc.line(x1: map.x(b.x), y1: map.y(b.high), x2: map.x(b.x), y2: map.y(b.low), stroke: s.style.color, width: 1)
                }
            }
            for s in series {
                let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite && (xAxis.kind == .linear || $0.x > 0) }
                    .map(map.point)
                if pts.count > 1 { doc.polyline(points: pts, stroke: s.style.color, width: s.lineWidth, dash: s.style.dash) }
                if s.showMarkers || pts.count == 1 {
                    for p in pts { s.style.marker.draw(into: &doc, at: p, size: 3, color: s.style.color) }
                }
            }
            drawEndLabels(map, into: &doc)
        }
    }

    /// End labels right of the plot, pushed apart to at least one line each; when they cannot all
    /// fit, every n-th is kept (the first and last always).
    func drawEndLabels(_ map: PlotMap, into doc: inout SVGDocument) {
        let plot = map.plot
        var labelled: [(y: Double, text: String, color: String, lastX: Double)] = []
        for s in series {
            guard let text = s.endLabel, let last = s.points.last(where: { $0.x.isFinite && $0.y.isFinite }) else { continue }
            labelled.append((map.y(last.y), text, s.style.color, map.x(last.x)))
        }
        guard !labelled.isEmpty else { return }
        let line = FontSize.note + 1
        let capacity = Swift.max(1, Int(plot.height / line))
        if labelled.count > capacity {
            let stride = Int((Double(labelled.count) / Double(capacity)).rounded(.up))
            labelled = labelled.enumerated().filter { $0.offset % stride == 0 || $0.offset == labelled.count - 1 }.map(\.element)
        }
        let order = labelled.indices.sorted { labelled[$0].y < labelled[$1].y }
        var ys = order.map { labelled[$0].y }
        for i in 1..<Swift.max(1, ys.count) where ys[i] < ys[i - 1] + line { ys[i] = ys[i - 1] + line }
        // Shift back up when the stack runs past the bottom.
        if let last = ys.last, last > plot.maxY + 2 {
            let excess = last - plot.maxY - 2
            ys = ys.map { $0 - excess }
            for i in Swift.stride(from: ys.count - 2, through: 0, by: -1) where ys[i] > ys[i + 1] - line { ys[i] = ys[i + 1] - line }
        }
        for (k, i) in order.enumerated() {
            let l = labelled[i]
            doc.line(x1: l.lastX + 1, y1: l.y, x2: plot.maxX + 4, y2: ys[k], stroke: l.color, width: 0.5)
            doc.text(l.text, x: plot.maxX + 6, y: ys[k] + FontSize.note * 0.35, size: FontSize.note, fill: Palette.axis)
        }
    }
}
