// A heat map in viridis (`Viridis.rgb`): rows × columns of values, with columns optionally in
// labelled groups (e.g. classes, each with K kernel columns), a vertical colour bar with its own
// ticks, and cells without data drawn grey with a diagonal hatch.
//
// Worked example: rows ["conv1", "conv2"], groups ["T-shirt", "Trouser"] of 2 columns each
// (kernels 1 and 2), values [[0.5, 0.5, 0.6, 0.4], [0.9, 0.1, nil, nil]] on a colour axis 0…1:
// the second layer's "Trouser" cells are hatched grey, the "0.9" cell is yellow-green.

public struct HeatMapChart: Chart {
    public var title: String?
    public var rowLabels: [String]
    /// Column group labels; each group has `columnsPerGroup` columns labelled `subLabels`.
    public var groupLabels: [String]
    public var columnsPerGroup: Int
    public var subLabels: [String]
    /// values[row][column], column = group × columnsPerGroup + sub; nil = no data.
    public var values: [[Double?]]
    public var colorAxis: Axis
    public var colorTitle: String?
    public var rowTitle: String?
    public var columnTitle: String?

    public init(title: String?, rowLabels: [String], groupLabels: [String], columnsPerGroup: Int, subLabels: [String] = [],
                values: [[Double?]], colorAxis: Axis, colorTitle: String? = nil, rowTitle: String? = nil,
                columnTitle: String? = nil) {
        self.title = title; self.rowLabels = rowLabels; self.groupLabels = groupLabels
        self.columnsPerGroup = Swift.max(1, columnsPerGroup); self.subLabels = subLabels; self.values = values
        self.colorAxis = colorAxis; self.colorTitle = colorTitle; self.rowTitle = rowTitle; self.columnTitle = columnTitle
    }

    var columnCount: Int { groupLabels.count * columnsPerGroup }
    static let barWidth = 12.0

    func rightMargin() -> Double {
        14 + Self.barWidth + 6 + AxisPainter.tickLabelWidth(colorAxis) + (colorTitle == nil ? 0 : FontSize.axisTitle + 8)
    }

    func rowLabelSize(rowHeight: Double) -> Double { Swift.min(FontSize.tick, Swift.max(7, rowHeight - 1)) }

    func groupLabels(slot: Double) -> CategoryLabels { CategoryLabels(groupLabels, slot: slot, maxLength: 70) }

    /// Whether kernel sub-labels are written (only when each column fits its label).
    func showsSubLabels(columnWidth: Double) -> Bool {
        !subLabels.isEmpty && columnsPerGroup > 1 && (subLabels.map { SVGText.width($0, size: FontSize.note) }.max() ?? 0) <= columnWidth - 1
    }

    public func plotArea(in frame: Frame) -> Frame {
        let top = AxisPainter.titleHeight(title) + 4
        let rowHeight = (frame.height - top - 60) / Double(Swift.max(1, rowLabels.count))
        let size = rowLabelSize(rowHeight: rowHeight)
        let left = (rowLabels.map { SVGText.width($0, size: size) }.max() ?? 0) + 8 + (rowTitle == nil ? 0 : FontSize.axisTitle + 6)
        let width = Swift.max(1, frame.width - left - rightMargin())
        let columnWidth = width / Double(Swift.max(1, columnCount))
        let sub = showsSubLabels(columnWidth: columnWidth) ? FontSize.note + 4 : 0
        let bottom = sub + groupLabels(slot: columnWidth * Double(columnsPerGroup)).height + (columnTitle == nil ? 0 : FontSize.axisTitle + 6)
        return frame.inset(top: top, left: left, bottom: bottom, right: rightMargin())
    }

