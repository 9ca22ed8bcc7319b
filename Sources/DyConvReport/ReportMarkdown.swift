import DyConvEngine
import Foundation

// report.md: the report's numbers as Markdown tables, one section per claim of the paper, from a
// `Report` alone (like the figures). Deterministic: fixed decimals, fixed order, no dates.
//
// Layout:
//   # dyconv report            data, images, settings, the exact command
//   ## 1 … ## 6                one section per paper item, each with its tables (a section whose
//                              checkpoints were not given says so in one line)
//   ## Figures                 each SVG linked, with its caption
//
// Accuracies print as percentages with 2 decimals ("91.23"), differences in points with a sign
// ("+0.41"), entropies with 3 decimals; a missing or non-finite value prints "–". Every group or
// paired comparison with fewer than `Report.minimumSeeds` seeds carries the note
// "fewer than 3 seeds: not conclusive"; each checkpoint's accuracy has its binomial standard error.

public enum ReportMarkdown {
    /// The Markdown text of `report`; `command` is the command line that made it (printed verbatim).
    public static func render(_ report: Report, command: String) -> String {
        var md = Lines()
        header(report, command: command, &md)
        accuracySection(report, &md)
        ablationSection(report, &md)
        entropySection(report, &md)
        kernelsSection(report, &md)
        temperatureSection(report, &md)
        routingSection(report, &md)
        figuresSection(report, &md)
        return md.text
    }

    // MARK: Sections

    static func header(_ r: Report, command: String, _ md: inout Lines) {
        md += "# dyconv report"
        md += ""
        md += "- Data: \(r.data.name), \(r.data.images) images"
        md += "- Checkpoints: \(r.checkpoints.count) in \(r.groups.count) group\(r.groups.count == 1 ? "" : "s")"
        md += "- Aggregation modes at the trained τ: \(r.settings.modes.map(\.rawValue).joined(separator: ", "))"
        md += "- Inference τ sweep (attention): \(r.settings.temperatures.map(compactNumber).joined(separator: ", "))"
        md += "- Shuffle seed: \(r.settings.seed)"
        md += "- Schema: \(r.schema) (report.json holds every number below, and more)"
        for w in r.warnings { md += "- Warning: \(w)" }
        md += ""
        md += "```"
        md += command
        md += "```"
        md += ""
    }

    static func accuracySection(_ r: Report, _ md: inout Lines) {
        md += "## 1. Dynamic vs static vs CondConv: accuracy per multiply-add"
        md += ""
        md += "Test accuracy at the trained τ, mean ± sample sd [min, max] over the seeds."
        md += ""
        md.table(["group", "seeds", "accuracy %", "parameters", "multiply-adds", "note"], r.groups.map { g in
            [g.label, g.seeds.map(String.init).joined(separator: ", "), statistics(g.accuracy), String(g.parameters),
             String(g.multiplyAdds), g.tooFewSeeds ? fewSeedsNote : ""]
        })
        md += "Per checkpoint: accuracy ± its binomial standard error √(p(1 − p)/n) over the n test images "
            + "(the spread another test set of that size would show, not the spread over seeds)."
        md += ""
        md.table(["checkpoint", "group", "seed", "trained", "accuracy %", "± SE (points)", "images"], r.checkpoints.map { c in
            [c.name, r.groups.indices.contains(c.group) ? r.groups[c.group].label : "–", c.seed.map(String.init) ?? "–",
             c.epoch.map { e in "\(e)/\(c.epochs.map(String.init) ?? "?") epochs" } ?? "–",
             c.trained.map { percent($0.accuracy) } ?? "–", c.standardError.map { fixed(100 * $0, 2) } ?? "–",
             c.trained.map { String($0.images) } ?? "–"]
        })
        let pairs = r.comparisons.filter { $0.kind == .dynamicVsStatic }
        if pairs.isEmpty { md += "No dynamic model was given with its static twin."; md += ""; return }
        md += "Dynamic minus static, per shared seed (points):"
        md += ""
        md.table(["dynamic", "static", "seeds", "Δ per seed", "mean Δ", "dynamic wins", "McNemar per seed", "note"], pairs.map { c in
            let p = c.pairs
            return [r.groups[c.members[0].group].label, r.groups[c.members[1].group].label,
                    p.map { $0.seeds.map(String.init).joined(separator: ", ") } ?? "none shared",
                    p.map { $0.deltas.map(points).joined(separator: ", ") } ?? "–", p.map { points($0.meanDelta) } ?? "–",
                    p.map { "\($0.wins)/\($0.seeds.count)" } ?? "–", p.flatMap(mcnemar) ?? "–",
                    (p?.tooFewSeeds ?? true) ? fewSeedsNote : ""]
        })
        if pairs.contains(where: { $0.pairs?.mcnemarP != nil }) {
            md += "McNemar: images only the dynamic model gets right / only the static one, and the exact two-sided p of that split "
                + "if both were equally good."
            md += ""
        }
    }

