import DyConvEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The simplex panel: where attention lies among a layer's K kernels, for the current image
// (● — ◉ when a CondConv r is off the simplex) and the profiled images (the cloud of dots),
// every point coloured by its H/lnK on the one HeatScale.
//
// - Selected layer (default): a large plot with vertex labels and a legend. K = 2 a segment and
//   K = 3 a triangle, both exact (barycentric); K = 4 a regular tetrahedron in 3D turned by
//   `state.simplexView` (r R e E) and projected orthographically, hidden edges dotted, nearer
//   points drawn over farther ones; K > 4 a radial plot (see `SimplexShape.radial`).
// - Small multiples (key s): every dynamic layer's plot side by side, low layers first, so the
//   flat-low / sparse-high picture fits on one screen; an evenly spaced selection over depth
//   when they do not all fit.
// - CondConv (sigmoid routing): r is a point of the cube [0, 1]^K. The plot places r/Σr (its
//   direction) and a gauge shows Σr — the current image's and the cloud's distribution — with
//   Σr = 1 (the simplex) marked, so a point with Σr = 2 is never passed off as π.
//
// The geometry is in SimplexGeometry.swift; this file only draws.

/// Where the selected-layer view puts its plot and legend inside the panel rectangle: the
/// legend on the right, the plot (square in dots) centred in the rest, below the heading.
struct SimplexPanelFrame {
    let canvas: Rect
    let legend: Rect

    init(_ r: Rect) {
        let legendWidth = r.width >= 100 ? 28 : (r.width >= 44 ? 24 : 0)
        let rows = max(r.height - 1, 0)
        let room = max(r.width - legendWidth - (legendWidth > 0 ? 1 : 0), 0)
        let cols = min(room, rows * 2)
        canvas = Rect(x: r.x + (room - cols) / 2, y: r.y + 1, width: cols, height: rows)
        legend = Rect(x: r.maxX - legendWidth, y: r.y + 1, width: legendWidth, height: legendWidth > 0 ? rows : 0)
    }
}

/// Draws the simplex panel into `ctx.layout.simplex`.
func renderSimplexPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.simplex, theme = ctx.theme
    guard r.height >= 4, r.width >= 20 else { return }
    let layers = ctx.state.checkpoint.layers
    guard !layers.isEmpty else {
        grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Simplex", style: theme.heading, rule: theme.edge)
        for (i, line) in wrapWords("no dynamic layer: a static network has no attention simplex", width: r.width).enumerated()
        where r.y + 2 + i < r.maxY {
            grid.text(r.x, r.y + 2 + i, line, theme.dim)
        }
        return
    }
    if ctx.state.simplexView.smallMultiples {
        renderSmallMultiples(ctx, layers: layers, into: &grid)
    } else {
        renderSelectedSimplex(ctx, layers: layers, into: &grid)
    }
}

// MARK: - Shared plotting

/// The current image's trace of layer `l` when it matches the layer's K.
private func currentTrace(_ ctx: RenderContext, layer l: Int, kernels k: Int) -> LayerTrace? {
    guard let t = ctx.result?.trace, t.batchSize > 0, l < t.layers.count else { return nil }
    let lt = t.layers[l]
    guard lt.kernels == k, k > 0, lt.attention.count >= k, lt.applied.count >= k else { return nil }
    return lt
}

/// Whether the cloud holds points of layer `l` of this network with K = `k`.
private func cloudHasLayer(_ s: ViewState, _ l: Int, kernels k: Int) -> Bool {
    let c = s.cloud
    guard let key = c.key, key.sameNetwork(as: s.configKey), l < c.layers.count, l < c.kernels.count,
          l < c.entropies.count, c.kernels[l] == k, k > 0 else { return false }
    return c.layers[l].count == c.count * k && c.entropies[l].count == c.count && c.fresh.count == c.count
}

/// The mean H/lnK of layer `l`'s cloud, else the current image's.
private func meanEntropy(_ ctx: RenderContext, layer l: Int, kernels k: Int) -> Float? {
    let s = ctx.state
    if cloudHasLayer(s, l, kernels: k), l < s.cloud.profiles.count, let m = s.cloud.profiles[l].meanEntropy { return Float(m) }
    return currentTrace(ctx, layer: l, kernels: k)?.entropy.first
}

