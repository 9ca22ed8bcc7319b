import DyConvEngine
import DyConvFigures

// The report's figures, drawn from a `Report` alone (see ReportModel.swift) with DyConvFigures.
//
// Inside: `render` (every figure whose inputs exist, in report.md's order) and the helpers the
// figure builders share (which checkpoints count as dynamic, layer order, safe look-ups of
// indices that came from a file). The builders are in ReportFigures+Attention.swift (entropy per
// layer, attention by class, accuracy against τ), ReportFigures+Groups.swift (ablation, accuracy
// against cost, K sweep, τ schedules) and ReportFigures+Training.swift (training curves).
//
// Rules, stated again in each caption:
//   - a checkpoint is "dynamic" when its routing is not "static" and K ≥ 2 (with K = 1 every
//     attention is 1 and every entropy is defined as 1: nothing to draw);
//   - a figure is written only when at least one panel has data; a panel only when its inputs do;
//   - every number comes from the report; indices (groups, checkpoints) are checked, and
//     non-finite values are left out;
//   - seeds of one recipe are drawn as one group (mean, with the min–max over seeds as a band or
//     whisker; none for a single seed), labelled with the group's label and its seeds;
//   - an unfinished checkpoint (`!isFinished`) says "(epoch E/N)" wherever it or its group is named;
//   - an accuracy axis is at least 2 points tall, and a zoomed one says where it starts.
//
// Worked example: a report with checkpoints [dycnn-dynamic (softmax, K=4), dycnn-condconv
// (sigmoid, K=4), dycnn-static] and no comparisons gives entropy-per-layer.svg with two panels
// (the static one is named in the caption as skipped), attention-by-class.svg with two panels
// (CondConv's gates normalised to r/Σr), accuracy-vs-tau.svg, ablation.svg, accuracy-vs-cost.svg
// and training-curves.svg; no k-sweep.svg or tau-schedule.svg.

/// The report's figures, drawn from a `Report` alone.
public enum ReportFigures {
    /// Every figure whose inputs `report` has, in the order report.md shows them: each with its
    /// `FigureInfo` (file name, title, caption) and the SVG text.
    public static func render(_ report: Report) -> [(info: FigureInfo, svg: String)] {
        let builders: [(Report) -> Figure?] = [
            entropyPerLayer, attentionByClass, accuracyVsTemperature, ablation, accuracyVsCost, kernelSweep,
            temperatureSchedule, trainingCurves,
        ]
        return builders.compactMap { $0(report) }.map { ($0.info, $0.document.render()) }
    }

    /// A figure before rendering.
    struct Figure {
        var info: FigureInfo
        var document: SVGDocument
    }

    /// Width of every figure, px.
    static let width = 720.0

    /// A white document of the figure width with its heading; `info.caption` becomes its <desc>.
    static func document(_ info: FigureInfo, height: Double) -> SVGDocument {
        var doc = SVGDocument(width: width, height: height.rounded(.up), title: info.title, desc: info.caption)
        doc.rect(x: 0, y: 0, width: width, height: height.rounded(.up), fill: "#FFFFFF")
        drawFigureHeading(info.title, width: width, into: &doc)
        return doc
    }

    /// Top of the first panel below a figure heading.
    static let headingHeight = 36.0

    // MARK: - Shared rules and look-ups

    /// Dynamic = has dynamic layers with K ≥ 2 (see the file overview).
    static func isDynamic(_ c: CheckpointReport) -> Bool { c.routing != "static" && c.kernels >= 2 }

    static func group(_ report: Report, _ index: Int) -> GroupReport? {
        report.groups.indices.contains(index) ? report.groups[index] : nil
    }

    static func checkpoint(_ report: Report, _ index: Int) -> CheckpointReport? {
        report.checkpoints.indices.contains(index) ? report.checkpoints[index] : nil
    }

    /// The checkpoints of `group` that exist.
    static func members(_ report: Report, _ group: GroupReport) -> [CheckpointReport] {
        group.checkpoints.compactMap { checkpoint(report, $0) }
    }

    /// Names of checkpoints that fail `isDynamic`, split into static and K = 1, for captions.
    static func skippedNote(_ report: Report) -> String {
        let statics = report.checkpoints.filter { $0.routing == "static" }.map(\.name)
        let single = report.checkpoints.filter { $0.routing != "static" && $0.kernels < 2 }.map(\.name)
        var parts: [String] = []
        if !statics.isEmpty { parts.append("static checkpoints have no attention and are not drawn (\(statics.joined(separator: ", ")))") }
        if !single.isEmpty { parts.append("K = 1 checkpoints are not drawn: their only kernel always has π = 1 (\(single.joined(separator: ", ")))") }
        return parts.isEmpty ? "" : " " + parts.joined(separator: "; ").capitalizedFirst + "."
    }

