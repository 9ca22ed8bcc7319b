import DyConvData
import DyConvEngine
@testable import DyConvReport
import Foundation
import XCTest

// The report's guards against misleading numbers (review of issue #12): unfinished runs grouped
// apart, one run given twice refused, the binomial standard error and the "fewer than 3 seeds"
// flag, group tables over seeds (entropy, inference τ with the trained point), `--tau` deduped,
// stale figures removed, and the --out errors naming what is in the way. Each test builds its
// reports by hand (ReportFixtures.report) so every expected number is checked by hand.

final class ReportReviewFixesTests: XCTestCase {
    typealias F = ReportFixtures

    static let staticParts = F.parts(model: "dycnn-static", kernels: nil, start: nil, end: nil, epochs: nil)

    func assemble(_ cs: [CheckpointReport], images: Int = 1000, temperatures: [Float] = [1]) -> Report {
        ReportComparisons.assemble(data: .init(name: "d", images: images),
                                   settings: .init(temperatures: temperatures, modes: [.attention], seed: 0), checkpoints: cs)
    }

    func staticReport(_ path: String, seed: Int, accuracy: Double, epoch: Int? = nil, epochs: Int? = nil) -> CheckpointReport {
        var c = F.report(path: path, family: "dycnn-static", routing: "static", kernels: 0, recipe: Self.staticParts,
                         seed: seed, accuracy: accuracy)
        c.epoch = epoch; c.epochs = epochs
        return c
    }

    /// Oracle: the groups written out by hand. A static run stopped at epoch 1/30 is not a seed of
    /// the finished static recipe: it is its own group labelled "(epoch 1/30)", the dynamic model
    /// is paired with the finished static seed only, and a warning names the unfinished file.
    func testUnfinishedRunsAreGroupedApart() throws {
        let cs = [F.report(path: "d0", recipe: F.parts(), seed: 0, accuracy: 0.92),
                  staticReport("s0", seed: 0, accuracy: 0.90, epoch: 30, epochs: 30),
                  staticReport("s1", seed: 1, accuracy: 0.80, epoch: 1, epochs: 30)]
        let r = assemble(cs)
        XCTAssertEqual(r.groups.count, 3)
        XCTAssertEqual(r.groups.map(\.checkpoints), [[0], [1], [2]])
        XCTAssertEqual(r.groups[2].label, "dycnn-static 8/16/32 (epoch 1/30)")
        XCTAssertTrue(r.groups[2].key.hasSuffix(" trained epoch 1/30"), r.groups[2].key)
        XCTAssertTrue(r.checkpoints[1].isFinished)
        XCTAssertFalse(r.checkpoints[2].isFinished)
        let pairs = r.comparisons.filter { $0.kind == .dynamicVsStatic }
        XCTAssertEqual(pairs.map { $0.members.map(\.group) }, [[0, 1]])
        XCTAssertEqual(try XCTUnwrap(pairs[0].pairs).seeds, [0])
        XCTAssertEqual(r.warnings, ["s1 is an unfinished run (trained epoch 1/30): it is grouped and compared apart from finished runs of its recipe"])
        XCTAssertTrue(ReportMarkdown.render(r, command: "c").contains("- Warning: s1 is an unfinished run (trained epoch 1/30)"))
        // Two runs stopped at the same stage are seeds of one unfinished group.
        let alike = assemble([staticReport("a", seed: 0, accuracy: 0.8, epoch: 5, epochs: 30),
                              staticReport("b", seed: 1, accuracy: 0.8, epoch: 5, epochs: 30)])
        XCTAssertEqual(alike.groups.map(\.checkpoints), [[0, 1]])
    }