    static func ablationSection(_ r: Report, _ md: inout Lines) {
        md += "## 2. Aggregation ablation"
        md += ""
        md += "Accuracy % at the trained τ when the K kernels are combined otherwise than by π (mean ± sd [min, max] over seeds)."
        md += ""
        let modes = r.settings.modes.map(\.rawValue)
        let dynamic = r.groups.filter { $0.routing != Routing.static.rawValue }
        if dynamic.isEmpty { md += "No dynamic model was given."; md += ""; return }
        md.table(["group"] + modes, dynamic.map { g in [g.label] + modes.map { g.ablation[$0].map { statistics($0) } ?? "–" } })
    }

    static func entropySection(_ r: Report, _ md: inout Lines) {
        md += "## 3. Entropy of π per layer"
        md += ""
        md += "Normalized entropy H(π)/ln K over the test images at the trained τ (1 = flat, 0 = one kernel): "
            + "the mean, and the median with its quartiles."
        md += ""
        var any = false
        let groups = r.groups.filter { $0.routing != Routing.static.rawValue && !$0.entropy.isEmpty }
        if !groups.isEmpty {
            md += "Mean entropy per layer over the seeds of each group (mean ± sample sd [min, max]):"
            md += ""
        }
        for g in groups {
            any = true
            md += "### \(g.label) (seeds \(g.seeds.map(String.init).joined(separator: ", ")))" + (g.tooFewSeeds ? " — \(fewSeedsNote)" : "")
            md += ""
            md.table(["layer", "mean entropy"], zip(g.layerNames, g.entropy).map { [$0, statistics($1, scale: 1, decimals: 3)] })
        }
        if !groups.isEmpty {
            md += "Per checkpoint, the distribution over the test images:"
            md += ""
        }
        for c in r.checkpoints {
            guard let t = c.trained, !t.layers.isEmpty else { continue }
            any = true
            md += "### \(c.name)"
            md += ""
            md.table(["layer", "mean", "p5", "q1", "median", "q3", "p95"], t.layers.map { l in
                [l.name, fixed(l.meanEntropy, 3)] + (l.entropyBox.map { b in [b.p5, b.q1, b.median, b.q3, b.p95].map { fixed($0, 3) } }
                                                        ?? Array(repeating: "–", count: 5))
            })
        }
        if !any { md += "No dynamic model was given."; md += "" }
    }

    static func kernelsSection(_ r: Report, _ md: inout Lines) {
        md += "## 4. Number of kernels K"
        md += ""
        let sweeps = r.comparisons.filter { $0.kind == .kernels }
        if sweeps.isEmpty { md += "No softmax models differing only in K were given."; md += ""; return }
        for c in sweeps {
            md.table(["K", "group", "accuracy %", "parameters", "multiply-adds", "top-layer entropy"], c.members.map { m in
                let g = r.groups[m.group]
                return [m.value, g.label, statistics(g.accuracy), String(g.parameters), String(g.multiplyAdds),
                        g.entropy.last.map { fixed($0.mean, 3) } ?? "–"]
            })
            pairsLine(c, r, &md)
        }
    }

