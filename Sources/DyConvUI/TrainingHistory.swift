#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The training history panel, as a picture of the run:
///
/// ```
/// Training · epoch 3/31 ─────────── < >
/// τ 3.20 · test 85.0%                      the shown network's figures
/// L1  ▌▌▌▌▌▌▌▌▌▌▌▌▌▌▌▌  0.99              layers × epochs heat map of mean H/lnK (low layers on
/// …                                        top), on the one heat scale, stretched to lo…1
/// L6  ▌▌▌▌▌▌▌▌▌▌▌▌▌▌▌▌  0.85
/// τ   ⣿⣶⣤⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀  3.20              τ schedule (log) and test accuracy, same columns
/// acc ⣠⣴⣶⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿  85.0%
///     ⠒⠒⠒ ▌ ⠐ ⠂   ◇     ep 3               ▲/▌ shown epoch · snapshot (steppable) ◇ final
/// H/lnK .85 ░▒▓█ 1 · ▲ shown · snapshot
/// ```
///
/// Every epoch of `checkpoint.history` (snapshots or not) has its own column
/// (`HistoryColumns`); the selected epoch and the final checkpoint's are marked, the epochs
/// with a snapshot (what `<` `>` step through) are dotted. A checkpoint with no history
/// draws its own record as a one-column map; a static network has no map and no τ.
func renderTrainingHistory(_ ctx: RenderContext, _ r: Rect, into grid: inout CellGrid) {
    guard r.height >= 1, r.width >= 1 else { return }
    let model = HistoryModel(ctx.state)
    let theme = ctx.theme
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), model.title(width: r.width - 4),
                 style: theme.heading, rule: theme.edge,
                 right: ctx.state.checkpoint.epochs.isEmpty ? nil : "< >", rightStyle: theme.dim)
    guard !model.history.isEmpty else {
        if r.height >= 2 { grid.text(r.x, r.y + 1, Format.clip("no training record", r.width), theme.dim) }
        return
    }
    var plan = model.plan(rows: r.height)
    // Two rows (80×24, 100×30 beside the z/π table): the heading and the numbers of the shown
    // epoch say more than a marker row without the strip it marks.
    if r.height <= 2 {
        guard r.height == 2 else { return }
        grid.text(r.x, r.y + 1, flowParts(model.infoParts, width: r.width).first ?? "", theme.title, maxWidth: r.width)
        return
    }
    let rows = HistoryRows(layerNames: model.layerNames, maxRows: plan.mapRows)
    if rows.rows.count < plan.mapRows {
        // Grouped by stage in fewer rows than planned: the rows left over go to the text lines.
        var spare = plan.mapRows - rows.rows.count
        plan.mapRows = rows.rows.count
        if !plan.info && spare > 0 { plan.info = true; spare -= 1 }
        plan.legend = min(plan.legend + spare, 2)
    }
    var y = r.y + 1
    if plan.info {
        // The parts that fit whole (loss is the first to go).
        grid.text(r.x, y, flowParts(model.infoParts, width: r.width).first ?? "", theme.title, maxWidth: r.width)
        y += 1
    }

    // Labels, strip and value column across the width.
    let shortLabels = rows.rows.map(\.label) + (plan.tau ? ["τ"] : []) + (plan.acc ? ["acc"] : [])
    var labelWidth = max(4, (shortLabels.map { $0.unicodeScalars.count }.max() ?? 0) + 1)
    let halfCells = ctx.state.charset == .unicode && HeatScale.color(0, mode: theme.mode) != nil
    let n = model.history.count
    let minimumCells = halfCells ? (n + 1) / 2 : n
    var valueWidth = r.width - labelWidth - 6 >= minimumCells ? 6 : 0
    // Full layer names where they fit beside full-width columns (a wide panel).
    var labels = rows.rows.map(\.label)
    if rows.grouping == .layers {
        let names = rows.rows.map { compactLayerPath(model.layerNames[$0.layers[0]]) }
        let nameWidth = (names.map { $0.unicodeScalars.count }.max() ?? 0) + 1
        if nameWidth > labelWidth, nameWidth <= 20, r.width - nameWidth - valueWidth >= n {
            labels = names; labelWidth = nameWidth
        }
    }
    labelWidth = min(labelWidth, max(r.width - 1, 0))
    if r.width - labelWidth - valueWidth < 1 { valueWidth = 0 }
    let columns = HistoryColumns(count: n, width: r.width - labelWidth - valueWidth, halfCells: halfCells,
                                 focus: model.focus ?? n - 1)
    let x0 = r.x + labelWidth
    let valueX = x0 + columns.totalCells + 1

    func label(_ text: String, _ y: Int, _ style: Style) {
        grid.text(r.x, y, Format.clip(text, labelWidth - 1), style, maxWidth: labelWidth - 1)
    }
    func value(_ text: String, _ y: Int, _ style: Style) {
        guard valueWidth > 0 else { return }
        grid.text(valueX, y, Format.clip(text, r.maxX - valueX), style, maxWidth: r.maxX - valueX)
    }
    func windowMarks(_ y: Int) {
        if columns.hidesBefore { grid.put(x0, y, "‹", theme.dim) }
        if columns.hidesAfter { grid.put(x0 + columns.totalCells - 1, y, "›", theme.dim) }
    }

    // The heat map.
    let lo = model.entropyFloor
    func scaled(_ h: Double?) -> Double? { h.map { (min(max($0, lo), 1) - lo) / max(1 - lo, 1e-9) } }
    let selectedLayer = ctx.state.selectedLayer
    for (ri, row) in rows.rows.enumerated() {
        let values = model.history.map { HistoryRows.entropy(row, $0, names: model.layerNames) }
        for part in 0..<plan.rowsPerLayer {
            guard y < r.maxY else { break }
            if part == 0 { label(labels[ri], y, row.layers.contains(selectedLayer) ? theme.title : theme.dim) }
            for c in 0..<columns.totalCells {
                let es = columns.epochs(inCell: c)
                guard !es.isEmpty else { continue }
                if columns.perCell == 2 {
                    let left = scaled(values[es[0]]), right = es.count > 1 ? scaled(values[es[1]]) : nil
                    let lc = left.flatMap { HeatScale.color($0, mode: theme.mode) }
                    let rc = right.flatMap { HeatScale.color($0, mode: theme.mode) }
                    switch (lc, rc) {
                    case let (l?, r?): grid.put(x0 + c, y, "▌", Style(foreground: l, background: r))
                    case let (l?, nil): grid.put(x0 + c, y, "▌", Style(foreground: l))
                    case let (nil, r?): grid.put(x0 + c, y, "▐", Style(foreground: r))
                    case (nil, nil): grid.put(x0 + c, y, "·", theme.barTrack)
                    }
                } else if let f = scaled(values[es[0]]) {
                    let cell = theme.heatCell(f)
                    grid.put(x0 + c, y, cell.glyph, cell.style)
                } else {
                    grid.put(x0 + c, y, "·", theme.barTrack)
                }
            }
            windowMarks(y)
            if part == 0, let f = model.focus, let h = values[f] { value(Format.fixed(h, 2), y, theme.plain) }
            y += 1
        }
    }

    // τ (log scale) and test accuracy, one column per epoch like the map.
    func sparkline(_ values: [Double?], style: Style, _ y: Int) {
        let known = values.compactMap { $0 }.filter(\.isFinite)
        let lo = known.min() ?? 0, hi = known.max() ?? 1
        func level(_ v: Double?) -> Double? {
            guard let v, v.isFinite else { return nil }
            return hi > lo ? (v - lo) / (hi - lo) : 1
        }
        for c in 0..<columns.totalCells {
            let es = columns.epochs(inCell: c)
            guard !es.isEmpty else { continue }
            if columns.perCell == 2 {
                // Two epochs per cell: a braille bar of 1–4 dots per half.
                let bits = brailleBars(level(values[es[0]]), es.count > 1 ? level(values[es[1]]) : nil)
                if bits == 0 { grid.put(x0 + c, y, "·", theme.barTrack) } else {
                    grid.put(x0 + c, y, Unicode.Scalar(0x2800 + bits)!, style)
                }
            } else if let f = level(values[es[0]]) {
                grid.put(x0 + c, y, CellGrid.levelGlyph(0.125 + 0.875 * f), style)
            } else {
                grid.put(x0 + c, y, "·", theme.barTrack)
            }
        }
        windowMarks(y)
    }
    if plan.tau, y < r.maxY {
        label("τ", y, theme.dim)
        sparkline(model.history.map { $0.temperature.map { log10(max(Double($0), 1e-3)) } }, style: theme.entropyBar, y)
        if let f = model.focus, let t = model.history[f].temperature { value(Format.temperature(t), y, theme.plain) }
        y += 1
    }
    if plan.acc, y < r.maxY {
        label("acc", y, theme.dim)
        sparkline(model.history.map { $0.testAccuracy.map(Double.init) }, style: theme.seriesAccuracy, y)
        if let f = model.focus, let a = model.history[f].testAccuracy { value(Format.percent(Double(a)), y, theme.plain) }
        y += 1
    }

    // Markers: the shown epoch, the final checkpoint, the steppable snapshots.
    if y < r.maxY {
        drawMarkers(model, columns, x0: x0, y: y, theme: theme, into: &grid)
        if valueWidth > 0 { value(model.focusLabel, y, theme.point) }
        y += 1
    }
    if plan.legend > 0, y < r.maxY {
        drawLegend(model, lo: lo, x: r.x, y: y, rows: min(plan.legend, r.maxY - y), maxX: r.maxX,
                   halfCells: columns.perCell == 2, theme: theme, into: &grid)
    }
}

