import DyConvEngine
import DyConvFigures
@testable import DyConvReport
import XCTest

// The report figures after the review of issue #12 (findings 4, 5, 6, 9, 10, 11 and unfinished
// runs), on a hand-built report that has every case the review named: two seeds of one recipe,
// a static twin with a 1-epoch history, a CondConv, an unfinished checkpoint (epoch 5/30), and
// (with layers: 18) an 18-layer model. testRendersWithRsvg renders it too.

final class ReportFiguresReviewTests: XCTestCase {
    /// ReportFiguresTests.report plus: checkpoint 3 = dycnn-k4 seed 1 (group 0, now 2 seeds);
    /// 4 = dycnn-condconv (sigmoid, K=4, group 3, gates at 0.6 × the softmax table); 5 =
    /// dycnn-k2-stopped (epoch 5/30, its own group 4, history epochs 1…5); the static twin
    /// (checkpoint 2) has a 1-epoch history and is finished (1/1).
    static func report(layers: Int = 6) -> Report {
        var r = ReportFiguresTests.report(layers: layers)
        func shifted(_ c: CheckpointReport, by delta: Int) -> CheckpointReport {
            var c = c
            for i in c.evaluations.indices { c.evaluations[i].correct += delta }
            return c
        }
        var seed1 = shifted(r.checkpoints[0], by: -40)
        seed1.name = "dycnn-k4-s1"; seed1.path = "/somewhere/dycnn-k4-s1.safetensors"; seed1.seed = 1
        var condconv = shifted(r.checkpoints[0], by: -120)
        condconv.name = "dycnn-condconv"; condconv.path = "/somewhere/dycnn-condconv.safetensors"
        condconv.routing = "sigmoid"; condconv.family = "dycnn-condconv"; condconv.group = 3
        for e in condconv.evaluations.indices {
            for l in condconv.evaluations[e].layers.indices {
                condconv.evaluations[e].layers[l].meanAttentionByClass = condconv.evaluations[e].layers[l].meanAttentionByClass?
                    .map { $0.map { 0.6 * $0 } }
            }
        }
        var stopped = shifted(r.checkpoints[1], by: -300)
        stopped.name = "dycnn-k2-stopped"; stopped.path = "/somewhere/dycnn-k2-stopped.safetensors"; stopped.group = 4
        stopped.epoch = 5; stopped.epochs = 30
        stopped.history = Array(stopped.history.prefix(5))
        stopped.snapshots = stopped.snapshots.filter { $0.epoch <= 5 }
        r.checkpoints[2].history = Array(r.checkpoints[2].history.prefix(1))
        r.checkpoints[2].epoch = 1; r.checkpoints[2].epochs = 1
        for i in r.checkpoints.indices where r.checkpoints[i].routing != "static" {
            r.checkpoints[i].epoch = 12; r.checkpoints[i].epochs = 12
        }
        for i in r.checkpoints[0].snapshots.indices { r.checkpoints[0].snapshots[i].temperature = 1 }
        r.checkpoints += [seed1, condconv, stopped]
        r.groups[0].checkpoints = [0, 3]; r.groups[0].seeds = [0, 1]
        r.groups[0].accuracy = SeedStatistics(n: 2, mean: 0.933, min: 0.931, max: 0.935, sd: 0.0028)
        func single(_ g: GroupReport, key: String, label: String, checkpoint: Int, accuracy: Double) -> GroupReport {
            var g = g
            g.key = key; g.label = label; g.checkpoints = [checkpoint]; g.seeds = [0]
            g.accuracy = SeedStatistics(n: 1, mean: accuracy, min: accuracy, max: accuracy, sd: nil)
            g.ablation = g.ablation.mapValues { SeedStatistics(n: 1, mean: $0.mean, min: $0.mean, max: $0.mean, sd: nil) }
            return g
        }
        var cond = single(r.groups[0], key: "cond", label: "dycnn-condconv K=4", checkpoint: 4, accuracy: 0.923)
        cond.routing = "sigmoid"; cond.family = "dycnn-condconv"
        r.groups.append(cond)
        r.groups.append(single(r.groups[1], key: "k1 trained epoch 5/30", label: "dycnn K=2", checkpoint: 5, accuracy: 0.901))
        r.groups[2] = single(r.groups[2], key: r.groups[2].key, label: r.groups[2].label, checkpoint: 2, accuracy: 0.925)
        r.groups[2].multiplyAdds = 9_145_216
        r.groups[0].multiplyAdds = 9_442_032
        return r.withGroupSweeps()
    }

