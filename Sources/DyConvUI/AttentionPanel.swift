import DyConvEngine

// The attention panel: the first screen's picture of the paper's claim. One row per dynamic
// layer (low layers at the top) shows
//
//   ▶ name   [π heat cells]  H/lnK  [depth profile ··········●▂▅█]  median
//
// - the current image's π (CondConv: r) as K heat cells on the one 0…1 scale (`HeatScale`:
//   colour in truecolor / 256 colours, density glyphs otherwise), so a sparse row lights one
//   cell and a flat row is even; the values are printed on the cells when they are wide
//   enough (else the layer detail panel has them);
// - the current image's H/lnK as a number;
// - the depth profile (`DepthProfile.swift`): the layer's H/lnK over the profiled images on
//   one axis shared by every layer, with the current image marked, and the median when
//   there is room.
//
// The heading says what is shown, over how many images, and whether the profile is still
// being computed; the column header carries the axis' tick labels. Many layers scroll and
// are grouped by stage (`LayerList`), with a scroll bar at the right edge.

/// Column widths of the attention rows for a panel width, K and the layer names.
///
/// A row is: marker (2), name, a gap, K heat cells, the current H/lnK (`valueWidth`, right
/// aligned after a gap), a gap, the profile, and the median (`medianWidth`, 0 when there is no room).
/// The profile gets what the rest leaves: at least `minimumProfile` cells; the cells show
/// their value once the profile keeps `profileWithText` cells beside them, and widen on large
/// terminals once the profile has `profileWanted`.
struct AttentionColumns: Equatable {
    var nameWidth: Int
    /// Whether names are shown without their common ".conv" suffix.
    var shortNames: Bool
    /// Columns per kernel.
    var cellWidth: Int
    /// Whether π is printed on the cells.
    var cellText: Bool
    var kernels: Int
    var profileWidth: Int
    var medianWidth: Int
    let valueWidth = 6

    static let minimumProfile = 12
    static let profileWithNames = 16
    static let profileWithText = 30
    static let profileWanted = 80
    static let medianFrom = 40

    /// Widths for a row `width` cells wide. `glyphCells`: cells are density glyphs (no colour
    /// scale), so a printed value needs room beside the glyphs rather than on them.
    init(width: Int, kernels k: Int, names: [String], glyphCells: Bool) {
        let k = max(k, 1)
        kernels = k
        let full = min(names.map { $0.unicodeScalars.count }.max() ?? 5, 18)
        let short = min(names.map { displayName($0, short: true).unicodeScalars.count }.max() ?? 5, 14)
        // Everything but the name, the cells and the profile.
        let fixed = 2 + 1 + 6 + 1
        if width - fixed - full - 2 * k >= 20 {
            nameWidth = full; shortNames = false
        } else {
            shortNames = true
            // Names give way (cut with "…", down to 8 columns) before the profile drops below
            // `profileWithNames`.
            nameWidth = max(min(short, width - fixed - 2 * k - AttentionColumns.profileWithNames), min(short, 8))
        }
        let rest = width - fixed - nameWidth
        let textWidth = glyphCells ? 8 : 5
        if rest - k * textWidth >= AttentionColumns.profileWithText {
            cellText = true
            let spare = rest - k * textWidth - AttentionColumns.profileWanted
            cellWidth = textWidth + (spare > 0 ? min(spare / k, 4) : 0)
        } else {
            cellText = false
            cellWidth = rest - 2 * k >= AttentionColumns.minimumProfile ? 2 : 1
        }
        profileWidth = max(rest - k * cellWidth, 0)
        medianWidth = profileWidth >= AttentionColumns.medianFrom ? 5 : 0
        profileWidth -= medianWidth
    }

    /// Offsets from the row's first column.
    var cellsX: Int { 2 + nameWidth + 1 }
    var valueX: Int { cellsX + kernels * cellWidth }
    var profileX: Int { valueX + valueWidth + 1 }
    var medianX: Int { profileX + profileWidth }
}

/// A layer name for display: the `.conv` suffix dropped when `short`.
func displayName(_ name: String, short: Bool) -> String {
    guard short, name.hasSuffix(".conv"), name.count > 5 else { return name }
    return String(name.dropLast(5))
}