/// The style of the current image's mark: its H/lnK on the heat scale, bold.
private func pointStyle(_ h: Float?, _ theme: Theme) -> Style {
    guard let h, h.isFinite else { return theme.point }
    return theme.heatForeground(Double(h), fallback: theme.point).with(.bold)
}

/// 0…100: what wins a shared cell among cloud points — the nearer for the tetrahedron (the
/// depth cue), the more peaked (lower H/lnK) for the flat shapes, so rare sparse points are
/// not buried under the flat majority.
private func cellRank(_ p: ProjectedPoint, shape: SimplexShape, entropy h: Float) -> Int {
    let f = shape == .tetrahedron ? (p.depth + 1) / 2 : 1 - Double(h)
    return f.isFinite ? Int((min(max(f, 0), 1) * 100).rounded()) : 0
}

/// The outline: polygon sides or tetrahedron edges (hidden ones dotted and dimmer), or the
/// radial plot's spokes and its uniform ring at 1/K.
private func drawShape(_ canvas: inout BrailleCanvas, _ p: SimplexProjection, _ f: CanvasFrame, _ theme: Theme) {
    switch p.shape {
    case .single:
        return
    case .radial:
        guard let c = f.dot(0, 0) else { return }
        for v in p.vertices {
            guard let d = f.dot(v) else { continue }
            canvas.dottedLine(c.x, c.y, d.x, d.y, period: 2, style: theme.edge, priority: 1)
        }
        // The uniform ring: every spoke point of uniform π lies on it.
        let radius = 1 / Double(p.kernels)
        let samples = max(Int(2 * Double.pi * radius * f.scale / 2), 8)
        for i in 0..<samples {
            let a = 2 * Double.pi * Double(i) / Double(samples)
            if let d = f.dot(radius * sin(a), -radius * cos(a)) { canvas.set(d.x, d.y, style: theme.axis, priority: 2) }
        }
    case .segment, .triangle, .tetrahedron:
        for (a, b) in p.edges {
            guard let da = f.dot(p.vertices[a]), let db = f.dot(p.vertices[b]) else { continue }
            if p.isFrontEdge(a, b) {
                canvas.line(da.x, da.y, db.x, db.y, style: theme.edge, priority: 3)
            } else {
                canvas.dottedLine(da.x, da.y, db.x, db.y, period: 3, style: theme.edge.with(.dim), priority: 1)
            }
        }
    }
}

/// What the cloud of one layer holds.
private struct CloudStats {
    var count = 0, stale = 0
    /// Σ of every point with a finite sum (CondConv's Σr), when asked for.
    var masses: [Double] = []
}

/// The cloud of layer `l`: fresh points in their H/lnK colour, stale ones (computed under the
/// previous τ, mode or epoch) grey and under the fresh.
private func drawCloud(_ canvas: inout BrailleCanvas, _ p: SimplexProjection, _ f: CanvasFrame, _ ctx: RenderContext,
                       layer l: Int, collectMasses: Bool) -> CloudStats {
    let s = ctx.state, theme = ctx.theme, k = p.kernels
    var stats = CloudStats()
    guard cloudHasLayer(s, l, kernels: k) else { return stats }
    let n = s.cloud.count
    let entropies = s.cloud.entropies[l], fresh = s.cloud.fresh
    stats.count = n
    // The fresh points' styles by H/lnK in 1/32 steps (finer than any palette's), made once.
    let heat = (0...32).map { theme.heatForeground(Double($0) / 32, fallback: theme.plain) }
    s.cloud.layers[l].withUnsafeBufferPointer { buf in
        for i in 0..<n {
            let slice = UnsafeBufferPointer(rebasing: buf[(i * k)..<((i + 1) * k)])
            let h = entropies[i]
            if !fresh[i] { stats.stale += 1 }
            if collectMasses {
                let m = coefficientSum(slice)
                if m.isFinite { stats.masses.append(m) }
            }
            let level = h.isFinite ? Int((min(max(h, 0), 1) * 32).rounded()) : 0
            let style = fresh[i] ? heat[level] : theme.cloud
            func rank(_ q: ProjectedPoint) -> UInt8 {
                let c = cellRank(q, shape: p.shape, entropy: h)
                return fresh[i] ? UInt8(40 + 2 * c) : UInt8(10 + c / 4)
            }
            if p.shape == .radial {
                guard let points = p.spokePoints(slice) else { continue }
                for q in points { if let d = f.dot(q) { canvas.set(d.x, d.y, style: style, priority: rank(q)) } }
            } else if let q = p.place(buffer: slice), let d = f.dot(q) {
                canvas.set(d.x, d.y, style: style, priority: rank(q))
            }
        }
    }
    return stats
}

