#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DyConvEngine

/// The dataset view (key `d`), in place of the attention panels:
///
/// - which images are evaluated (the set's name, all or the first N) and the configuration
///   (checkpoint, epoch, τ, mode — an ablation mode says what it does, shuffle-across that each
///   image borrows the π of its partner, the pairs fixed by seed 0);
/// - accuracy at the current τ and mode, with a progress bar while the background evaluation
///   runs (beside the text, never over it);
/// - per layer, the distribution of the normalized entropy H/lnK over the evaluated images as a
///   box row — whiskers p5–p95, box q1–q3, median — with the median and (where it fits) the
///   mean as numbers: the same boxes, from the same routine and images, as `dyconv report`'s
///   entropy figure and `eval --json`'s `entropyBox` (an evaluation that reports no boxes
///   draws the mean as a bar). For CondConv (sigmoid gates) also the mean Σr (Σr = 1 would be
///   the simplex). Every layer row, or a window that follows the selected layer when they do
///   not all fit;
/// - the τ sweep: accuracy and one H/lnK line per layer against τ (log axis), low layers at
///   one end of the heat scale and top layers at the other (and numbered at their points), the
///   current τ marked, with the best accuracy and the accuracy at the current τ.
///
/// Lines are flowed (`flowParts`, `wrapWords`) rather than cut, so no legend ends in "…".
func renderDatasetView(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.right, s = ctx.state, theme = ctx.theme
    guard r.height >= 8, r.width >= 10 else { return }
    let limit = s.dataset.evaluationLimit
    let which = limit == s.dataset.count ? "all \(limit) images" : "first \(limit) of \(s.dataset.count) images"
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Dataset · \(s.dataset.name) · \(which)",
                 style: theme.heading, rule: theme.edge, right: "d closes", rightStyle: theme.dim)
    var y = r.y + 1
    func lines(_ texts: [String], _ style: Style, max: Int) {
        for line in texts.prefix(max) where y < r.maxY {
            grid.text(r.x, y, Format.clip(line, r.width), style, maxWidth: r.width)
            y += 1
        }
    }
    // Configuration and mode.
    let meaning = s.checkpoint.isStatic ? nil : modeMeaning(s.mode, symbol: s.checkpoint.layers[0].routing.coefficientSymbol())
    var config = [s.checkpoint.name + (s.epoch.map { " @epoch \($0.epoch)" } ?? ""), temperatureLabel(s)]
    if !s.layerTemperatures.isEmpty { config.append("\(s.layerTemperatures.count) layer τ set") }
    // An ablation mode is named on its own line(s), with what it does.
    if meaning == nil { config.append("mode \(s.checkpoint.isStatic ? "—" : s.mode.rawValue)") }
    lines(flowParts(config, width: r.width), theme.dim, max: 2)
    if let meaning { lines(wrapWords(meaning, width: r.width), theme.appliedPoint, max: 2) }
    if let note = s.dataset.note { lines(wrapWords("images: " + note, width: r.width), theme.dim, max: 1) }

    // Accuracy and progress.
    let eval = s.evaluation
    if y < r.maxY {
        drawAccuracyLine(ctx, eval: eval, x: r.x, y: y, maxX: r.maxX, into: &grid)
        y += 1
    }
    let layers = s.checkpoint.layers
    let isCondConv = layers.contains { $0.routing == .sigmoid }
    let noteRows = isCondConv ? 1 : 0
    // The sweep chart wants heading, 3 plot rows, axis, labels, legend and the τ note; the
    // layer rows come first, the gaps last.
    let chartMinimum = 8
    let list = ctx.layout.layerList
    let totalRows = list.isGrouped ? list.rows.count : layers.count
    // Every row when they fit beside the chart's minimum; else the list scrolls and shares the
    // room with the chart (at most half for the list).
    let room = r.maxY - y - 1 - noteRows
    let listRoom = totalRows + chartMinimum <= room ? totalRows : max(min(room - chartMinimum, room / 2), 1)
    let spareGaps = r.maxY - y - 1 - noteRows - chartMinimum - totalRows
    if spareGaps >= 6 { y += 1 }     // blank lines only where the chart keeps a few plot rows more

    // Mean H/lnK (and Σr) per layer: a window of the layer list around the selected layer
    // (↑↓ move it), grouped by stage for many layers as in the attention panel.
    let window: [LayerListRow]
    if list.isGrouped {
        window = list.window(visible: listRoom, selected: s.selectedLayer)
    } else {
        let count = min(layers.count, listRoom)
        let first = min(max(s.selectedLayer - count / 2, 0), max(layers.count - count, 0))
        window = (first..<(first + count)).map { LayerListRow.layer($0) }
    }
    let scrolls = totalRows > window.count
    var span = ""
    if scrolls {
        let shown = window.compactMap { row -> Int? in if case .layer(let l) = row { return l } else { return nil } }
        if let a = shown.min(), let b = shown.max() { span = " · \(a + 1)–\(b + 1) of \(layers.count)" }
    }
    // Per layer the distribution of H/lnK over the evaluated images when the evaluation
    // reports it (`EvaluationProgress.entropyBoxes`: the report's boxes), else the means.
    let boxes = (0..<layers.count).map { eval?.entropyBox($0) }
    let drawsBoxes = boxes.contains { $0 != nil }
    // The longest heading that leaves room for the rule and the ↑↓ hint.
    let over = "over \(eval?.done ?? 0) images"
    let headings = drawsBoxes
        ? ["H/lnK per layer \(over): p5 ─ q1 ▆ median ┃ q3 ▆ ─ p95", "H/lnK \(over): p5 ─ q1 ▆ median ┃ q3 ▆ ─ p95",
           "H/lnK \(over): ─ p5–p95 ▆ q1–q3 ┃ median", "H/lnK of \(eval?.done ?? 0) images: ─ p5–p95 ▆ q1–q3 ┃ median",
           "H/lnK: ─ p5–p95 ▆ q1–q3 ┃ median", "H/lnK ─p5–p95 ▆q1–q3 ┃median", "H/lnK ┃ median"]
        : isCondConv ? ["Mean H/lnK and Σr per layer", "H/lnK and Σr"]
                     : ["Mean normalized entropy H/lnK per layer", "Mean H/lnK per layer", "H/lnK"]
    let heading = headings.map { $0 + span }.first { $0.unicodeScalars.count + (scrolls ? 4 : 0) <= r.width } ?? "H/lnK" + span
    if y < r.maxY {
        grid.heading(Rect(x: r.x, y: y, width: r.width, height: 1), heading, style: theme.heading, rule: theme.edge,
                     right: scrolls ? "↑↓" : nil, rightStyle: theme.dim)
        y += 1
    }
    if layers.isEmpty {
        lines(["static network: no attention"], theme.dim, max: 1)
    } else {
        let names = layers.enumerated().map { list.isGrouped ? list.displayName($0.offset, $0.element.name) : $0.element.name }
        let massWidth = isCondConv ? 9 : 0                    // "  Σr 1.81"
        let nameWidth = min(names.map { $0.unicodeScalars.count }.max() ?? 8, 18, max(r.width - 16 - massWidth, 4))
        // Box rows may grow wider than mean bars: more cells, finer quantiles.
        let cap = drawsBoxes ? 64 : 40
        let plainWidth = max(min(r.width - nameWidth - 9 - massWidth, cap), 1)
        // Beside a box the median is the number; the mean follows where the box keeps 20 cells.
        let withMean = min(r.width - nameWidth - 15 - massWidth, cap)
        let showsMean = drawsBoxes && withMean >= 20
        let barWidth = showsMean ? withMean : plainWidth
        let meanWidth = showsMean ? 6 : 0                     // " 0.905"
        // The axis starts at the depth profile's left end (0.50, 0.25 or 0: the first at or below
        // every layer's p5, or mean without boxes), not at 0: on a 0…1 bar 0.86 and 1.00 look
        // alike, which is the contrast that matters.
        let lows = (drawsBoxes ? boxes.compactMap { $0?.p5 } : (0..<layers.count).compactMap { eval?.meanEntropy($0) })
            .filter(\.isFinite)
        let floor = lows.isEmpty ? 0.5 : (lows.min()! >= 0.5 ? 0.5 : lows.min()! >= 0.25 ? 0.25 : 0)
        let barX = r.x + 3 + nameWidth
        if y < r.maxY, !lows.isEmpty, barX + barWidth <= r.maxX {
            grid.text(barX, y, Format.fixed(floor, 2), theme.axis)
            grid.textRight(barX + barWidth, y, "1.00", theme.axis)
            // Column titles over the numbers, where they fit.
            if drawsBoxes, barX + barWidth + 7 <= r.maxX {
                grid.text(barX + barWidth + 1, y, "median", theme.dim)
                if showsMean, barX + barWidth + 12 <= r.maxX { grid.textRight(barX + barWidth + 12, y, "mean", theme.dim) }
            }
            y += 1
        }
        for row in window where y < r.maxY {
            switch row {
            case .stage(let name, let range):
                drawStageHeading(&grid, x: r.x, y: y, width: min(r.width, nameWidth + barWidth + 10 + meanWidth + massWidth), name: name,
                                 range: range, theme: theme)
            case .layer(let l):
                grid.text(r.x + 2, y, Format.pad(names[l], nameWidth), l == s.selectedLayer ? theme.title : theme.plain,
                          maxWidth: nameWidth)
                if l == s.selectedLayer { grid.put(r.x, y, "▶", theme.title) }
                var x = barX
                if drawsBoxes {
                    // The box row; a layer without a box (no finite H/lnK: a diverged model) keeps
                    // the empty track and "nan".
                    if let b = boxes[l] {
                        drawEntropyBox(&grid, b, x: barX, y: y, width: barWidth, floor: floor, theme: theme)
                    } else {
                        grid.bar(barX, y, width: barWidth, fraction: 0, fill: theme.entropyBar, track: theme.barTrack)
                    }
                    grid.text(barX + barWidth + 1, y, Format.fixed(boxes[l]?.median ?? .nan, 3), theme.plain)
                    if showsMean, let h = eval?.meanEntropy(l) { grid.text(barX + barWidth + 7, y, Format.fixed(h, 3), theme.dim) }
                    x = barX + barWidth + 6 + meanWidth
                } else if let h = eval?.meanEntropy(l) {
                    grid.bar(x, y, width: barWidth, fraction: h.isFinite ? min(max((h - floor) / (1 - floor), 0), 1) : 0,
                             fill: theme.entropyBar, track: theme.barTrack)
                    x = grid.text(x + barWidth + 1, y, Format.fixed(h, 3), theme.plain)
                } else {
                    x = grid.text(x, y, "…", theme.dim) + barWidth + 5
                }
                if layers[l].routing == .sigmoid, x + 9 <= r.maxX {
                    x = grid.text(x + 2, y, "Σr", theme.dim)
                    if let m = eval?.meanMass(l) {
                        grid.text(x + 1, y, Format.fixed(m, 2), abs(m - 1) > 0.05 ? theme.appliedPoint : theme.plain)
                    } else {
                        grid.text(x + 1, y, "…", theme.dim)      // not reported (yet) by the evaluation
                    }
                }
            }
            y += 1
        }
        if isCondConv {
            lines(flowParts(["Σr = 1 would be the simplex", "Σr: mean sum of the K sigmoid gates r"], width: r.width),
                  theme.dim, max: 1)
        }
    }
    if r.maxY - y > chartMinimum + 4 { y += 1 }
    renderSweepChart(ctx, Rect(x: r.x, y: y, width: r.width, height: r.maxY - y), into: &grid)
}