/// The marker row under the strip: `▲` (or, in half cells, `▌`/`▐`) under the shown epoch,
/// `◇` under the final checkpoint's epoch, `·` (or braille dots in half cells) under the other
/// epochs that have a snapshot; nothing under epochs that `<` `>` cannot reach.
private func drawMarkers(_ model: HistoryModel, _ columns: HistoryColumns, x0: Int, y: Int, theme: Theme,
                         into grid: inout CellGrid) {
    for c in 0..<columns.totalCells {
        let es = columns.epochs(inCell: c)
        guard !es.isEmpty else { continue }
        if columns.perCell == 2 {
            if let f = model.focus, let i = es.firstIndex(of: f) {
                grid.put(x0 + c, y, i == 0 ? "▌" : "▐", theme.point)
            } else if let i = es.firstIndex(where: { $0 == model.finalIndex }) {
                grid.put(x0 + c, y, i == 0 ? "▘" : "▝", theme.point)
            } else {
                let left = model.isSnapshot(es[0]) ? 0x02 : 0, right = es.count > 1 && model.isSnapshot(es[1]) ? 0x10 : 0
                if left | right != 0 { grid.put(x0 + c, y, Unicode.Scalar(0x2800 + UInt32(left | right))!, theme.dim) }
            }
        } else {
            let i = es[0]
            // The mark sits in the middle of a wide column.
            let mx = x0 + c + columns.cellWidth / 2
            guard c == columns.place(of: i)?.cell else { continue }
            if i == model.focus {
                grid.put(mx, y, "▲", theme.point)
            } else if i == model.finalIndex {
                grid.put(mx, y, "◇", theme.point)
            } else if model.isSnapshot(i) {
                grid.put(mx, y, "·", theme.dim)
            }
        }
    }
}