/// The radial plot's polygon of the current image (its K spoke points joined), over the cloud.
private func drawRadialPolygon(_ canvas: inout BrailleCanvas, _ p: SimplexProjection, _ f: CanvasFrame,
                               _ c: ArraySlice<Float>, style: Style) {
    guard p.shape == .radial, let points = p.spokePoints(c) else { return }
    let dots = points.compactMap { f.dot($0) }
    guard dots.count == points.count, dots.count > 1 else { return }
    for i in dots.indices {
        let a = dots[i], b = dots[(i + 1) % dots.count]
        canvas.line(a.x, a.y, b.x, b.y, style: style, priority: 250)
    }
}

/// The grid cell of a unit-scale point on a canvas whose top-left cell is `origin`, if it is
/// inside `clip`.
private func cell(of q: ProjectedPoint, _ f: CanvasFrame, origin: (x: Int, y: Int), clip: Rect) -> (x: Int, y: Int)? {
    guard let d = f.dot(q), d.x >= 0, d.y >= 0 else { return nil }
    let c = (x: origin.x + d.x / 2, y: origin.y + d.y / 4)
    return clip.contains(x: c.x, y: c.y) ? c : nil
}

/// The current image's mark (● on the simplex, ◉ for an r off it) and, in the modes that change
/// them, the applied coefficients (◆), placed as `place` puts them.
private func drawMarks(_ grid: inout CellGrid, _ p: SimplexProjection, _ f: CanvasFrame, origin: (x: Int, y: Int),
                       clip: Rect, trace lt: LayerTrace, ctx: RenderContext) {
    if ctx.state.mode != .attention, let q = p.place(lt.applied(sample: 0)), let c = cell(of: q, f, origin: origin, clip: clip) {
        grid.put(c.x, c.y, "◆", ctx.theme.appliedPoint)
    }
    let pi = lt.attention(sample: 0)
    if let q = p.place(pi), let c = cell(of: q, f, origin: origin, clip: clip) {
        let off = lt.routing == .sigmoid && !isOnSimplex(pi)
        grid.put(c.x, c.y, off ? "◉" : "●", pointStyle(lt.entropy.first, ctx.theme))
    }
}

// MARK: - Selected layer

/// The selected layer's plot with vertex labels, and the legend: what is drawn, routing and τ,
/// the marks, the colour scale, CondConv's Σr gauge, the keys.
private func renderSelectedSimplex(_ ctx: RenderContext, layers: [LayerSummary], into grid: inout CellGrid) {
    let r = ctx.layout.simplex, s = ctx.state, theme = ctx.theme
    let l = min(max(s.selectedLayer, 0), layers.count - 1)
    let layer = layers[l]
    let k = layer.kernels
    let sigmoid = layer.routing == .sigmoid
    let sym = sigmoid ? "r" : "π"
    let lt = currentTrace(ctx, layer: l, kernels: k)
    let pi = lt?.attention(sample: 0)
    let sum = pi.map { coefficientSum($0) }
    let off = sigmoid && pi.map { !isOnSimplex($0) } == true

    var right: String? = nil
    if let sum {
        right = "Σ\(sym) = \(Format.fixed(sum, 3))"
        if sigmoid { right! += off ? " (off the simplex)" : " (on the simplex)" }
    }
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Simplex · \(compactLayerPath(layer.name)) · K=\(k)",
                 style: theme.heading, rule: theme.edge, right: right, rightStyle: off ? theme.warn : theme.title)

    let frame = SimplexPanelFrame(r)
    let box = frame.canvas
    let projection = SimplexProjection(kernels: k, view: s.simplexView)
    var stats = CloudStats()
    if projection.shape == .single {
        grid.text(box.x, box.y + 1, Format.clip("K = 1: one kernel, \(sym)₁ is all there is", box.width), theme.dim)
    } else if box.width >= 8, box.height >= 3 {
        var canvas = BrailleCanvas(columns: box.width, rows: box.height)
        // Room around the shape for the vertex labels: one cell and a half across, one down.
        let f = CanvasFrame(projection, dotWidth: canvas.dotWidth, dotHeight: canvas.dotHeight, marginX: 4, marginY: 5)
        drawShape(&canvas, projection, f, theme)
        stats = drawCloud(&canvas, projection, f, ctx, layer: l, collectMasses: sigmoid)
        if let pi { drawRadialPolygon(&canvas, projection, f, pi, style: pointStyle(lt?.entropy.first, theme)) }
        canvas.blit(into: &grid, x: box.x, y: box.y)
        drawVertexLabels(&grid, projection, f, origin: (box.x, box.y), clip: box, theme)
        if let lt { drawMarks(&grid, projection, f, origin: (box.x, box.y), clip: box, trace: lt, ctx: ctx) }
    }
    renderLegend(ctx, frame.legend, layer: l, kernels: k, sigmoid: sigmoid, trace: lt, sum: sum, off: off,
                 stats: stats, shape: projection.shape, into: &grid)
}