/// One layer's box row on the axis floor…1, `width` cells from `x`: the dotted track, whiskers
/// `─` from p5 to p95 and the box `▆` from q1 to q3 (both in the entropy-bar colour), the
/// median `┃` in the title colour over them. A value is in the cell whose range holds it
/// (1.00 in the last one); values below the floor sit in the first.
func drawEntropyBox(_ grid: inout CellGrid, _ box: EntropyBox, x: Int, y: Int, width: Int, floor: Double, theme: Theme) {
    guard width > 0 else { return }
    // A non-finite quantile (only from a hand-made box; the histogram's are finite) draws no part.
    func cell(_ v: Double) -> Int? {
        guard v.isFinite else { return nil }
        let f = min(max((v - floor) / (1 - floor), 0), 1)
        return min(Int((f * Double(width)).rounded(.down)), width - 1)
    }
    let median = cell(box.median)
    let boxCells = cell(box.q1).flatMap { a in cell(box.q3).map { a...max(a, $0) } }
    let whiskerCells = cell(box.p5).flatMap { a in cell(box.p95).map { a...max(a, $0) } }
    for i in 0..<width {
        if i == median {
            grid.put(x + i, y, "┃", theme.title)
        } else if boxCells?.contains(i) == true {
            grid.put(x + i, y, "▆", theme.entropyBar)
        } else if whiskerCells?.contains(i) == true {
            grid.put(x + i, y, "─", theme.entropyBar)
        } else {
            grid.put(x + i, y, "·", theme.barTrack)
        }
    }
}

