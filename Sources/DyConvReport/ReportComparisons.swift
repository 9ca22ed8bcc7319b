import DyConvEngine
import Foundation

// From measured checkpoints to groups and comparisons: pure functions of `[CheckpointReport]`.
//
// Groups: checkpoints with equal recipe parts (`CheckpointReport.recipe`, seed and threads already
// out) are one experiment over seeds: one `GroupReport`, in order of first appearance, members in
// increasing seed, with `SeedStatistics` (sample sd, n − 1) of the accuracy, of each aggregation
// mode and of each layer's mean entropy. A checkpoint without a recipe is a group of its own.
// An unfinished run (training record epoch < epochs: a stopped training, a snapshot given as a
// checkpoint) is grouped apart: its key gets " trained epoch E/N" and its label " (epoch E/N)",
// and it is compared only with groups stopped at the same E/N. The same recipe and seed given
// twice is refused (`checkDistinct`): it would count one run as two seeds.
//
// Comparisons (groups whose recipes differ in one respect only; the paper's items 1, 4, 5, 6):
//   dynamicVsStatic      softmax group vs the static group equal to it once the family's routing
//                        suffix and the attention-only fields (K, τ schedule, attention FCs) are set aside;
//   kernels              softmax groups equal but for `kernels` (≥ 2), by increasing K;
//   temperatureSchedule  dynamic groups equal but for the τ schedule: annealed first, then constant τ ascending;
//   softmaxVsSigmoid     dycnn vs dycnn-condconv (etc.) equal but for the routing.
// Two-member comparisons carry a `PairedDifference` over the seeds both groups have.
//
// Example: dycnn K=4 at seeds 0, 1, 2 with accuracies 0.90, 0.92, 0.91 → one group, accuracy mean
// 0.91, sd 0.01, min 0.90, max 0.92; with dycnn-static at seeds 0, 1 of 0.89, 0.93 →
// dynamicVsStatic pairs seeds [0, 1], deltas [+0.01, −0.01], wins 1.

public enum ReportComparisons {
    /// The report of measured checkpoints: groups set (and each checkpoint's `group`), comparisons found.
    public static func assemble(data: Report.DataInfo, settings: Report.Settings, checkpoints: [CheckpointReport]) -> Report {
        var checkpoints = checkpoints
        for i in checkpoints.indices { checkpoints[i].standardError = checkpoints[i].trained.flatMap(binomialStandardError) }
        let groups = makeGroups(&checkpoints)
        return Report(data: data, settings: settings, checkpoints: checkpoints, groups: groups,
                      comparisons: comparisons(groups, checkpoints: checkpoints))
    }

    /// The groups of `checkpoints` (whose `group` fields are set here).
    public static func makeGroups(_ checkpoints: inout [CheckpointReport]) -> [GroupReport] {
        var order: [String] = []
        var members: [String: [Int]] = [:]
        for (i, c) in checkpoints.enumerated() {
            let key = groupKey(c)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(i)
        }
        var groups: [GroupReport] = []
        for (g, key) in order.enumerated() {
            let indices = members[key]!.sorted { (checkpoints[$0].seed ?? Int.min, $0) < (checkpoints[$1].seed ?? Int.min, $1) }
            for i in indices { checkpoints[i].group = g }
            groups.append(group(key: key, indices: indices, checkpoints: checkpoints))
        }
        disambiguateLabels(&groups, checkpoints: checkpoints)
        return groups
    }

    /// The recipe parts joined by " ", or the path for a checkpoint without a recipe; " trained
    /// epoch E/N" appended for an unfinished run.
    static func groupKey(_ c: CheckpointReport) -> String {
        (c.recipe.map { $0.joined(separator: " ") } ?? c.path) + (c.unfinishedStage.map { " trained " + $0 } ?? "")
    }

