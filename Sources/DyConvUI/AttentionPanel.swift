import DyConvEngine

/// Column widths of the attention rows for a panel width, K and the longest layer name.
struct AttentionColumns: Equatable {
    var nameWidth: Int
    var cellWidth: Int
    var entropyWidth: Int
    /// Whether names are shown without their common ".conv" suffix.
    var shortNames: Bool

    init(width: Int, kernels k: Int, names: [String]) {
        let k = max(k, 1)
        let full = names.map { $0.unicodeScalars.count }.max() ?? 5
        let short = names.map { displayName($0, short: true).unicodeScalars.count }.max() ?? 5
        // Marker + space, name, space, K cells, entropy.
        func fits(_ nw: Int) -> Bool { 2 + nw + 1 + 6 * k + 9 <= width }
        if fits(min(full, 18)) {
            nameWidth = min(full, 18); shortNames = false
        } else {
            nameWidth = min(short, 14); shortNames = true
        }
        let avail = width - 2 - nameWidth - 1
        entropyWidth = min(max(avail / 4, 9), 17)
        cellWidth = min(max((avail - entropyWidth) / k, 5), 14)
    }
}

/// A layer name for display: the `.conv` suffix dropped when `short`.
func displayName(_ name: String, short: Bool) -> String {
    guard short, name.hasSuffix(".conv"), name.count > 5 else { return name }
    return String(name.dropLast(5))
}

/// The attention panel: one row per dynamic layer (low layers at the top) with K cells
/// showing π_k as a bar and value, and the layer's normalized entropy H/ln K as a bar —
/// flat layers (≈ 1) and sparse ones (≈ 0) tell apart at a glance. The selected layer is
/// highlighted; the list scrolls to keep it in view, with a scroll bar at the right edge and
/// the range shown in the heading. Many layers are grouped by stage (`LayerList`).
func renderAttentionPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.attention, s = ctx.state, theme = ctx.theme
    guard r.height >= 3 else { return }
    let layers = s.checkpoint.layers
    let sigmoid = layers.first?.routing == .sigmoid
    let symbol = (layers.first?.routing ?? .softmax).coefficientSymbol()
    let layerCount = layers.count
    let list = ctx.layout.layerList
    let rows = ctx.layout.visibleListRows(layerCount: layerCount, selected: s.selectedLayer)
    let totalRows = list.isGrouped ? list.rows.count : layerCount
    let scrolls = totalRows > rows.count
    let shown = rows.compactMap { row -> Int? in if case .layer(let l) = row { return l } else { return nil } }
    let mode = s.mode == .attention ? "" : "mode \(s.mode.rawValue) · "
    let scroll = scrolls ? "layers \((shown.min() ?? 0) + 1)–\((shown.max() ?? 0) + 1) of \(layerCount)" : "↑↓ select"
    // While the list scrolls, the range matters more than the title's last words.
    var title = sigmoid ? "Routing r = sigmoid(z/τ) per dynamic layer" : "Attention π = softmax(z/τ) per dynamic layer"
    if scrolls && title.unicodeScalars.count + 2 + mode.unicodeScalars.count + scroll.unicodeScalars.count > r.width {
        title = sigmoid ? "Routing r = sigmoid(z/τ)" : "Attention π = softmax(z/τ)"
    }
    // In shuffle-across, the partner whose π was applied, in what room the heading leaves
    // (before the scroll hint, which gives way to it).
    let room = r.width - title.unicodeScalars.count - 2 - mode.unicodeScalars.count
    let right: String
    if let partner = partnerText(ctx.result, symbol: symbol, width: room - 3 - scroll.unicodeScalars.count) {
        right = mode + partner + " · " + scroll
    } else if let partner = partnerText(ctx.result, symbol: symbol, width: room) {
        right = mode + partner
    } else {
        right = mode + scroll
    }
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), title, style: theme.heading, rule: theme.edge,
                 right: right, rightStyle: theme.dim)
    guard layerCount > 0 else {
        grid.text(r.x, r.y + 2, Format.clip("static network: every convolution has one kernel, nothing is routed", r.width), theme.dim)
        return
    }
    // The scroll bar takes the last column (and a gap) while the list scrolls.
    let listWidth = scrolls ? r.width - 2 : r.width
    let maxK = layers.map(\.kernels).max() ?? 1
    let names = layers.enumerated().map { list.isGrouped ? list.displayName($0.offset, $0.element.name) : $0.element.name }
    let cols = AttentionColumns(width: listWidth, kernels: maxK, names: names)
    let cellsX = r.x + 2 + cols.nameWidth + 1
    let entropyX = cellsX + cols.cellWidth * maxK

    // Column header.
    let hy = r.y + 1
    grid.text(r.x + 2, hy, Format.pad("layer", cols.nameWidth), theme.dim)
    for k in 0..<maxK {
        let label = symbol + Format.subscriptNumber(k + 1)
        let n = label.unicodeScalars.count
        // Right-align the label over the value.
        grid.text(cellsX + k * cols.cellWidth + max(cols.cellWidth - 1 - n, 0), hy, label, theme.dim)
    }
    grid.text(entropyX + 1, hy, Format.clip("H/lnK", cols.entropyWidth), theme.dim)

    let trace = ctx.result?.trace
    for (i, row) in rows.enumerated() {
        let y = r.y + Layout.attentionHeaderRows + i
        guard case .layer(let l) = row else {
            if case .stage(let name, let range) = row {
                drawStageHeading(&grid, x: r.x, y: y, width: listWidth, name: name, range: range, theme: theme)
            }
            continue
        }
        let isSelected = l == s.selectedLayer
        func st(_ base: Style) -> Style { isSelected ? theme.onSelection(base) : base }
        if isSelected {
            grid.fill(Rect(x: r.x, y: y, width: listWidth, height: 1), " ", theme.selected)
            grid.put(r.x, y, "▶", theme.selected)
        }
        grid.text(r.x + 2, y, Format.pad(displayName(names[l], short: cols.shortNames), cols.nameWidth),
                  isSelected ? theme.selected : theme.plain)
        guard let trace, l < trace.layers.count, trace.batchSize > 0 else {
            grid.text(cellsX, y, "…", st(theme.dim))
            continue
        }
        let lt = trace.layers[l]
        let pi = lt.attention(sample: 0)
        var best = pi.startIndex
        for j in pi.indices where pi[j] > pi[best] { best = j }
        for (k, j) in pi.indices.enumerated() {
            let v = pi[j]
            let x = cellsX + k * cols.cellWidth
            let valueStyle = st(j == best ? theme.title : theme.plain)
            drawAttentionCell(&grid, x: x, y: y, width: cols.cellWidth, value: v,
                              bar: st(theme.bar), track: st(theme.barTrack), valueStyle: valueStyle)
        }
        let h = lt.entropy[0]
        let ew = cols.entropyWidth
        grid.bar(entropyX + 1, y, width: max(ew - 6, 1), fraction: Double(h), fill: st(theme.entropyBar), track: st(theme.barTrack))
        grid.text(entropyX + 1 + max(ew - 6, 1) + 1, y, Format.unit(h), st(theme.plain))
    }
    if scrolls {
        let first = list.isGrouped ? list.firstRow(visible: rows.count, selected: s.selectedLayer)
                                   : ctx.layout.firstVisibleLayer(layerCount: layerCount, selected: s.selectedLayer)
        grid.scrollBar(x: r.maxX - 1, y: r.y + Layout.attentionHeaderRows, height: rows.count,
                       first: first, visible: rows.count, total: totalRows, track: theme.barTrack, thumb: theme.accent)
    }
}