/// What the panel's rows are made of, for the renderer and for tests.
struct AttentionPanelGeometry {
    /// Columns of the list (the scroll bar and its gap excluded).
    let listWidth: Int
    let columns: AttentionColumns
    /// The depth profile's axis, shared by every layer.
    let axis: ProfileAxis
    /// The profiles of the current network (empty when the cloud belongs to another).
    let profiles: [LayerProfile]
    /// Whether the list scrolls.
    let scrolls: Bool

    init(_ ctx: RenderContext) {
        let r = ctx.layout.attention, layers = ctx.state.checkpoint.layers
        let list = ctx.layout.layerList
        let rows = ctx.layout.visibleListRows(layerCount: layers.count, selected: ctx.state.selectedLayer)
        scrolls = (list.isGrouped ? list.rows.count : layers.count) > rows.count
        listWidth = scrolls ? r.width - 2 : r.width
        let names = layers.enumerated().map { list.isGrouped ? list.displayName($0.offset, $0.element.name) : $0.element.name }
        columns = AttentionColumns(width: listWidth, kernels: layers.map(\.kernels).max() ?? 1, names: names,
                                   glyphCells: HeatScale.color(0, mode: ctx.theme.mode) == nil)
        let cloud = ctx.state.cloud
        profiles = cloud.profiles.count == layers.count && cloud.count > 0 ? cloud.profiles : []
        axis = ProfileAxis(profiles: profiles, width: columns.profileWidth)
    }
}

