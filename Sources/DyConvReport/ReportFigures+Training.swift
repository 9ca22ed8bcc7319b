import DyConvEngine
import DyConvFigures

// training-curves.svg: per checkpoint with a training history, test accuracy per epoch, the
// training τ per epoch (log scale), and the mean normalised entropy of every dynamic layer per
// epoch (one line per layer, lowest light → top dark), with box glyphs of the lowest and top
// layer at the epochs of evaluated snapshots. The y axes (accuracy, τ, entropy) are shared by all
// blocks, so blocks compare at a glance; epoch axes have integer ticks only. With more than 8
// layers only the lowest, the top and every 6th layer are drawn bold and labelled; the others
// are thin, so 18 end labels do not fan out into crossing leader lines.
//
// Worked example: dycnn-dynamic with 30 epochs, τ 30 → 1 over 5, 6 layers and 11 snapshots: a
// block of three panels: accuracy rising to ~94 %, τ falling from 30 to 1 at epoch 5 and flat
// after, six entropy lines labelled conv1 … conv6 at their ends with boxes at the snapshot epochs.

extension ReportFigures {
    /// A block's τ per epoch: the training record's, plus the τ of evaluated snapshots at epochs the
    /// record lacks (a snapshot knows the τ it was trained to).
    static func temperaturePoints(_ c: CheckpointReport) -> [Point] {
        var byEpoch: [Int: Double] = [:]
        for s in c.snapshots { if let t = s.temperature, t > 0, t.isFinite { byEpoch[s.epoch] = Double(t) } }
        for e in c.history where e.temperature > 0 && e.temperature.isFinite { byEpoch[e.epoch] = Double(e.temperature) }
        return byEpoch.keys.sorted().map { Point(Double($0), byEpoch[$0]!) }
    }

    /// Layers of an entropy panel that are bold and labelled: all up to 8, else the lowest, the top
    /// and every 6th.
    static func labelledLayers(_ n: Int) -> Set<Int> {
        n <= 8 ? Set(0..<n) : Set(Swift.stride(from: 0, to: n, by: 6)).union([n - 1])
    }