    /// Refuses two checkpoints that would be one run counted twice: the same recipe, seed (and
    /// stage of training), or, without a recipe, the same file. One line naming both files.
    public static func checkDistinct(_ checkpoints: [CheckpointReport]) throws {
        var seen: [String: String] = [:]
        for c in checkpoints {
            let identity: String, what: String
            if c.recipe != nil {
                identity = groupKey(c) + " seed=" + (c.seed.map(String.init) ?? "none")
                what = "the same recipe and seed \(c.seed.map(String.init) ?? "(none)")" + (c.unfinishedStage.map { " at " + $0 } ?? "")
            } else {
                identity = "file " + (Files.realPath(c.path) ?? c.path)
                what = "the same file"
            }
            if let first = seen[identity] {
                throw ReportError(first == c.path ? "\(c.path) is given twice" : "\(first) and \(c.path) are \(what)")
            }
            seen[identity] = c.path
        }
    }

    /// √(p(1 − p)/n) of an evaluation's accuracy p over its n scored (labelled) images; nil
    /// when none is scored.
    static func binomialStandardError(_ e: EvaluationResult) -> Double? {
        guard e.scored > 0 else { return nil }
        let p = e.accuracy
        return (p * (1 - p) / Double(e.scored)).squareRoot()
    }

    static func group(key: String, indices: [Int], checkpoints: [CheckpointReport]) -> GroupReport {
        let members = indices.map { checkpoints[$0] }
        let first = members[0]
        let accuracy = SeedStatistics.of(members.compactMap { $0.trained?.accuracy })
        var ablation: [String: SeedStatistics] = [:]
        let modes = members.flatMap { $0.evaluations.filter { $0.temperature == nil }.map(\.mode) }
        for mode in Set(modes) {
            ablation[mode.rawValue] = SeedStatistics.of(members.compactMap { $0.evaluation(mode: mode)?.accuracy })
        }
        let layerNames = first.trained?.layers.map(\.name) ?? []
        let entropy = layerNames.map { name in
            SeedStatistics.of(members.compactMap { $0.trained?.layers.first { $0.name == name }?.meanEntropy })
        }
        return GroupReport(key: key, label: label(first) + (first.unfinishedStage.map { " (\($0))" } ?? ""),
                           checkpoints: indices, seeds: members.compactMap(\.seed),
                           family: first.family, routing: first.routing, kernels: first.kernels,
                           parameters: first.parameters, multiplyAdds: first.multiplyAdds, accuracy: accuracy,
                           ablation: ablation, layerNames: layerNames, entropy: entropy,
                           temperatureSweep: sweep(members))
    }

    /// The group's accuracy against the inference τ: each swept τ over the members that have it,
    /// and the trained evaluation as the point at the trained τ when every member shares one that
    /// the sweep lacks (a τ the sweep has is not added twice: the two evaluations are the same
    /// computation).
    static func sweep(_ members: [CheckpointReport]) -> [GroupReport.SweepPoint] {
        var byTemperature: [Float: [Double]] = [:]
        for c in members {
            for e in c.temperatureSweep { if let t = e.temperature { byTemperature[t, default: []].append(e.accuracy) } }
        }
        guard !byTemperature.isEmpty else { return [] }
        var points = byTemperature.map { GroupReport.SweepPoint(temperature: $0.key, trained: false, accuracy: .of($0.value)) }
        let trainedTemperatures = Set(members.map(\.trainedTemperature))
        if trainedTemperatures.count == 1, let t = trainedTemperatures.first ?? nil, t.isFinite, t > 0, byTemperature[t] == nil {
            points.append(.init(temperature: t, trained: true, accuracy: .of(members.compactMap { $0.trained?.accuracy })))
        }
        return points.sorted { $0.temperature < $1.temperature }
    }