/// The attention panel (see the overview above).
func renderAttentionPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.attention, s = ctx.state, theme = ctx.theme
    guard r.height >= 3 else { return }
    let layers = s.checkpoint.layers
    let layerCount = layers.count
    guard layerCount > 0 else {
        grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Attention per dynamic layer", style: theme.heading,
                     rule: theme.edge)
        for (i, line) in wrapWords("static network: every convolution has one kernel, nothing is routed", width: r.width).enumerated()
        where r.y + 2 + i < r.maxY {
            grid.text(r.x, r.y + 2 + i, line, theme.dim)
        }
        return
    }
    let sigmoid = layers.first?.routing == .sigmoid
    let symbol = (layers.first?.routing ?? .softmax).coefficientSymbol()
    let list = ctx.layout.layerList
    let rows = ctx.layout.visibleListRows(layerCount: layerCount, selected: s.selectedLayer)
    let geometry = AttentionPanelGeometry(ctx)
    let cols = geometry.columns, axis = geometry.axis
    let shown = rows.compactMap { row -> Int? in if case .layer(let l) = row { return l } else { return nil } }
    drawAttentionHeading(ctx, into: &grid, sigmoid: sigmoid, symbol: symbol, profiled: geometry.profiles.isEmpty ? 0 : s.cloud.count,
                         scroll: geometry.scrolls ? "layers \((shown.min() ?? 0) + 1)–\((shown.max() ?? 0) + 1) of \(layerCount)" : "↑↓ select",
                         scrolls: geometry.scrolls)

    let listWidth = geometry.listWidth
    let names = layers.enumerated().map { list.isGrouped ? list.displayName($0.offset, $0.element.name) : $0.element.name }
    let cellsX = r.x + cols.cellsX, valueX = r.x + cols.valueX, profileX = r.x + cols.profileX
    let rowEnd = r.x + listWidth

    // Column header: names, kernel labels, this image's H/lnK, the axis' tick labels, median.
    let hy = r.y + 1
    grid.text(r.x + 2, hy, Format.pad("layer", cols.nameWidth), theme.dim)
    drawKernelLabels(&grid, x: cellsX, y: hy, columns: cols, symbol: symbol, style: theme.dim, limit: min(valueX, rowEnd))
    textRight(&grid, valueX + cols.valueWidth, hy, "H/lnK", theme.dim, within: r.x..<rowEnd)
    drawProfileAxisLabels(&grid, x: profileX, y: hy, axis: axis, style: theme.axis)
    if cols.medianWidth > 0 { textRight(&grid, r.x + cols.medianX + cols.medianWidth, hy, "med", theme.dim, within: r.x..<rowEnd) }

    let trace = ctx.result?.trace
    let gridColumns = axis.gridColumns()
    // Before any point: say so on the first layer row rather than leave the profile blank.
    var saidProfiling = false
    for (i, row) in rows.enumerated() {
        let y = r.y + Layout.attentionHeaderRows + i
        guard case .layer(let l) = row else {
            if case .stage(let name, let range) = row {
                drawStageHeading(&grid, x: r.x, y: y, width: listWidth, name: name, range: range, theme: theme)
            }
            continue
        }
        let isSelected = l == s.selectedLayer
        // The selection's background runs across the row in colour; monochrome reverses only
        // marker and name, since a reversed density glyph or bar would read inverted.
        let mono = theme.mode == .monochrome
        func glyphStyle(_ base: Style) -> Style { isSelected && !mono ? theme.onSelection(base) : base }
        if isSelected {
            grid.fill(Rect(x: r.x, y: y, width: mono ? 2 + cols.nameWidth : listWidth, height: 1), " ", theme.selected)
            grid.put(r.x, y, "▶", theme.selected)
        }
        grid.text(r.x + 2, y, Format.pad(displayName(names[l], short: cols.shortNames), cols.nameWidth),
                  isSelected ? theme.selected : theme.plain, maxWidth: max(rowEnd - r.x - 2, 0))

        var current: Float? = nil
        if let trace, l < trace.layers.count, trace.batchSize > 0 {
            let lt = trace.layers[l]
            drawHeatCells(&grid, x: cellsX, y: y, values: lt.attention(sample: 0), columns: cols, theme: theme,
                          glyphStyle: glyphStyle, textStyle: glyphStyle(theme.plain), limit: min(valueX, rowEnd))
            let h = lt.entropy.first ?? .nan
            current = h
            textRight(&grid, valueX + cols.valueWidth, y, Format.unit(h), glyphStyle(theme.plain), within: valueX..<rowEnd)
        } else {
            grid.text(cellsX, y, "…", glyphStyle(theme.dim), maxWidth: max(rowEnd - cellsX, 0))
        }

        let profile = l < geometry.profiles.count ? geometry.profiles[l] : nil
        if geometry.profiles.isEmpty && !saidProfiling {
            saidProfiling = true
            let text = s.dataset.profileLimit == 0 ? "no images to profile" : "profiling…"
            grid.text(profileX, y, Format.clip(text, axis.width), glyphStyle(theme.dim), maxWidth: axis.width)
        } else {
            drawProfileRow(&grid, x: profileX, y: y, axis: axis, gridColumns: gridColumns, profile: profile, current: current,
                           styles: ProfileRowStyles(bar: glyphStyle(theme.bar), grid: glyphStyle(theme.edge),
                                                    marker: glyphStyle(theme.point)))
        }
        if cols.medianWidth > 0, let profile {
            let text = profile.quantile(0.5).map { Format.unit($0) } ?? "–"
            textRight(&grid, r.x + cols.medianX + cols.medianWidth, y, text, glyphStyle(theme.dim), within: r.x..<rowEnd)
        }
    }
    // Footer: how to read the rows (the claim is the fall of the profile from top to bottom).
    if Layout.attentionFooterRows > 0 {
        let fy = r.maxY - 1
        let key = ["profile: H/lnK of each image, 1.00 = flat (kernels alike), left = sparser · marked bar / ●: this image",
                   "profile: H/lnK per image · 1.00 = flat, left = sparser · marked bar / ●: this image",
                   "profile: H/lnK per image · 1.00 = flat, left = sparser · ● this image",
                   "H/lnK: 1.00 flat, left sparser · ● this image", "1.00 flat · left sparser"]
        if let text = key.first(where: { $0.unicodeScalars.count <= r.width - 2 }) {
            grid.text(r.x + 2, fy, text, theme.dim, maxWidth: r.width - 2)
        }
    }
    if geometry.scrolls {
        let totalRows = list.isGrouped ? list.rows.count : layerCount
        let first = list.isGrouped ? list.firstRow(visible: rows.count, selected: s.selectedLayer)
                                   : ctx.layout.firstVisibleLayer(layerCount: layerCount, selected: s.selectedLayer)
        grid.scrollBar(x: r.maxX - 1, y: r.y + Layout.attentionHeaderRows, height: rows.count,
                       first: first, visible: rows.count, total: totalRows, track: theme.barTrack, thumb: theme.accent)
    }
}

/// One part of the heading and its style.
private struct HeadingPart {
    var text: String
    var style: Style
}