/// What an ablation mode does, in a sentence (nil for the normal mode).
func modeMeaning(_ mode: AggregationMode, symbol: String) -> String? {
    switch mode {
    case .attention: return nil
    case .average: return "mode average: every kernel weighted Σ\(symbol)/K, the attention ignored"
    case .max: return "mode max: only the kernel with the largest \(symbol) is used"
    case .shuffleImage: return "mode shuffle-image: each image's \(symbol) permuted among its K kernels"
    case .shuffleAcross:
        return "mode shuffle-across: each image borrows the \(symbol) of its partner image (partners fixed by seed 0)"
    }
}

/// "accuracy 87.3% (873 / 1000) in 420 ms", with a progress bar while running — placed after
/// the text only where it fits, so it never covers a character.
private func drawAccuracyLine(_ ctx: RenderContext, eval: EvaluationProgress?, x x0: Int, y: Int, maxX: Int,
                              into grid: inout CellGrid) {
    let s = ctx.state, theme = ctx.theme
    var x = grid.text(x0, y, "accuracy", theme.plain, maxWidth: maxX - x0)
    guard let eval, eval.done > 0 else {
        let text = s.dataset.evaluationLimit == 0 ? "no images to evaluate" : "evaluating…"
        grid.text(x + 2, y, Format.clip(text, max(maxX - x - 2, 0)), theme.dim, maxWidth: max(maxX - x - 2, 0))
        return
    }
    if s.dataset.isLabelled, let acc = eval.accuracy {
        x = grid.text(x + 2, y, Format.percent(acc), theme.title, maxWidth: max(maxX - x - 2, 0))
        let count = "(\(eval.correct) / \(eval.done))"
        if x + 1 + count.unicodeScalars.count <= maxX { x = grid.text(x + 1, y, count, theme.dim) }
    } else {
        // Unlabelled images (--image, a flat folder): nothing is scored, the attention is.
        let text = "— no labels, attention only (\(eval.done) images)"
        x = grid.text(x + 2, y, Format.clip(text, max(maxX - x - 2, 0)), theme.dim, maxWidth: max(maxX - x - 2, 0))
    }
    if !eval.isFinished {
        let label = "\(eval.done)/\(eval.total)"
        let bw = min(24, maxX - x - 3 - label.unicodeScalars.count)
        if bw >= 4 {
            grid.bar(x + 2, y, width: bw, fraction: Double(eval.done) / Double(max(eval.total, 1)),
                     fill: theme.progress, track: theme.barTrack)
            grid.text(x + 3 + bw, y, label, theme.dim)
        } else if x + 2 + label.unicodeScalars.count <= maxX {
            grid.text(x + 2, y, label, theme.dim)
        }
    } else {
        let time = "in \(Format.milliseconds(eval.milliseconds))"
        if x + 2 + time.unicodeScalars.count <= maxX { grid.text(x + 2, y, time, theme.dim) }
    }
}