    static func figure(_ r: Report, _ file: String) throws -> (info: FigureInfo, svg: String) {
        try XCTUnwrap(ReportFigures.render(r).first { $0.info.file == file }, file)
    }

    /// Numbers written as text in `svg` (the labels of axes, between > and <).
    static func texts(_ svg: Substring) -> [String] {
        svg.components(separatedBy: "</text>").compactMap { part in part.range(of: ">", options: .backwards).map { String(part[$0.upperBound...]) } }
            .filter { !$0.isEmpty }
    }

    // MARK: Finding 5: seeds of one recipe are one curve

    /// Oracle: hand arithmetic. Curves [(1, 0.90), (2, 0.80)] and [(1, 0.92)] have the mean
    /// (1, 0.91), (2, 0.80) and the band 0.90…0.92 at x = 1, 0.80…0.80 at x = 2.
    func testSeedCurveMeanAndBand() {
        let c = ReportFigures.seedCurve([[Point(1, 0.90), Point(2, 0.80)], [Point(1, 0.92)]])
        XCTAssertEqual(c.mean.map(\.x), [1, 2])
        XCTAssertEqual(c.mean[0].y, 0.91, accuracy: 1e-12)
        XCTAssertEqual(c.mean[1].y, 0.80, accuracy: 1e-12)
        XCTAssertEqual(c.band, [.init(x: 1, low: 0.90, high: 0.92), .init(x: 2, low: 0.80, high: 0.80)])
    }

    /// Oracle: the fixture's group 0 has checkpoints dycnn-k4 (seed 0) and dycnn-k4-s1 (seed 1): the
    /// τ figure has one legend entry for the group ("mean of 2 (seeds 0, 1)") with a band, and no
    /// line named after either file.
    func testAccuracyVsTauCombinesSeeds() throws {
        let svg = try Self.figure(Self.report(), "accuracy-vs-tau.svg").svg
        XCTAssertTrue(svg.contains(">dycnn K=4 · mean of 2 (seeds 0, 1)<"))
        XCTAssertFalse(svg.contains("dycnn-k4-s1"))
        XCTAssertFalse(svg.contains(">dycnn-k4<"))
        XCTAssertEqual(svg.components(separatedBy: "opacity=\"0.18\"").count - 1, 1, "one band: only group 0 has two seeds")
    }

    // MARK: Finding 6: the trained evaluation is a point of the τ curve

    /// Oracle: a sweep at τ 0.5 and 2 of a checkpoint trained to τ 1 gives the curve τ 0.5, 1, 2
    /// whose middle point is the trained evaluation itself; with τ 1 swept, the curve is the sweep.
    func testTrainedEvaluationIsOnTheCurve() throws {
        var c = Self.report().checkpoints[0]
        let trained = try XCTUnwrap(c.trained)
        c.evaluations = c.evaluations.filter { $0.temperature == nil || $0.temperature == 0.5 || $0.temperature == 2 }
        let curve = ReportFigures.temperatureCurve(c)
        XCTAssertEqual(curve.map(\.tau), [0.5, 1, 2])
        XCTAssertEqual(curve[1].evaluation, trained)
        let full = Self.report().checkpoints[0]
        XCTAssertEqual(ReportFigures.temperatureCurve(full).map(\.tau), full.temperatureSweep.map { Double($0.temperature!) })
    }

    // MARK: Finding 4: accuracy against cost

