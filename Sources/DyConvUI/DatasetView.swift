#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dataset view (key `d`), in place of the attention panels: accuracy at the current τ
/// and mode over the evaluated images and the mean normalized entropy of each layer, with a
/// progress bar while the background evaluation runs; then a line chart of accuracy and
/// mean entropy against τ over the sweep's τ values, the current τ marked.
func renderDatasetView(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.right, s = ctx.state, theme = ctx.theme
    guard r.height >= 8 else { return }
    let limit = s.dataset.evaluationLimit
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1),
                 "Dataset · \(s.dataset.name) · \(limit == s.dataset.count ? "all" : "first") \(limit) images",
                 style: theme.heading, rule: theme.edge, right: "d closes", rightStyle: theme.dim)
    var y = r.y + 1
    let config = "\(s.checkpoint.name)\(s.epoch.map { " @epoch \($0.epoch)" } ?? "") · \(temperatureLabel(s)) · mode \(s.checkpoint.isStatic ? "—" : s.mode.rawValue)"
    grid.text(r.x, y, Format.clip(config, r.width), theme.dim)
    y += 1
    if let note = s.dataset.note { grid.text(r.x, y, Format.clip("images: " + note, r.width), theme.dim) }
    y += 1

    // Accuracy and progress.
    let eval = s.evaluation
    grid.text(r.x, y, "accuracy", theme.plain)
    if let eval, eval.done > 0 {
        var x: Int
        if s.dataset.isLabelled, let acc = eval.accuracy {
            x = grid.text(r.x + 10, y, Format.percent(acc), theme.title)
            x = grid.text(x + 1, y, "(\(eval.correct) / \(eval.done))", theme.dim)
        } else {
            // Unlabelled images (--image, a flat folder): nothing is scored, the attention is.
            x = grid.text(r.x + 10, y, "— no labels, attention only (\(eval.done) images)", theme.dim)
        }
        if !eval.isFinished {
            let label = " \(eval.done)/\(eval.total)"
            let bw = min(24, r.maxX - x - 3 - label.unicodeScalars.count)
            if bw >= 4 {
                grid.bar(x + 2, y, width: bw, fraction: Double(eval.done) / Double(max(eval.total, 1)),
                         fill: theme.progress, track: theme.barTrack)
                grid.text(x + 2 + bw, y, label, theme.dim)
            }
        } else {
            grid.text(x + 2, y, Format.clip("in \(Format.milliseconds(eval.milliseconds))", max(r.maxX - x - 2, 0)), theme.dim)
        }
    } else {
        grid.text(r.x + 10, y, limit == 0 ? "no images to evaluate" : "evaluating…", theme.dim)
    }
    y += 2

    // Mean entropy per layer: a window of the layer list around the selected layer (↑↓ move
    // it), grouped by stage for many layers as in the attention panel.
    let layers = s.checkpoint.layers
    let chartMinimum = 9
    let entropyRows = max(r.maxY - y - 2 - chartMinimum - 1, 1)
    let list = ctx.layout.layerList
    let totalRows = list.isGrouped ? list.rows.count : layers.count
    let window: [LayerListRow] = list.isGrouped
        ? list.window(visible: entropyRows, selected: s.selectedLayer)
        : Array((0..<layers.count).map { LayerListRow.layer($0) }.prefix(entropyRows))
    let scrolls = totalRows > window.count
    var heading = "Mean normalized entropy H/lnK per layer"
    if scrolls, let range = list.isGrouped ? list.shownLayers(visible: entropyRows, selected: s.selectedLayer) : nil {
        heading += " · layers \(range.lowerBound + 1)–\(range.upperBound + 1) of \(layers.count)"
    }
    grid.heading(Rect(x: r.x, y: y, width: r.width, height: 1), heading, style: theme.heading, rule: theme.edge)
    y += 1
    if layers.isEmpty {
        grid.text(r.x, y, Format.clip("static network: no attention", r.width), theme.dim)
        y += 1
    } else {
        let names = layers.enumerated().map { list.isGrouped ? list.displayName($0.offset, $0.element.name) : $0.element.name }
        let nameWidth = min(names.map { $0.unicodeScalars.count }.max() ?? 8, 18)
        let barWidth = max(min(r.width - nameWidth - 8, 40), 4)
        for row in window {
            switch row {
            case .stage(let name, let range):
                drawStageHeading(&grid, x: r.x, y: y, width: min(r.width, nameWidth + barWidth + 10), name: name,
                                 range: range, theme: theme)
            case .layer(let l):
                grid.text(r.x + 2, y, Format.pad(names[l], nameWidth), l == s.selectedLayer ? theme.title : theme.plain)
                if let h = eval?.meanEntropy(l) {
                    grid.bar(r.x + 3 + nameWidth, y, width: barWidth, fraction: h, fill: theme.entropyBar, track: theme.barTrack)
                    grid.text(r.x + 4 + nameWidth + barWidth, y, Format.fixed(h, 3), theme.plain)
                } else {
                    grid.text(r.x + 3 + nameWidth, y, "…", theme.dim)
                }
            }
            y += 1
        }
        if scrolls && !list.isGrouped {
            grid.text(r.x + 2, y, "… \(layers.count - window.count) more layers", theme.dim)
            y += 1
        }
    }
    y += 1
    renderSweepChart(ctx, Rect(x: r.x, y: y, width: r.width, height: r.maxY - y), into: &grid)
}