/// A braille cell with a bar of 1–4 dots from the bottom in each half (nil: empty half).
func brailleBars(_ left: Double?, _ right: Double?) -> UInt32 {
    // Dots bottom to top: left 7 3 2 1, right 8 6 5 4.
    let leftDots: [UInt32] = [0x40, 0x04, 0x02, 0x01], rightDots: [UInt32] = [0x80, 0x20, 0x10, 0x08]
    func bar(_ f: Double?, _ dots: [UInt32]) -> UInt32 {
        guard let f, f.isFinite else { return 0 }
        let n = 1 + Int((min(max(f, 0), 1) * 3).rounded())
        return dots.prefix(n).reduce(0, |)
    }
    return bar(left, leftDots) | bar(right, rightDots)
}

/// The legend: the map's scale (its ends), then the markers, on one row or two; each part
/// only if it fits.
private func drawLegend(_ model: HistoryModel, lo: Double, x: Int, y: Int, rows: Int, maxX: Int, halfCells: Bool,
                        theme: Theme, into grid: inout CellGrid) {
    var cx = x, y = y
    if model.hasEntropy {
        let low = Format.fixed(lo, 2), ramp = 5
        if cx + 6 + low.unicodeScalars.count + 1 + ramp + 2 <= maxX {
            cx = grid.text(cx, y, "H/lnK", theme.dim)
            cx = grid.text(cx + 1, y, low, theme.dim)
            for i in 0..<ramp {
                let cell = theme.heatCell(Double(i) / Double(ramp - 1))
                grid.put(cx + 1 + i, y, cell.glyph, cell.style)
            }
            cx = grid.text(cx + 2 + ramp, y, "1", theme.dim) + 2
            if rows > 1 { cx = x; y += 1 }
        }
    }
    var parts: [(String, String, Style)] = [(halfCells ? "▌" : "▲", "shown", theme.point)]
    if !model.snapshotEpochs.isEmpty { parts.append((halfCells ? "⠂" : "·", "snapshot", theme.dim)) }
    if model.finalIndex != model.focus { parts.append((halfCells ? "▘" : "◇", "final", theme.point)) }
    for (glyph, text, style) in parts {
        guard cx + 2 + text.unicodeScalars.count <= maxX else { break }
        cx = grid.text(cx, y, glyph, style)
        cx = grid.text(cx + 1, y, text, theme.dim) + 1
    }
}

