#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The training history panel: for a checkpoint with per-epoch snapshots, the selected
/// epoch and its τ, and sparklines of τ and test accuracy over the run's epochs (`history`:
/// also those without a snapshot) with the selected one marked; otherwise the final
/// checkpoint's own training record.
func renderTrainingHistory(_ ctx: RenderContext, _ r: Rect, into grid: inout CellGrid) {
    let s = ctx.state, theme = ctx.theme
    guard r.height >= 2 else { return }
    let cp = s.checkpoint
    let epochs = cp.epochs
    guard !epochs.isEmpty else {
        grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), "Training", style: theme.heading, rule: theme.edge)
        if let t = cp.training {
            var line = "\(t.epochs) epochs" + (t.temperature.map { " · final τ \(Format.temperature($0))" } ?? "")
            if let acc = t.testAccuracy { line += " · test \(Format.percent(Double(acc)))" }
            grid.text(r.x, r.y + 1, Format.clip(line, r.width), theme.plain)
        } else {
            grid.text(r.x, r.y + 1, Format.clip("no training snapshots", r.width), theme.dim)
        }
        return
    }
    let selected = s.epochIndex
    let title = selected.map { "Training · epoch \(epochs[$0].epoch)/\(epochs[$0].epochs)" } ?? "Training · final"
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), title, style: theme.heading, rule: theme.edge,
                 right: "< >", rightStyle: theme.dim)
    var y = r.y + 1
    if y < r.maxY {
        let e = selected.map { epochs[$0] } ?? cp.training ?? epochs.last!
        var parts = e.temperature.map { ["τ \(Format.temperature($0))"] } ?? []
        if let acc = e.testAccuracy { parts.append("test \(Format.percent(Double(acc)))") }
        var line = parts.joined(separator: " · ")
        if selected == nil { line += " (final)" }
        grid.text(r.x, y, Format.clip(line, r.width), theme.title)
        y += 1
    }
    // Sparklines: one column per epoch of the history (sampled when there are more epochs than columns).
    let history = cp.history.isEmpty ? epochs : cp.history
    let labelWidth = 4
    let columns = min(history.count, r.width - labelWidth)
    guard columns > 0 else { return }
    func epochAt(_ c: Int) -> Int { columns == history.count ? c : c * history.count / columns }
    // A static network's snapshots have no τ: no τ row.
    let taus = history.compactMap { $0.temperature.map(Double.init) }
    let logMin = taus.map { log10(max($0, 1e-3)) }.min() ?? 0
    let logMax = taus.map { log10(max($0, 1e-3)) }.max() ?? 1
    if y < r.maxY, taus.count == history.count {
        grid.text(r.x, y, "τ", theme.dim)
        for c in 0..<columns {
            let v = log10(max(taus[epochAt(c)], 1e-3))
            let f = logMax > logMin ? (v - logMin) / (logMax - logMin) : 0.5
            grid.put(r.x + labelWidth + c, y, CellGrid.levelGlyph(0.125 + 0.875 * f), theme.entropyBar)
        }
        y += 1
    }
    let accs = history.map { $0.testAccuracy.map(Double.init) }
    if y < r.maxY, accs.contains(where: { $0 != nil }) {
        grid.text(r.x, y, "acc", theme.dim)
        let known = accs.compactMap { $0 }
        let lo = known.min() ?? 0, hi = known.max() ?? 1
        for c in 0..<columns {
            guard let a = accs[epochAt(c)] else { grid.put(r.x + labelWidth + c, y, "·", theme.barTrack); continue }
            let f = hi > lo ? (a - lo) / (hi - lo) : 1
            grid.put(r.x + labelWidth + c, y, CellGrid.levelGlyph(0.125 + 0.875 * f), theme.seriesAccuracy)
        }
        y += 1
    }
    if y < r.maxY {
        if let sel = selected {
            // The selected snapshot's place in the history.
            let place = history.lastIndex { $0.epoch <= epochs[sel].epoch } ?? 0
            var mark = 0
            for c in 0..<columns where epochAt(c) <= place { mark = c }
            grid.put(r.x + labelWidth + mark, y, "▲", theme.point)
        } else {
            // The marker sits under the last column; its label goes to the right when there is
            // room, else to the left, never across the panel's edge.
            let markX = r.x + labelWidth + columns - 1
            if markX + 7 <= r.maxX {
                grid.text(markX, y, "▲ final", theme.point)
            } else {
                grid.text(max(markX - 6, r.x), y, "final ▲", theme.point)
            }
        }
    }
}
