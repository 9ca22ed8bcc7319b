import DyConvData
import DyConvEngine
@testable import DyConvReport
import Foundation
import XCTest

/// The measuring path on tiny synthetic checkpoints written to disk (ReportFixtures): what it
/// evaluates, that each number equals a direct `evaluate` call, the recipe's grouping parts and
/// the entropy boxes.
final class ReportMeasurementTests: XCTestCase {
    /// Writes `checkpoint` as `dir/name.safetensors` and returns the path.
    func write(_ checkpoint: Checkpoint, _ name: String, in dir: String) throws -> String {
        let path = dir + "/" + name + ".safetensors"
        try checkpoint.write(path: path)
        return path
    }

    /// Oracle: a direct `evaluate(model:dataset:options:…)` per mode and τ (batch 250, while the
    /// report runs batches of 5), and the snapshot's own direct evaluation. Also checks the order
    /// of `evaluations` (trained τ in each mode, attention first, then the sweep), the costs
    /// against `ModelDescription` (what describe prints), and the history taken from the
    /// snapshot's record when the checkpoint's has none (oracle: the history written).
    func testEvaluationsEqualDirectEvaluateCalls() throws {
        let dir = try ReportFixtures.temporaryDirectory(self)
        let recipe = ReportFixtures.Recipe(kernels: 3, seed: 1)
        let path = try write(ReportFixtures.checkpoint(recipe), "tiny", in: dir)
        try FileManager.default.createDirectory(atPath: dir + "/tiny-snapshots", withIntermediateDirectories: true)
        let history = [TrainingRecord.Epoch(epoch: 1, temperature: 15.5, loss: 0.7, testAccuracy: 0.5, entropy: ["layer1.0.conv": 0.99])]
        // The snapshot was taken at τ 15.5 (its own description's), unlike the final τ 1.
        var snapshotRecipe = recipe
        snapshotRecipe.temperature = (30, 15.5, 2)
        let snapshotPath = try write(ReportFixtures.checkpoint(snapshotRecipe, weightSeed: 55, history: history),
                                     "tiny-snapshots/epoch-001", in: dir)
        let dataset = try ReportFixtures.dataset()
        let options = ReportOptions(temperatures: [0.5, 2], modes: [.max, .attention, .shuffleAcross], seed: 3, batchSize: 5)
        let loaded = try ReportMeasurement.load([path], with: ReportFixtures.load)
        var lines: [String] = []
        let report = try ReportMeasurement.measure(loaded, load: ReportFixtures.load, dataset: dataset, dataName: "synthetic",
                                                   options: options) { lines.append($0) }
        let c = report.checkpoints[0]
        let model = loaded[0].model
        let expected: [(Float?, AggregationMode)] = [(nil, .attention), (nil, .max), (nil, .shuffleAcross), (0.5, .attention), (2, .attention)]
        XCTAssertEqual(c.evaluations.count, expected.count)
        for (e, (t, mode)) in zip(c.evaluations, expected) {
            let direct = try evaluate(model: model, dataset: dataset, options: ForwardOptions(temperature: t, mode: mode, seed: 3))
            XCTAssertEqual(e, direct, "τ \(String(describing: t)) \(mode)")
        }
        let (_, snapshotModel) = try ReportFixtures.load(snapshotPath)
        XCTAssertEqual(c.snapshots.map(\.epoch), [1])
        XCTAssertEqual(c.snapshots.first?.evaluation,
                       try evaluate(model: snapshotModel, dataset: dataset, options: ForwardOptions(mode: .attention, seed: 3)))
        XCTAssertEqual(c.snapshots.first?.temperature, 15.5)
        // The checkpoint's record has no history: the snapshot's stands in for it, and says so.
        XCTAssertEqual(c.history, history)
        XCTAssertEqual(c.historySource, "snapshots")
        // Its training record: 3 of 3 epochs (ReportFixtures writes finished runs).
        XCTAssertEqual(c.epoch, 3)
        XCTAssertEqual(c.epochs, 3)
        XCTAssertTrue(c.isFinished)
        XCTAssertEqual(report.settings.modes, [.attention, .max, .shuffleAcross])
        XCTAssertEqual(c.parameters, recipe.description.parameterShapes().reduce(0) { $0 + $1.shape.reduce(1, *) })
        XCTAssertEqual(c.multiplyAdds, recipe.description.multiplyAdds())
        XCTAssertEqual(c.kernels, 3)
        XCTAssertEqual(c.routing, "softmax")
        XCTAssertEqual(c.seed, 1)
        XCTAssertEqual(c.family, "dycnn")
        XCTAssertEqual(c.path, path)
        XCTAssertEqual(report.data.images, 24)
        // One progress line per evaluation, naming the checkpoint, mode and τ.
        XCTAssertEqual(lines.count, 6)
        XCTAssertTrue(lines[0].hasPrefix("report: 1/1 tiny attention τ trained 24 images "), lines[0])
        XCTAssertTrue(lines[5].hasPrefix("report: 1/1 tiny snapshot epoch 1 attention τ trained 24 images "), lines[5])

        // --no-snapshots and a static model: attention at the trained τ only.
        let staticPath = try write(ReportFixtures.checkpoint(.init(model: "dycnn-static")), "static", in: dir)
        let noSnapshots = ReportOptions(temperatures: [0.5], seed: 3, snapshots: false)
        let r2 = try ReportMeasurement.measure(try ReportMeasurement.load([path, staticPath], with: ReportFixtures.load),
                                               load: ReportFixtures.load, dataset: dataset, dataName: "synthetic", options: noSnapshots)
        XCTAssertEqual(r2.checkpoints[0].snapshots, [])
        // The history is read from the snapshot's header even when it is not evaluated.
        XCTAssertEqual(r2.checkpoints[0].history, history)
        XCTAssertEqual(r2.checkpoints[0].historySource, "snapshots")
        XCTAssertNil(r2.checkpoints[1].historySource)
        XCTAssertEqual(r2.checkpoints[1].evaluations.map(\.mode), [.attention])
        XCTAssertEqual(r2.checkpoints[1].routing, "static")
        XCTAssertNil(r2.checkpoints[1].trainedTemperature)
        // A checkpoint with its own history keeps it (not the snapshots'), and says so.
        let own = [TrainingRecord.Epoch(epoch: 3, temperature: 1, testAccuracy: 0.25)]
        let ownPath = try write(ReportFixtures.checkpoint(recipe, history: own), "own", in: dir)
        let r3 = try ReportMeasurement.measure(try ReportMeasurement.load([ownPath], with: ReportFixtures.load),
                                               load: ReportFixtures.load, dataset: dataset, dataName: "synthetic", options: noSnapshots)
        XCTAssertEqual(r3.checkpoints[0].history, own)
        XCTAssertEqual(r3.checkpoints[0].historySource, "checkpoint")
    }