    static func trainingCurves(_ report: Report) -> Figure? {
        let checkpoints = report.checkpoints.filter { !$0.history.isEmpty }
        guard !checkpoints.isEmpty else { return nil }
        let topRow = 200.0, entropyRow = 300.0, gap = 12.0, blockTitle = 22.0
        func hasEntropy(_ c: CheckpointReport) -> Bool {
            isDynamic(c) && c.history.contains { !($0.entropy ?? [:]).isEmpty }
        }
        func showTau(_ c: CheckpointReport) -> Bool { isDynamic(c) && !temperaturePoints(c).isEmpty }
        func blockHeight(_ c: CheckpointReport) -> Double { blockTitle + topRow + (hasEntropy(c) ? gap + entropyRow : 0) + 18 }
        // Shared y axes: one accuracy, one τ and one entropy axis for every block.
        let accuracyValues = checkpoints.flatMap { c in c.history.compactMap { $0.testAccuracy.map(Double.init) } }
        let accuracyAxis = accuracyAxis(accuracyValues)
        let tauValues = checkpoints.filter(showTau).flatMap { temperaturePoints($0).map(\.y) }
        let tauAxis = Axis.fitting(tauValues.isEmpty ? [1] : tauValues, kind: .log10)
        var entropyValues: [Double] = []
        for c in checkpoints where hasEntropy(c) {
            for e in c.history { entropyValues += (e.entropy ?? [:]).values.map(Double.init) }
            for s in c.snapshots {
                for box in [s.evaluation.layers.first?.entropyBox, s.evaluation.layers.last?.entropyBox].compactMap({ $0 }) {
                    entropyValues += [box.p5, box.p95]
                }
            }
        }
        entropyValues = entropyValues.filter(\.isFinite)
        let entropyAxis = Axis.fitting(entropyValues.isEmpty ? [0, 1] : entropyValues + [1], maxTicks: 6, clampTo: 0...1)
        let total = headingHeight + checkpoints.map(blockHeight).reduce(0, +)
        let info = FigureInfo(
            file: "training-curves.svg", title: "Training curves",
            caption: "One block per checkpoint with a training history (its training record, or its snapshots' records "
                + "where the checkpoint's own record predates the history). Left: test accuracy after each epoch"
                + (accuracyAxis.lower > 0 ? " (y axis zoomed, from \(accuracyAxis.label(accuracyAxis.lower)))" : "")
                + ". Right: the training τ at the end of each epoch (log scale; dynamic checkpoints only). Below: "
                + "mean normalised entropy H/ln K per dynamic layer and epoch, one line per layer from the lowest (light) "
                + "to the top (dark), labelled at its end (with more than 8 layers only the lowest, the top and every 6th "
                + "are bold and labelled); where per-epoch snapshots were evaluated, small boxes (p5–p95, q1–q3, median) "
                + "show the lowest layer's (left) and top layer's (right) distribution at that epoch. All blocks share their "
                + "y axes; an unfinished run says “epoch E/N” in its title.")
        var doc = document(info, height: total)
        var y = headingHeight
        for c in checkpoints {
            doc.text("\(label(c)) (\(c.routing)\(c.kernels > 0 ? ", K=\(c.kernels)" : ""))", x: 10, y: y + 14,
                     size: FontSize.panelTitle, bold: true)
            y += blockTitle
            let xAxis = epochAxis(c.history.map { Double($0.epoch) } + c.snapshots.map { Double($0.epoch) })
            let accuracy = finite(c.history.compactMap { e in e.testAccuracy.map { Point(Double(e.epoch), Double($0)) } })
            let accWidth = showTau(c) ? (width - 32) * 0.55 : width - 20
            LineChart(title: "Test accuracy", series: [.init(name: "test accuracy", points: accuracy, style: Palette.style(0),
                                                             showMarkers: accuracy.count <= 40)],
                      xAxis: xAxis, yAxis: accuracyAxis, xTitle: "epoch", yTitle: "accuracy", legend: false)
                .draw(into: &doc, frame: Frame(x: 10, y: y, width: accWidth, height: topRow))
            if showTau(c) {
                let tau = finite(temperaturePoints(c))
                LineChart(title: "Training τ", series: [.init(name: "τ", points: tau, style: Palette.style(1),
                                                              showMarkers: tau.count <= 40)],
                          xAxis: xAxis, yAxis: tauAxis, xTitle: "epoch", yTitle: "τ (log scale)", legend: false)
                    .draw(into: &doc, frame: Frame(x: 22 + accWidth, y: y, width: width - 32 - accWidth, height: topRow))
            }
            y += topRow
            if hasEntropy(c) {
                y += gap
                drawEntropyCurves(report, c, xAxis: xAxis, yAxis: entropyAxis,
                                  frame: Frame(x: 10, y: y, width: width - 20, height: entropyRow), into: &doc)
                y += entropyRow
            }
            y += 18
        }
        return Figure(info: info, document: doc)
    }

    static func drawEntropyCurves(_ report: Report, _ c: CheckpointReport, xAxis: Axis, yAxis: Axis, frame: Frame,
                                  into doc: inout SVGDocument) {
        let names = layerNames(report, c)
        let n = names.count
        let labelled = labelledLayers(n)
        // Unlabelled layers first, so the bold labelled ones are drawn on top.
        let order = names.indices.filter { !labelled.contains($0) } + names.indices.filter { labelled.contains($0) }
        let series = order.map { i in
            let name = names[i]
            return LineChart.Series(name: name, points: finite(c.history.compactMap { e in
                                        e.entropy?[name].map { Point(Double(e.epoch), Double($0)) }
                                    }),
                                    style: SeriesStyle(color: Palette.depthRamp(i, of: n)), showMarkers: false,
                                    lineWidth: labelled.contains(i) ? (n > 8 ? 2 : 1.75) : 0.75,
                                    endLabel: labelled.contains(i) ? name : nil)
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
        LineChart(title: "Mean H / ln K per dynamic layer (lowest light → top dark)", series: series, xAxis: xAxis,
                  yAxis: yAxis, xTitle: "epoch", yTitle: "H / ln K", glyphs: glyphs, legend: false)
            .draw(into: &doc, frame: frame)
    }
}