/// A stage heading row of the layer list: the stage's name, its layer numbers, a rule.
func drawStageHeading(_ grid: inout CellGrid, x: Int, y: Int, width: Int, name: String, range: Range<Int>, theme: Theme) {
    let span = range.count == 1 ? "layer \(range.lowerBound + 1)" : "layers \(range.lowerBound + 1)–\(range.upperBound)"
    let end = grid.text(x + 2, y, Format.clip(name, max(width - 2, 0)), theme.heading, maxWidth: max(width - 2, 0))
    let after = grid.text(end + 1, y, span, theme.dim, maxWidth: max(x + width - end - 1, 0))
    if after + 1 < x + width {
        for cx in (after + 1)..<(x + width) { grid.put(cx, y, "─", theme.edge) }
    }
}

/// One π cell: a bar and the value when there is room, else a level glyph and the value.
func drawAttentionCell(_ grid: inout CellGrid, x: Int, y: Int, width: Int, value: Float,
                       bar: Style, track: Style, valueStyle: Style) {
    let f = Double(min(max(value, 0), 1))
    if width >= 9 {
        let bw = width - 6
        grid.bar(x, y, width: bw, fraction: f, fill: bar, track: track)
        grid.text(x + bw + 1, y, Format.unit(value), valueStyle)
    } else if width >= 6 {
        grid.put(x, y, CellGrid.levelGlyph(f) == " " ? "·" : CellGrid.levelGlyph(f), CellGrid.levelGlyph(f) == " " ? track : bar)
        grid.text(x + 1, y, Format.unit(value), valueStyle)
    } else {
        grid.put(x, y, CellGrid.levelGlyph(f) == " " ? "·" : CellGrid.levelGlyph(f), CellGrid.levelGlyph(f) == " " ? track : bar)
        grid.text(x + 1, y, Format.unit(value, compact: true), valueStyle)
    }
}