    /// Oracle: the error lines written by hand. The same recipe and seed twice (two files, or one
    /// file given twice) would count one run as two seeds; a different stage of the same run is
    /// not a duplicate.
    func testOneRunGivenTwiceIsRefused() throws {
        let a = F.report(path: "a.safetensors", recipe: F.parts(), seed: 0, accuracy: 0.9)
        let b = F.report(path: "b.safetensors", recipe: F.parts(), seed: 0, accuracy: 0.9)
        XCTAssertThrowsError(try ReportComparisons.checkDistinct([a, b])) { error in
            XCTAssertEqual("\(error)", "a.safetensors and b.safetensors are the same recipe and seed 0")
        }
        XCTAssertThrowsError(try ReportComparisons.checkDistinct([a, a])) { error in
            XCTAssertEqual("\(error)", "a.safetensors is given twice")
        }
        let imported = F.report(path: "x.safetensors", recipe: nil, seed: nil, accuracy: 0.5)
        XCTAssertThrowsError(try ReportComparisons.checkDistinct([imported, imported])) { error in
            XCTAssertEqual("\(error)", "x.safetensors is given twice")
        }
        var stage = b
        stage.epoch = 5; stage.epochs = 30
        XCTAssertNoThrow(try ReportComparisons.checkDistinct([a, stage]))
        XCTAssertNoThrow(try ReportComparisons.checkDistinct([a, F.report(path: "c", recipe: F.parts(), seed: 1, accuracy: 0.9)]))

        // Through `measure`, on real files, before anything is evaluated (no progress line).
        let dir = try F.temporaryDirectory(self)
        let first = dir + "/first.safetensors", second = dir + "/second.safetensors"
        try F.checkpoint(.init(seed: 3)).write(path: first)
        try F.checkpoint(.init(seed: 3), weightSeed: 9).write(path: second)
        var lines: [String] = []
        XCTAssertThrowsError(try ReportMeasurement.measure(try ReportMeasurement.load([first, second], with: F.load), load: F.load,
                                                           dataset: try F.dataset(count: 2), dataName: "s",
                                                           options: ReportOptions(temperatures: [1])) { lines.append($0) }) { error in
            XCTAssertEqual("\(error)", "\(first) and \(second) are the same recipe and seed 3")
        }
        XCTAssertEqual(lines, [])
    }

    /// Oracle: √(p(1 − p)/n) by hand: 900 of 1000 right → √(0.9 · 0.1 / 1000) = 0.0094868 (0.95
    /// points); groups and paired comparisons under 3 seeds are flagged, 3 seeds are not; the
    /// flag and the SE column are in report.md.
    func testStandardErrorAndTooFewSeeds() throws {
        let dynamic = F.parts()
        let r = assemble([F.report(path: "d0", recipe: dynamic, seed: 0, accuracy: 0.90),
                          F.report(path: "d1", recipe: dynamic, seed: 1, accuracy: 0.92),
                          F.report(path: "d2", recipe: dynamic, seed: 2, accuracy: 0.91),
                          staticReport("s0", seed: 0, accuracy: 0.89)])
        XCTAssertEqual(try XCTUnwrap(r.checkpoints[0].standardError), 0.00948683298050514, accuracy: 1e-12)
        XCTAssertEqual(r.groups.map(\.tooFewSeeds), [false, true])
        let pair = try XCTUnwrap(r.comparisons.first { $0.kind == .dynamicVsStatic }?.pairs)
        XCTAssertEqual(pair.wins, 1)
        XCTAssertTrue(pair.tooFewSeeds)
        let md = ReportMarkdown.render(r, command: "c")
        for needle in ["| dycnn-static 8/16/32 | 0 | 89.00 | 100 | 1000 | fewer than 3 seeds: not conclusive |",
                       "| dycnn 8/16/32 K=4 softmax τ 30→1/5ep | 0, 1, 2 | 91.00 ± 1.00 [90.00, 92.00] | 400 | 1000 |  |",
                       "| checkpoint | group | seed | trained | accuracy % | ± SE (points) | images |",
                       "| d0 | dycnn 8/16/32 K=4 softmax τ 30→1/5ep | 0 | – | 90.00 | 0.95 | 1000 |",
                       "| 0 | +1.00 | +1.00 | 1/1 | – | fewer than 3 seeds: not conclusive |"] {
            XCTAssertTrue(md.contains(needle), "missing: \(needle)\n\(md)")
        }
        let json = try jsonText(r)
        XCTAssertTrue(json.contains("\"standardError\" : 0.0094868"), json)
        XCTAssertTrue(json.contains("\"tooFewSeeds\" : true"))
        // A tiny sample is warned about, with the worst-case SE 50/√n points.
        XCTAssertEqual(assemble([F.report(path: "d0", recipe: dynamic, seed: 0, accuracy: 1)], images: 10).warnings,
                       ["only 10 images evaluated (fewer than 1000): an accuracy's standard error is up to ±15.81 points"])
        XCTAssertEqual(r.warnings, [])
    }