    /// "dycnn 8/16/32 K=4 softmax τ 30→1/5ep", "dycnn-static 8/16/32", "dyresnet 16/32/64×3 K=4 softmax constant τ 1";
    /// the file name for a checkpoint without a recipe.
    static func label(_ c: CheckpointReport) -> String {
        guard let parts = c.recipe else { return c.name }
        let f = RecipeFields(parts: parts)
        var words = [c.family]
        if let widths = f["widths"] { words.append(widths + (f["blocks"].map { "×" + $0 } ?? "")) }
        if c.routing != Routing.static.rawValue {
            words.append("K=\(c.kernels)")
            words.append(c.routing)
            if let start = f["temperatureStart"], let end = f["temperatureEnd"], let epochs = f["temperatureEpochs"] {
                words.append(RecipeParts.scheduleText(start: start, end: end, epochs: epochs))
            }
        }
        return words.joined(separator: " ")
    }

    /// Groups whose labels coincide get the recipe parts that tell them apart ("… epochs=10").
    static func disambiguateLabels(_ groups: inout [GroupReport], checkpoints: [CheckpointReport]) {
        let byLabel = Dictionary(grouping: groups.indices, by: { groups[$0].label })
        for (_, same) in byLabel where same.count > 1 {
            let parts = same.map { Set(checkpoints[groups[$0].checkpoints[0]].recipe ?? []) }
            let common = parts.dropFirst().reduce(parts[0]) { $0.intersection($1) }
            for (g, own) in zip(same, parts) {
                let extra = own.subtracting(common).sorted()
                groups[g].label += extra.isEmpty ? " (\(groups[g].key))" : " " + extra.joined(separator: " ")
            }
        }
    }

    // MARK: Comparisons

    /// Every comparison among `groups`, kinds in `Comparison.Kind` order.
    public static func comparisons(_ groups: [GroupReport], checkpoints: [CheckpointReport]) -> [Comparison] {
        // The recipe fields of each group that has a recipe.
        // An unfinished group carries its stage as a field: it compares only with groups stopped alike.
        let fields: [Int: RecipeFields] = Dictionary(uniqueKeysWithValues: groups.indices.compactMap { g in
            let first = checkpoints[groups[g].checkpoints[0]]
            return first.recipe.map { parts in
                var f = RecipeFields(parts: parts)
                f.values["trainedStage"] = first.unfinishedStage
                return (g, f)
            }
        })
        let recipeGroups = groups.indices.filter { fields[$0] != nil }
        func routed(_ routing: Routing) -> [Int] { recipeGroups.filter { groups[$0].routing == routing.rawValue } }
        var out: [Comparison] = []

        // Item 1: dynamic vs its static twin.
        for d in routed(.softmax) {
            let key = fields[d]!.withBaseFamily().removing(attentionOnlyFields)
            for s in routed(.static) where fields[s]!.withBaseFamily().removing(attentionOnlyFields) == key {
                out.append(pair(.dynamicVsStatic, (d, "dynamic"), (s, "static"), groups, checkpoints))
            }
        }
        // Item 4: K.
        for cluster in clusters(routed(.softmax), by: { fields[$0]!.removing(["kernels"]) }) {
            let sorted = cluster.sorted { (groups[$0].kernels, $0) < (groups[$1].kernels, $1) }
            out.append(comparison(.kernels, sorted.map { ($0, "K=\(groups[$0].kernels)") }, groups, checkpoints))
        }
        // Item 5: τ schedule in training.
        let dynamic = recipeGroups.filter { groups[$0].routing != Routing.static.rawValue }
        for cluster in clusters(dynamic, by: { fields[$0]!.removing(temperatureScheduleFields) }) {
            let members = cluster.map { g -> (Int, String, Double) in
                let f = fields[g]!
                let text = RecipeParts.scheduleText(start: f["temperatureStart"] ?? "", end: f["temperatureEnd"] ?? "",
                                                    epochs: f["temperatureEpochs"] ?? "")
                // Annealed first, then constant τ ascending.
                let rank = text.hasPrefix("constant") ? (Double(f["temperatureEnd"] ?? "") ?? .infinity) : -.infinity
                return (g, text, rank)
            }.sorted { ($0.2, $0.0) < ($1.2, $1.0) }
            out.append(comparison(.temperatureSchedule, members.map { ($0.0, $0.1) }, groups, checkpoints))
        }
        // Item 6: Σπ = 1 (softmax) vs free Σr (sigmoid).
        for s in routed(.softmax) {
            let key = fields[s]!.withBaseFamily()
            for c in routed(.sigmoid) where fields[c]!.withBaseFamily() == key {
                out.append(pair(.softmaxVsSigmoid, (s, "softmax"), (c, "sigmoid"), groups, checkpoints))
            }
        }
        return out
    }

