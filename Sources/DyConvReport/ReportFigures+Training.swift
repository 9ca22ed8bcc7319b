import DyConvEngine
import DyConvFigures

// training-curves.svg: per checkpoint with a training history, test accuracy per epoch, the
// training τ per epoch (log scale), and the mean normalised entropy of every dynamic layer per
// epoch (one line per layer, lowest light → top dark), with box glyphs of the lowest and top
// layer at the epochs of evaluated snapshots.
//
// Worked example: dycnn-dynamic with 30 epochs, τ 30 → 1 over 5, 6 layers and 11 snapshots: a
// block of three panels: accuracy rising to ~94 %, τ falling from 30 to 1 at epoch 5 and flat
// after, six entropy lines labelled conv1 … conv6 at their ends with boxes at the snapshot epochs.

extension ReportFigures {
    static func trainingCurves(_ report: Report) -> Figure? {
        let checkpoints = report.checkpoints.filter { !$0.history.isEmpty }
        guard !checkpoints.isEmpty else { return nil }
        let topRow = 200.0, entropyRow = 300.0, gap = 12.0, blockTitle = 22.0
        func hasEntropy(_ c: CheckpointReport) -> Bool {
            isDynamic(c) && c.history.contains { !($0.entropy ?? [:]).isEmpty }
        }
        func blockHeight(_ c: CheckpointReport) -> Double { blockTitle + topRow + (hasEntropy(c) ? gap + entropyRow : 0) + 18 }
        let total = headingHeight + checkpoints.map(blockHeight).reduce(0, +)
        let info = FigureInfo(
            file: "training-curves.svg", title: "Training curves",
            caption: "One block per checkpoint with a training history (from its own metadata). Left: test accuracy after "
                + "each epoch. Right: the training τ at the end of each epoch (log scale; dynamic checkpoints only). Below: "
                + "mean normalised entropy H/ln K per dynamic layer and epoch, one line per layer from the lowest (light) "
                + "to the top (dark), labelled at its end (y axis fitted to the data); where per-epoch snapshots were evaluated, small boxes "
                + "(p5–p95, q1–q3, median) show the lowest layer's (left) and top layer's (right) distribution at that epoch.")
        var doc = document(info, height: total)
        var y = headingHeight
        for c in checkpoints {
            doc.text("\(c.name) (\(c.routing)\(c.kernels > 0 ? ", K=\(c.kernels)" : ""))", x: 10, y: y + 14,
                     size: FontSize.panelTitle, bold: true)
            y += blockTitle
            let epochs = c.history.map { Double($0.epoch) }
            let xAxis = Axis.fitting(epochs.count > 1 ? epochs : epochs + [epochs[0] + 1], maxTicks: 8)
            let accuracy = finite(c.history.compactMap { e in e.testAccuracy.map { Point(Double(e.epoch), Double($0)) } })
            let showTau = isDynamic(c) && c.history.contains { $0.temperature > 0 }
            let accWidth = showTau ? (width - 32) * 0.55 : width - 20
            LineChart(title: "Test accuracy", series: [.init(name: "test accuracy", points: accuracy, style: Palette.style(0),
                                                             showMarkers: accuracy.count <= 40)],
                      xAxis: xAxis, yAxis: accuracyAxis(accuracy.map(\.y)), xTitle: "epoch", yTitle: "accuracy", legend: false)
                .draw(into: &doc, frame: Frame(x: 10, y: y, width: accWidth, height: topRow))
            if showTau {
                let tau = finite(c.history.filter { $0.temperature > 0 }.map { Point(Double($0.epoch), Double($0.temperature)) })
                let tauAxis = Axis.fitting(tau.map(\.y), kind: .log10)
                LineChart(title: "Training τ", series: [.init(name: "τ", points: tau, style: Palette.style(1),
                                                              showMarkers: tau.count <= 40)],
                          xAxis: xAxis, yAxis: tauAxis, xTitle: "epoch", yTitle: "τ (log scale)", legend: false)
                    .draw(into: &doc, frame: Frame(x: 22 + accWidth, y: y, width: width - 32 - accWidth, height: topRow))
            }
            y += topRow
            if hasEntropy(c) {
                y += gap
                drawEntropyCurves(report, c, xAxis: xAxis, frame: Frame(x: 10, y: y, width: width - 20, height: entropyRow),
                                  into: &doc)
                y += entropyRow
            }
            y += 18
        }
        return Figure(info: info, document: doc)
    }

    static func drawEntropyCurves(_ report: Report, _ c: CheckpointReport, xAxis: Axis, frame: Frame,
                                  into doc: inout SVGDocument) {
        let names = layerNames(report, c)
        let n = names.count
        let series = names.enumerated().map { i, name in
            LineChart.Series(name: name, points: finite(c.history.compactMap { e in
                                 e.entropy?[name].map { Point(Double(e.epoch), Double($0)) }
                             }),
                             style: SeriesStyle(color: Palette.depthRamp(i, of: n)), showMarkers: false,
                             lineWidth: n > 8 ? 1.25 : 1.75, endLabel: name)
        }
        var glyphs: [LineChart.BoxGlyph] = []
        for s in c.snapshots {
            let layers = s.evaluation.layers
            if let low = layers.first?.entropyBox {
                glyphs.append(.init(x: Double(s.epoch), box: BoxValues(p5: low.p5, q1: low.q1, median: low.median, q3: low.q3, p95: low.p95),
                                    color: Palette.depthRamp(0, of: n), offset: layers.count > 1 ? -3.5 : 0))
            }
            if layers.count > 1, let top = layers.last?.entropyBox {
                glyphs.append(.init(x: Double(s.epoch), box: BoxValues(p5: top.p5, q1: top.q1, median: top.median, q3: top.q3, p95: top.p95),
                                    color: Palette.depthRamp(n - 1, of: n), offset: 3.5))
            }
        }
        // y fitted to the lines and boxes (capped at 0…1), so slow drifts stay visible.
        let values = series.flatMap { $0.points.map(\.y) } + glyphs.flatMap { [$0.box.p5, $0.box.p95] }
        let yAxis = Axis.fitting(values.isEmpty ? [0, 1] : values + [1], maxTicks: 6, clampTo: 0...1)
        LineChart(title: "Mean H / ln K per dynamic layer (lowest light → top dark)", series: series, xAxis: xAxis,
                  yAxis: yAxis, xTitle: "epoch", yTitle: "H / ln K", glyphs: glyphs, legend: false)
            .draw(into: &doc, frame: frame)
    }
}