/// The sweep's series: accuracy, and one H/lnK line per layer (the mean over layers when the
/// sweep has no per-layer entropy).
struct SweepSeries {
    /// Per layer (low first) the H/lnK at each sweep point; one "mean" series as a fallback.
    let entropy: [[Double]]
    let isPerLayer: Bool

    init(points: [SweepPoint], layerCount: Int) {
        // Per layer also before the first point (the legend then names the lines to come).
        let perLayer = layerCount > 0 && points.allSatisfy { $0.layerEntropy.count == layerCount }
        isPerLayer = perLayer
        entropy = perLayer ? (0..<layerCount).map { l in points.map { $0.layerEntropy[l] } } : [points.map(\.meanEntropy)]
    }

    /// The position of layer `l`'s line on the depth ramp: the lowest layer at 0, the top at 1.
    static func scalePosition(_ l: Int, of count: Int) -> Double {
        count > 1 ? Double(l) / Double(count - 1) : 1
    }

    /// The style of layer `l`'s line: a light-blue → magenta ramp over depth, deliberately not
    /// the HeatScale, whose colours mean an H/lnK value everywhere else (yellow = flat).
    static func depthStyle(_ l: Int, of count: Int, theme: Theme) -> Style {
        switch theme.mode {
        case .truecolor, .xterm256:
            let ramp = [117, 75, 33, 63, 99, 135, 171, 207]
            let i = Int((scalePosition(l, of: count) * Double(ramp.count - 1)).rounded())
            return Style(foreground: .index(ramp[min(max(i, 0), ramp.count - 1)]), attributes: .bold)
        case .ansi8, .monochrome:
            return theme.seriesEntropy
        }
    }