    static func temperatureSection(_ r: Report, _ md: inout Lines) {
        md += "## 5. Temperature τ"
        md += ""
        md += "### In training"
        md += ""
        let schedules = r.comparisons.filter { $0.kind == .temperatureSchedule }
        if schedules.isEmpty { md += "No models differing only in the τ schedule were given."; md += "" }
        for c in schedules {
            // The schedule decides how sharp the attention ends up (constant τ 1 can leave a layer on one
            // kernel), so the entropy per layer stands beside the accuracy.
            md.table(["schedule", "group", "accuracy %", "mean entropy per layer, lowest first"], c.members.map { m in
                let g = r.groups[m.group]
                return [m.value, g.label, statistics(g.accuracy), g.entropy.map { fixed($0.mean, 3) }.joined(separator: " ")]
            })
            pairsLine(c, r, &md)
        }
        md += "### At inference"
        md += ""
        md += "Accuracy % in attention mode with every dynamic layer at one τ (trained: each layer's own)."
        md += ""
        let dynamic = r.checkpoints.filter { !$0.temperatureSweep.isEmpty }
        if dynamic.isEmpty { md += "No dynamic model was given."; md += ""; return }
        let groups = r.groups.filter { !$0.temperatureSweep.isEmpty }
        let groupTaus = Set(groups.flatMap { $0.temperatureSweep.map(\.temperature) }).sorted()
        md += "Per group, mean ± sample sd [min, max] over the seeds; \"(trained)\" marks the trained evaluation "
            + "standing as the point at the members' shared trained τ."
        md += ""
        md.table(["group", "seeds"] + groupTaus.map { "τ " + compactNumber($0) }, groups.map { g in
            [g.label, g.seeds.map(String.init).joined(separator: ", ")] + groupTaus.map { t in
                g.temperatureSweep.first { $0.temperature == t }.map { statistics($0.accuracy) + ($0.trained ? " (trained)" : "") } ?? "–"
            }
        })
        md += "Per checkpoint:"
        md += ""
        let taus = r.settings.temperatures
        md.table(["checkpoint", "trained τ", "at trained τ"] + taus.map { "τ " + compactNumber($0) }, dynamic.map { c in
            let sweep = c.temperatureSweep
            return [c.name, c.trainedTemperature.map(compactNumber) ?? "–", c.trained.map { percent($0.accuracy) } ?? "–"]
                + taus.map { t in sweep.first { $0.temperature == t }.map { percent($0.accuracy) } ?? "–" }
        })
    }

    static func routingSection(_ r: Report, _ md: inout Lines) {
        md += "## 6. The Σπ = 1 constraint: softmax vs sigmoid routing"
        md += ""
        let pairs = r.comparisons.filter { $0.kind == .softmaxVsSigmoid }
        if pairs.isEmpty { md += "No softmax model was given with its sigmoid-routed (CondConv) twin."; md += ""; return }
        md += "Accuracy, and the mean Σ of the coefficients per layer (1 for softmax; free for sigmoid gates), "
            + "averaged over the group's seeds."
        md += ""
        for c in pairs {
            let members = c.members.map { r.groups[$0.group] }
            let layers = members[0].layerNames
            md.table(["routing", "group", "accuracy %"] + layers.map { "Σ " + $0 }, zip(c.members, members).map { m, g in
                // Every seed's trained Σ, not only the first checkpoint's: a group row stands for all its seeds.
                let trained = g.checkpoints.compactMap { r.checkpoints[$0].trained }
                return [m.value, g.label, statistics(g.accuracy)] + layers.map { name in
                    let masses = trained.compactMap { t in t.layers.first { $0.name == name }?.meanMass }
                    return masses.isEmpty ? "–" : fixed(SeedStatistics.of(masses).mean, 3)
                }
            })
            pairsLine(c, r, &md)
        }
    }