/// The heading row: what the rows show and over how many images the profile is, in the
/// longest form that fits beside the mode, the shuffle-across partner and the scroll hint
/// (which give way in that order of importance: scroll hint, partner, mode, last).
private func drawAttentionHeading(_ ctx: RenderContext, into grid: inout CellGrid, sigmoid: Bool, symbol: String,
                                  profiled n: Int, scroll: String, scrolls: Bool) {
    let r = ctx.layout.attention, s = ctx.state, theme = ctx.theme
    let whats = sigmoid ? ["Routing r = sigmoid(z/τ)", "Routing r", "r"] : ["Attention π = softmax(z/τ)", "Attention π", "π"]
    // The profile's state: images so far, and the pass still running (stale points are the
    // previous τ's or mode's: they stay drawn, so the profile moves as they are replaced).
    let limit = s.dataset.profileLimit
    let images = n == 1 ? "1 image" : "\(n) images"
    // main: long; note: long, middle and short; brief: main and note in a few words.
    let main: String, note: [String], brief: String
    if n == 0 {
        main = limit == 0 ? "no images to profile" : "H/lnK profiling…"
        note = ["", "", ""]
        brief = limit == 0 ? "no images" : "profiling…"
    } else if !s.cloud.isFresh {
        main = "H/lnK over \(images)"
        let done = "\(s.cloud.freshCount)/\(n)"
        note = ["recomputing \(done), the rest as before", "recomputing \(done)", "\(done) new"]
        brief = "H/lnK, \(done) new"
    } else if n < limit {
        main = "H/lnK over \(images)"
        note = ["profiling \(n)/\(limit)", "profiling \(n)/\(limit)", "\(n)/\(limit)"]
        brief = "H/lnK, \(n)/\(limit) images"
    } else {
        main = "H/lnK over \(images)"
        note = ["", "", ""]
        brief = "H/lnK, \(images)"
    }
    func title(_ what: String, _ main: String, _ note: String, legend: Bool) -> [HeadingPart] {
        var parts = [HeadingPart(text: what + " · " + main, style: theme.heading)]
        if !note.isEmpty { parts.append(HeadingPart(text: " · " + note, style: theme.dim)) }
        if legend && n > 0 {
            parts.append(HeadingPart(text: " · ", style: theme.dim))
            parts.append(HeadingPart(text: "●", style: theme.point))
            parts.append(HeadingPart(text: " this image", style: theme.dim))
        }
        return parts
    }
    // Most to least detailed; the last one is the fall-back.
    let titles: [[HeadingPart]] = [
        title(whats[0], main, note[0], legend: true),
        title(whats[0], main, note[1], legend: true),
        title(whats[1], main, note[1], legend: true),
        title(whats[1], main, note[1], legend: false),
        title(whats[2], main, note[1], legend: false),
        title(whats[2], main, note[2], legend: false),
        title(whats[2], brief, "", legend: false),
        title(whats[2], "H/lnK", "", legend: false),
    ]
    let mode = s.mode == .attention ? "" : "mode \(s.mode.rawValue)"
    func joined(_ parts: [String]) -> String { parts.filter { !$0.isEmpty }.joined(separator: " · ") }
    func width(_ t: [HeadingPart]) -> Int { t.reduce(0) { $0 + $1.text.unicodeScalars.count } }
    // The shuffle-across partner's forms, longest first (`partnerText`'s).
    var partners: [String] = []
    var partnerWidth = Int.max
    while let p = partnerText(ctx.result, symbol: symbol, width: partnerWidth) {
        partners.append(p)
        partnerWidth = p.unicodeScalars.count - 1
    }
    // (right-hand text, most-shortened title allowed with it), tried in order. The partner
    // and a scrolling list's layer range are kept down to the shortest title (the partner
    // first, as the range is also seen on the scroll bar); the "↑↓ select" hint of a list
    // that fits, and the partner's longer forms, give way before the title loses its words.
    let full = 3, last = titles.count - 2
    var attempts: [(String, Int)] = []
    if let shortest = partners.last {
        attempts += partners.map { (joined([mode, $0, scroll]), full) }
        attempts += partners.map { (joined([mode, $0]), full) }
        attempts += [(joined([mode, shortest, scrolls ? scroll : ""]), last), (joined([mode, shortest]), last)]
    } else {
        attempts += [(joined([mode, scroll]), scrolls ? last : full)]
    }
    if scrolls { attempts.append((joined([mode, scroll]), last)) }
    attempts += [(mode, last), ("", titles.count - 1)]
    var chosen: (title: [HeadingPart], right: String)? = nil
    search: for (right, limit) in attempts {
        for t in titles[...limit] where width(t) + (right.isEmpty ? 0 : 2 + right.unicodeScalars.count) <= r.width {
            chosen = (t, right)
            break search
        }
    }
    let (parts, right) = chosen ?? (titles[titles.count - 1], "")
    var x = r.x
    for p in parts { x = grid.text(x, r.y, p.text, p.style, maxWidth: max(r.maxX - x, 0)) }
    var ruleEnd = r.maxX
    if !right.isEmpty, x + 2 + right.unicodeScalars.count <= r.maxX {
        grid.textRight(r.maxX, r.y, right, theme.dim)
        ruleEnd = r.maxX - right.unicodeScalars.count - 1
    }
    if x + 1 < ruleEnd {
        for cx in (x + 1)..<ruleEnd { grid.put(cx, r.y, "─", theme.edge) }
    }
}