    /// The layer names of `c` in execution order: from its trained evaluation, else its group, else
    /// the names its history mentions (sorted).
    static func layerNames(_ report: Report, _ c: CheckpointReport) -> [String] {
        if let layers = c.trained?.layers, !layers.isEmpty { return layers.map(\.name) }
        if let g = group(report, c.group), !g.layerNames.isEmpty { return g.layerNames }
        return Set(c.history.flatMap { ($0.entropy ?? [:]).keys }).sorted()
    }

    /// "0.24" with two decimals, for captions.
    static func fixed(_ v: Double, _ decimals: Int = 2) -> String { SVGNumber.fixed(v, decimals: decimals) }

    /// "299k" / "9.44M".
    static func compact(_ v: Int) -> String { Axis.compact(Double(v)) }

    /// The smallest span of an accuracy axis, 2 points: a narrower axis would show differences
    /// far below what a test set of a few thousand images resolves (binomial SE ≈ 0.2–0.5 points)
    /// as large, and with a tiny --limit its ticks would be finer than one image.
    static let minimumAccuracySpan = 0.02

    /// The y axis of an accuracy chart fitted to `values` (fractions in 0…1, shown in percent),
    /// at least `minimumAccuracySpan` wide (centred on the data, inside 0…1), with `headroom` of
    /// the span added on top for labels.
    static func accuracyAxis(_ values: [Double], headroom: Double = 0.05, maxTicks: Int = 6) -> Axis {
        let finite = values.filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if hi - lo < minimumAccuracySpan {
            let mid = Swift.min(Swift.max((lo + hi) / 2, minimumAccuracySpan / 2), 1 - minimumAccuracySpan / 2)
            lo = mid - minimumAccuracySpan / 2; hi = mid + minimumAccuracySpan / 2
        }
        let span = hi - lo
        return Axis.fitting([lo - span * 0.05, hi + span * headroom], format: .percent, maxTicks: maxTicks, clampTo: 0...1)
    }

    /// "y axis from 92%, not 0" for a zoomed accuracy axis, nil for one that starts at 0.
    static func zoomNote(_ axis: Axis) -> String? {
        axis.lower > 0 ? "y axis from \(axis.label(axis.lower)), not 0" : nil
    }

    /// An epoch axis with integer ticks only (an epoch 1.5 does not exist); a single epoch e gets
    /// the domain e − 0.5 … e + 0.5 with the one tick e.
    static func epochAxis(_ epochs: [Double]) -> Axis {
        let finite = epochs.filter(\.isFinite)
        var lo = finite.min() ?? 1, hi = finite.max() ?? 1
        if hi - lo < 1 { lo -= 0.5; hi += 0.5 }
        let ticks = hi - lo <= 8 ? Array(Int(lo.rounded(.up))...Int(hi.rounded(.down))).map(Double.init)
            : Ticks.linear(lo, hi, maxCount: 8).filter { $0 == $0.rounded() }
        var axis = Axis(lower: lo, upper: hi, ticks: ticks)
        axis.decimals = 0
        return axis
    }

    // MARK: - Unfinished runs

    /// " (epoch 5/30)" for a checkpoint whose training stopped before its planned epochs, "" for
    /// a finished one (the measuring side groups unfinished runs apart; every label says so).
    static func epochSuffix(_ c: CheckpointReport) -> String { epochText(c).map { " (\($0))" } ?? "" }

    /// "epoch 5/30" for an unfinished checkpoint, nil for a finished one.
    static func epochText(_ c: CheckpointReport) -> String? {
        guard !c.isFinished, let e = c.epoch, let n = c.epochs else { return nil }
        return "epoch \(e)/\(n)"
    }

    /// The checkpoint's name with its `epochSuffix`.
    static func label(_ c: CheckpointReport) -> String { c.name + epochSuffix(c) }

    /// The group's label, with " (epoch E/N)" (each distinct E/N of its unfinished members) unless
    /// the label already says it.
    static func label(_ report: Report, _ g: GroupReport) -> String {
        var texts: [String] = []
        for c in members(report, g) {
            if let t = epochText(c), !texts.contains(t), !g.label.contains(t) { texts.append(t) }
        }
        return g.label + texts.map { " (\($0))" }.joined()
    }

    /// " (epoch E/N)" of an unfinished group, for comparison member values.
    static func groupSuffix(_ report: Report, _ g: GroupReport) -> String {
        String(label(report, g).dropFirst(g.label.count))
    }

    static func finite(_ points: [Point]) -> [Point] { points.filter { $0.x.isFinite && $0.y.isFinite } }
}

extension String {
    /// The string with its first character upper-cased (ASCII only; for caption sentences).
    var capitalizedFirst: String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}
