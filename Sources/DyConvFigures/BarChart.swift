// Grouped bar charts: per category a bar for each series, each with an optional min–max whisker
// and a value label above it. Bars start at the y axis's lower end; when that is not 0 (a zoomed
// axis) the y axis shows a break mark and `note` should say where it starts. Each bar carries its
// series' marker shape in white at its foot, matching the legend, so series differ without colour
// (with one series there is nothing to tell apart, and no marker).
//
// Worked example: groups ["dycnn", "condconv"], series ["attention", "average"], y axis 0.8…1.0:
// four bars; "dycnn"/"attention" at 0.93 with whisker 0.92…0.94 is labelled "93.0" (percent axis).

public struct BarChart: XYChart {
    public struct Bar: Sendable {
        public var value: Double
        public var min: Double?
        public var max: Double?
        public init(value: Double, min: Double? = nil, max: Double? = nil) { self.value = value; self.min = min; self.max = max }
    }

    public struct Group: Sendable {
        public var label: String
        /// One per series; nil: that series has no bar here.
        public var bars: [Bar?]
        public init(label: String, bars: [Bar?]) { self.label = label; self.bars = bars }
    }

    public var title: String?
    public var groups: [Group]
    public var seriesNames: [String]
    public var yAxis: Axis
    public var yTitle: String?
    /// Value labels are the axis's tick format with one more decimal (e.g. "93.4" on a percent axis).
    public var valueLabels: Bool
    /// A note written at the plot's top left (e.g. "y axis starts at 80 %").
    public var note: String?
    /// Number the groups and list their labels in a key under the chart when shortening the
    /// labels would make two equal. The caller sizes the frame for the key (`groupLabels`) and
    /// says so in its caption; off, such labels are shortened as they are.
    public var numbersAmbiguousGroups = false

    public init(title: String?, groups: [Group], seriesNames: [String], yAxis: Axis, yTitle: String? = nil,
                valueLabels: Bool = true, note: String? = nil) {
        self.title = title; self.groups = groups; self.seriesNames = seriesNames; self.yAxis = yAxis; self.yTitle = yTitle
        self.valueLabels = valueLabels; self.note = note
    }

    var legendEntries: [LegendEntry] {
        seriesNames.count > 1 ? seriesNames.enumerated().map { LegendEntry($0.element, style: Palette.style($0.offset), glyph: .swatch) } : []
    }

    /// Group labels: wrapped onto up to 3 lines when their words fit the slot, else rotated and
    /// shortened, or (`numbersAmbiguousGroups`) numbered with a key when shortening would make two
    /// of them equal.
    func labels(slot: Double) -> CategoryLabels {
        CategoryLabels(groups.map(\.label), slot: slot, maxLength: 110, maxLines: 3, keyWhenAmbiguous: numbersAmbiguousGroups)
    }

    /// The group labels as drawn in a frame `frameWidth` wide: callers add their `height` (the
    /// key included) to the height they want for the bars, and can say when `key` is not empty.
    public func groupLabels(frameWidth: Double) -> CategoryLabels {
        labels(slot: slot(plotWidth: Swift.max(1, frameWidth - AxisPainter.leftMargin(yAxis, title: yTitle) - 8)))
    }

    /// Each group's share of the plot's width.
    func slot(plotWidth: Double) -> Double { plotWidth / Double(Swift.max(1, groups.count)) }

    public func plotArea(in frame: Frame) -> Frame {
        let m = AxisPainter.headerMargins(title: title, legend: legendEntries, yAxis: yAxis, yTitle: yTitle, frame: frame)
        return frame.inset(top: m.top + (note == nil ? 4 : 16), left: m.left, bottom: groupLabels(frameWidth: frame.width).height,
                           right: 8)
    }

    func valueText(_ v: Double) -> String {
        switch yAxis.format {
        case .percent: return SVGNumber.fixed(v * 100, decimals: yAxis.decimals + 1)
        case .decimal: return SVGNumber.fixed(v, decimals: yAxis.decimals + 1)
        case .compact: return Axis.compact(v)
        }
    }

    public func draw(into doc: inout SVGDocument, frame: Frame) {
        let plot = plotArea(in: frame)
        func py(_ v: Double) -> Double { yAxis.clampedPosition(v, from: plot.maxY, to: plot.y) }
        doc.group(label: title) { doc in
            AxisPainter.drawHeader(title: title, legend: legendEntries, yAxis: yAxis, yTitle: yTitle, frame: frame, plot: plot,
                                   into: &doc)
            AxisPainter.drawNote(note, plot: plot, into: &doc)
            doc.line(x1: plot.x, y1: plot.maxY, x2: plot.maxX, y2: plot.maxY, stroke: Palette.axis, width: 1)
            if yAxis.lower != 0 { AxisPainter.drawBreak(plot: plot, into: &doc) }
            let slot = slot(plotWidth: plot.width)
            let n = Swift.max(1, seriesNames.count)
            let barWidth = Swift.min(slot * 0.84 / Double(n), 40)
            let valueSize = FontSize.note
            var centres: [Double] = []
            for (g, group) in groups.enumerated() {
                let cx = plot.x + (Double(g) + 0.5) * slot
                centres.append(cx)
                let start = cx - barWidth * Double(n) / 2
                for (s, bar) in group.bars.enumerated() where s < n {
                    guard let bar else { continue }
                    let style = Palette.style(s)
                    let x = start + Double(s) * barWidth
                    let top = py(bar.value)
                    doc.rect(x: x + 1, y: top, width: barWidth - 2, height: plot.maxY - top, fill: style.color)
                    if n > 1 && barWidth >= 8 && plot.maxY - top >= 10 {
                        style.marker.draw(into: &doc, at: Point(x + barWidth / 2, plot.maxY - 6), size: Swift.min(3, barWidth / 4),
                                          color: "#FFFFFF")
                    }
                    var labelY = top
                    // No whisker for a zero-length range (one seed): caps on the bar top would read as a spread.
                    if let lo = bar.min, let hi = bar.max, hi > lo {
                        let cx = x + barWidth / 2, cap = Swift.min(4, barWidth / 3)
                        doc.line(x1: cx, y1: py(hi), x2: cx, y2: py(lo), stroke: "#000000", width: 1)
                        doc.line(x1: cx - cap, y1: py(hi), x2: cx + cap, y2: py(hi), stroke: "#000000", width: 1)
                        doc.line(x1: cx - cap, y1: py(lo), x2: cx + cap, y2: py(lo), stroke: "#000000", width: 1)
                        labelY = Swift.min(labelY, py(hi))
                    }
                    guard valueLabels else { continue }
                    let text = valueText(bar.value)
                    if SVGText.width(text, size: valueSize) <= barWidth + 2 {
                        doc.text(text, x: x + barWidth / 2, y: labelY - 3, size: valueSize, anchor: .middle)
                    } else {
                        doc.text(text, x: x + barWidth / 2 + valueSize * 0.35, y: labelY - 3, size: valueSize, rotate: -90)
                    }
                }
            }
            labels(slot: slot).draw(centres: centres, y: plot.maxY, into: &doc)
        }
    }
}
