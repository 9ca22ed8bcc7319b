import DyConvEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The K vertices of the simplex projected to the plane: a regular polygon, vertex 1 at the
/// top, clockwise, unit circumradius (a segment for K = 2, a triangle for K = 3).
public func simplexVertices(_ k: Int) -> [(x: Double, y: Double)] {
    guard k > 0 else { return [] }
    return (0..<k).map { i in
        let a = 2 * Double.pi * Double(i) / Double(k)
        return (x: sin(a), y: -cos(a))
    }
}

/// The planar position of a coefficient vector: Σ_k c_k v_k over the polygon's vertices.
/// For π on the simplex (Σπ = 1) it lies inside the polygon; unnormalized sigmoid routing
/// weights may land outside it.
public func simplexPoint<C: Collection>(_ c: C, vertices: [(x: Double, y: Double)]) -> (x: Double, y: Double)
where C.Element == Float {
    var x = 0.0, y = 0.0
    for (k, v) in c.enumerated() where k < vertices.count {
        x += Double(v) * vertices[k].x; y += Double(v) * vertices[k].y
    }
    return (x, y)
}

/// How far from the centre Σ c_k v_k can go for c in [0, 1]^K: the longest sum of a run
/// of consecutive vertices (≥ 1). Used to scale the view of sigmoid routing.
public func simplexExtent(_ k: Int) -> Double {
    let v = simplexVertices(k)
    var best = 1.0
    for start in 0..<k {
        var x = 0.0, y = 0.0
        for len in 0..<k {
            let p = v[(start + len) % k]
            x += p.x; y += p.y
            best = max(best, (x * x + y * y).squareRoot())
        }
    }
    return best
}

/// Whether a coefficient vector is on the probability simplex (non-negative, Σ = 1 within `tolerance`).
func isOnSimplex<C: Collection>(_ c: C, tolerance: Float = 0.02) -> Bool where C.Element == Float {
    var sum: Float = 0
    for v in c { if v < -1e-6 { return false }; sum += v }
    return abs(sum - 1) <= tolerance
}