/// Vertex (or spoke-tip) numbers just outside the shape, in the direction from its centre; a
/// vertex of the tetrahedron hidden behind it dimmer.
private func drawVertexLabels(_ grid: inout CellGrid, _ p: SimplexProjection, _ f: CanvasFrame, origin: (x: Int, y: Int),
                              clip: Rect, _ theme: Theme) {
    for (i, v) in p.vertices.enumerated() {
        let len = (v.x * v.x + v.y * v.y).squareRoot()
        // A vertex seen (nearly) head-on sits at the centre: label it above.
        let (ux, uy) = len > 0.2 ? (v.x / len, v.y / len) : (0.0, -1.0)
        guard let lx = plotCoordinate(f.centerX + v.x * f.scale + ux * 3.5),
              let ly = plotCoordinate(f.centerY + v.y * f.scale + uy * 5), lx >= 0, ly >= 0 else { continue }
        let label = String(i + 1)
        let n = label.unicodeScalars.count
        var x = origin.x + lx / 2
        if ux < -0.3 { x -= n - 1 }
        let y = origin.y + ly / 4
        guard clip.contains(x: x, y: y), clip.contains(x: x + n - 1, y: y) else { continue }
        // A vertex behind the solid: every edge to it is hidden.
        let hidden = p.shape == .tetrahedron && (0..<4).allSatisfy { $0 == i || !p.isFrontEdge(min(i, $0), max(i, $0)) }
        grid.text(x, y, label, hidden ? theme.dim : theme.vertex)
    }
}

/// One row of the legend.
private enum LegendRow {
    case text(String, Style)
    case mark(Unicode.Scalar, Style, String, Style)
    case bar(Int)
    case ramp
    case massHistogram
    case massAxis
}