    /// Oracle: the sweep over seeds by hand. Seeds 0 and 1 of one recipe at τ 0.5 score 0.80 and
    /// 0.84 (mean 0.82, sd √((0.02² + 0.02²)/1) = 0.028284), at τ 2 0.70 and 0.74; trained τ 1 is
    /// not in the sweep, so their trained accuracies 0.90 and 0.92 stand as the point at τ 1.
    /// A sweep that has τ 1 keeps its own numbers there (no second point). report.md prints the
    /// group tables for entropy and τ.
    func testGroupSweepAndEntropyTablesOverSeeds() throws {
        func sweep(_ c: CheckpointReport, _ points: [(Float, Int)]) -> CheckpointReport {
            var c = c
            for (t, correct) in points {
                c.evaluations.append(EvaluationResult(temperature: t, mode: .attention, images: 1000, correct: correct, loss: 1, layers: []))
            }
            return c
        }
        let dynamic = F.parts()
        let r = assemble([sweep(F.report(path: "d0", recipe: dynamic, seed: 0, accuracy: 0.90, entropy: 0.4), [(0.5, 800), (2, 700)]),
                          sweep(F.report(path: "d1", recipe: dynamic, seed: 1, accuracy: 0.92, entropy: 0.6), [(0.5, 840), (2, 740)])],
                         temperatures: [0.5, 2])
        let points = r.groups[0].temperatureSweep
        XCTAssertEqual(points.map(\.temperature), [0.5, 1, 2])
        XCTAssertEqual(points.map(\.trained), [false, true, false])
        XCTAssertEqual(points[0].accuracy.mean, 0.82, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(points[0].accuracy.sd), 0.0282842712474619, accuracy: 1e-12)
        XCTAssertEqual(points[1].accuracy.mean, 0.91, accuracy: 1e-12)
        XCTAssertEqual(points[2].accuracy.n, 2)
        let md = ReportMarkdown.render(r, command: "c")
        for needle in ["| group | seeds | τ 0.5 | τ 1 | τ 2 |",
                       "| dycnn 8/16/32 K=4 softmax τ 30→1/5ep | 0, 1 | 82.00 ± 2.83 [80.00, 84.00] | 91.00 ± 1.41 [90.00, 92.00] (trained) | 72.00 ± 2.83 [70.00, 74.00] |",
                       "### dycnn 8/16/32 K=4 softmax τ 30→1/5ep (seeds 0, 1) — fewer than 3 seeds: not conclusive\n\n| layer | mean entropy |\n| --- | --- |\n| layer1.0.conv | 0.500 ± 0.141 [0.400, 0.600] |"] {
            XCTAssertTrue(md.contains(needle), "missing: \(needle)\n\(md)")
        }
        let withOne = assemble([sweep(F.report(path: "d0", recipe: dynamic, seed: 0, accuracy: 0.90), [(1, 900), (2, 700)])])
        XCTAssertEqual(withOne.groups[0].temperatureSweep.map(\.temperature), [1, 2])
        XCTAssertEqual(withOne.groups[0].temperatureSweep.map(\.trained), [false, false])
        // A static group has no sweep.
        XCTAssertEqual(assemble([staticReport("s", seed: 0, accuracy: 0.9)]).groups[0].temperatureSweep, [])
    }

    /// Oracle: binomial tails by hand. b = 10, c = 2: P(X ≤ 2) for X ~ Bin(12, ½) is
    /// (1 + 12 + 66)/4096, so p = 158/4096 = 0.0385742; b = 5, c = 0: 2/32 = 0.0625; b = 2,
    /// c = 1: 2 · (1 + 3)/8 → capped at 1; no disagreement: 1. The counts of a pair come from
    /// the per-image vectors of the checkpoints of each shared seed, listed by hand.
    func testMcNemarCounts() throws {
        XCTAssertEqual(ReportComparisons.mcnemarP(10, 2), 158.0 / 4096, accuracy: 1e-12)
        XCTAssertEqual(ReportComparisons.mcnemarP(2, 10), 158.0 / 4096, accuracy: 1e-12)
        XCTAssertEqual(ReportComparisons.mcnemarP(5, 0), 0.0625, accuracy: 1e-12)
        XCTAssertEqual(ReportComparisons.mcnemarP(2, 1), 1)
        XCTAssertEqual(ReportComparisons.mcnemarP(0, 0), 1)
        let big = ReportComparisons.mcnemarP(5000, 4700)
        XCTAssertTrue(big.isFinite && big > 0 && big < 0.01, "\(big)")

        // seedsReport: checkpoints d2, d0, d1, s1, s0; the pair is seeds 0 (d0 vs s0) and 1 (d1 vs s1).
        var r = ReportGroupingTests.seedsReport()
        let d0 = [true, true, true, false, false], s0 = [true, false, false, true, false]
        let d1 = [true, true, true, true, true], s1 = [false, false, false, false, false]
        ReportComparisons.addDiscordance(&r, correct: [nil, d0, d1, s1, s0])
        let p = try XCTUnwrap(r.comparisons[0].pairs)
        XCTAssertEqual(p.firstOnly, [2, 5])
        XCTAssertEqual(p.secondOnly, [1, 0])
        XCTAssertEqual(try XCTUnwrap(p.mcnemarP), [1, 0.0625])
        XCTAssertTrue(ReportMarkdown.render(r, command: "c").contains("| 1/2 | 2 / 1 (p 1.000), 5 / 0 (p 0.062) |"), ReportMarkdown.render(r, command: "c"))
        // A vector missing for one seed: no counts at all.
        var partial = ReportGroupingTests.seedsReport()
        ReportComparisons.addDiscordance(&partial, correct: [nil, d0, nil, s1, s0])
        XCTAssertNil(partial.comparisons[0].pairs?.firstOnly)

        // Through `measure` on real files: the oracle is each model's predictions from a direct evaluation.
        let dir = try F.temporaryDirectory(self)
        let dynamicPath = dir + "/dynamic.safetensors", staticPath = dir + "/static.safetensors"
        try F.checkpoint(.init(kernels: 2, seed: 0)).write(path: dynamicPath)
        try F.checkpoint(.init(model: "dycnn-static", seed: 0)).write(path: staticPath)
        let dataset = try F.dataset(count: 40)
        let loaded = try ReportMeasurement.load([dynamicPath, staticPath], with: F.load)
        let report = try ReportMeasurement.measure(loaded, load: F.load, dataset: dataset, dataName: "s",
                                                   options: ReportOptions(temperatures: [1], modes: [.attention], batchSize: 7))
        func rightOrWrong(_ model: Model) throws -> [Bool] {
            var out: [Bool] = []
            _ = try evaluate(model: model, dataset: dataset, options: ForwardOptions(mode: .attention)) { batch in
                for (n, i) in batch.indices.enumerated() { out.append(batch.trace.prediction(sample: n) == dataset.labels![i]) }
                return true
            }
            return out
        }
        let x = try rightOrWrong(loaded[0].model), y = try rightOrWrong(loaded[1].model)
        let pair = try XCTUnwrap(report.comparisons.first { $0.kind == .dynamicVsStatic }?.pairs)
        XCTAssertEqual(pair.firstOnly, [zip(x, y).filter { $0 && !$1 }.count])
        XCTAssertEqual(pair.secondOnly, [zip(x, y).filter { !$0 && $1 }.count])
        XCTAssertEqual(pair.firstOnly![0] - pair.secondOnly![0], Int((pair.deltas[0] * 40).rounded()))
    }

