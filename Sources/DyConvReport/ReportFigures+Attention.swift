import DyConvEngine
import DyConvFigures

// Figures of the attention itself: entropy per layer (box plots, with the issue's goal checked per
// panel), mean π by class (heat maps on one colour scale) and accuracy / entropy against the
// inference τ (per group: mean over seeds with a min–max band; the trained evaluation is the
// curve's point at the trained τ). Each reads the checkpoints' evaluations only.
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
                + "equally, 0 = a single kernel. Dashed lines: the issue's goal, lowest layer ≥ 0.95 and top layer ≤ 0.70; "
                + "the note above each panel says whether the lowest and top layer's mean entropy meets it. A layer without a distribution "
                + "shows “–”."
                + (panels.contains { $0.routing == "sigmoid" }
                    ? " Sigmoid routing (CondConv: \(panels.filter { $0.routing == "sigmoid" }.map(label).joined(separator: ", "))): "
                        + "its gates r do not sum to 1, so H is the entropy of r/Σr, divided by ln K." : "")
                + skippedNote(report))
        var doc = document(info, height: grid.height())
        let axis = Axis(lower: 0, upper: 1, maxTicks: 6)
        for (i, c) in panels.enumerated() {
            let layers = c.trained?.layers ?? []
            let items = layers.map { layer in
                BoxPlotChart.Item(label: layer.name, box: layer.entropyBox.map {
                    BoxValues(p5: $0.p5, q1: $0.q1, median: $0.median, q3: $0.q3, p95: $0.p95)
                })
            }
            let chart = BoxPlotChart(title: "\(label(c)) (\(c.routing), K=\(c.kernels))", items: items, yAxis: axis,
                                     yTitle: "H / ln K",
                                     guides: [Guide(value: goalLowest, label: "lowest ≥ 0.95"), Guide(value: goalTop, label: "top ≤ 0.70")],
                                     note: goalNote(layers))
            chart.draw(into: &doc, frame: grid.frame(i))
        }
        return Figure(info: info, document: doc)
    }

    /// The issue's goal: the lowest dynamic layer's mean H/ln K at least 0.95, the top one's at most 0.70.
    static let goalLowest = 0.95, goalTop = 0.70

    /// "goal: lowest 0.99 met, top 0.72 not met" from the layers' mean entropies (the guides show
    /// the thresholds; short enough for a 330 px panel). Nil without layers; the top part only
    /// with two or more layers.
    static func goalNote(_ layers: [LayerAttentionSummary]) -> String? {
        guard let low = layers.first, low.meanEntropy.isFinite else { return nil }
        var parts = ["lowest \(fixed(low.meanEntropy)) " + (low.meanEntropy >= goalLowest ? "met" : "not met")]
        if layers.count > 1, let top = layers.last, top.meanEntropy.isFinite {
            parts.append("top \(fixed(top.meanEntropy)) " + (top.meanEntropy <= goalTop ? "met" : "not met"))
        }
        return "goal: " + parts.joined(separator: ", ")
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
                + "the test images of that class (viridis; one colour scale for all panels, fitted to their values). "
                + "A row that changes colour across classes routes by class; a uniform row does not. "
                + (sigmoid.isEmpty ? "" : "Sigmoid routing (\(sigmoid.joined(separator: ", "))): each class's gates r are "
                    + "normalised to r/Σr so the values compare with softmax attention. ")
                + "Grey hatched cells: no image of that class." + skippedNote(report))
        // Cells of every panel first: the colour scale is fitted once to all of them, so one colour
        // means one value across panels.
        let tables: [[[Double?]]] = panels.map { c in
            let k = c.kernels
            return (c.trained?.layers ?? []).map { layer in
                var row = [Double?](repeating: nil, count: classCount * k)
                for (cls, values) in (layer.meanAttentionByClass ?? []).enumerated() where cls < classCount && values.count == k {
                    let shown = c.routing == "sigmoid" ? normalisedGates(values) : values
                    for (j, v) in shown.enumerated() where v.isFinite { row[cls * k + j] = v }
                }
                return row
            }
        }
        let all = tables.flatMap { $0.flatMap { $0.compactMap { $0 } } }
        let colorAxis = Axis.fitting(all.isEmpty ? [0, 1] : all, maxTicks: 5, clampTo: 0...1)
        var doc = document(info, height: grid.height())
        for (i, c) in panels.enumerated() {
            let layers = c.trained?.layers ?? []
            let k = c.kernels
            let chart = HeatMapChart(title: "\(label(c)) (\(c.routing), K=\(k))", rowLabels: layers.map(\.name),
                                     groupLabels: names, columnsPerGroup: k, subLabels: (1...k).map(String.init),
                                     values: tables[i], colorAxis: colorAxis,
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

    /// One checkpoint's τ curve: its sweep (τ > 0) plus its trained evaluation as the point at
    /// τ = trainedTemperature, so the trained τ is a measured point on the curve, not a line drawn
    /// between two others. When the sweep measured that τ itself, the sweep's point is kept: a
    /// global τ is what the curve is about, and it equals the trained evaluation whenever every
    /// layer was trained to that τ (`trainedTemperature` is the first dynamic layer's).
    static func temperatureCurve(_ c: CheckpointReport) -> [(tau: Double, evaluation: EvaluationResult)] {
        var curve: [(tau: Double, evaluation: EvaluationResult)] = []
        for e in c.temperatureSweep {
            if let t = e.temperature, t > 0, t.isFinite { curve.append((Double(t), e)) }
        }
        if let t = c.trainedTemperature, t > 0, t.isFinite, let trained = c.trained, !curve.contains(where: { $0.tau == Double(t) }) {
            curve.append((Double(t), trained))
        }
        return curve.sorted { $0.tau < $1.tau }
    }

    /// Per x, the mean of the curves that have it and their min–max (x in increasing order).
    static func seedCurve(_ curves: [[Point]]) -> (mean: [Point], band: [LineChart.BandPoint]) {
        var byX: [Double: [Double]] = [:]
        for curve in curves { for p in curve where p.x.isFinite && p.y.isFinite { byX[p.x, default: []].append(p.y) } }
        let xs = byX.keys.sorted()
        let mean = xs.map { x in Point(x, byX[x]!.reduce(0, +) / Double(byX[x]!.count)) }
        let band = xs.map { x in LineChart.BandPoint(x: x, low: byX[x]!.min()!, high: byX[x]!.max()!) }
        return (mean, band)
    }

    /// Marker shapes of the lowest and top layers' entropy curves, per round of 8 groups (the
    /// palette's colours).
    static let entropyMarkers: [(lowest: MarkerShape, top: MarkerShape)] = [(.circle, .triangle), (.square, .diamond),
                                                                           (.triangleDown, .cross)]

    /// The styles of group i's lowest (solid) and top (dashed) entropy curves, in the group's
    /// colour; past the palette's 8 colours the colours repeat, so each further round of groups
    /// gets its own pair of marker shapes (distinct for the first 24 groups).
    static func entropyStyles(group i: Int) -> (lowest: SeriesStyle, top: SeriesStyle) {
        let colour = Palette.style(i).color
        let pair = entropyMarkers[(i / Palette.okabeIto.count) % entropyMarkers.count]
        return (SeriesStyle(color: colour, dash: [], marker: pair.lowest), SeriesStyle(color: colour, dash: [6, 3], marker: pair.top))
    }

    /// Accuracy against the inference τ per group of dynamic checkpoints with a sweep (mean over
    /// seeds, min–max band; log x, trained τ marked), and the lowest and top layers' mean entropy
    /// against τ (mean over seeds).
    static func accuracyVsTemperature(_ report: Report) -> Figure? {
        let groups: [(group: GroupReport, members: [CheckpointReport])] = report.groups.compactMap { g in
            let m = members(report, g).filter { isDynamic($0) && !$0.temperatureSweep.isEmpty }
            return m.isEmpty ? nil : (g, m)
        }
        guard !groups.isEmpty else { return nil }
        let all = groups.flatMap(\.members)
        func curve(_ c: CheckpointReport) -> [(tau: Double, evaluation: EvaluationResult)] { temperatureCurve(c) }
        let taus = all.flatMap { curve($0).map(\.tau) } + all.compactMap { $0.trainedTemperature.map(Double.init) }
        // Ticks at the swept τ values themselves (labels that would collide are skipped).
        let positive = taus.filter { $0 > 0 && $0.isFinite }
        let fitted = Axis.fitting(positive, kind: .log10)
        let xAxis = Axis(kind: .log10, lower: fitted.lower, upper: fitted.upper, ticks: Array(Set(positive)).sorted())
        let trained = Array(Set(all.compactMap { $0.trainedTemperature.map(Double.init) }.filter { $0 > 0 })).sorted()
        let markers = trained.map { LineChart.MarkerLine(x: $0, label: "trained τ = \(SVGNumber.trimmed($0))") }

        var accuracy: [LineChart.Series] = [], entropy: [LineChart.Series] = []
        for (i, entry) in groups.enumerated() {
            let seeds = entry.members.compactMap(\.seed)
            let name = label(report, entry.group) + (entry.members.count > 1
                ? " · mean of \(entry.members.count) (\(seedText(seeds)))" : (seeds.isEmpty ? "" : " · \(seedText(seeds))"))
            // The group's own sweep statistics (`GroupReport.temperatureSweep`: mean and min–max
            // over the seeds, the trained point included), the numbers report.md tabulates.
            let sweep = entry.group.temperatureSweep.filter { $0.temperature > 0 && $0.temperature.isFinite }
            accuracy.append(.init(name: name, points: sweep.map { Point(Double($0.temperature), $0.accuracy.mean) },
                                  style: Palette.style(i),
                                  band: entry.members.count > 1
                                      ? sweep.map { .init(x: Double($0.temperature), low: $0.accuracy.min, high: $0.accuracy.max) } : []))
            guard let layers = entry.members.first?.trained?.layers ?? curve(entry.members[0]).first?.evaluation.layers,
                  let lowName = layers.first?.name, let topName = layers.last?.name else { continue }
            func layerCurve(_ pick: ([LayerAttentionSummary]) -> LayerAttentionSummary?) -> [Point] {
                seedCurve(entry.members.map { c in curve(c).compactMap { p in pick(p.evaluation.layers).map { Point(p.tau, $0.meanEntropy) } } }).mean
            }
            let styles = entropyStyles(group: i)
            entropy.append(.init(name: "\(label(report, entry.group)): lowest (\(lowName))", points: layerCurve { $0.first },
                                 style: styles.lowest))
            if layers.count > 1 {
                entropy.append(.init(name: "\(label(report, entry.group)): top (\(topName))", points: layerCurve { $0.last },
                                     style: styles.top))
            }
        }
        let accuracyAxis = accuracyAxis(accuracy.flatMap { $0.points.map(\.y) + $0.band.flatMap { [$0.low, $0.high] } })
        let info = FigureInfo(
            file: "accuracy-vs-tau.svg", title: "Accuracy and attention entropy against the inference temperature τ",
            caption: "One line per group of dynamic checkpoints (one recipe; with several seeds the line is their mean and "
                + "the shaded band their min–max), evaluated on \(report.data.images) images with one global τ in all "
                + "layers (log scale; π = softmax(z/τ), or sigmoid(z/τ) for CondConv). The dashed vertical line marks the "
                + "trained τ; the point on it is the checkpoint's own trained evaluation. Top: test accuracy"
                + (accuracyAxis.lower > 0 ? " (y axis zoomed, from \(accuracyAxis.label(accuracyAxis.lower)))" : "")
                + ". Bottom: mean normalised entropy H/ln K of the lowest (solid, \(entropyMarkers[0].lowest.pluralName)) "
                + "and top (dashed, \(entropyMarkers[0].top.pluralName)) dynamic layer, mean over seeds; higher τ flattens "
                + "the attention towards 1."
                + (groups.count > Palette.okabeIto.count
                    ? " Past \(Palette.okabeIto.count) groups the colours repeat: the next groups' lowest and top layers are "
                        + entropyMarkers.dropFirst().map { "\($0.lowest.pluralName) and \($0.top.pluralName)" }
                            .joined(separator: ", then ") + "." : "")
                + skippedNote(report))
        var top = LineChart(title: "Test accuracy", series: accuracy, xAxis: xAxis, yAxis: accuracyAxis,
                            xTitle: "inference τ (log scale)", yTitle: "accuracy", markers: markers)
        var bottom = LineChart(title: "Mean H / ln K of the lowest and top dynamic layer", series: entropy, xAxis: xAxis,
                               yAxis: Axis(lower: 0, upper: 1), xTitle: "inference τ (log scale)", yTitle: "H / ln K",
                               markers: markers)
        // Both plots start at the same x, so a τ sits at the same position in both.
        let left = Swift.max(AxisPainter.leftMargin(top.yAxis, title: top.yTitle), AxisPainter.leftMargin(bottom.yAxis, title: bottom.yTitle))
        top.minimumLeftMargin = left
        bottom.minimumLeftMargin = left
        // Each plot is 200 px tall whatever its legend takes (a runs report has ~13 groups).
        let first = top.frame(x: 10, y: headingHeight, width: width - 20, plotHeight: 200)
        let second = bottom.frame(x: 10, y: first.maxY + 14, width: width - 20, plotHeight: 200)
        var doc = document(info, height: second.maxY + 10)
        top.draw(into: &doc, frame: first)
        bottom.draw(into: &doc, frame: second)
        return Figure(info: info, document: doc)
    }
}