/// The legend column: essential rows first; π bars when there is room; rows that do not fit
/// are dropped from the least essential.
private func renderLegend(_ ctx: RenderContext, _ box: Rect, layer l: Int, kernels k: Int, sigmoid: Bool,
                          trace lt: LayerTrace?, sum: Double?, off: Bool, stats: CloudStats, shape: SimplexShape,
                          into grid: inout CellGrid) {
    guard box.width > 0, box.height > 0 else { return }
    let s = ctx.state, theme = ctx.theme
    let sym = sigmoid ? "r" : "π"
    let w = box.width

    let what: String
    switch shape {
    case .single: what = "one kernel"
    case .segment: what = sigmoid ? "segment: r/Σr" : "segment: π, exact"
    case .triangle: what = sigmoid ? "triangle: r/Σr" : "triangle: π, exact"
    case .tetrahedron: what = sigmoid ? "tetrahedron: r/Σr, 3D" : "tetrahedron: π, 3D"
    case .radial: what = "spoke k: \(sigmoid ? "rₖ/Σr" : "πₖ") 0→1"
    }
    var head: [LegendRow] = [.text(what, theme.title)]
    if shape == .radial { head.append(.text("ring: uniform 1/\(k)", theme.dim)) }
    let tau = lt?.temperature ?? s.temperature(ofLayer: l)
    let own = s.layerTemperatures[l] != nil ? "*" : ""
    head.append(.text("\(sigmoid ? "sigmoid" : "softmax") · τ \(tau.map { Format.temperature($0) } ?? "–")\(own)", theme.dim))

    var marks: [LegendRow] = []
    if let lt {
        let h = lt.entropy.first ?? .nan
        marks.append(.mark(off ? "◉" : "●", pointStyle(h, theme), "this image H/lnK \(Format.unit(h, compact: true))", theme.plain))
    } else {
        marks.append(.text("computing…", theme.dim))
    }
    if s.mode != .attention { marks.append(.mark("◆", theme.appliedPoint, "applied by the mode", theme.plain)) }
    let stale = stats.stale > 0 ? ", \(stats.stale) stale" : ""
    marks.append(.mark("⠂", theme.cloud, "\(stats.count) image\(stats.count == 1 ? "" : "s")\(stale)", theme.plain))

    var mass: [LegendRow] = []
    var massMean: [LegendRow] = []
    if sigmoid {
        let v = sum.map { Format.fixed($0, 2) } ?? "–"
        mass.append(.text(off ? "off the simplex: Σr \(v)" : "on the simplex: Σr \(v)", off ? theme.warn : theme.plain))
        mass.append(.massHistogram)
        mass.append(.massAxis)
        if l < s.cloud.profiles.count, stats.count > 0 {
            massMean.append(.mark("▲", theme.accent, "mean Σr \(Format.fixed(s.cloud.profiles[l].meanMass, 2)) · │ = 1", theme.plain))
        }
    }
    var hints: [LegendRow] = shape == .tetrahedron
        ? [.text("r R e E rotate", theme.dim), .text("s: all layers", theme.dim)]
        : [.text("s: all layers", theme.dim)]

    // Fit: drop the mean Σr line, merge the two key hints, drop the colour ramp, in that order;
    // the π bars only when all of them fit too.
    func total(ramp: Bool) -> Int { head.count + marks.count + (ramp ? 1 : 0) + mass.count + massMean.count + hints.count }
    if total(ramp: true) > box.height { massMean = [] }
    if total(ramp: true) > box.height, hints.count == 2 { hints = [.text("r R e E rotate · s all", theme.dim)] }
    let rampShown = total(ramp: true) <= box.height
    let spare = box.height - total(ramp: rampShown)
    let bars: [LegendRow] = spare >= k && lt != nil ? (0..<k).map { .bar($0) } : []
    let ramp: [LegendRow] = rampShown ? [.ramp] : []
    let rows = head + bars + marks + ramp + mass + massMean + hints

    // The Σr gauge: [0, K] across, Σr = 1 (the simplex) marked.
    let gx = box.x + 3, gw = max(w - 5, 1)
    func gaugeColumn(_ v: Double) -> Int? {
        guard v.isFinite, k > 0 else { return nil }
        return gx + Int((min(max(v / Double(k), 0), 1) * Double(gw - 1)).rounded())
    }

    var y = box.y
    for row in rows {
        guard y < box.maxY else { break }
        switch row {
        case .text(let t, let style):
            grid.text(box.x, y, Format.clip(t, w), style)
        case .mark(let glyph, let gs, let t, let style):
            grid.put(box.x, y, glyph, gs)
            grid.text(box.x + 2, y, Format.clip(t, w - 2), style)
        case .bar(let j):
            guard let pi = lt?.attention(sample: 0), j < pi.count else { break }
            let v = pi[pi.startIndex + j]
            var x = grid.text(box.x, y, "\(sym)\(Format.subscriptNumber(j + 1)) ", theme.vertex)
            let bw = max(w - (x - box.x) - 5, 1)
            grid.bar(x, y, width: bw, fraction: Double(v), fill: theme.bar, track: theme.barTrack)
            x += bw + 1
            grid.text(x, y, Format.clip(Format.unit(v), box.maxX - x), theme.plain)
        case .ramp:
            var x = grid.text(box.x, y, "H/lnK 0 ", theme.dim)
            let cells = max(w - 10, 1)
            for i in 0..<cells {
                let c = theme.heatCell(cells > 1 ? Double(i) / Double(cells - 1) : 1)
                grid.put(x, y, c.glyph, c.style)
                x += 1
            }
            grid.text(x, y, " 1", theme.dim)
        case .massHistogram:
            grid.text(box.x, y, "Σr", theme.dim)
            var counts = [Int](repeating: 0, count: gw)
            for m in stats.masses { if let c = gaugeColumn(m) { counts[c - gx] += 1 } }
            let most = max(counts.max() ?? 0, 1)
            for (i, c) in counts.enumerated() where c > 0 {
                // At least a sliver for any point, so a lone outlier shows.
                grid.put(gx + i, y, CellGrid.levelGlyph(max(Double(c) / Double(most), 0.125)), theme.bar)
            }
        case .massAxis:
            grid.text(gx - 1, y, "0", theme.dim)
            for i in 0..<gw { grid.put(gx + i, y, "·", theme.barTrack) }
            grid.text(gx + gw, y, Format.clip(String(k), box.maxX - gx - gw), theme.dim)
            if let c = gaugeColumn(1) { grid.put(c, y, "│", theme.vertex) }
            if stats.count > 0, l < s.cloud.profiles.count, let c = gaugeColumn(s.cloud.profiles[l].meanMass) {
                grid.put(c, y, "▲", theme.accent)
            }
            if let sum, let c = gaugeColumn(sum) {
                grid.put(c, y, off ? "◉" : "●", pointStyle(lt?.entropy.first, theme))
            }
        }
        y += 1
    }
}