    /// Oracle: the rule "an accuracy axis is at least 2 points tall" (hand: 93.4…93.8 % is 0.4
    /// points); the cost figure of the fixture (9.44M, 9.15M, 7.94M…: less than a factor 3) has a
    /// linear x axis, a zoom note and the images and seeds in its caption; the one-seed groups have
    /// no whisker (3 lines less each than with one).
    func testAccuracyVsCostAxesAndCaption() throws {
        let axis = ReportFigures.accuracyAxis([0.934, 0.938])
        XCTAssertGreaterThanOrEqual(axis.upper - axis.lower, 0.02 - 1e-12)
        XCTAssertLessThanOrEqual(axis.lower, 0.934)
        let near = ReportFigures.accuracyAxis([0.999, 1.0])
        XCTAssertEqual(near.upper, 1, accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(near.upper - near.lower, 0.02 - 1e-12)
        let f = try Self.figure(Self.report(), "accuracy-vs-cost.svg")
        XCTAssertFalse(f.svg.contains("(log scale)"))
        XCTAssertTrue(f.svg.contains(">y axis from "))
        XCTAssertTrue(f.info.caption.contains("10000 images"))
        XCTAssertTrue(f.info.caption.contains("dycnn K=4: seeds 0, 1"))
        XCTAssertTrue(f.info.caption.contains("dycnn-static: seed 0"))
    }

    /// Appends `count` copies of group 0 ("crowd i", labelled `label` + i), each changed by `edit`.
    static func addCrowd(to r: inout Report, count: Int, label: String, edit: (Int, inout GroupReport) -> Void = { _, _ in }) {
        let base = r.groups[0]
        for i in 0..<count {
            var g = base
            g.key = "crowd \(i)"; g.label = label + String(i)
            edit(i, &g)
            r.groups.append(g)
        }
    }

    /// Oracle: the figure's labels. A report of 14 groups at one cost has no room for their
    /// labels beside the points: the cost figure numbers them, grows by a key under the plot that
    /// holds every group's label once, and its caption says how to read the numbers. The test
    /// report's 5 groups keep their labels beside the points (caption says so, no key).
    func testCrowdedCostFigureNumbersItsPoints() throws {
        var r = Self.report()
        let few = try Self.figure(r, "accuracy-vs-cost.svg")
        XCTAssertTrue(few.info.caption.contains("labels give the group and its parameter count"))
        Self.addCrowd(to: &r, count: 9, label: "dycnn crowd recipe ") { i, g in
            let a = 0.925 + 0.0007 * Double(i)
            g.accuracy = SeedStatistics(n: 1, mean: a, min: a, max: a, sd: nil)
        }
        let crowded = try Self.figure(r, "accuracy-vs-cost.svg")
        XCTAssertTrue(crowded.info.caption.contains("numbered from the most accurate"), crowded.info.caption)
        for i in 0..<9 { XCTAssertEqual(crowded.svg.components(separatedBy: ">dycnn crowd recipe \(i) · ").count - 1, 1) }
        func height(_ svg: String) -> Double? {
            svg.range(of: "height=\"").flatMap { Double(svg[$0.upperBound...].prefix { $0 != "\"" }) }
        }
        XCTAssertGreaterThan(try XCTUnwrap(height(crowded.svg)), try XCTUnwrap(height(few.svg)))
        // Every group has a bold number (the key's and the point's), the numbers 1…n.
        let groups = r.groups.filter { $0.multiplyAdds > 0 }.count
        for n in 1...groups { XCTAssertTrue(crowded.svg.contains("font-weight=\"bold\" fill=") && crowded.svg.contains(">\(n)</text>"), "\(n)") }
        XCTAssertFalse(crowded.info.caption.contains("labels give"))
    }

    /// Oracle: the labels' text. Nine ablation groups whose labels the 110 px cut makes equal
    /// ("dycnn crowd recipe-numb…") are numbered, each whole label is written once in the key, and
    /// the caption says the groups are numbered; the test report's few groups are not.
    func testAblationNumbersGroupsWhoseShortLabelsWouldBeEqual() throws {
        var r = Self.report()
        XCTAssertFalse(try Self.figure(r, "ablation.svg").info.caption.contains("numbered"))
        Self.addCrowd(to: &r, count: 9, label: "dycnn crowd recipe-number-")
        let crowded = try Self.figure(r, "ablation.svg")
        XCTAssertTrue(crowded.info.caption.contains("The groups are numbered; the key under the chart names them."))
        for i in 0..<9 { XCTAssertEqual(crowded.svg.components(separatedBy: ">dycnn crowd recipe-number-\(i)<").count - 1, 1) }
        XCTAssertFalse(crowded.svg.contains("recipe-numb…"))
    }

    /// Oracle: distinctness. The entropy curves of the first 24 groups differ pairwise in colour
    /// or marker (lowest among lowest, top among top; the palette has 8 colours), the first 8 keep
    /// circles and triangles (the shipped figure's look), and a report of more than 8 groups with
    /// a τ sweep says in the caption how the repeated colours are told apart.
    func testEntropyCurvesStayDistinctPastEightGroups() throws {
        let styles = (0..<24).map { ReportFigures.entropyStyles(group: $0) }
        for i in 0..<24 {
            for j in (i + 1)..<24 {
                XCTAssertFalse(styles[i].lowest.color == styles[j].lowest.color && styles[i].lowest.marker == styles[j].lowest.marker,
                               "groups \(i) and \(j): lowest")
                XCTAssertFalse(styles[i].top.color == styles[j].top.color && styles[i].top.marker == styles[j].top.marker,
                               "groups \(i) and \(j): top")
            }
        }
        XCTAssertTrue(styles.prefix(8).allSatisfy { $0.lowest.marker == .circle && $0.top.marker == .triangle })
        var r = Self.report()
        XCTAssertFalse(try Self.figure(r, "accuracy-vs-tau.svg").info.caption.contains("colours repeat"))
        Self.addCrowd(to: &r, count: 8, label: "dycnn crowd ")
        XCTAssertTrue(try Self.figure(r, "accuracy-vs-tau.svg").info.caption.contains("colours repeat"))
    }

    // MARK: Finding 9: training curves

    /// Oracle: an epoch has no fractions: one epoch gets the single tick "1"; 1…12 gets integer
    /// ticks only. With 18 layers the labelled ones are 0, 6, 12 and 17 (lowest, every 6th, top).
    func testEpochAxisAndLabelledLayers() {
        let one = ReportFigures.epochAxis([1])
        XCTAssertEqual(one.ticks, [1])
        XCTAssertEqual(one.label(1), "1")
        let twelve = ReportFigures.epochAxis((1...12).map(Double.init))
        XCTAssertTrue(twelve.ticks.allSatisfy { $0 == $0.rounded() })
        XCTAssertEqual(twelve.label(4), "4")
        XCTAssertEqual(ReportFigures.labelledLayers(18), [0, 6, 12, 17])
        XCTAssertEqual(ReportFigures.labelledLayers(6), Set(0..<6))
    }

    /// Oracle: every block uses the one shared accuracy axis: its lowest tick label is written
    /// once per block (6 blocks: every checkpoint of the fixture has a history), including the
    /// static twin whose single epoch (82.5 %) alone would give a 2-point axis around it. The
    /// 18-layer figure writes only 4 end labels per entropy panel.
    func testTrainingCurvesShareAxes() throws {
        let r = Self.report()
        let svg = try Self.figure(r, "training-curves.svg").svg
        let values = r.checkpoints.flatMap { $0.history.compactMap { $0.testAccuracy.map(Double.init) } }
        let axis = ReportFigures.accuracyAxis(values)
        XCTAssertEqual(svg.components(separatedBy: ">\(axis.label(axis.ticks[0]))<").count - 1, 6)
        let deep = try Self.figure(Self.report(layers: 18), "training-curves.svg").svg
        let layerName = ReportFiguresTests.report(layers: 18).groups[0].layerNames[3]  // not labelled
        XCTAssertFalse(deep.contains(">\(layerName)<"))
        XCTAssertTrue(deep.contains(">\(ReportFiguresTests.report(layers: 18).groups[0].layerNames[17])<"))
    }

    // MARK: Finding 10: CondConv entropy and one colour scale

    /// Oracle: a sigmoid panel puts "r/Σr" into the entropy caption (without one it is absent);
    /// attention-by-class writes the same colour-bar tick labels in every panel although the
    /// CondConv's gates (r/Σr) and the K=2 panel's π span different ranges.
    func testCondConvCaptionAndOneColourScale() throws {
        let r = Self.report()
        XCTAssertTrue(try Self.figure(r, "entropy-per-layer.svg").info.caption.contains("entropy of r/Σr"))
        XCTAssertFalse(try Self.figure(ReportFiguresTests.report(), "entropy-per-layer.svg").info.caption.contains("r/Σr"))
        let svg = try Self.figure(r, "attention-by-class.svg").svg
        let panels = svg.components(separatedBy: "aria-label=\"").dropFirst()
        XCTAssertEqual(panels.count, 5)  // k4, k2, k4-s1, condconv, stopped
        let scales = panels.map { Set(Self.texts(Substring($0)).filter { $0.first?.isNumber == true && $0.contains(".") }) }
        XCTAssertFalse(scales[0].isEmpty)
        for s in scales { XCTAssertEqual(s, scales[0]) }
    }

    // MARK: Finding 11: goal guides

    /// Oracle: the goal (lowest ≥ 0.95, top ≤ 0.70) applied by hand to mean entropies
    /// 0.99 (lowest) and 0.72 (top): the lowest meets it, the top does not; guides are named.
    func testGoalNote() throws {
        func layer(_ h: Double) -> LayerAttentionSummary {
            LayerAttentionSummary(name: "l", meanEntropy: h, meanMaxAttention: 0.5, meanAttention: [0.5, 0.5], meanMass: 1)
        }
        XCTAssertEqual(ReportFigures.goalNote([layer(0.99), layer(0.8), layer(0.72)]),
                       "goal: lowest 0.99 met, top 0.72 not met")
        XCTAssertEqual(ReportFigures.goalNote([layer(0.9), layer(0.5)]),
                       "goal: lowest 0.90 not met, top 0.50 met")
        XCTAssertNil(ReportFigures.goalNote([]))
        let svg = try Self.figure(Self.report(), "entropy-per-layer.svg").svg
        XCTAssertTrue(svg.contains(">lowest ≥ 0.95<"))
        XCTAssertTrue(svg.contains(">top ≤ 0.70<"))
        XCTAssertFalse(svg.contains("issue goal"))
    }

    // MARK: Unfinished checkpoints

    /// Oracle: the fixture's checkpoint 5 stopped at epoch 5 of 30: every figure that names it or
    /// its group says "(epoch 5/30)"; the finished ones (12/12, 1/1) carry no such suffix; a group
    /// label that already says "epoch 5/30" is not suffixed twice.
    func testUnfinishedCheckpointsAreMarked() throws {
        let r = Self.report()
        for file in ["entropy-per-layer.svg", "attention-by-class.svg", "training-curves.svg"] {
            XCTAssertTrue(try Self.figure(r, file).svg.contains("dycnn-k2-stopped (epoch 5/30)"), file)
        }
        for file in ["accuracy-vs-tau.svg", "ablation.svg", "accuracy-vs-cost.svg"] {
            XCTAssertTrue(try Self.figure(r, file).svg.contains("dycnn K=2 (epoch 5/30)"), file)
        }
        XCTAssertFalse(ReportFigures.render(r).contains { $0.svg.contains("epoch 12/12") || $0.svg.contains("epoch 1/1") })
        var relabelled = r
        relabelled.groups[4].label = "dycnn K=2 trained epoch 5/30"
        XCTAssertEqual(ReportFigures.label(relabelled, relabelled.groups[4]), "dycnn K=2 trained epoch 5/30")
        XCTAssertEqual(ReportFigures.label(r, r.groups[4]), "dycnn K=2 (epoch 5/30)")
    }
}