    /// The one-cell mark of layer `l`'s points: its number for up to nine layers, else "1"
    /// for the lowest and "N" for the top layer only (nil for the others).
    static func mark(_ l: Int, of count: Int) -> Unicode.Scalar? {
        if count <= 9 { return Unicode.Scalar(UInt8(0x31 + l)) }
        return l == 0 ? "1" : l == count - 1 ? "N" : nil
    }
}

/// The line chart of accuracy and per-layer H/lnK against τ (log axis).
func renderSweepChart(_ ctx: RenderContext, _ r: Rect, into grid: inout CellGrid) {
    let s = ctx.state, theme = ctx.theme
    guard r.height >= 2, r.width >= 10 else { return }
    let sweep = s.sweep
    var right = ""
    if let sweep {
        right = sweep.isFinished ? "\(sweep.points.count) τ values" : "sweep \(sweep.points.count)/\(sweep.temperatures.count)"
    }
    let title = "Accuracy and H/lnK per layer against τ"
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), title, style: theme.heading, rule: theme.edge,
                 right: right, rightStyle: theme.dim)
    // The progress bar goes between the title and the count, only where the rule has room for it.
    if let sweep, !sweep.isFinished {
        let titleEnd = r.x + min(title.unicodeScalars.count, r.width)
        let rightStart = r.maxX - right.unicodeScalars.count
        let bw = min(12, rightStart - titleEnd - 3)
        if bw >= 4, titleEnd + 2 + right.unicodeScalars.count <= r.maxX {
            grid.bar(rightStart - bw - 1, r.y, width: bw, fraction: sweep.fraction, fill: theme.progress, track: theme.barTrack)
        }
    }
    if s.checkpoint.isStatic {
        grid.text(r.x, r.y + 1, Format.clip("τ does not change a static network", r.width), theme.dim)
        return
    }
    let temps = sweep?.temperatures ?? SweepProgress.defaultTemperatures
    guard let tMin = temps.first, let tMax = temps.last, tMax > tMin, tMin > 0 else { return }
    let points = sweep?.points ?? []
    let layerCount = s.checkpoint.layers.count
    let series = SweepSeries(points: points, layerCount: layerCount)

    // Text rows under the plot: legend (flowed) and the τ note.
    let legend = sweepLegend(ctx, series: series, width: r.width)
    // The τ note in full (on two lines if need be), or short when the plot would lose rows.
    var note = sweepNote(ctx, points: points, width: r.width, compact: false)
    if note.count > 1, r.height - 3 - min(legend.count, 2) - note.count < 3 {
        note = sweepNote(ctx, points: points, width: r.width, compact: true)
    }
    let labelWidth = 5
    let textRows = min(legend.count, 2) + min(note.count, 2)
    let chartRows = r.height - 3 - textRows          // heading, x axis, x labels
    let chartCols = r.width - labelWidth - 1
    guard chartRows >= 2, chartCols >= 10 else { return }
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
    func style(ofLayer l: Int) -> Style {
        series.isPerLayer ? SweepSeries.depthStyle(l, of: layerCount, theme: theme)
            : theme.seriesEntropy
    }
    for (l, values) in series.entropy.enumerated() {
        for i in 1..<max(points.count, 1) {
            guard let x0 = dotX(points[i - 1].temperature), let x1 = dotX(points[i].temperature),
                  let y0 = dotY(values[i - 1]), let y1 = dotY(values[i]) else { continue }
            canvas.line(x0, y0, x1, y1, style: style(ofLayer: l), priority: 1)
        }
    }
    for i in 1..<max(points.count, 1) {
        guard let x0 = dotX(points[i - 1].temperature), let x1 = dotX(points[i].temperature),
              let y0 = dotY(points[i - 1].accuracy), let y1 = dotY(points[i].accuracy) else { continue }
        canvas.line(x0, y0, x1, y1, style: theme.seriesAccuracy, priority: 2)
    }
    canvas.blit(into: &grid, x: cx0, y: cy0)
    for (i, p) in points.enumerated() {
        guard let x = dotX(p.temperature) else { continue }
        for (l, values) in series.entropy.enumerated() {
            guard let y = dotY(values[i]) else { continue }
            let mark = series.isPerLayer ? SweepSeries.mark(l, of: layerCount) : "◆"
            if let mark { grid.put(cx0 + x / 2, cy0 + y / 4, mark, style(ofLayer: l)) }
        }
        if let y = dotY(p.accuracy) { grid.put(cx0 + x / 2, cy0 + y / 4, "●", theme.seriesAccuracy) }
    }
    // Y axis.
    for row in 0..<chartRows { grid.put(cx0 - 1, cy0 + row, "│", theme.axis) }
    grid.text(r.x, cy0, "1.0", theme.axis); grid.put(cx0 - 1, cy0, "┤", theme.axis)
    if chartRows >= 3 {
        grid.text(r.x, cy0 + (chartRows - 1) / 2, "0.5", theme.axis); grid.put(cx0 - 1, cy0 + (chartRows - 1) / 2, "┤", theme.axis)
    }
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
    // Legend and note.
    var y = ay + 2
    for line in legend.prefix(2) where y < r.maxY {
        var x = r.x
        for part in line {
            x = grid.text(x, y, part.text, part.style, maxWidth: r.maxX - x)
        }
        y += 1
    }
    for line in note.prefix(2) where y < r.maxY {
        grid.text(r.x, y, Format.clip(line, r.width), theme.dim, maxWidth: r.width)
        y += 1
    }
}