    /// Oracle: `--tau 1 1 2` is τ 1 and τ 2 once each, in the order given.
    func testTemperaturesAreDeduplicated() {
        XCTAssertEqual(ReportOptions(temperatures: [1, 1, 0.5, 1, 2, 0.5]).temperatures, [1, 0.5, 2])
    }

    /// Oracle: the folder's listing. A figure of an earlier report that this one does not draw is
    /// removed; a file of another name is left alone; `figureFiles` lists every figure the full
    /// Markdown fixture draws.
    func testStaleFiguresAreRemoved() throws {
        let dir = try F.temporaryDirectory(self)
        for name in ["ablation.svg", "k-sweep.svg", "notes.svg"] {
            try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        let r = assemble([staticReport("s0", seed: 0, accuracy: 0.9)])
        let (written, files) = try ReportWriter.write(r, to: dir, command: "c")
        let listing = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertEqual(listing, Set(files).union(["notes.svg"]))
        XCTAssertFalse(written.figures.contains { $0.file == "ablation.svg" })
        // Every figure a rich report draws is one the writer knows.
        var rich = ReportGroupingTests.seedsReport()
        rich.checkpoints[0].evaluations.append(EvaluationResult(temperature: 2, mode: .attention, images: 1000, correct: 800,
                                                                loss: 1, layers: []))
        for f in ReportFigures.render(rich) { XCTAssertTrue(ReportWriter.figureFiles.contains(f.info.file), f.info.file) }
    }

    /// Oracle: the messages written by hand. A file on the way is named, not the folder asked for;
    /// a folder that cannot be made is named once.
    func testOutFolderErrorsNameWhatIsInTheWay() throws {
        let root = try F.temporaryDirectory(self)
        let file = root + "/afile"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try ReportWriter.checkFolder(file + "/sub/deeper")) { error in
            XCTAssertEqual("\(error)", "--out \(file)/sub/deeper: \(file) is not a directory")
        }
        XCTAssertThrowsError(try ReportWriter.checkFolder(file)) { error in
            XCTAssertEqual("\(error)", "--out \(file): exists and is not a directory")
        }
        XCTAssertNoThrow(try ReportWriter.checkFolder(root + "/new/deeper"))
        XCTAssertNoThrow(try ReportWriter.checkFolder("relative-missing"))
        let r = assemble([staticReport("s0", seed: 0, accuracy: 0.9)])
        XCTAssertThrowsError(try ReportWriter.write(r, to: "/proc/dyconv-report-test", command: "c")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("--out /proc/dyconv-report-test: cannot create: "), text)
            XCTAssertEqual(text.components(separatedBy: "/proc/dyconv-report-test").count, 2, text)
        }
    }
}