/// What the history panel shows, from the state: the epochs, which one is shown, which
/// have snapshots, and how the panel's rows are spent.
struct HistoryModel {
    /// The columns: `checkpoint.history`, or the final record alone when there is none.
    let history: [EpochSummary]
    /// History index of the network shown (the selected snapshot, else the final checkpoint).
    let focus: Int?
    /// History index of the final checkpoint's epoch.
    let finalIndex: Int?
    /// Epoch numbers that have a snapshot (what `<` `>` reach).
    let snapshotEpochs: Set<Int>
    /// Names of the dynamic layers, low first (empty for a static network).
    let layerNames: [String]
    let showsTau: Bool
    let showsAccuracy: Bool
    let hasEntropy: Bool
    /// The shown network's epoch summary and whether it is the final checkpoint.
    let shown: EpochSummary?
    let isFinal: Bool
    /// The low end of the map's scale: the lowest H/lnK in the history, rounded down to 0.05
    /// (so the differences near 1 that the paper is about get the whole scale).
    let entropyFloor: Double

    init(_ s: ViewState) {
        let cp = s.checkpoint
        let history = !cp.history.isEmpty ? cp.history : (cp.training.map { [$0] } ?? [])
        self.history = history
        snapshotEpochs = Set(cp.epochs.map(\.epoch))
        layerNames = cp.layers.map(\.name)
        let shown = s.epoch ?? cp.training ?? history.last
        self.shown = shown
        isFinal = s.epoch == nil
        let index = { (epoch: Int?) -> Int? in
            guard let epoch else { return nil }
            return history.lastIndex { $0.epoch == epoch } ?? history.lastIndex { $0.epoch <= epoch }
        }
        focus = index(shown?.epoch)
        finalIndex = index((cp.training ?? history.last)?.epoch)
        // A static network's records may carry a τ for form's sake: it has no attention to apply it to.
        showsTau = !cp.isStatic && history.contains { $0.temperature != nil }
        showsAccuracy = history.contains { $0.testAccuracy != nil }
        let names = layerNames
        let values = history.flatMap { e in names.compactMap { e.layerEntropy?[$0] }.filter(\.isFinite) }
        hasEntropy = !values.isEmpty
        let low = Double(values.min() ?? 0)
        // (the 1e-6 keeps a Float 0.95, 0.949999988 as a Double, on its own step)
        entropyFloor = min(max((low * 20 + 1e-6).rounded(.down) / 20, 0), 0.95)
    }