/// The line chart of accuracy and mean entropy against τ (log axis).
func renderSweepChart(_ ctx: RenderContext, _ r: Rect, into grid: inout CellGrid) {
    let s = ctx.state, theme = ctx.theme
    guard r.height >= 4 else { return }
    let sweep = s.sweep
    var right = ""
    if let sweep {
        right = sweep.isFinished ? "\(sweep.points.count) τ values" : "sweep \(sweep.points.count)/\(sweep.temperatures.count)"
    }
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Accuracy and mean entropy against τ",
                 style: theme.heading, rule: theme.edge, right: right, rightStyle: theme.dim)
    if let sweep, !sweep.isFinished, r.width > 30 {
        let bw = 12
        grid.bar(r.maxX - right.unicodeScalars.count - bw - 2, r.y, width: bw, fraction: sweep.fraction,
                 fill: theme.progress, track: theme.barTrack)
    }
    if s.checkpoint.isStatic {
        grid.text(r.x, r.y + 1, Format.clip("τ does not change a static network", r.width), theme.dim)
        return
    }
    let temps = sweep?.temperatures ?? SweepProgress.defaultTemperatures
    guard let tMin = temps.first, let tMax = temps.last, tMax > tMin, tMin > 0 else { return }

    let labelWidth = 5
    let chartRows = r.height - 4          // heading, x axis, x labels, legend
    let chartCols = r.width - labelWidth - 1
    guard chartRows >= 3, chartCols >= 10 else { return }
    let cx0 = r.x + labelWidth + 1, cy0 = r.y + 1
    var canvas = BrailleCanvas(columns: chartCols, rows: chartRows)
    let lmin = log(Double(tMin)), lmax = log(Double(tMax))
    // nil for a value that cannot be plotted (NaN, ±inf): that point is left out.
    func dotX(_ t: Float) -> Int? {
        plotCoordinate((log(Double(t)) - lmin) / (lmax - lmin) * Double(canvas.dotWidth - 1))
    }
    func dotY(_ v: Double) -> Int? {
        v.isFinite ? plotCoordinate((1 - min(max(v, 0), 1)) * Double(canvas.dotHeight - 1)) : nil
    }
    // Current τ as a vertical dotted line.
    let current = s.effectiveTemperature
    if let t = current, t >= tMin, t <= tMax, let x = dotX(t) {
        var yy = 0
        while yy < canvas.dotHeight { canvas.set(x, yy, style: theme.axis, priority: 0); yy += 2 }
    }
    let points = sweep?.points ?? []
    for i in 0..<points.count where i > 0 {
        let p = points[i], q = points[i - 1]
        guard let x0 = dotX(q.temperature), let x1 = dotX(p.temperature) else { continue }
        if let y0 = dotY(q.meanEntropy), let y1 = dotY(p.meanEntropy) {
            canvas.line(x0, y0, x1, y1, style: theme.seriesEntropy, priority: 1)
        }
        if let y0 = dotY(q.accuracy), let y1 = dotY(p.accuracy) {
            canvas.line(x0, y0, x1, y1, style: theme.seriesAccuracy, priority: 2)
        }
    }
    canvas.blit(into: &grid, x: cx0, y: cy0)
    for p in points {
        guard let x = dotX(p.temperature) else { continue }
        if let y = dotY(p.meanEntropy) { grid.put(cx0 + x / 2, cy0 + y / 4, "◆", theme.seriesEntropy) }
        if let y = dotY(p.accuracy) { grid.put(cx0 + x / 2, cy0 + y / 4, "●", theme.seriesAccuracy) }
    }
    // Y axis.
    for row in 0..<chartRows { grid.put(cx0 - 1, cy0 + row, "│", theme.axis) }
    grid.text(r.x, cy0, "1.0", theme.axis); grid.put(cx0 - 1, cy0, "┤", theme.axis)
    grid.text(r.x, cy0 + (chartRows - 1) / 2, "0.5", theme.axis); grid.put(cx0 - 1, cy0 + (chartRows - 1) / 2, "┤", theme.axis)
    grid.text(r.x, cy0 + chartRows - 1, "0.0", theme.axis); grid.put(cx0 - 1, cy0 + chartRows - 1, "┤", theme.axis)
    // X axis with τ labels (skipping those that would overlap).
    let ay = cy0 + chartRows
    grid.put(cx0 - 1, ay, "└", theme.axis)
    for c in 0..<chartCols { grid.put(cx0 + c, ay, "─", theme.axis) }
    var nextFree = r.x
    for t in temps {
        guard let dx = dotX(t) else { continue }
        let c = dx / 2
        grid.put(cx0 + c, ay, "┴", theme.axis)
        let label = Format.temperature(t).replacingTrailingZeros()
        let start = max(cx0 + c - label.unicodeScalars.count / 2, r.x)
        if start >= nextFree, start + label.unicodeScalars.count <= r.maxX {
            grid.text(start, ay + 1, label, theme.axis)
            nextFree = start + label.unicodeScalars.count + 1
        }
    }
    if let t = current, t >= tMin, t <= tMax, let x = dotX(t) { grid.put(cx0 + x / 2, ay, "▲", theme.point) }
    // Legend.
    let ly = ay + 2
    guard ly < r.maxY else { return }
    var x = r.x
    x = grid.text(x, ly, "●", theme.seriesAccuracy)
    x = grid.text(x + 1, ly, "accuracy", theme.plain)
    x = grid.text(x + 2, ly, "◆", theme.seriesEntropy)
    x = grid.text(x + 1, ly, "mean H/lnK", theme.plain)
    x = grid.text(x + 2, ly, "▲", theme.point)
    x = grid.text(x + 1, ly, "current τ", theme.plain)
    if sweep == nil || points.isEmpty {
        grid.text(x + 2, ly, Format.clip("computing…", max(r.maxX - x - 2, 0)), theme.dim)
    } else if let best = points.filter({ $0.accuracy.isFinite }).max(by: { $0.accuracy < $1.accuracy }) {
        let note = "best \(Format.percent(best.accuracy)) at τ \(Format.temperature(best.temperature).replacingTrailingZeros())"
        if x + 2 + note.unicodeScalars.count <= r.maxX { grid.text(x + 2, ly, note, theme.dim) }
    }
}

extension String {
    /// "1.00" → "1", "0.500" → "0.5", "30.0" → "30" (for axis labels).
    func replacingTrailingZeros() -> String {
        guard contains(".") else { return self }
        var s = self
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
