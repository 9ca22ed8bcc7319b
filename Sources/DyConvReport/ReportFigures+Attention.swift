import DyConvEngine
import DyConvFigures

// Figures of the attention itself: entropy per layer (box plots), mean π by class (heat maps) and
// accuracy / entropy against the inference τ. Each reads the checkpoints' evaluations only.
//
// Worked example (attention-by-class, CondConv): a layer whose class-0 gates are r = [0.9, 0.3,
// 0.3, 0.3] draws r/Σr = [0.5, 0.1667, 0.1667, 0.1667], so its colours compare with softmax rows.

extension ReportFigures {
    // MARK: (a) entropy-per-layer.svg

    /// One panel of box plots of H/lnK per dynamic layer for each dynamic checkpoint whose trained
    /// evaluation has at least one entropy box; shared y 0…1 with guides at 0.95 and 0.70.
    static func entropyPerLayer(_ report: Report) -> Figure? {
        let panels = report.checkpoints.filter { c in
            isDynamic(c) && (c.trained?.layers.contains { $0.entropyBox != nil } ?? false)
        }
        guard !panels.isEmpty else { return nil }
        let maxLayers = panels.map { $0.trained?.layers.count ?? 0 }.max() ?? 1
        let grid = PanelGrid(count: panels.count, width: width, minPanelWidth: Swift.max(330, 24 * Double(maxLayers) + 70),
                             panelHeight: maxLayers > 8 ? 300 : 260, top: headingHeight)
        let info = FigureInfo(
            file: "entropy-per-layer.svg", title: "Normalised attention entropy per dynamic layer",
            caption: "One panel per dynamic checkpoint; layers left to right in execution order (lowest first). Each box is "
                + "the distribution over the \(report.data.images) images of \(report.data.name) of H(π)/ln K at the "
                + "trained τ: whiskers p5–p95, box q1–q3, black line the median. 1 = all K kernels weighted "
                + "equally, 0 = a single kernel. Dashed lines: the issue's goal, lowest layers ≥ 0.95 and top layer ≤ 0.70; "
                + "a layer without a distribution shows “–”." + skippedNote(report))
        var doc = document(info, height: grid.height())
        let axis = Axis(lower: 0, upper: 1, maxTicks: 6)
        for (i, c) in panels.enumerated() {
            let layers = c.trained?.layers ?? []
            let items = layers.map { layer in
                BoxPlotChart.Item(label: layer.name, box: layer.entropyBox.map {
                    BoxValues(p5: $0.p5, q1: $0.q1, median: $0.median, q3: $0.q3, p95: $0.p95)
                })
            }
            let chart = BoxPlotChart(title: "\(c.name) (\(c.routing), K=\(c.kernels))", items: items, yAxis: axis,
                                     yTitle: "H / ln K",
                                     guides: [Guide(value: 0.95, label: "issue goal"), Guide(value: 0.70, label: "issue goal")])
            chart.draw(into: &doc, frame: grid.frame(i))
        }
        return Figure(info: info, document: doc)
    }

    // MARK: (b) attention-by-class.svg

    /// Mean π_k given the true class, rows = layers, columns = class × kernel, one panel per
    /// dynamic checkpoint whose trained evaluation has the per-class table.
    static func attentionByClass(_ report: Report) -> Figure? {
        // Sizes come from a file: more than 64 kernels or 1,000 classes cannot be drawn legibly in
        // 720 px anyway, and would make the cell table huge; such checkpoints are left out.
        let panels = report.checkpoints.filter { c in
            isDynamic(c) && c.kernels <= 64
                && (c.trained?.layers.contains { ($0.meanAttentionByClass?.isEmpty == false) } ?? false)
                && (c.trained?.layers.allSatisfy { ($0.meanAttentionByClass?.count ?? 0) <= 1000 } ?? false)
        }
        guard !panels.isEmpty else { return nil }
        let classCount = panels.compactMap { $0.trained?.layers.compactMap { $0.meanAttentionByClass?.count }.max() }.max() ?? 0
        let names = (0..<classCount).map { c in
            report.data.classNames.flatMap { $0.indices.contains(c) ? $0[c] : nil } ?? "class \(c)"
        }
        let maxLayers = panels.map { $0.trained?.layers.count ?? 0 }.max() ?? 1
        let panelHeight = 150 + 15 * Double(maxLayers)
        let grid = PanelGrid(count: panels.count, width: width, minPanelWidth: 700, panelHeight: panelHeight, top: headingHeight)
        let sigmoid = panels.filter { $0.routing == "sigmoid" }.map(\.name)
        let info = FigureInfo(
            file: "attention-by-class.svg", title: "Mean attention per layer, class and kernel",
            caption: "One panel per dynamic checkpoint at its trained τ: rows are the dynamic layers (lowest at the top), "
                + "columns the true classes, each split into its K kernels (1…K left to right); colour = mean π_k over "
                + "the test images of that class (viridis, scale beside each panel, fitted to the panel's values). "
                + "A row that changes colour across classes routes by class; a uniform row does not. "
                + (sigmoid.isEmpty ? "" : "Sigmoid routing (\(sigmoid.joined(separator: ", "))): each class's gates r are "
                    + "normalised to r/Σr so the values compare with softmax attention. ")
                + "Grey hatched cells: no image of that class." + skippedNote(report))
        var doc = document(info, height: grid.height())
        for (i, c) in panels.enumerated() {
            let layers = c.trained?.layers ?? []
            let k = c.kernels
            var rows: [[Double?]] = []
            for layer in layers {
                var row = [Double?](repeating: nil, count: classCount * k)
                for (cls, values) in (layer.meanAttentionByClass ?? []).enumerated() where cls < classCount && values.count == k {
                    let shown = c.routing == "sigmoid" ? normalisedGates(values) : values
                    for (j, v) in shown.enumerated() where v.isFinite { row[cls * k + j] = v }
                }
                rows.append(row)
            }
            let all = rows.flatMap { $0.compactMap { $0 } }
            let colorAxis = Axis.fitting(all.isEmpty ? [0, 1] : all, maxTicks: 5, clampTo: 0...1)
            let chart = HeatMapChart(title: "\(c.name) (\(c.routing), K=\(k))", rowLabels: layers.map(\.name),
                                     groupLabels: names, columnsPerGroup: k, subLabels: (1...k).map(String.init),
                                     values: rows, colorAxis: colorAxis,
                                     colorTitle: c.routing == "sigmoid" ? "mean r / Σr" : "mean π",
                                     rowTitle: "dynamic layer", columnTitle: "true class; kernels 1…\(k) within each")
            chart.draw(into: &doc, frame: grid.frame(i))
        }
        return Figure(info: info, document: doc)
    }

