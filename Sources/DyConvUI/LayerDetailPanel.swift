/// The area under the prediction: the selected layer's numbers (z, π, applied coefficients)
/// on top, the training history below it. The layer table gets the rows it needs (title,
/// τ line, column header, K kernels, Σ, the shuffle-across partner); the history gets what
/// it wants (a row per layer of its heat map) when both fit, else at least its minimum, and
/// any rows left over make its map taller.
func renderDetailPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.detail
    guard !r.isEmpty else { return }
    let history = HistoryModel(ctx.state)
    let tableRows = layerDetailRowsWanted(ctx)
    let historyRows: Int
    if r.height >= tableRows + 1 + history.rowsWanted {
        historyRows = r.height - tableRows - 1
    } else if r.height >= tableRows + history.rowsMinimum {
        historyRows = r.height - tableRows          // no gap: the history's heading rule separates them
    } else {
        historyRows = min(history.rowsMinimum, r.height)
    }
    let detailRows = r.height - historyRows
    if detailRows >= min(4, tableRows) {
        renderLayerDetail(ctx, Rect(x: r.x, y: r.y, width: r.width, height: detailRows), into: &grid)
        renderTrainingHistory(ctx, Rect(x: r.x, y: r.maxY - historyRows, width: r.width, height: historyRows), into: &grid)
    } else {
        renderTrainingHistory(ctx, r, into: &grid)
    }
}

/// Rows the layer table needs to show every kernel: title, τ line, column header, K rows, Σ,
/// and the partner line in shuffle-across mode (the title and one line for a static network).
func layerDetailRowsWanted(_ ctx: RenderContext) -> Int {
    let s = ctx.state
    guard !s.checkpoint.isStatic else { return 2 }
    let k = s.checkpoint.layers[min(s.selectedLayer, s.checkpoint.layers.count - 1)].kernels
    return 4 + k + (s.mode == .shuffleAcross ? 1 : 0)
}

/// The selected layer's routing logits z, attention π and the coefficients the
/// aggregation mode applied, one kernel per row, with Σ and the normalized entropy.
func renderLayerDetail(_ ctx: RenderContext, _ r: Rect, into grid: inout CellGrid) {
    let s = ctx.state, theme = ctx.theme
    let layers = s.checkpoint.layers
    guard !layers.isEmpty else {
        grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Layer", style: theme.heading, rule: theme.edge)
        grid.text(r.x, r.y + 1, Format.clip("static network", r.width), theme.dim)
        return
    }
    let l = min(s.selectedLayer, layers.count - 1)
    let layer = layers[l]
    let sym = layer.routing.coefficientSymbol()
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Layer \(l + 1): \(compactLayerPath(layer.name))",
                 style: theme.heading, rule: theme.edge)
    guard let trace = ctx.result?.trace, l < trace.layers.count, trace.batchSize > 0 else {
        grid.text(r.x, r.y + 1, "…", theme.dim)
        return
    }
    let lt = trace.layers[l]
    grid.text(r.x, r.y + 1, Format.clip("\(lt.routing.rawValue) · K=\(lt.kernels) · τ \(Format.temperature(lt.temperature))", r.width), theme.dim)
    // Columns: k, z, π, applied.
    let hy = r.y + 2
    grid.text(r.x, hy, " k", theme.dim)
    grid.textRight(r.x + 11, hy, "z", theme.dim)
    grid.textRight(r.x + 19, hy, sym, theme.dim)
    grid.textRight(r.x + 28, hy, "applied", theme.dim)
    let z = lt.logits(sample: 0), pi = lt.attention(sample: 0), applied = lt.applied(sample: 0)
    let rowsAvailable = r.maxY - (hy + 1) - 1
    let rows = min(lt.kernels, max(rowsAvailable, 0))
    var piSum: Float = 0, appliedSum: Float = 0
    for v in pi { piSum += v }
    for v in applied { appliedSum += v }
    for i in 0..<rows {
        let y = hy + 1 + i
        grid.text(r.x, y, Format.pad(" " + String(i + 1), 3), theme.vertex)
        grid.textRight(r.x + 11, y, Format.fixed(z[z.startIndex + i], 2), theme.plain)
        grid.textRight(r.x + 19, y, Format.fixed(pi[pi.startIndex + i], 3), theme.title)
        let a = applied[applied.startIndex + i]
        let differs = abs(a - pi[pi.startIndex + i]) > 5e-4
        grid.textRight(r.x + 28, y, Format.fixed(a, 3), differs ? theme.appliedPoint : theme.plain)
    }
    let footer = hy + 1 + rows
    if rows < lt.kernels, footer < r.maxY {
        grid.text(r.x, footer, "… \(lt.kernels - rows) more", theme.dim)
    } else if footer < r.maxY {
        grid.text(r.x, footer, " Σ" + sym, theme.dim)
        grid.textRight(r.x + 19, footer, Format.fixed(piSum, 3), theme.plain)
        grid.textRight(r.x + 28, footer, Format.fixed(appliedSum, 3), theme.plain)
    }
    if let text = partnerText(ctx.result, symbol: sym, width: r.width - 1), footer + 1 < r.maxY {
        grid.text(r.x + 1, footer + 1, text, theme.appliedPoint)
    }
}

/// In shuffle-across mode, where the applied coefficients came from, in the longest form that
/// fits `width`: "mixed with π of image #N (its partner)", "mixed with π of image #N" or
/// "π of image #N" (r for CondConv); nil in the other modes or when even the shortest is too long.
func partnerText(_ result: ForwardResult?, symbol: String, width: Int) -> String? {
    guard let result, result.key.mode == .shuffleAcross, let p = result.partnerIndex else { return nil }
    let short = "\(symbol) of image #\(p)"
    return ["mixed with \(short) (its partner)", "mixed with \(short)", short]
        .first { $0.unicodeScalars.count <= width }
}