    /// Groups of `candidates` with equal `key`, ≥ 2 per cluster, in order of first appearance.
    static func clusters(_ candidates: [Int], by key: (Int) -> RecipeFields) -> [[Int]] {
        var order: [RecipeFields] = []
        var members: [RecipeFields: [Int]] = [:]
        for g in candidates {
            let k = key(g)
            if members[k] == nil { order.append(k) }
            members[k, default: []].append(g)
        }
        return order.map { members[$0]! }.filter { $0.count >= 2 }
    }

    static func pair(_ kind: Comparison.Kind, _ a: (Int, String), _ b: (Int, String), _ groups: [GroupReport],
                     _ checkpoints: [CheckpointReport]) -> Comparison {
        comparison(kind, [a, b], groups, checkpoints)
    }

    /// `members` in the comparison's order (increasing K for `.kernels`). Two members get their
    /// one paired difference; more get the steps of `Comparison.steps`.
    static func comparison(_ kind: Comparison.Kind, _ members: [(Int, String)], _ groups: [GroupReport],
                           _ checkpoints: [CheckpointReport]) -> Comparison {
        func difference(_ a: Int, _ b: Int) -> PairedDifference? {
            PairedDifference.of(groups[members[a].0], groups[members[b].0], checkpoints)
        }
        var c = Comparison(kind: kind, members: members.map { .init(group: $0.0, value: $0.1) })
        guard members.count > 2 else {
            c.pairs = members.count == 2 ? difference(0, 1) : nil
            return c
        }
        let steps: [(Int, Int)]
        switch kind {
        case .kernels:
            steps = (1..<members.count).map { ($0, $0 - 1) }
        case .temperatureSchedule:
            // The most seeds wins; on a tie the earlier member (max(by:) keeps the last of equals, hence −index).
            let reference = members.indices.max { (groups[members[$0].0].seeds.count, -$0) < (groups[members[$1].0].seeds.count, -$1) } ?? 0
            steps = members.indices.filter { $0 != reference }.map { (reference, $0) }
        case .dynamicVsStatic, .softmaxVsSigmoid:
            steps = []
        }
        let found = steps.compactMap { a, b in difference(a, b).map { Comparison.Step(first: a, second: b, pairs: $0) } }
        c.steps = found.isEmpty ? nil : found
        return c
    }
}

extension ReportComparisons {
    /// Adds McNemar's counts and p-values to every paired comparison whose members' per-image
    /// results are known: `correct[i]` is checkpoint i's right/wrong per test image at its
    /// trained τ in attention mode (nil: unknown). A pair is left without them unless every
    /// shared seed has both vectors, of equal length.
    public static func addDiscordance(_ report: inout Report, correct: [[Bool]?]) {
        func vector(_ member: Comparison.Member, seed: Int) -> [Bool]? {
            guard report.groups.indices.contains(member.group) else { return nil }
            let index = report.groups[member.group].checkpoints.first { report.checkpoints.indices.contains($0) && report.checkpoints[$0].seed == seed }
            return index.flatMap { correct.indices.contains($0) ? correct[$0] : nil }
        }
        // The pair of `first` and `second` with its counts, or unchanged when a vector is missing.
        func counted(_ p: PairedDifference, _ first: Comparison.Member, _ second: Comparison.Member) -> PairedDifference {
            var firstOnly: [Int] = [], secondOnly: [Int] = []
            for seed in p.seeds {
                guard let x = vector(first, seed: seed), let y = vector(second, seed: seed), x.count == y.count else { return p }
                firstOnly.append(zip(x, y).filter { $0 && !$1 }.count)
                secondOnly.append(zip(x, y).filter { !$0 && $1 }.count)
            }
            var out = p
            out.firstOnly = firstOnly
            out.secondOnly = secondOnly
            out.mcnemarP = zip(firstOnly, secondOnly).map { mcnemarP($0, $1) }
            return out
        }
        for i in report.comparisons.indices {
            let c = report.comparisons[i]
            if c.members.count == 2, let p = c.pairs {
                report.comparisons[i].pairs = counted(p, c.members[0], c.members[1])
            }
            report.comparisons[i].steps = c.steps?.map { step in
                guard c.members.indices.contains(step.first), c.members.indices.contains(step.second) else { return step }
                var s = step
                s.pairs = counted(step.pairs, c.members[step.first], c.members[step.second])
                return s
            }
        }
    }