// MARK: - Small multiples

/// Every dynamic layer's plot in a grid of tiles, low layers first: title row (layer name and
/// mean H/lnK; CondConv's mean Σr when there is room), the selected layer's title highlighted.
/// When the tiles cannot hold every layer, an evenly spaced selection over depth that keeps the
/// first, the last and the selected layer ("n of N layers").
private func renderSmallMultiples(_ ctx: RenderContext, layers: [LayerSummary], into grid: inout CellGrid) {
    let r = ctx.layout.simplex, s = ctx.state, theme = ctx.theme
    let n = layers.count
    let area = Rect(x: r.x, y: r.y + 1, width: r.width, height: max(r.height - 2, 0))
    let tiles = TileGrid(width: area.width, height: area.height, count: n)
    let shown = smallMultipleLayers(total: n, slots: tiles.slots, selected: s.selectedLayer)
    let count = shown.count < n ? "\(shown.count) of \(n) layers" : "\(n) layers"
    let tau = s.effectiveTemperature.map { " · τ \(Format.temperature($0))" + (s.layerTemperatures.isEmpty ? "" : "*") } ?? ""
    // The longest title that leaves room for the count.
    let titles = ["Simplex · every layer, low → high" + tau, "Simplex · every layer, low → high", "Simplex · low → high", "Simplex"]
    let title = titles.first { $0.unicodeScalars.count + count.unicodeScalars.count + 2 <= r.width } ?? "Simplex"
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), title,
                 style: theme.heading, rule: theme.edge, right: count, rightStyle: theme.title)

    let selected = min(max(s.selectedLayer, 0), n - 1)
    let names = tileNames(layers.map(\.name))
    for (i, l) in shown.enumerated() {
        let col = i % tiles.columns, row = i / tiles.columns
        let tile = Rect(x: area.x + col * (tiles.tileWidth + 1), y: area.y + row * tiles.tileHeight,
                        width: tiles.tileWidth, height: tiles.tileHeight)
        guard tile.maxY <= area.maxY, tile.maxX <= area.maxX else { continue }
        // "*": this layer runs with its own τ ({ }).
        let name = names[l] + (s.layerTemperatures[l] != nil ? "*" : "")
        renderTile(ctx, tile, layer: l, summary: layers[l], name: name, selected: l == selected, into: &grid)
    }

    // Bottom row: the keys and the marks, as many as fit.
    let anySigmoid = layers.contains { $0.routing == .sigmoid }
    var parts = anySigmoid ? ["◉ off the simplex, at r/Σr", "s: one layer"] : ["s: one layer"]
    if layers.contains(where: { $0.kernels == 4 }) { parts.append("r R e E rotate") }
    parts.append("● this image")
    // What the colours and the tile numbers mean (no colour: the dots carry position only).
    parts.append(HeatScale.color(0, mode: theme.mode) != nil ? "dots: images, colour H/lnK" : "dots: images")
    parts.append("n.nn: mean H/lnK")
    if !s.layerTemperatures.isEmpty { parts.append("* own τ") }
    var legend = ""
    for p in parts {
        let next = legend.isEmpty ? p : legend + " · " + p
        if next.unicodeScalars.count <= r.width { legend = next }
    }
    grid.text(r.x, r.maxY - 1, legend, theme.dim, maxWidth: r.width)
}

