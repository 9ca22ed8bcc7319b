/// The prediction panel: true label, predicted label with a right/wrong mark, and the
/// top-3 class probabilities as bars.
func renderPredictionPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.prediction, s = ctx.state, theme = ctx.theme
    guard r.height >= 2 else { return }
    let label = s.label
    grid.text(r.x, r.y, "true  ", theme.dim)
    grid.text(r.x + 6, r.y, Format.clip(label.map { s.dataset.className($0) } ?? "—", r.width - 6), theme.title)
    guard let res = ctx.result, res.trace.batchSize > 0 else {
        grid.text(r.x, r.y + 1, "pred  …", theme.dim)
        return
    }
    let trace = res.trace
    let predicted = trace.prediction(sample: 0)
    let names = s.checkpoint.classes.isEmpty ? s.dataset.classNames : s.checkpoint.classes
    func name(_ c: Int) -> String { c < names.count ? names[c] : "class \(c)" }
    grid.text(r.x, r.y + 1, "pred  ", theme.dim)
    let correct = label == predicted
    let mark = label == nil ? "" : (correct ? "✓ right" : "✗ wrong")
    let markWidth = mark.unicodeScalars.count
    grid.text(r.x + 6, r.y + 1, Format.clip(name(predicted), r.width - 7 - markWidth), correct ? theme.title : theme.bad)
    if !mark.isEmpty { grid.textRight(r.maxX, r.y + 1, mark, correct ? theme.good : theme.bad) }

    let top = trace.topK(sample: 0, k: min(3, r.height - 2))
    let nameWidth = min(11, max(r.width - 12, 4))
    for (i, entry) in top.enumerated() {
        let y = r.y + 2 + i
        let isPredicted = entry.index == predicted
        let isTrue = entry.index == label
        let nameStyle = isTrue ? theme.title : theme.plain
        grid.text(r.x, y, Format.pad(name(entry.index), nameWidth), nameStyle)
        let barWidth = r.width - nameWidth - 6
        grid.bar(r.x + nameWidth + 1, y, width: barWidth, fraction: Double(entry.probability),
                 fill: isPredicted && !correct ? theme.bad : theme.bar, track: theme.barTrack)
        grid.textRight(r.maxX, y, Format.unit(entry.probability), theme.plain)
    }
}