    /// r/Σr (nil entries when Σr is not positive and finite).
    static func normalisedGates(_ r: [Double]) -> [Double] {
        let sum = r.reduce(0, +)
        guard sum > 0, sum.isFinite else { return r.map { _ in .nan } }
        return r.map { $0 / sum }
    }

    // MARK: (c) accuracy-vs-tau.svg

    /// Accuracy against the inference τ per dynamic checkpoint with a sweep (log x, trained τ
    /// marked), and the lowest and top layers' mean entropy against τ.
    static func accuracyVsTemperature(_ report: Report) -> Figure? {
        let sweeps = report.checkpoints.filter { isDynamic($0) && !$0.temperatureSweep.isEmpty }
        guard !sweeps.isEmpty else { return nil }
        let taus = sweeps.flatMap { $0.temperatureSweep.compactMap { $0.temperature.map(Double.init) } } + sweeps.compactMap { $0.trainedTemperature.map(Double.init) }
        // Ticks at the swept τ values themselves (labels that would collide are skipped).
        let positive = taus.filter { $0 > 0 }
        let fitted = Axis.fitting(positive, kind: .log10)
        let xAxis = Axis(kind: .log10, lower: fitted.lower, upper: fitted.upper, ticks: Array(Set(positive)).sorted())
        let trained = Array(Set(sweeps.compactMap { $0.trainedTemperature.map(Double.init) }.filter { $0 > 0 })).sorted()
        let markers = trained.map { LineChart.MarkerLine(x: $0, label: "trained τ = \(SVGNumber.trimmed($0))") }

        var accuracy: [LineChart.Series] = [], entropy: [LineChart.Series] = []
        for (i, c) in sweeps.enumerated() {
            let sweep = c.temperatureSweep.filter { ($0.temperature ?? 0) > 0 }
            let colour = Palette.style(i).color
            accuracy.append(.init(name: c.name, points: finite(sweep.map { Point(Double($0.temperature!), $0.accuracy) }),
                                  style: Palette.style(i)))
            guard let count = sweep.first?.layers.count, count > 0 else { continue }
            let lowName = sweep.first!.layers[0].name, topName = sweep.first!.layers[count - 1].name
            let low = sweep.compactMap { e in e.layers.first.map { Point(Double(e.temperature!), $0.meanEntropy) } }
            let top = sweep.compactMap { e in e.layers.last.map { Point(Double(e.temperature!), $0.meanEntropy) } }
            entropy.append(.init(name: "\(c.name): lowest (\(lowName))", points: finite(low),
                                 style: SeriesStyle(color: colour, dash: [], marker: .circle)))
            if count > 1 {
                entropy.append(.init(name: "\(c.name): top (\(topName))", points: finite(top),
                                     style: SeriesStyle(color: colour, dash: [6, 3], marker: .triangle)))
            }
        }
        let accuracyAxis = accuracyAxis(accuracy.flatMap { $0.points.map(\.y) })
        let first = Frame(x: 10, y: headingHeight, width: width - 20, height: 300)
        let second = Frame(x: 10, y: first.maxY + 14, width: width - 20, height: 300)
        let info = FigureInfo(
            file: "accuracy-vs-tau.svg", title: "Accuracy and attention entropy against the inference temperature τ",
            caption: "Every dynamic checkpoint evaluated with one global τ in all its layers (log scale; π = softmax(z/τ), "
                + "or sigmoid(z/τ) for CondConv); the dashed vertical line marks the τ it was trained to. Top: test "
                + "accuracy. Bottom: mean normalised entropy H/ln K of the lowest (solid, circles) and top (dashed, "
                + "triangles) dynamic layer; higher τ flattens the attention towards 1." + skippedNote(report))
        var doc = document(info, height: second.maxY + 10)
        var top = LineChart(title: "Test accuracy", series: accuracy, xAxis: xAxis, yAxis: accuracyAxis,
                            xTitle: "inference τ (log scale)", yTitle: "accuracy", markers: markers)
        var bottom = LineChart(title: "Mean H / ln K of the lowest and top dynamic layer", series: entropy, xAxis: xAxis,
                               yAxis: Axis(lower: 0, upper: 1), xTitle: "inference τ (log scale)", yTitle: "H / ln K",
                               markers: markers)
        // Both plots start at the same x, so a τ sits at the same position in both.
        let left = Swift.max(AxisPainter.leftMargin(top.yAxis, title: top.yTitle), AxisPainter.leftMargin(bottom.yAxis, title: bottom.yTitle))
        top.minimumLeftMargin = left
        bottom.minimumLeftMargin = left
        top.draw(into: &doc, frame: first)
        bottom.draw(into: &doc, frame: second)
        return Figure(info: info, document: doc)
    }
}