    /// Oracle: the per-image normalized entropies of the same model and data (read from the traces
    /// of a direct evaluation), sorted by hand: each box value is the nearest-rank quantile of that
    /// list (rank ⌈p·n⌉) as the centre of its 1/1000 bin clamped to [min, max], so within half a
    /// bin of the listed value.
    func testEntropyBoxesMatchAHandSortedList() throws {
        let dir = try ReportFixtures.temporaryDirectory(self)
        let path = try write(ReportFixtures.checkpoint(.init(kernels: 4, seed: 2)), "box", in: dir)
        let dataset = try ReportFixtures.dataset(count: 37)
        let loaded = try ReportMeasurement.load([path], with: ReportFixtures.load)
        let report = try ReportMeasurement.measure(loaded, load: ReportFixtures.load, dataset: dataset, dataName: "synthetic",
                                                   options: ReportOptions(temperatures: [1], modes: [.attention], batchSize: 4))
        var perLayer: [[Float]] = []
        _ = try evaluate(model: loaded[0].model, dataset: dataset, options: ForwardOptions(mode: .attention)) { batch in
            if perLayer.isEmpty { perLayer = Array(repeating: [], count: batch.trace.layers.count) }
            for (l, layer) in batch.trace.layers.enumerated() { perLayer[l] += layer.entropy }
            return true
        }
        let layers = try XCTUnwrap(report.checkpoints[0].trained).layers
        XCTAssertEqual(layers.count, 6)
        for (l, layer) in layers.enumerated() {
            let sorted = perLayer[l].map(Double.init).sorted()
            XCTAssertEqual(sorted.count, 37)
            func expected(_ p: Double) -> Double {
                let value = sorted[max(1, Int((p * 37).rounded(.up))) - 1]
                let centre = ((value * 1000).rounded(.down) + 0.5) / 1000
                return min(max(centre, sorted.first!), sorted.last!)
            }
            let box = try XCTUnwrap(layer.entropyBox)
            for (got, p) in [(box.p5, 0.05), (box.q1, 0.25), (box.median, 0.5), (box.q3, 0.75), (box.p95, 0.95)] {
                XCTAssertEqual(got, expected(p), accuracy: 1e-12, "\(layer.name) p\(p)")
                XCTAssertEqual(got, sorted[max(1, Int((p * 37).rounded(.up))) - 1], accuracy: 0.0005)
            }
            XCTAssertEqual(layer.meanEntropy, sorted.reduce(0, +) / 37, accuracy: 1e-9)
        }
    }

