import DyConvEngine
import DyConvFigures

// Figures over groups (checkpoints of one recipe, several seeds): the aggregation ablation,
// accuracy against cost, the K sweep and the τ-schedule comparison. Means and min–max ranges
// are the groups' `SeedStatistics`; a comparison's members are looked up by (checked) index.
//
// Worked example (k-sweep): a `.kernels` comparison with members K=1, K=2, K=4, K=8 draws
// accuracy (mean with a min–max bar over seeds) and the top layer's mean entropy against K on
// a log axis with ticks exactly at 1, 2, 4, 8.

extension ReportFigures {
    // MARK: (d) ablation.svg

    /// Per dynamic group with at least one ablation mode measured: a bar per mode of
    /// `settings.modes` (mean over seeds, min–max whisker).
    static func ablation(_ report: Report) -> Figure? {
        let modes = report.settings.modes
        let groups = report.groups.filter { g in
            g.routing != "static" && g.kernels >= 2 && modes.contains { g.ablation[$0.rawValue] != nil }
        }
        guard !groups.isEmpty, !modes.isEmpty else { return nil }
        let chartGroups = groups.map { g in
            BarChart.Group(label: label(report, g), bars: modes.map { m in
                g.ablation[m.rawValue].flatMap { s in s.mean.isFinite ? bar(s) : nil }
            })
        }
        let values = chartGroups.flatMap { $0.bars.compactMap { $0 }.flatMap { [$0.value, $0.min ?? $0.value, $0.max ?? $0.value] } }
        let axis = accuracyAxis(values, headroom: 0.3)
        // The bars keep one height; the labels under them take what they need (a key of
        // numbered groups when a sweep's long labels would be cut to the same text).
        var chart = BarChart(title: nil, groups: chartGroups, seriesNames: modes.map(\.rawValue), yAxis: axis,
                             yTitle: "test accuracy", note: zoomNote(axis))
        chart.numbersAmbiguousGroups = true
        let chartWidth = width - 20
        let labels = chart.groupLabels(frameWidth: chartWidth)
        let info = FigureInfo(
            file: "ablation.svg", title: "Aggregation ablation: test accuracy per mode",
            caption: "Per group of dynamic checkpoints (same recipe, all seeds), test accuracy at the trained τ when the K "
                + "kernels are aggregated with the attention (attention), with equal weights (average), with only the "
                + "largest π (max), with π permuted among the kernels (shuffle-image) or with another image's π "
                + "(shuffle-across), over \(report.data.images) images. Bars: mean over seeds; whiskers: min–max (none for a "
                + "single seed); numbers: the mean in percent. "
                + (labels.key.isEmpty ? "" : "The groups are numbered; the key under the chart names them. ")
                + (axis.lower > 0 ? "The y axis is zoomed to the data and starts at \(axis.label(axis.lower)), not at 0." : "")
                + skippedNote(report))
        let height = 284 + labels.height
        var doc = document(info, height: headingHeight + height + 10)
        chart.draw(into: &doc, frame: Frame(x: 10, y: headingHeight, width: chartWidth, height: height))
        return Figure(info: info, document: doc)
    }

    // MARK: (e) accuracy-vs-cost.svg

    static let routings = ["softmax", "sigmoid", "static"]

    /// The series style of a routing: softmax blue circles, sigmoid vermillion squares, static
    /// green triangles (fixed, so every figure uses the same pairing).
    static func routingStyle(_ routing: String) -> SeriesStyle {
        Palette.style(routings.firstIndex(of: routing) ?? routings.count)
    }

    /// A bar of a seed statistic: mean, with the min–max whisker only when there is a spread to show.
    static func bar(_ s: SeedStatistics) -> BarChart.Bar {
        s.n >= 2 && s.max > s.min ? BarChart.Bar(value: s.mean, min: s.min, max: s.max) : BarChart.Bar(value: s.mean)
    }

    /// "seeds 0, 1" / "seed 0" / "no seed" for captions and labels.
    static func seedText(_ seeds: [Int]) -> String {
        seeds.isEmpty ? "no seed" : (seeds.count == 1 ? "seed " : "seeds ") + seeds.map(String.init).joined(separator: ", ")
    }