/// Short tile titles: the compact layer names without the leading and trailing components
/// every layer shares ("features.9.conv.2" → "9.conv.2" in MobileNetV2, "layer2.1.conv" →
/// "layer2.1" when every name ends in ".conv"), each keeping at least one component.
func tileNames(_ names: [String]) -> [String] {
    let parts = names.map { compactLayerPath($0).split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
    guard parts.count >= 2, let shortest = parts.map(\.count).min(), shortest >= 2 else {
        return names.map(compactLayerPath)
    }
    func shared(_ component: (([String]) -> String?)) -> Bool {
        let first = component(parts[0])
        return first != nil && parts.allSatisfy { component($0) == first }
    }
    var prefix = 0, suffix = 0
    while prefix + suffix < shortest - 1, shared({ $0[prefix] }) { prefix += 1 }
    while prefix + suffix < shortest - 1, shared({ $0[$0.count - 1 - suffix] }) { suffix += 1 }
    return parts.map { $0[prefix..<($0.count - suffix)].joined(separator: ".") }
}

/// One tile of the small multiples.
private func renderTile(_ ctx: RenderContext, _ tile: Rect, layer l: Int, summary: LayerSummary, name: String,
                        selected: Bool, into grid: inout CellGrid) {
    let s = ctx.state, theme = ctx.theme
    let k = summary.kernels
    let sigmoid = summary.routing == .sigmoid
    let titleStyle = selected ? theme.selected : theme.plain
    if selected { grid.fill(Rect(x: tile.x, y: tile.y, width: tile.width, height: 1), " ", theme.selected) }
    var right = meanEntropy(ctx, layer: l, kernels: k).map { Format.unit($0, compact: true) } ?? "–"
    if sigmoid, cloudHasLayer(s, l, kernels: k), l < s.cloud.profiles.count, tile.width >= 20 {
        right += " Σ" + Format.fixed(s.cloud.profiles[l].meanMass, 2)
    }
    let rightWidth = right.unicodeScalars.count
    // Cut at the front: the end of a deep net's name is what tells tiles apart
    // ("…14.conv.1", not "features…" on every tile).
    grid.text(tile.x, tile.y, Format.clipLeading(name, max(tile.width - rightWidth - 1, 1)), titleStyle)
    if rightWidth + 2 <= tile.width {
        grid.textRight(tile.maxX, tile.y, right, selected ? theme.selected : theme.dim)
    }

    let projection = SimplexProjection(kernels: k, view: s.simplexView)
    let rows = tile.height - 1
    let cols = min(tile.width, rows * 2)
    guard projection.shape != .single, rows >= 2, cols >= 4 else { return }
    let box = Rect(x: tile.x + (tile.width - cols) / 2, y: tile.y + 1, width: cols, height: rows)
    var canvas = BrailleCanvas(columns: cols, rows: rows)
    let f = CanvasFrame(projection, dotWidth: canvas.dotWidth, dotHeight: canvas.dotHeight, marginX: 1, marginY: 1)
    drawShape(&canvas, projection, f, theme)
    _ = drawCloud(&canvas, projection, f, ctx, layer: l, collectMasses: false)
    let lt = currentTrace(ctx, layer: l, kernels: k)
    if let lt { drawRadialPolygon(&canvas, projection, f, lt.attention(sample: 0), style: pointStyle(lt.entropy.first, theme)) }
    canvas.blit(into: &grid, x: box.x, y: box.y)
    if let lt { drawMarks(&grid, projection, f, origin: (box.x, box.y), clip: box, trace: lt, ctx: ctx) }
}