    public func draw(into doc: inout SVGDocument, frame: Frame) {
        let plot = plotArea(in: frame)
        let rows = Swift.max(1, rowLabels.count), cols = Swift.max(1, columnCount)
        let cw = plot.width / Double(cols), rh = plot.height / Double(rows)
        doc.group(label: title) { doc in
            AxisPainter.drawTitle(title, frame: frame, into: &doc)
            for r in 0..<rowLabels.count {
                for c in 0..<columnCount {
                    let x = plot.x + Double(c) * cw, y = plot.y + Double(r) * rh
                    let v = r < values.count && c < values[r].count ? values[r][c] : nil
                    if let v, v.isFinite {
                        // 0.4 px wider and taller than the cell: the next cell covers the overlap,
                        // and anti-aliasing leaves no light seam between cells.
                        doc.rect(x: x, y: y, width: cw + 0.4, height: rh + 0.4, fill: Palette.viridis(colorAxis.fraction(v)))
                    } else {
                        doc.rect(x: x, y: y, width: cw, height: rh, fill: Palette.noData)
                        doc.line(x1: x, y1: y + rh, x2: x + cw, y2: y, stroke: "#9A9A9A", width: 0.75)
                    }
                }
            }
            // White rules between column groups, so a class's K columns read as one block.
            if columnsPerGroup > 1 {
                for g in 1..<Swift.max(1, groupLabels.count) {
                    let x = plot.x + Double(g * columnsPerGroup) * cw
                    doc.line(x1: x, y1: plot.y, x2: x, y2: plot.maxY, stroke: "#FFFFFF", width: 2)
                }
            }
            doc.rect(x: plot.x, y: plot.y, width: plot.width, height: plot.height, stroke: Palette.axis, strokeWidth: 0.75)
            let size = rowLabelSize(rowHeight: rh)
            let rowStride = rh < 7 ? Int((7 / rh).rounded(.up)) : 1
            for (r, label) in rowLabels.enumerated() where r % rowStride == 0 || r == rowLabels.count - 1 {
                doc.text(label, x: plot.x - 4, y: plot.y + (Double(r) + 0.5) * rh + size * 0.35, size: size, anchor: .end,
                         fill: Palette.axis)
            }
            if let rowTitle {
                let widest = rowLabels.map { SVGText.width($0, size: size) }.max() ?? 0
                doc.text(rowTitle, x: plot.x - widest - 10, y: plot.y + plot.height / 2, size: FontSize.axisTitle,
                         anchor: .middle, fill: Palette.axis, rotate: -90)
            }
            var y = plot.maxY
            if showsSubLabels(columnWidth: cw) {
                for c in 0..<columnCount {
                    doc.text(subLabels[c % columnsPerGroup], x: plot.x + (Double(c) + 0.5) * cw, y: y + FontSize.note + 1,
                             size: FontSize.note, anchor: .middle, fill: Palette.muted)
                }
                y += FontSize.note + 4
            }
            let gw = cw * Double(columnsPerGroup)
            let labels = groupLabels(slot: gw)
            labels.draw(centres: (0..<groupLabels.count).map { plot.x + (Double($0) + 0.5) * gw }, y: y, into: &doc)
            if let columnTitle {
                doc.text(columnTitle, x: plot.x + plot.width / 2, y: y + labels.height + FontSize.axisTitle, size: FontSize.axisTitle,
                         anchor: .middle, fill: Palette.axis)
            }
            drawColorBar(plot: plot, into: &doc)
        }
    }

    /// The colour bar: 48 stacked cells (no gradient element, so every renderer agrees) and the
    /// colour axis's ticks.
    func drawColorBar(plot: Frame, into doc: inout SVGDocument) {
        let x = plot.maxX + 14, steps = 48
        let h = plot.height / Double(steps)
        for i in 0..<steps {
            let f = (Double(i) + 0.5) / Double(steps)
            doc.rect(x: x, y: plot.maxY - Double(i + 1) * h, width: Self.barWidth, height: i == 0 ? h : h + 1, fill: Palette.viridis(f))
        }
        doc.rect(x: x, y: plot.y, width: Self.barWidth, height: plot.height, stroke: Palette.axis, strokeWidth: 0.75)
        let bar = Frame(x: x, y: plot.y, width: Self.barWidth, height: plot.height)
        AxisPainter.drawY(colorAxis, plot: bar, title: colorTitle, into: &doc, grid: false, right: true)
    }
}