/// The kernel labels over the heat cells: "π₁" … over each cell when it has room, else one
/// "π₁…π₄" over the block.
private func drawKernelLabels(_ grid: inout CellGrid, x: Int, y: Int, columns cols: AttentionColumns, symbol: String,
                              style: Style, limit: Int) {
    let labels = (0..<cols.kernels).map { symbol + Format.subscriptNumber($0 + 1) }
    if labels.allSatisfy({ $0.unicodeScalars.count <= cols.cellWidth - (cols.cellWidth >= 3 ? 1 : 0) }) {
        for (k, label) in labels.enumerated() {
            // Centred over the coloured part of the cell (the last column is a gap from 3 up).
            let block = cols.cellWidth >= 3 ? cols.cellWidth - 1 : cols.cellWidth
            let lx = x + k * cols.cellWidth + (block - label.unicodeScalars.count + 1) / 2
            grid.text(lx, y, label, style, maxWidth: max(limit - lx, 0))
        }
    } else {
        let block = max(min(cols.kernels * cols.cellWidth, limit - x), 0)
        let range = labels.count > 1 ? labels[0] + "…" + labels[labels.count - 1] : labels[0]
        grid.text(x, y, Format.clip(range.unicodeScalars.count <= block ? range : symbol, block), style, maxWidth: block)
    }
}

/// The heat cells of one row: each kernel's value on the `HeatScale`. With a colour scale a
/// cell is a coloured block (its last column a gap from 3 columns up) with the value printed
/// on it when `cellText`; without, density glyphs, then the value beside them.
private func drawHeatCells(_ grid: inout CellGrid, x: Int, y: Int, values: ArraySlice<Float>, columns cols: AttentionColumns,
                           theme: Theme, glyphStyle: (Style) -> Style, textStyle: Style, limit: Int) {
    let w = cols.cellWidth
    for (k, j) in values.indices.enumerated() where k < cols.kernels {
        let v = values[j], f = Double(v)
        let cx = x + k * w
        guard cx < limit else { break }
        let heat = theme.heatCell(f)
        let coloured = HeatScale.color(f, mode: theme.mode) != nil
        let text = Format.unit(v)
        if coloured {
            let block = w >= 3 ? w - 1 : w
            for i in 0..<min(block, limit - cx) { grid.put(cx + i, y, heat.glyph, heat.style) }
            if cols.cellText {
                let n = min(text.unicodeScalars.count, block)
                grid.text(cx + (block - n + 1) / 2, y, Format.clip(text, block), theme.heatText(f), maxWidth: block)
            }
        } else if cols.cellText {
            // Glyphs, a space, the value, a gap: "▓▓ 0.22 ".
            guard cx + w <= limit else { break }
            let glyphs = max(w - 6, 1)
            for i in 0..<glyphs { grid.put(cx + i, y, heat.glyph, glyphStyle(heat.style)) }
            grid.text(cx + glyphs + 1, y, Format.clip(text, w - glyphs - 2), textStyle, maxWidth: w - glyphs - 2)
        } else {
            for i in 0..<min(w, limit - cx) { grid.put(cx + i, y, heat.glyph, glyphStyle(heat.style)) }
        }
    }
}

/// Text right-aligned to end before `endX`, drawn only when it lies within `columns`.
private func textRight(_ grid: inout CellGrid, _ endX: Int, _ y: Int, _ text: String, _ style: Style, within columns: Range<Int>) {
    let start = endX - text.unicodeScalars.count
    guard start >= columns.lowerBound, endX <= columns.upperBound else { return }
    grid.text(start, y, text, style)
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
