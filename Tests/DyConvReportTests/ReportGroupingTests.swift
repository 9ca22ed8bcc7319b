import DyConvEngine
@testable import DyConvReport
import Foundation
import XCTest

/// Grouping, statistics over seeds, comparison detection, JSON, Markdown and the writer, on
/// hand-made checkpoint reports (ReportFixtures.report) whose numbers are chosen for hand checks.
final class ReportGroupingTests: XCTestCase {
    typealias F = ReportFixtures

    /// Three seeds of one recipe given out of order, and two seeds of its static twin.
    static func seedsReport() -> Report {
        let dynamic = F.parts(), stat = F.parts(model: "dycnn-static", kernels: nil, start: nil, end: nil, epochs: nil)
        let cs = [F.report(path: "d2", recipe: dynamic, seed: 2, accuracy: 0.910, average: 0.85),
                  F.report(path: "d0", recipe: dynamic, seed: 0, accuracy: 0.900, average: 0.80, entropy: 0.4),
                  F.report(path: "d1", recipe: dynamic, seed: 1, accuracy: 0.920, average: 0.90, entropy: 0.9),
                  F.report(path: "s1", family: "dycnn-static", routing: "static", kernels: 0, recipe: stat, seed: 1, accuracy: 0.930),
                  F.report(path: "s0", family: "dycnn-static", routing: "static", kernels: 0, recipe: stat, seed: 0, accuracy: 0.890)]
        return ReportComparisons.assemble(data: .init(name: "d", images: 1000),
                                          settings: .init(temperatures: [1], modes: [.attention, .average], seed: 0), checkpoints: cs)
    }