    /// Exact two-sided McNemar p-value: 2 · P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), at most
    /// 1 (1 when the two never disagree). Summed in log space, so b + c of 10,000 does not overflow.
    static func mcnemarP(_ b: Int, _ c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        let logHalf = Double(n) * log(0.5)
        // log C(n, k), stepped from C(n, 0) = 1 by C(n, k + 1) = C(n, k) · (n − k)/(k + 1).
        var logChoose = 0.0, tail = 0.0
        for k in 0...min(b, c) {
            tail += exp(logChoose + logHalf)
            logChoose += log(Double(n - k)) - log(Double(k + 1))
        }
        return min(1, 2 * tail)
    }
}

extension SeedStatistics {
    /// Mean, min, max and sample standard deviation (n − 1; nil for fewer than two values) of
    /// `values`; NaN statistics for none.
    public static func of(_ values: [Double]) -> SeedStatistics {
        guard let lo = values.min(), let hi = values.max() else {
            return SeedStatistics(n: 0, mean: .nan, min: .nan, max: .nan, sd: nil)
        }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let sd = values.count > 1 ? (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot() : nil
        return SeedStatistics(n: values.count, mean: mean, min: lo, max: hi, sd: sd)
    }
}

extension PairedDifference {
    /// accuracy(a) − accuracy(b) at the trained τ on each seed both groups have (increasing
    /// seed); nil when they share none.
    static func of(_ a: GroupReport, _ b: GroupReport, _ checkpoints: [CheckpointReport]) -> PairedDifference? {
        func bySeed(_ g: GroupReport) -> [Int: Double] {
            var out: [Int: Double] = [:]
            for i in g.checkpoints {
                if let s = checkpoints[i].seed, let acc = checkpoints[i].trained?.accuracy, out[s] == nil { out[s] = acc }
            }
            return out
        }
        let x = bySeed(a), y = bySeed(b)
        let seeds = Set(x.keys).intersection(y.keys).sorted()
        guard !seeds.isEmpty else { return nil }
        let deltas = seeds.map { x[$0]! - y[$0]! }
        return PairedDifference(seeds: seeds, deltas: deltas, meanDelta: deltas.reduce(0, +) / Double(deltas.count),
                                wins: deltas.filter { $0 > 0 }.count)
    }
}

extension Report {
    /// What a reader must know before trusting the numbers, one sentence each, in a fixed order:
    /// unfinished runs (grouped apart), then a sample too small for fine differences. The CLI
    /// prints them to stderr ("warning: …"); report.md lists them under its header.
    public var warnings: [String] {
        var out: [String] = []
        for c in checkpoints {
            if let stage = c.unfinishedStage {
                out.append("\(c.path) is an unfinished run (trained \(stage)): it is grouped and compared apart from finished runs of its recipe")
            }
        }
        if data.images < Report.minimumImages {
            // The binomial standard error is largest at p = 0.5: 0.5/√n.
            let worst = data.images > 0 ? 50 / Double(data.images).squareRoot() : .infinity
            out.append("only \(data.images) image\(data.images == 1 ? "" : "s") evaluated (fewer than \(Report.minimumImages)): "
                       + "an accuracy's standard error is up to ±\(ReportMarkdown.fixed(worst, 2)) points")
        }
        return out
    }
}