/// A run of styled text.
struct StyledText { var text: String; var style: Style }

/// The chart's legend, flowed onto lines of `width`: "● accuracy", the layer lines ("H/lnK
/// layer 1 2 3 4 5 6 (low → top)" with each number in its line's colour and mark), "▲ current τ".
private func sweepLegend(_ ctx: RenderContext, series: SweepSeries, width: Int) -> [[StyledText]] {
    let theme = ctx.theme, count = ctx.state.checkpoint.layers.count
    var items: [[StyledText]] = [[StyledText(text: "●", style: theme.seriesAccuracy), StyledText(text: " accuracy", style: theme.plain)],
                                 [StyledText(text: "▲", style: theme.point), StyledText(text: " current τ", style: theme.plain)]]
    if series.isPerLayer {
        var item = [StyledText(text: "H/lnK of layer", style: theme.plain)]
        let shown: [Int] = count <= 9 ? Array(0..<count) : [0, count - 1]
        for l in shown {
            let label = count <= 9 ? "\(l + 1)" : (l == 0 ? "1=L1" : "N=L\(count)")
            item.append(StyledText(text: " ", style: theme.plain))
            item.append(StyledText(text: label, style: SweepSeries.depthStyle(l, of: count, theme: theme)))
        }
        item.append(StyledText(text: " (low→top)", style: theme.dim))
        items.append(item)
    } else {
        items.append([StyledText(text: "◆", style: theme.seriesEntropy), StyledText(text: " mean H/lnK", style: theme.plain)])
    }
    // Flow: items separated by two spaces, a new line when the next does not fit.
    var lines: [[StyledText]] = [[]]
    var used = 0
    for item in items {
        let n = item.reduce(0) { $0 + $1.text.unicodeScalars.count }
        let gap = used == 0 ? 0 : 2
        if used > 0, used + gap + n > width { lines.append([]); used = 0 }
        if used > 0 { lines[lines.count - 1].append(StyledText(text: "  ", style: theme.plain)); used += 2 }
        lines[lines.count - 1] += item
        used += n
    }
    return lines
}

