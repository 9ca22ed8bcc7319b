/// The prediction panel: the true label (labelled images only), the predicted class with a
/// right/wrong mark (labelled images only), and the top-K class probabilities as bars
/// (`Layout.topK`: three for ten classes or fewer, five for more).
///
/// Long class names (ImageNet's "great white shark, white shark, man-eater, …") are cut
/// cleanly: to their first synonym when the whole name does not fit, then with "…".
func renderPredictionPanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.prediction, s = ctx.state, theme = ctx.theme
    guard r.height >= 2 else { return }
    let labelled = s.dataset.isLabelled
    let label = s.label
    let names = s.checkpoint.classes.isEmpty ? s.dataset.classNames : s.checkpoint.classes
    func name(_ c: Int) -> String { c >= 0 && c < names.count ? names[c] : "class \(c)" }
    // Unlabelled images: no "true" row, the prediction moves up and the list gets its row.
    var y = r.y
    if labelled {
        grid.text(r.x, y, "true  ", theme.dim)
        grid.text(r.x + 6, y, Format.className(label.map { s.dataset.className($0) } ?? "—", r.width - 6), theme.title)
        y += 1
    }
    guard let res = ctx.result, res.trace.batchSize > 0 else {
        grid.text(r.x, y, "pred  …", theme.dim)
        return
    }
    let trace = res.trace
    let predicted = trace.prediction(sample: 0)
    grid.text(r.x, y, "pred  ", theme.dim)
    let correct = label == predicted
    let mark = labelled ? (label == nil ? "" : (correct ? "✓ right" : "✗ wrong")) : "unlabelled"
    let markWidth = mark.unicodeScalars.count
    let predictedStyle = labelled && !correct ? theme.bad : theme.title
    grid.text(r.x + 6, y, Format.className(name(predicted), r.width - 7 - markWidth), predictedStyle)
    if !mark.isEmpty {
        grid.textRight(r.maxX, y, mark, labelled ? (correct ? theme.good : theme.bad) : theme.dim)
    }
    y += 1

    let top = trace.topK(sample: 0, k: min(ctx.layout.topK, r.maxY - y))
    // Ten classes keep the 11-column names; more classes give the names what the bars can
    // spare (the bar keeps at least 7 cells).
    let longest = top.map { Format.className(name($0.index), .max).unicodeScalars.count }.max() ?? 4
    let nameWidth = names.count > 10 ? min(max(longest, 11), max(r.width - 13, 4)) : min(11, max(r.width - 12, 4))
    for (i, entry) in top.enumerated() {
        let isPredicted = entry.index == predicted
        let isTrue = entry.index == label
        let nameStyle = isTrue ? theme.title : theme.plain
        grid.text(r.x, y + i, Format.pad(Format.className(name(entry.index), nameWidth), nameWidth), nameStyle)
        let barWidth = r.width - nameWidth - 6
        grid.bar(r.x + nameWidth + 1, y + i, width: barWidth, fraction: Double(entry.probability),
                 fill: isPredicted && labelled && !correct ? theme.bad : theme.bar, track: theme.barTrack)
        grid.textRight(r.maxX, y + i, names.count > 10 ? Format.smallUnit(entry.probability) : Format.unit(entry.probability),
                       theme.plain)
    }
}
