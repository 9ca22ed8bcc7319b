// Box plots, one per category: whiskers p5…p95, a box q1…q3, a median line; categories without
// data show a grey "–". Optional horizontal guide lines (dashed, labelled at the right end).
//
// Worked example (the geometry test's oracle): on a y axis 0…1, a box with q1 = 0.25 and
// q3 = 0.75 is a rect from y(0.75) = top + h/4 to y(0.25) = top + 3h/4: exactly half the plot
// height h, whatever the frame.

/// Five quantiles of one category.
public struct BoxValues: Sendable, Equatable {
    public var p5: Double, q1: Double, median: Double, q3: Double, p95: Double
    public init(p5: Double, q1: Double, median: Double, q3: Double, p95: Double) {
        self.p5 = p5; self.q1 = q1; self.median = median; self.q3 = q3; self.p95 = p95
    }
}

/// A horizontal reference line with a label.
public struct Guide: Sendable, Equatable {
    public var value: Double
    public var label: String
    public init(value: Double, label: String) { self.value = value; self.label = label }
}

public struct BoxPlotChart: XYChart {
    public struct Item: Sendable {
        public var label: String
        /// nil: no data for this category.
        public var box: BoxValues?
        public init(label: String, box: BoxValues?) { self.label = label; self.box = box }
    }

    public var title: String?
    public var items: [Item]
    public var yAxis: Axis
    public var yTitle: String?
    public var xTitle: String?
    public var guides: [Guide]
    public var color: String
    /// Box fill: a light tint of `color`.
    public var fill: String
    /// A note written at the plot's top left (e.g. whether a goal is met).
    public var note: String?

    public init(title: String?, items: [Item], yAxis: Axis, yTitle: String? = nil, xTitle: String? = nil,
                guides: [Guide] = [], color: String = Palette.okabeIto[0], fill: String = "#CFE3F0", note: String? = nil) {
        self.title = title; self.items = items; self.yAxis = yAxis; self.yTitle = yTitle; self.xTitle = xTitle
        self.guides = guides; self.color = color; self.fill = fill; self.note = note
    }

    func labels(slot: Double) -> CategoryLabels { CategoryLabels(items.map(\.label), slot: slot) }

    /// Guide labels go right of the plot, where no box can hide them.
    var rightMargin: Double {
        8 + (guides.map { SVGText.width($0.label, size: FontSize.note) + 4 }.max() ?? 0)
    }

    /// The plot area (inside axes and labels) for `frame`.
    public func plotArea(in frame: Frame) -> Frame {
        let left = AxisPainter.leftMargin(yAxis, title: yTitle)
        let right = rightMargin
        let width = Swift.max(1, frame.width - left - right)
        let slot = width / Double(Swift.max(1, items.count))
        let bottom = labels(slot: slot).height + (xTitle == nil ? 0 : FontSize.axisTitle + 6)
        return frame.inset(top: AxisPainter.titleHeight(title) + (note == nil ? 6 : 18), left: left, bottom: bottom, right: right)
    }

    public func draw(into doc: inout SVGDocument, frame: Frame) {
        let plot = plotArea(in: frame)
        doc.group(label: title) { doc in
            AxisPainter.drawTitle(title, frame: frame, into: &doc)
            AxisPainter.drawNote(note, plot: plot, maxWidth: plot.width + rightMargin, into: &doc)
            AxisPainter.drawY(yAxis, plot: plot, title: yTitle, into: &doc)
            doc.line(x1: plot.x, y1: plot.maxY, x2: plot.maxX, y2: plot.maxY, stroke: Palette.axis, width: 1)
            for g in guides where yAxis.contains(g.value) {
                let y = yAxis.position(g.value, from: plot.maxY, to: plot.y)
                doc.line(x1: plot.x, y1: y, x2: plot.maxX + 3, y2: y, stroke: Palette.muted, width: 1, dash: [5, 3])
                doc.text(g.label, x: plot.maxX + 5, y: y + FontSize.note * 0.35, size: FontSize.note, fill: Palette.muted)
            }
            let slot = plot.width / Double(Swift.max(1, items.count))
            let boxWidth = Swift.min(slot * 0.6, 28)
            var centres: [Double] = []
            for (i, item) in items.enumerated() {
                let cx = plot.x + (Double(i) + 0.5) * slot
                centres.append(cx)
                guard let b = item.box else {
                    doc.text("–", x: cx, y: plot.maxY - 6, size: FontSize.tick, anchor: .middle, fill: Palette.muted)
                    continue
                }
                func y(_ v: Double) -> Double { yAxis.position(Swift.min(Swift.max(v, yAxis.lower), yAxis.upper), from: plot.maxY, to: plot.y) }
                let cap = boxWidth * 0.4
                doc.line(x1: cx, y1: y(b.p95), x2: cx, y2: y(b.q3), stroke: color, width: 1)
                doc.line(x1: cx, y1: y(b.q1), x2: cx, y2: y(b.p5), stroke: color, width: 1)
                doc.line(x1: cx - cap, y1: y(b.p95), x2: cx + cap, y2: y(b.p95), stroke: color, width: 1)
                doc.line(x1: cx - cap, y1: y(b.p5), x2: cx + cap, y2: y(b.p5), stroke: color, width: 1)
                doc.rect(x: cx - boxWidth / 2, y: y(b.q3), width: boxWidth, height: y(b.q1) - y(b.q3), fill: fill,
                         stroke: color, strokeWidth: 1)
                doc.line(x1: cx - boxWidth / 2, y1: y(b.median), x2: cx + boxWidth / 2, y2: y(b.median), stroke: "#000000", width: 2)
            }
            labels(slot: slot).draw(centres: centres, y: plot.maxY, into: &doc)
            if let xTitle {
                doc.text(xTitle, x: plot.x + plot.width / 2, y: frame.maxY - 2, size: FontSize.axisTitle, anchor: .middle,
                         fill: Palette.axis)
            }
        }
    }
}