    /// Every group's mean accuracy (min–max bar) against its multiply-adds.
    static func accuracyVsCost(_ report: Report) -> Figure? {
        let groups = report.groups.filter { $0.multiplyAdds > 0 && $0.accuracy.n > 0 && $0.accuracy.mean.isFinite }
        guard !groups.isEmpty else { return nil }
        let present = routings.filter { r in groups.contains { $0.routing == r } }
            + Array(Set(groups.map(\.routing)).subtracting(routings)).sorted()
        let items = groups.map { g in
            let spread = g.accuracy.n >= 2 && g.accuracy.max > g.accuracy.min
            return ScatterChart.Item(x: Double(g.multiplyAdds), y: g.accuracy.mean, yMin: spread ? g.accuracy.min : nil,
                                     yMax: spread ? g.accuracy.max : nil,
                                     label: "\(label(report, g)) · \(compact(g.parameters)) params", series: present.firstIndex(of: g.routing) ?? 0)
        }
        // Log x only when the costs span a factor of 3 or more; closer costs (a dynamic model and
        // its static twin: 9.44M and 9.15M) get a linear axis padded around them, so the points
        // are not squeezed into a few pixels of a 5M–10M decade.
        let xs = items.map(\.x)
        let logScale = (xs.max() ?? 1) / Swift.max(xs.min() ?? 1, 1) >= 3
        let xAxis: Axis
        if logScale {
            xAxis = Axis.fitting(xs, kind: .log10)
        } else {
            let lo = xs.min() ?? 0, hi = xs.max() ?? 1
            let pad = Swift.max((hi - lo) * 0.25, hi * 0.02)
            xAxis = Axis.fitting([lo - pad, hi + pad], format: .compact, maxTicks: 6, clampTo: 0...Double.greatestFiniteMagnitude)
        }
        let yAxis = accuracyAxis(items.flatMap { [$0.y, $0.yMin ?? $0.y, $0.yMax ?? $0.y] }, headroom: 0.1)
        // Labels beside the points while they fit; a sweep of many recipes at a few costs gets
        // numbered points and a key under the plot instead (the figure grows by the key).
        let (chart, frame) = ScatterChart(title: nil, items: items, seriesNames: present, styles: present.map(routingStyle),
                                          xAxis: xAxis, yAxis: yAxis, xTitle: "multiply-adds per image" + (logScale ? " (log scale)" : ""),
                                          yTitle: "test accuracy", note: zoomNote(yAxis))
            .fitted(to: Frame(x: 10, y: headingHeight, width: width - 20, height: 420))
        let seeds = groups.map { "\(label(report, $0)): \(seedText($0.seeds))" }.joined(separator: "; ")
        let info = FigureInfo(
            file: "accuracy-vs-cost.svg", title: "Accuracy against multiply-adds per image",
            caption: "Each point is a group (one recipe over its seeds): mean test accuracy at the trained τ on the "
                + "\(report.data.images) images of \(report.data.name), with a bar from the lowest to the highest seed "
                + "(no bar for a single seed), against the multiply-adds per image as `dyconv describe` counts them"
                + (logScale ? " (log scale)" : "") + ". Seeds: \(seeds). Marker = routing (softmax = dynamic convolution, "
                + "sigmoid = CondConv, static); "
                + (chart.labels == .numbered
                    ? "the points are numbered from the most accurate (their labels do not fit beside them), and the key under the plot "
                        + "gives each number's group and parameter count. "
                    : "labels give the group and its parameter count. ")
                + "Up and to the left is better."
                + (yAxis.lower > 0 ? " The y axis is zoomed (at least 2 points tall) and starts at \(yAxis.label(yAxis.lower)), not at 0." : ""))
        var doc = document(info, height: frame.maxY + 10)
        chart.draw(into: &doc, frame: frame)
        return Figure(info: info, document: doc)
    }

    // MARK: (f) k-sweep.svg

    /// Per comparison of `kind` with at least one existing member: its members that exist, with
    /// their groups.
    static func comparisons(_ report: Report, _ kind: Comparison.Kind) -> [[(value: String, group: GroupReport)]] {
        report.comparisons.filter { $0.kind == kind }.map { comparison in
            comparison.members.compactMap { m in group(report, m.group).map { (m.value + groupSuffix(report, $0), $0) } }
        }.filter { !$0.isEmpty }
    }

    /// Per `.kernels` comparison: accuracy and top-layer mean entropy against K.
    static func kernelSweep(_ report: Report) -> Figure? {
        let sweeps = comparisons(report, .kernels)
        guard !sweeps.isEmpty else { return nil }
        let rowHeight = 280.0
        let info = FigureInfo(
            file: "k-sweep.svg", title: "Number of kernels K",
            caption: "One row per set of groups that differ only in K. Left: mean test accuracy over seeds (bar: min–max) "
                + "against K. Right: mean normalised entropy H/ln K of the top dynamic layer (bar: min–max over seeds); "
                + "K = 1 is 1 by definition. Multiply-adds and parameters per K are in report.md's table.")
        var doc = document(info, height: headingHeight + Double(sweeps.count) * (rowHeight + 12) + 10)
        for (row, members) in sweeps.enumerated() {
            let ks = members.map { Double($0.group.kernels) }.filter { $0 > 0 }
            guard !ks.isEmpty else { continue }
            let xAxis = Axis(kind: .log10, lower: (ks.min() ?? 1) / 1.4, upper: (ks.max() ?? 8) * 1.4, ticks: ks)
            let style = Palette.style(0)
            let acc = members.filter { $0.group.kernels > 0 }.map { m in
                ScatterChart.Item(x: Double(m.group.kernels), y: m.group.accuracy.mean, yMin: m.group.accuracy.min,
                                  yMax: m.group.accuracy.max, label: m.value, series: 0)  // a zero range draws no whisker
            }
            let ent = members.filter { $0.group.kernels > 0 }.compactMap { m -> ScatterChart.Item? in
                guard let top = m.group.entropy.last else { return nil }
                return ScatterChart.Item(x: Double(m.group.kernels), y: top.mean, yMin: top.min, yMax: top.max,
                                         label: SVGNumber.fixed(top.mean, decimals: 3), series: 0)
            }
            let y = headingHeight + Double(row) * (rowHeight + 12)
            let half = (width - 32) / 2
            let title = members.first.map { "\($0.group.family), \(members.map(\.value).joined(separator: " · "))" }
            let accAxis = accuracyAxis(acc.flatMap { [$0.y, $0.yMin ?? $0.y, $0.yMax ?? $0.y] }, headroom: 0.15)
            ScatterChart(title: title.map { "Accuracy: \($0)" }, items: acc, seriesNames: [], styles: [style], xAxis: xAxis,
                         yAxis: accAxis, xTitle: "K (log scale)", yTitle: "test accuracy", connect: true, note: zoomNote(accAxis))
                .draw(into: &doc, frame: Frame(x: 10, y: y, width: half, height: rowHeight))
            ScatterChart(title: "Top-layer H / ln K", items: ent, seriesNames: [], styles: [style], xAxis: xAxis,
                         yAxis: Axis(lower: 0, upper: 1), xTitle: "K (log scale)", yTitle: "H / ln K", connect: true)
                .draw(into: &doc, frame: Frame(x: 22 + half, y: y, width: half, height: rowHeight))
        }
        return Figure(info: info, document: doc)
    }

