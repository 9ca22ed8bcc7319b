// Scatter plots with vertical error bars and point labels: one marker shape and colour per
// series (listed in the legend), labels placed right of their point, or moved left, below or
// above when they would overlap an earlier label, a marker, a whisker or leave the plot.
//
// Many points at nearly one place (a sweep of 17 recipes at two costs) leave no room for their
// labels. `fitted(to:)` then numbers the points instead (1 = highest y) and lists "number  label"
// in a key under the plot, growing the frame by the key's height; a number that still finds no
// free place beside its point moves further out along its row with a thin leader line.
//
// Worked example: points (9.44e6, 0.939 ± [0.937, 0.941], "dycnn 299k", series 0) and
// (9.15e6, 0.925, "static 75k", series 2) on a log x axis 2M…10M: a blue circle with a whisker and
// a green triangle, each labelled, the two labels stacked so they do not collide. The same chart
// with fifteen more points between them comes back from `fitted(to:)` numbered, its key two
// columns wide.

public struct ScatterChart: XYChart {
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
    /// Where the point labels go.
    public var labels: Labels = .beside

    public enum Labels: Sendable, Equatable {
        /// Each label beside its point.
        case beside
        /// A number beside each point (1 = highest y, ties in item order), the labels in a key
        /// under the plot.
        case numbered
    }

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
        let key = labels == .numbered ? keyHeight(width: frame.width) : 0
        return frame.inset(top: m.top + (note == nil ? 4 : 16), left: m.left, bottom: AxisPainter.bottomMargin(title: xTitle) + key,
                           right: 10)
    }

    /// This chart ready to draw in `frame`: as it is when every label fits beside its point there,
    /// otherwise numbered, with the frame grown downwards by the key's height (the plot keeps its
    /// size). Callers size their document from the returned frame.
    public func fitted(to frame: Frame) -> (chart: ScatterChart, frame: Frame) {
        var beside = self
        beside.labels = .beside
        let plot = beside.plotArea(in: frame)
        let map = PlotMap(plot: plot, xAxis: xAxis, yAxis: yAxis)
        if beside.placeLabels(beside.pointLabels, map: map, plot: plot).allSatisfy(\.fits) { return (beside, frame) }
        var numbered = self
        numbered.labels = .numbered
        return (numbered, Frame(x: frame.x, y: frame.y, width: frame.width, height: frame.height + keyHeight(width: frame.width)))
    }

    // MARK: Labels

    /// Each item's number in the numbered mode: its rank by y, highest first (ties in item order).
    var numbers: [Int] {
        let order = items.indices.sorted { items[$0].y != items[$1].y ? items[$0].y > items[$1].y : $0 < $1 }
        var out = [Int](repeating: 0, count: items.count)
        for (rank, i) in order.enumerated() { out[i] = rank + 1 }
        return out
    }

    /// The text beside each item's point.
    var pointLabels: [String] { labels == .numbered ? numbers.map(String.init) : items.map(\.label) }

    struct LabelPlace {
        var box: Frame
        /// False when no candidate place was free: the box is then the first candidate inside the
        /// plot's width and may overlap other marks (a cluster of more points than places).
        var fits: Bool
        /// A line from the marker to a box that is not next to it.
        var leader: (from: Point, to: Point)?
    }

    /// One box per label, in item order, each clear of every marker, whisker, earlier box and
    /// earlier leader when one of its candidate places allows: right of the point, left, below,
    /// above; then (short numbered labels only) further out in eight directions, nearest first,
    /// joined to the point by a leader that must itself cross no marker, whisker or number (a
    /// leader through another marker would pin the number on that marker).
    func placeLabels(_ texts: [String], map: PlotMap, plot: Frame) -> [LabelPlace] {
        var placed: [Frame] = []
        /// The accepted leaders, each as its points 1 px apart (sampled once, when accepted).
        var leaderPoints: [[Point]] = []
        for item in items {
            let p = Point(map.x(item.x), map.y(item.y))
            if let lo = item.yMin, let hi = item.yMax, hi > lo {
                placed.append(Frame(x: p.x - 4, y: map.y(hi) - 1, width: 8, height: map.y(lo) - map.y(hi) + 2))
            }
            placed.append(Frame(x: p.x - 5, y: p.y - 5, width: 10, height: 10))
        }
        func inside(_ f: Frame) -> Bool { f.x >= plot.x && f.maxX <= plot.maxX && f.y >= plot.y && f.maxY <= plot.maxY }
        /// The points of a segment 1 px apart (both ends included).
        func samples(_ l: (from: Point, to: Point)) -> [Point] {
            let n = Swift.max(1, Int(Self.length(l).rounded(.up)))
            return (0...n).map { Point(l.from.x + (l.to.x - l.from.x) * Double($0) / Double(n), l.from.y + (l.to.y - l.from.y) * Double($0) / Double(n)) }
        }
        func free(_ f: Frame) -> Bool {
            !placed.contains { $0.overlaps(f) } && !leaderPoints.contains { $0.contains { f.contains($0) } }
        }
        func freeLeader(_ l: (from: Point, to: Point)) -> Bool {
            let points = samples(l)
            return !placed.contains { f in points.contains { f.contains($0) } }
        }
        var out: [LabelPlace] = []
        for (item, text) in zip(items, texts) {
            let p = Point(map.x(item.x), map.y(item.y))
            let size = FontSize.note
            let w = SVGText.width(text, size: size), h = size + 2
            typealias Candidate = (box: Frame, leader: (from: Point, to: Point)?)
            var candidates: [Candidate] = [(Frame(x: p.x + 7, y: p.y - h / 2, width: w, height: h), nil),
                                           (Frame(x: p.x - 7 - w, y: p.y - h / 2, width: w, height: h), nil),
                                           (Frame(x: p.x - w / 2, y: p.y + 7, width: w, height: h), nil),
                                           (Frame(x: p.x - w / 2, y: p.y - 7 - h, width: w, height: h), nil),
                                           (Frame(x: p.x + 7, y: p.y + 4, width: w, height: h), nil),
                                           (Frame(x: p.x + 7, y: p.y - 4 - h, width: w, height: h), nil)]
            if labels == .numbered {
                // Directions (dx, dy), right and left first (the key reads along rows); the box
                // sits on the far side of the leader's end.
                let directions: [(Double, Double)] = [(1, 0), (-1, 0), (0.7071, -0.7071), (0.7071, 0.7071), (-0.7071, -0.7071),
                                                      (-0.7071, 0.7071), (0, -1), (0, 1)]
                for step in 1...8 {
                    let reach = 8 + Double(step) * 10
                    for (dx, dy) in directions {
                        let end = Point(p.x + dx * reach, p.y + dy * reach)
                        let bx = dx > 0.1 ? end.x + 1 : (dx < -0.1 ? end.x - 1 - w : end.x - w / 2)
                        let by = dy > 0.1 ? end.y + 1 : (dy < -0.1 ? end.y - 1 - h : end.y - h / 2)
                        candidates.append((Frame(x: bx, y: by, width: w, height: h), (Point(p.x + dx * 8, p.y + dy * 8), end)))
                    }
                }
            }
            let index = candidates.firstIndex { c in inside(c.box) && free(c.box) && (c.leader.map(freeLeader) ?? true) }
            let chosen = index.map { candidates[$0] }
                ?? (candidates.first { $0.box.x >= plot.x && $0.box.maxX <= plot.maxX && $0.leader == nil } ?? candidates[0])
            placed.append(chosen.box)
            if let leader = chosen.leader { leaderPoints.append(samples(leader)) }
            out.append(LabelPlace(box: chosen.box, fits: index != nil, leader: chosen.leader))
        }
        return out
    }

    /// A segment's length in px.
    static func length(_ l: (from: Point, to: Point)) -> Double {
        ((l.to.x - l.from.x) * (l.to.x - l.from.x) + (l.to.y - l.from.y) * (l.to.y - l.from.y)).squareRoot()
    }

    // MARK: Key (numbered mode)

    /// The key: "number  label" per item in number order, each number in its series' colour.
    var key: NumberedKey {
        NumberedKey(zip(numbers, items).map { NumberedKey.Entry(number: $0, label: $1.label, color: style($1.series).color) }
            .sorted { $0.number < $1.number })
    }

    /// The key's height under the plot in a chart `width` wide, its 8 px gap included (0 without items).
    func keyHeight(width: Double) -> Double { items.isEmpty ? 0 : 8 + key.height(width: width - 20) }

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
            for item in items {
                let p = Point(map.x(item.x), map.y(item.y))
                let s = style(item.series)
                // A range of zero length (one seed) has no whisker: caps on a point would read as a
                // measured spread. The whisker's box is kept clear of labels like the markers.
                if let lo = item.yMin, let hi = item.yMax, hi > lo {
                    doc.line(x1: p.x, y1: map.y(hi), x2: p.x, y2: map.y(lo), stroke: s.color, width: 1)
                    doc.line(x1: p.x - 3, y1: map.y(hi), x2: p.x + 3, y2: map.y(hi), stroke: s.color, width: 1)
                    doc.line(x1: p.x - 3, y1: map.y(lo), x2: p.x + 3, y2: map.y(lo), stroke: s.color, width: 1)
                }
                s.marker.draw(into: &doc, at: p, size: 4, color: s.color)
            }
            // Labels after all markers, so a label box also avoids every marker.
            for (label, place) in zip(pointLabels, placeLabels(pointLabels, map: map, plot: plot)) {
                if let leader = place.leader {
                    doc.line(x1: leader.from.x, y1: leader.from.y, x2: leader.to.x, y2: leader.to.y, stroke: Palette.muted, width: 0.5)
                }
                doc.text(label, x: place.box.x, y: place.box.maxY - 3, size: FontSize.note, fill: Palette.axis)
            }
            if labels == .numbered {
                key.draw(into: &doc, x: frame.x + 10, top: frame.maxY - keyHeight(width: frame.width) + 8, width: frame.width - 20)
            }
        }
    }
}