/// The simplex view of the selected layer: the polygon of its K kernels, the current
/// image's π as a point (and the applied coefficients when the mode changes them), and
/// the π of previously seen images as a faint cloud. Shows Σπ; for sigmoid routing, Σr
/// and which points leave the simplex.
func renderSimplexPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.simplex, s = ctx.state, theme = ctx.theme
    guard r.height >= 4, r.width >= 20 else { return }
    let layers = s.checkpoint.layers
    guard !layers.isEmpty else {
        grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Simplex", style: theme.heading, rule: theme.edge)
        grid.text(r.x, r.y + 2, Format.clip("no dynamic layer: a static network has no attention simplex", r.width), theme.dim)
        return
    }
    let l = min(s.selectedLayer, layers.count - 1)
    let layer = layers[l]
    let k = layer.kernels
    let sigmoid = layer.routing == .sigmoid
    let sym = sigmoid ? "r" : "π"
    let trace = ctx.result?.trace
    let lt: LayerTrace? = trace.flatMap { l < $0.layers.count && $0.batchSize > 0 ? $0.layers[l] : nil }
    let pi = lt?.attention(sample: 0)
    var sum: Float = 0
    if let pi { for v in pi { sum += v } }

    var right = ""
    if pi != nil {
        right = "Σ\(sym) = \(Format.fixed(sum, 3))"
        if sigmoid { right += isOnSimplex(pi!) ? " (on the simplex)" : " (off the simplex)" }
    }
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Simplex · \(compactLayerPath(layer.name)) · K=\(k)",
                 style: theme.heading, rule: theme.edge, right: right, rightStyle: sigmoid && pi.map { !isOnSimplex($0) } == true ? theme.warn : theme.title)

    // Canvas on the left (square in dots), legend on the right when there is room.
    let legendWidth = r.width >= 44 ? 22 : 0
    let canvasRows = r.height - 1
    let canvasCols = min(r.width - legendWidth - 1, canvasRows * 2)
    guard canvasCols >= 8, canvasRows >= 3 else { return }
    let cx0 = r.x + (r.width - legendWidth - canvasCols) / 2
    let cy0 = r.y + 1
    var canvas = BrailleCanvas(columns: canvasCols, rows: canvasRows)
    let vertices = simplexVertices(k)
    let dotW = canvas.dotWidth, dotH = canvas.dotHeight
    let centerX = Double(dotW - 1) / 2, centerY = Double(dotH - 1) / 2
    // Room for vertex labels: one cell (2 dots across, 4 dots down) around the polygon.
    let radiusAvailable = min(centerX - 3, centerY - 5)
    let radius = max(radiusAvailable / (sigmoid ? simplexExtent(k) : 1), 1)
    // nil for a point that cannot be placed (NaN or ±inf coefficients): left out.
    func dot(_ p: (x: Double, y: Double)) -> (Int, Int)? {
        guard let x = plotCoordinate(centerX + p.x * radius), let y = plotCoordinate(centerY + p.y * radius) else { return nil }
        return (x, y)
    }

    // Polygon edges.
    if k >= 2 {
        for i in 0..<k {
            if k == 2 && i == 1 { break }
            guard let a = dot(vertices[i]), let b = dot(vertices[(i + 1) % k]) else { continue }
            canvas.line(a.0, a.1, b.0, b.1, style: theme.edge, priority: 1)
        }
    }
    // Cloud of previously seen images under the same configuration.
    var seen = 0, offSimplex = 0
    if s.cloud.key == s.configKey, l < s.cloud.layers.count {
        let values = s.cloud.layers[l]
        let n = values.count / max(k, 1)
        values.withUnsafeBufferPointer { buf in
            for i in 0..<n {
                let slice = UnsafeBufferPointer(rebasing: buf[(i * k)..<((i + 1) * k)])
                let on = !sigmoid || isOnSimplex(slice)
                if !on { offSimplex += 1 }
                guard let d = dot(simplexPoint(slice, vertices: vertices)) else { continue }
                canvas.set(d.0, d.1, style: on ? theme.cloud : theme.warn, priority: on ? 2 : 3)
            }
        }
        seen = n
    }
    canvas.blit(into: &grid, x: cx0, y: cy0)

    // Vertex labels just outside the polygon.
    for i in 0..<k {
        let v = vertices[i]
        let lx = centerX + v.x * (radius + 3), ly = centerY + v.y * (radius + 4)
        let label = String(i + 1)
        let cx = cx0 + Int(lx / 2), cy = cy0 + Int(ly / 4)
        grid.text(cx - (v.x < -0.3 ? label.unicodeScalars.count - 1 : 0), cy, label, theme.vertex)
    }
    // The current image and, when the mode changes them, the applied coefficients.
    if let lt, let pi {
        if s.mode != .attention, let d = dot(simplexPoint(lt.applied(sample: 0), vertices: vertices)) {
            grid.put(cx0 + d.0 / 2, cy0 + d.1 / 4, "◆", theme.appliedPoint)
        }
        if let d = dot(simplexPoint(pi, vertices: vertices)) {
            grid.put(cx0 + d.0 / 2, cy0 + d.1 / 4, sigmoid && !isOnSimplex(pi) ? "◉" : "●", theme.point)
        }
    }

    // Legend.
    guard legendWidth > 0 else { return }
    let lx = r.maxX - legendWidth
    var y = r.y + 1
    func line(_ text: String, _ style: Style) {
        guard y < r.maxY else { return }
        grid.text(lx, y, Format.clip(text, legendWidth), style)
        y += 1
    }
    if let lt, let pi {
        line("\(lt.routing == .sigmoid ? "sigmoid" : "softmax") · τ \(Format.temperature(lt.temperature))", theme.dim)
        let rows = min(k, max(r.maxY - y - 6, 1))
        for (i, j) in pi.indices.prefix(rows).enumerated() {
            guard y < r.maxY else { break }
            let label = "\(sym)\(Format.subscriptNumber(i + 1)) "
            var x = grid.text(lx, y, label, theme.vertex)
            grid.bar(x, y, width: 8, fraction: Double(min(max(pi[j], 0), 1)), fill: theme.bar, track: theme.barTrack)
            x += 9
            grid.text(x, y, Format.unit(pi[j]), theme.plain)
            y += 1
        }
        if rows < k { line("… \(k - rows) more", theme.dim) }
        line("Σ\(sym) = \(Format.fixed(sum, 3))", sigmoid && !isOnSimplex(pi) ? theme.warn : theme.title)
        line("H/lnK = \(Format.unit(lt.entropy[0]))", theme.plain)
        y += 1
    } else {
        line("computing…", theme.dim)
    }
    if y < r.maxY { grid.put(lx, y, "●", theme.point); grid.text(lx + 2, y, "this image", theme.plain); y += 1 }
    if s.mode != .attention, y < r.maxY {
        grid.put(lx, y, "◆", theme.appliedPoint)
        grid.text(lx + 2, y, Format.clip("applied (\(s.mode.rawValue))", legendWidth - 2), theme.plain); y += 1
    }
    if y < r.maxY {
        grid.put(lx, y, "⠂", theme.cloud)
        grid.text(lx + 2, y, Format.clip("\(seen) image\(seen == 1 ? "" : "s") seen", legendWidth - 2), theme.plain); y += 1
    }
    if sigmoid, y < r.maxY {
        grid.put(lx, y, "⠂", theme.warn)
        grid.text(lx + 2, y, Format.clip("off simplex: \(offSimplex)", legendWidth - 2), theme.warn); y += 1
    }
}