    /// Oracle: statistics computed by hand. Dynamic 0.90, 0.92, 0.91 → mean 0.91, sd √((0.01² + 0.01² + 0)/2)
    /// = 0.01; static 0.89, 0.93 → mean 0.91, sd √((0.02² + 0.02²)/1) = 0.0282843; paired deltas on
    /// seeds 0, 1: 0.90 − 0.89 = +0.01, 0.92 − 0.93 = −0.01, mean 0, one win.
    func testGroupsAndSeedStatistics() throws {
        let r = Self.seedsReport()
        XCTAssertEqual(r.groups.count, 2)
        let d = r.groups[0], s = r.groups[1]
        XCTAssertEqual(d.checkpoints, [1, 2, 0])
        XCTAssertEqual(d.seeds, [0, 1, 2])
        XCTAssertEqual(s.checkpoints, [4, 3])
        XCTAssertEqual(r.checkpoints.map(\.group), [0, 0, 0, 1, 1])
        XCTAssertEqual(d.accuracy.n, 3)
        XCTAssertEqual(d.accuracy.mean, 0.91, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(d.accuracy.sd), 0.01, accuracy: 1e-12)
        XCTAssertEqual(d.accuracy.min, 0.90, accuracy: 1e-12)
        XCTAssertEqual(d.accuracy.max, 0.92, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.accuracy.sd), 0.0282842712474619, accuracy: 1e-12)
        // Ablation: average 0.80, 0.90, 0.85 → mean 0.85, sd 0.05; the static group has attention only.
        XCTAssertEqual(try XCTUnwrap(d.ablation["average"]).mean, 0.85, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(d.ablation["average"]?.sd), 0.05, accuracy: 1e-12)
        XCTAssertEqual(Set(s.ablation.keys), ["attention"])
        // Entropy per layer: 0.4, 0.9, 0.5 → mean 0.6.
        XCTAssertEqual(d.layerNames, ["layer1.0.conv"])
        XCTAssertEqual(d.entropy[0].mean, 0.6, accuracy: 1e-12)
        XCTAssertEqual(d.label, "dycnn 8/16/32 K=4 softmax τ 30→1/5ep")
        XCTAssertEqual(s.label, "dycnn-static 8/16/32")
        XCTAssertEqual(r.comparisons.count, 1)
        let p = try XCTUnwrap(r.comparisons[0].pairs)
        XCTAssertEqual(r.comparisons[0].kind, .dynamicVsStatic)
        XCTAssertEqual(r.comparisons[0].members, [.init(group: 0, value: "dynamic"), .init(group: 1, value: "static")])
        XCTAssertEqual(p.seeds, [0, 1])
        XCTAssertEqual(p.deltas[0], 0.01, accuracy: 1e-12)
        XCTAssertEqual(p.deltas[1], -0.01, accuracy: 1e-12)
        XCTAssertEqual(p.meanDelta, 0, accuracy: 1e-12)
        XCTAssertEqual(p.wins, 1)
        // One value: no sample sd (nil, JSON null); none: NaN (written as null).
        XCTAssertEqual(SeedStatistics.of([0.5]), SeedStatistics(n: 1, mean: 0.5, min: 0.5, max: 0.5, sd: nil))
        XCTAssertTrue(SeedStatistics.of([]).mean.isNaN)
    }

    /// Oracle: the comparisons listed by hand for a set of recipes: a K sweep 1, 2, 4, 8 (given out
    /// of order), a CondConv twin, constant-τ schedules, and recipes that differ in two respects
    /// (other widths; a static twin trained for other epochs), which must not be paired.
    func testComparisonDetection() throws {
        let cs = [F.report(path: "k4", recipe: F.parts(kernels: 4), seed: 0, accuracy: 0.90),
                  F.report(path: "k1", kernels: 1, recipe: F.parts(kernels: 1), seed: 0, accuracy: 0.88),
                  F.report(path: "k8", kernels: 8, recipe: F.parts(kernels: 8), seed: 0, accuracy: 0.91),
                  F.report(path: "k2", kernels: 2, recipe: F.parts(kernels: 2), seed: 0, accuracy: 0.89),
                  F.report(path: "cc", family: "dycnn-condconv", routing: "sigmoid", recipe: F.parts(model: "dycnn-condconv"),
                           seed: 0, accuracy: 0.87),
                  F.report(path: "t30", recipe: F.parts(start: 30, end: 30, epochs: 0), seed: 0, accuracy: 0.86),
                  F.report(path: "t1", recipe: F.parts(start: 1, end: 1, epochs: 0), seed: 0, accuracy: 0.89),
                  F.report(path: "wide", kernels: 2, recipe: F.parts(kernels: 2, widths: "16/32/64"), seed: 0, accuracy: 0.93),
                  F.report(path: "st10", family: "dycnn-static", routing: "static", kernels: 0,
                           recipe: F.parts(model: "dycnn-static", kernels: nil, start: nil, end: nil, epochs: nil, trainEpochs: 10),
                           seed: 0, accuracy: 0.85),
                  F.report(path: "imported", family: "imported", recipe: nil, seed: nil, accuracy: 0.5)]
        let r = ReportComparisons.assemble(data: .init(name: "d", images: 1000),
                                           settings: .init(temperatures: [1], modes: [.attention], seed: 0), checkpoints: cs)
        XCTAssertEqual(r.groups.count, 10)
        XCTAssertEqual(r.groups[9].key, "imported")
        XCTAssertEqual(r.groups[9].label, "imported")
        XCTAssertEqual(r.groups[5].label, "dycnn 8/16/32 K=4 softmax constant τ 30")
        func members(_ kind: Comparison.Kind) -> [[String]] {
            r.comparisons.filter { $0.kind == kind }.map { c in c.members.map { "\(r.checkpoints[r.groups[$0.group].checkpoints[0]].path):\($0.value)" } }
        }
        XCTAssertEqual(members(.kernels), [["k1:K=1", "k2:K=2", "k4:K=4", "k8:K=8"]])
        XCTAssertEqual(members(.temperatureSchedule), [["k4:τ 30→1/5ep", "t1:constant τ 1", "t30:constant τ 30"]])
        XCTAssertEqual(members(.softmaxVsSigmoid), [["k4:softmax", "cc:sigmoid"]])
        XCTAssertEqual(members(.dynamicVsStatic), [])   // the only static model was trained for 10 epochs, not 30
        XCTAssertNil(r.comparisons.first { $0.kind == .kernels }?.pairs)   // more than two members: no pairs, steps
        func steps(_ kind: Comparison.Kind) -> [String] {
            (r.comparisons.first { $0.kind == kind }?.steps ?? []).map { "\($0.first)-\($0.second):" + ReportMarkdown.points($0.pairs.deltas[0]) }
        }
        // Each K against the next smaller (0.89 − 0.88, 0.90 − 0.89, 0.91 − 0.90); every schedule against
        // the annealed one, first of three one-seed members (0.90 − 0.89, 0.90 − 0.86).
        XCTAssertEqual(steps(.kernels), ["1-0:+1.00", "2-1:+1.00", "3-2:+1.00"])
        XCTAssertEqual(steps(.temperatureSchedule), ["0-1:+1.00", "0-2:+4.00"])
        XCTAssertNil(r.comparisons.first { $0.kind == .softmaxVsSigmoid }?.steps)
        XCTAssertEqual(try XCTUnwrap(r.comparisons.first { $0.kind == .softmaxVsSigmoid }?.pairs).deltas[0], 0.03, accuracy: 1e-12)
        // Two groups of one label are told apart by the parts that differ.
        XCTAssertFalse(Set(r.groups.map(\.label)).count < r.groups.count)
    }

    /// The τ reference is the best-seeded schedule, not the first; McNemar's counts fill every
    /// step, and report.md prints one line per step. Oracle: the per-image vectors listed by hand.
    func testStepsTakeTheBestSeededReferenceAndCarryMcNemar() throws {
        let t1 = F.parts(start: 1, end: 1, epochs: 0), t30 = F.parts(start: 30, end: 30, epochs: 0)
        let cs = [F.report(path: "a0", recipe: F.parts(), seed: 0, accuracy: 0.90),
                  F.report(path: "c0", recipe: t1, seed: 0, accuracy: 0.80),
                  F.report(path: "c1", recipe: t1, seed: 1, accuracy: 0.85),
                  F.report(path: "h1", recipe: t30, seed: 1, accuracy: 0.70)]
        var r = ReportComparisons.assemble(data: .init(name: "d", images: 1000),
                                           settings: .init(temperatures: [1], modes: [.attention], seed: 0), checkpoints: cs)
        let c = try XCTUnwrap(r.comparisons.first { $0.kind == .temperatureSchedule })
        XCTAssertEqual(c.members.map(\.value), ["τ 30→1/5ep", "constant τ 1", "constant τ 30"])
        // constant τ 1 has two seeds: it is the reference, paired with the annealed run on seed 0 and
        // with constant τ 30 on seed 1.
        XCTAssertEqual(try XCTUnwrap(c.steps).map { [$0.first, $0.second] }, [[1, 0], [1, 2]])
        XCTAssertEqual(try XCTUnwrap(c.steps).map(\.pairs.seeds), [[0], [1]])
        XCTAssertEqual(try XCTUnwrap(c.steps)[0].pairs.deltas[0], -0.10, accuracy: 1e-12)
        let a0 = [true, true, true, false], c0 = [true, false, false, false]
        let c1 = [true, true, false, false], h1 = [false, true, true, true]
        ReportComparisons.addDiscordance(&r, correct: [a0, c0, c1, h1])
        let counted = try XCTUnwrap(r.comparisons.first { $0.kind == .temperatureSchedule }?.steps)
        XCTAssertEqual(counted.map(\.pairs.firstOnly), [[0], [1]])   // c0 ∧ ¬a0; c1 ∧ ¬h1
        XCTAssertEqual(counted.map(\.pairs.secondOnly), [[2], [2]])  // a0 ∧ ¬c0; h1 ∧ ¬c1
        let md = ReportMarkdown.render(r, command: "c")
        XCTAssertTrue(md.contains("constant τ 1 − τ 30→1/5ep over seeds 0: -10.00 points (mean -10.00, constant τ 1 ahead on 0 of 1); "
                                  + "McNemar constant τ 1 only / τ 30→1/5ep only: 0 / 2 (p 0.500)"), md)
        XCTAssertTrue(md.contains("constant τ 1 − constant τ 30 over seeds 1: +15.00 points"), md)
    }

    /// A sigmoid group of two seeds shows the mean of their Σ per layer, not the first seed's
    /// (the runs report showed n-cond-s0's Σ for the two-seed group). Oracle: (1.5 + 2.5) / 2.
    func testRoutingTableAveragesTheSumOverSeeds() throws {
        let cond = F.parts(model: "dycnn-condconv")
        let cs = [F.report(path: "k4", recipe: F.parts(), seed: 0, accuracy: 0.90),
                  F.report(path: "k4b", recipe: F.parts(), seed: 1, accuracy: 0.91),
                  F.report(path: "cc", family: "dycnn-condconv", routing: "sigmoid", recipe: cond, seed: 0, accuracy: 0.88, mass: 1.5),
                  F.report(path: "ccb", family: "dycnn-condconv", routing: "sigmoid", recipe: cond, seed: 1, accuracy: 0.89, mass: 2.5)]
        let r = ReportComparisons.assemble(data: .init(name: "synthetic", images: 1000),
                                           settings: .init(temperatures: [], modes: [.attention], seed: 0), checkpoints: cs)
        let md = ReportMarkdown.render(r, command: "dyconv report")
        let sigmoidRow = try XCTUnwrap(md.split(separator: "\n").first { $0.hasPrefix("| sigmoid |") })
        XCTAssertTrue(sigmoidRow.hasSuffix("| 2.000 |"), String(sigmoidRow))
        let softmaxRow = try XCTUnwrap(md.split(separator: "\n").first { $0.hasPrefix("| softmax |") })
        XCTAssertTrue(softmaxRow.hasSuffix("| 1.000 |"), String(softmaxRow))
    }

    /// Oracle: Equatable on the decoded value; NaN written as null (JSON has no NaN), keys sorted.
    func testJSONRoundTripAndNonFinite() throws {
        var r = Self.seedsReport()
        r.figures = [FigureInfo(file: "a.svg", title: "A", caption: "c")]
        let text = try jsonText(r)
        XCTAssertEqual(try JSONDecoder().decode(Report.self, from: Data(text.utf8)), r)
        XCTAssertLessThan(try XCTUnwrap(text.range(of: "\"checkpoints\"")).lowerBound,
                          try XCTUnwrap(text.range(of: "\"comparisons\"")).lowerBound)
        r.groups[0].accuracy = SeedStatistics.of([])
        let nan = try jsonText(r)
        XCTAssertTrue(nan.contains("\"mean\" : null"), nan)
        XCTAssertFalse(nan.contains("nan"))
        XCTAssertEqual(try jsonText(r), nan)   // deterministic
    }

    /// Oracle: the table headers report.md must have, one per paper item, and the figure link.
    func testMarkdownHasEveryTable() throws {
        var cs = Self.seedsReport().checkpoints.map { c -> CheckpointReport in var c = c; c.group = -1; return c }
        cs.append(F.report(path: "k2", kernels: 2, recipe: F.parts(kernels: 2), seed: 0, accuracy: 0.89))
        cs.append(F.report(path: "cc", family: "dycnn-condconv", routing: "sigmoid", recipe: F.parts(model: "dycnn-condconv"),
                           seed: 0, accuracy: 0.87))
        cs.append(F.report(path: "t1", recipe: F.parts(start: 1, end: 1, epochs: 0), seed: 0, accuracy: 0.89))
        cs[0].evaluations.append(EvaluationResult(temperature: 2, mode: .attention, images: 1000, correct: 800, loss: 1, layers: []))
        var r = ReportComparisons.assemble(data: .init(name: "synthetic", images: 1000),
                                           settings: .init(temperatures: [2], modes: [.attention, .average], seed: 0), checkpoints: cs)
        r.figures = [FigureInfo(file: "k-sweep.svg", title: "K sweep", caption: "Accuracy against K.")]
        XCTAssertEqual(Set(r.comparisons.map(\.kind)), Set(Comparison.Kind.allCases))
        let md = ReportMarkdown.render(r, command: "dyconv report x --out y")
        for needle in ["```\ndyconv report x --out y\n```", "| group | seeds | accuracy % | parameters | multiply-adds |",
                       "| dynamic | static | seeds | Δ per seed | mean Δ | dynamic wins |", "| group | attention | average |",
                       "### d0\n\n| layer | mean | p5 | q1 | median | q3 | p95 |", "| K | group | accuracy % |",
                       "| schedule | group | accuracy % | mean entropy per layer, lowest first |",
                       "| constant τ 1 | dycnn 8/16/32 K=4 softmax constant τ 1 | 89.00 | 0.500 |", "| checkpoint | trained τ | at trained τ | τ 2 |",
                       "| d2 | 1 | 91.00 | 80.00 |", "| routing | group | accuracy % | Σ layer1.0.conv |",
                       "| dycnn 8/16/32 K=4 softmax τ 30→1/5ep | 0, 1, 2 | 91.00 ± 1.00 [90.00, 92.00] | 400 | 1000 |",
                       "![K sweep](k-sweep.svg)\n\nAccuracy against K."] {
            XCTAssertTrue(md.contains(needle), "missing: \(needle)\n\(md)")
        }
        XCTAssertEqual(ReportMarkdown.render(r, command: "c"), ReportMarkdown.render(r, command: "c"))
    }

    /// Oracle: the files on disk. The folder (and its parents) is created, report.json decodes to
    /// the returned report, no temporary file is left, an old file is replaced whole, and a file
    /// given as the folder is refused with a message naming it.
    func testWriterCreatesFolderWritesAtomicallyAndRefusesAFile() throws {
        let root = try F.temporaryDirectory(self)
        let dir = root + "/a/b"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try String(repeating: "old ", count: 10_000).write(toFile: dir + "/report.json", atomically: false, encoding: .utf8)
        let (written, files) = try ReportWriter.write(Self.seedsReport(), to: dir, command: "dyconv report")
        XCTAssertEqual(Array(files.suffix(2)), ["report.md", "report.json"])
        let json = try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))
        XCTAssertEqual(try JSONDecoder().decode(Report.self, from: json), written)
        XCTAssertEqual(written.figures.map(\.file), files.dropLast(2).map { $0 })
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), Set(files))
        let fresh = root + "/new/deeper"
        try ReportWriter.write(Self.seedsReport(), to: fresh, command: "dyconv report")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fresh + "/report.json")), json)   // deterministic
        let file = root + "/plain"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try ReportWriter.write(Self.seedsReport(), to: file, command: "c")) { error in
            XCTAssertEqual("\(error)", "--out \(file): exists and is not a directory")
        }
    }
}