    /// Oracle: the recipe fields written out by hand. Missing keys take TrainingConfig's defaults
    /// (so a recipe without `blocks` groups with one that has `blocks: 3`), seed and threads are
    /// not part of the key, and a static model's key has no K and no attention fields.
    func testRecipePartsAreNormalised() throws {
        let dir = try ReportFixtures.temporaryDirectory(self)
        let dataset = try ReportFixtures.dataset(count: 4)
        let options = ReportOptions(temperatures: [1], modes: [.attention], snapshots: false)
        var withBlocks = ReportFixtures.checkpoint(.init(seed: 5))
        withBlocks.metadata["dyconv.recipe"] = String(ReportFixtures.Recipe(seed: 5).json.dropLast()) + ",\"blocks\":3,\"threads\":1}"
        let paths = [try write(ReportFixtures.checkpoint(.init(seed: 4)), "a", in: dir), try write(withBlocks, "b", in: dir),
                     try write(ReportFixtures.checkpoint(.init(model: "dycnn-static", kernels: 4)), "s", in: dir)]
        let report = try ReportMeasurement.measure(try ReportMeasurement.load(paths, with: ReportFixtures.load), load: ReportFixtures.load,
                                                   dataset: dataset, dataName: "synthetic", options: options)
        let common = ["batchSize=128", "epochs=3", "flip=true", "learningRate=0.1", "minLearningRate=0", "momentum=0.9",
                      "nesterov=true", "normWeightDecay=0", "schedule=cosine", "shift=2", "warmupEpochs=0",
                      "weightDecay=0.0005", "widths=2/2/2"]
        let attention = ["attentionInit=kaiming", "attentionLRMultiplier=5", "attentionWeightDecay=0", "kernels=2",
                         "temperatureEnd=1", "temperatureEpochs=2", "temperatureStart=30"]
        XCTAssertEqual(report.checkpoints[0].recipe, (common + attention + ["model=dycnn"]).sorted())
        XCTAssertEqual(report.checkpoints[1].recipe, report.checkpoints[0].recipe)
        XCTAssertEqual(report.checkpoints[2].recipe, (common + ["model=dycnn-static"]).sorted())
        XCTAssertEqual(report.groups.count, 2)
        XCTAssertEqual(report.groups[0].seeds, [4, 5])
        XCTAssertEqual(report.groups[0].label, "dycnn 2/2/2 K=2 softmax τ 30→1/2ep")
        XCTAssertEqual(report.groups[1].label, "dycnn-static 2/2/2")
        XCTAssertEqual(report.comparisons.map(\.kind), [.dynamicVsStatic])
    }

    /// A bad file is one error naming it, before anything is evaluated (oracle: the message).
    func testBadCheckpointIsNamed() throws {
        let dir = try ReportFixtures.temporaryDirectory(self)
        let bad = dir + "/bad.safetensors"
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try ReportMeasurement.load([bad], with: ReportFixtures.load)) { error in
            XCTAssertTrue("\(error)".contains("bad.safetensors"), "\(error)")
        }
        var broken = ReportFixtures.checkpoint(.init())
        broken.metadata["dyconv.recipe"] = "{\"kernels\":0}"
        let path = try write(broken, "broken", in: dir)
        XCTAssertThrowsError(try ReportMeasurement.measure(try ReportMeasurement.load([path], with: ReportFixtures.load),
                                                           load: ReportFixtures.load, dataset: try ReportFixtures.dataset(count: 2),
                                                           dataName: "s", options: ReportOptions())) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ": dyconv.recipe"), "\(error)")
        }
    }
}