    // MARK: (g) tau-schedule.svg

    /// Per `.temperatureSchedule` comparison: final accuracy per schedule (bars, min–max), and
    /// test accuracy per epoch, averaged over each group's checkpoints.
    static func temperatureSchedule(_ report: Report) -> Figure? {
        let sets = comparisons(report, .temperatureSchedule)
        guard !sets.isEmpty else { return nil }
        let rowHeight = 300.0
        let info = FigureInfo(
            file: "tau-schedule.svg", title: "Training temperature schedules",
            caption: "One row per set of groups that differ only in the training τ schedule (its family in the panel titles). "
                + "Left: final test accuracy "
                + "(mean over seeds, whisker min–max; the y axis is zoomed and starts where marked). Right: test accuracy "
                + "after each epoch, the mean over the group's checkpoints of their training history (epochs that some "
                + "seeds lack average the others).")
        var doc = document(info, height: headingHeight + Double(sets.count) * (rowHeight + 12) + 10)
        for (row, members) in sets.enumerated() {
            let y = headingHeight + Double(row) * (rowHeight + 12)
            let barWidth = 250.0
            let bars = members.map { m in
                BarChart.Group(label: m.value, bars: [m.group.accuracy.mean.isFinite ? bar(m.group.accuracy) : nil])
            }
            let values = members.flatMap { [$0.group.accuracy.mean, $0.group.accuracy.min, $0.group.accuracy.max] }
            let axis = accuracyAxis(values, headroom: 0.3)
            // Each row names its family: a report may compare the schedules of dycnn and of CondConv.
            let family = members.first.map { ": \($0.group.family)" } ?? ""
            BarChart(title: "Final accuracy" + family, groups: bars, seriesNames: ["accuracy"], yAxis: axis, yTitle: "test accuracy",
                     note: axis.lower > 0 ? "axis from \(axis.label(axis.lower))" : nil)
                .draw(into: &doc, frame: Frame(x: 10, y: y, width: barWidth, height: rowHeight))
            var series: [LineChart.Series] = []
            for (i, m) in members.enumerated() {
                series.append(.init(name: m.value, points: meanTestAccuracyPerEpoch(ReportFigures.members(report, m.group)),
                                    style: Palette.style(i), showMarkers: true))
            }
            let epochs = series.flatMap { $0.points.map(\.x) }
            let xAxis = epochAxis(epochs.isEmpty ? [1] : epochs)
            LineChart(title: "Test accuracy per epoch" + family, series: series, xAxis: xAxis,
                      yAxis: accuracyAxis(series.flatMap { $0.points.map(\.y) }), xTitle: "epoch", yTitle: "test accuracy")
                .draw(into: &doc, frame: Frame(x: 22 + barWidth, y: y, width: width - 32 - barWidth, height: rowHeight))
        }
        return Figure(info: info, document: doc)
    }

    /// (epoch, mean test accuracy over the checkpoints that have it), in increasing epoch.
    static func meanTestAccuracyPerEpoch(_ checkpoints: [CheckpointReport]) -> [Point] {
        var sums: [Int: (Double, Int)] = [:]
        for c in checkpoints {
            for e in c.history {
                guard let a = e.testAccuracy, a.isFinite else { continue }
                let s = sums[e.epoch] ?? (0, 0)
                sums[e.epoch] = (s.0 + Double(a), s.1 + 1)
            }
        }
        return sums.keys.sorted().map { Point(Double($0), sums[$0]!.0 / Double(sums[$0]!.1)) }
    }
}