/// The τ note: the best accuracy of the sweep and the accuracy at the current τ — from the
/// sweep when the current τ is one of its values (and no per-layer τ is set), else from the
/// dataset evaluation (the two agree at the trained τ). `compact`: the short form for one line.
func sweepNote(_ ctx: RenderContext, points: [SweepPoint], width: Int, compact: Bool) -> [String] {
    let s = ctx.state
    guard s.dataset.isLabelled else { return ["no labels: accuracy is not scored"] }
    guard !points.isEmpty else { return ["sweep computing…"] }
    var parts: [String] = []
    if let best = points.filter({ $0.accuracy.isFinite }).max(by: { $0.accuracy < $1.accuracy }) {
        parts.append("best \(Format.percent(best.accuracy)) at τ \(Format.temperature(best.temperature).replacingTrailingZeros())")
    }
    if let t = s.effectiveTemperature {
        let tau = "τ \(Format.temperature(t).replacingTrailingZeros())"
        let onSweep = s.layerTemperatures.isEmpty
            ? points.first { abs($0.temperature - t) <= 1e-4 * max(abs(t), 1) && $0.accuracy.isFinite } : nil
        let current = compact ? "now" : "current \(tau)\(s.layerTemperatures.isEmpty ? "" : " + layer τ")"
        if let p = onSweep {
            parts.append("\(current)\(compact ? "" : ":") \(Format.percent(p.accuracy))")
        } else if let acc = s.evaluation?.accuracy {
            // Not a τ of the sweep: the figure of the evaluation above (the two agree at the trained τ).
            let running = s.evaluation?.isFinished == false && !compact ? ", running" : ""
            let source = compact ? "(evaluation)" : "(from the evaluation\(running))"
            parts.append("\(current)\(compact ? "" : ":") \(Format.percent(acc)) \(source)")
        } else {
            parts.append("\(current)\(compact ? "" : ":") evaluating…")
        }
    }
    return flowParts(parts, width: width)
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