    static func figuresSection(_ r: Report, _ md: inout Lines) {
        md += "## Figures"
        md += ""
        if r.figures.isEmpty { md += "No figures were drawn."; md += ""; return }
        for f in r.figures {
            md += "### \(f.title)"
            md += ""
            md += "![\(f.title)](\(f.file))"
            md += ""
            md += f.caption
            md += ""
        }
    }

    /// One line per paired difference of `c` (its pair, or its steps):
    /// "first − second over seeds 0, 1, 2: +0.41, −0.10, +0.20 points (mean +0.17, first ahead on 2 of 3)".
    static func pairsLine(_ c: Comparison, _ r: Report, _ md: inout Lines) {
        for (i, j, p) in c.differences where c.members.indices.contains(i) && c.members.indices.contains(j) {
            let first = c.members[i].value, second = c.members[j].value
            md += "\(first) − \(second) over seeds \(p.seeds.map(String.init).joined(separator: ", ")): "
                + p.deltas.map(points).joined(separator: ", ")
                + " points (mean \(points(p.meanDelta)), \(first) ahead on \(p.wins) of \(p.seeds.count))"
                + (mcnemar(p).map { "; McNemar \(first) only / \(second) only: \($0)" } ?? "")
                + (p.tooFewSeeds ? "; \(fewSeedsNote)" : "")
            md += ""
        }
    }

    // MARK: Numbers

    /// "84 / 50 (p 0.004)" per seed, ", "-joined; nil without McNemar counts.
    static func mcnemar(_ p: PairedDifference) -> String? {
        guard let a = p.firstOnly, let b = p.secondOnly, let q = p.mcnemarP, a.count == b.count, b.count == q.count else { return nil }
        return (0..<a.count).map { "\(a[$0]) / \(b[$0]) (p \(q[$0] < 0.001 ? "< 0.001" : fixed(q[$0], 3)))" }.joined(separator: ", ")
    }

    /// "fewer than 3 seeds: not conclusive".
    static let fewSeedsNote = "fewer than \(Report.minimumSeeds) seeds: not conclusive"

    /// "91.23 ± 0.41 [90.80, 91.70]" (percent; `scale` 1 and 3 decimals for entropies), or
    /// "91.23" for one seed.
    static func statistics(_ s: SeedStatistics, scale: Double = 100, decimals: Int = 2) -> String {
        guard s.n > 0 else { return "–" }
        let f = { (v: Double) in fixed(scale * v, decimals) }
        guard s.n > 1, let sd = s.sd else { return f(s.mean) }
        return "\(f(s.mean)) ± \(f(sd)) [\(f(s.min)), \(f(s.max))]"
    }

    static func percent(_ fraction: Double) -> String { fixed(100 * fraction, 2) }

    /// A difference of accuracies in points with its sign: "+0.41", "-0.10".
    static func points(_ delta: Double) -> String {
        guard delta.isFinite else { return "–" }
        let text = String(format: "%+.2f", 100 * delta)
        return text == "-0.00" ? "+0.00" : text
    }

    static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return "–" }
        let text = String(format: "%.\(decimals)f", v)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }
}

/// Markdown being written, line by line.
struct Lines {
    private(set) var lines: [String] = []
    static func += (md: inout Lines, line: String) { md.lines.append(line) }

    /// A pipe table (cells' "|" escaped) followed by a blank line.
    mutating func table(_ header: [String], _ rows: [[String]]) {
        func row(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        lines.append(row(header))
        lines.append("|" + header.map { _ in " --- |" }.joined())
        for r in rows { lines.append(row(r)) }
        lines.append("")
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}