    /// Whether history epoch `i` has a snapshot.
    func isSnapshot(_ i: Int) -> Bool { i >= 0 && i < history.count && snapshotEpochs.contains(history[i].epoch) }

    /// The heading: the shown snapshot's epoch; the final checkpoint as "final" only when its
    /// record says the run was finished (a snapshot opened on its own shows its own epoch).
    func title(width: Int) -> String {
        guard let e = shown else { return "Training" }
        let ofRun = "epoch \(e.epoch)/\(e.epochs)"
        guard isFinal, e.epoch >= e.epochs else { return "Training · " + ofRun }
        let long = "Training · final · " + ofRun
        return long.unicodeScalars.count <= width ? long : "Training · final"
    }

    /// The shown network's τ, test accuracy and loss.
    var infoParts: [String] {
        guard let e = shown else { return [] }
        var parts = showsTau ? (e.temperature.map { ["τ \(Format.temperature($0))"] } ?? []) : []
        if let acc = e.testAccuracy { parts.append("test \(Format.percent(Double(acc)))") }
        if let loss = e.loss, loss.isFinite { parts.append("loss \(Format.fixed(loss, 3))") }
        return parts
    }

    /// The label at the end of the marker row.
    var focusLabel: String {
        guard let e = shown else { return "" }
        return isFinal && e.epoch >= e.epochs ? "final" : "ep \(e.epoch)"
    }

    /// How `rows` rows (heading included) are spent, most important first: the marker row,
    /// two map rows (lowest and top layer), accuracy, τ, the other map rows, the info line,
    /// the legend, then a taller map.
    struct Plan: Equatable { var mapRows = 0, rowsPerLayer = 1, legend = 0, tau = false, acc = false, info = false }
    func plan(rows: Int) -> Plan {
        var p = Plan()
        let layers = hasEntropy ? layerNames.count : 0
        var spare = rows - 2
        func take() -> Bool { if spare > 0 { spare -= 1; return true }; return false }
        p.mapRows = max(min(min(layers, 2), spare), 0); spare -= p.mapRows
        if showsAccuracy { p.acc = take() }
        if showsTau { p.tau = take() }
        let more = max(min(layers - p.mapRows, spare), 0); p.mapRows += more; spare -= more
        p.info = take()
        p.legend = take() ? 1 : 0
        if p.legend == 1, hasEntropy, take() { p.legend = 2 }
        if layers > 0, p.mapRows == layers, layers <= 8, spare >= layers { p.rowsPerLayer = 2 }
        return p
    }

    /// Rows the panel would like (one per layer, every line) and needs at least.
    var rowsWanted: Int {
        let layers = hasEntropy ? layerNames.count : 0
        return history.isEmpty ? 2 : 2 + layers + (showsTau ? 1 : 0) + (showsAccuracy ? 1 : 0) + 1 + (layers > 0 ? 2 : 1)
    }
    var rowsMinimum: Int {
        let layers = hasEntropy ? layerNames.count : 0
        return history.isEmpty ? 2 : 2 + min(layers, 2) + (showsTau ? 1 : 0) + (showsAccuracy ? 1 : 0)
    }
}
