import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining
import DyConvTestSupport

/// The `dyresnet` families in the trainer: gradients, resume, and the `blocks` setting.
final class DyresnetTrainingTests: XCTestCase {
    /// A tiny dyresnet config on the bundled 28×28 sample: widths 4/4/4, one block per stage
    /// (6 dynamic layers), K = 2.
    private func tinyDyresnetConfig(epochs: Int = 1) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "dyresnet"
        c.widths = [4, 4, 4]
        c.blocks = 1
        c.kernels = 2
        c.epochs = epochs
        c.batchSize = 8
        c.threads = 2
        c.temperatureStart = 10
        c.temperatureEpochs = 1
        c.seed = 3
        return c
    }

    /// Oracle: central finite differences of the loss (the `GradientHarness`), over every
    /// tensor and the input. The whole dyresnet stack — static stem, residual blocks with dynamic
    /// 3×3 convs, stride-2 blocks with a static 1×1 + BN projection shortcut, pooling, fc — at
    /// widths 2/2/2, 1 block, K = 2, on an 8×8 input (8 → 4 → 2) instead of 28×28: the layers are
    /// the family's, but on 28×28 each finite-difference step crosses so many ReLU kinks that
    /// the numeric side is off by a few per cent at every step size (seen on five seeds; the
    /// analytic gradients of `layer2.0.bn2.bias` and `layer2.0.downsample.1.bias`, which are
    /// exactly equal, had numeric estimates 2 % apart). 28×28 is covered by the next test.
    func testGradientsOfTinyDyresnet() throws {
        var d = Families.dyresnet(widths: [2, 2, 2], blocks: 1, routing: .softmax, kernels: 2, temperature: 1)
        d.input = InputSpec(channels: 1, height: 8, width: 8)
        XCTAssertNoThrow(try d.validate())
        for (crossEntropy, batch, seed): (Bool, Int, UInt64) in [(false, 3, 41), (true, 4, 44)] {
            let h = GradientHarness(d, batch: batch, seed: seed, temperature: 2, crossEntropy: crossEntropy)
            XCTAssertEqual(h.graph.dynamicNodes.count, 6)
            XCTAssertNotNil(h.layout.parameter("layer3.0.downsample.0.weight"))
            h.check(samples: 16)
        }
    }

    /// Oracle: the same run without interruption. Two steps, the state saved and the trainer
    /// dropped, then resumed from the file: weights, BatchNorm statistics and the epoch's
    /// figures are bit-identical.
    func testResumeOfTinyDyresnetIsBitIdentical() throws {
        let sample = try FashionMNIST.loadSample()
        let train = sample.prefix(20), test = sample.subset(20..<30)   // 3 steps: 8, 8, 4 images
        let config = tinyDyresnetConfig()
        let straight = try Trainer(config: config, train: train, test: test)
        XCTAssertEqual(straight.description.family, "dyresnet")
        XCTAssertEqual(straight.description.dynamicConvolutions.count, 6)
        while !straight.isFinished { straight.runEpoch() }
        // The engine's inference forward on the checkpoint equals the training graph's
        // evaluation-mode forward at 28×28 (oracle: the engine, a separate implementation).
        let engine = try straight.checkpoint().makeModel()
        let input = test.batch(Array(0..<10), normalization: straight.description.normalization)
        let ours = straight.evaluationLogits(input, temperature: straight.temperature)
        XCTAssertLessThan(engine.forward(input).logits.maxAbsDifference(ours), 1e-4)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-dyresnet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.state").path
        var first: Trainer? = try Trainer(config: config, train: train, test: test)
        first!.step()
        first!.step()
        try first!.saveState(path: path)
        first = nil
        let resumed = try Trainer.resume(path: path, train: train, test: test)
        XCTAssertEqual(resumed.config.blocks, 1)
        XCTAssertEqual(resumed.iterationInEpoch, 2)
        while !resumed.isFinished { resumed.runEpoch() }

        XCTAssertEqual(resumed.tensors(), straight.tensors(), "weights and BatchNorm statistics must be bit-identical")
        XCTAssertEqual(resumed.history.map(\.loss), straight.history.map(\.loss))
        XCTAssertEqual(resumed.history.map(\.testAccuracy), straight.history.map(\.testAccuracy))
    }

    /// Oracle: a training state written by dyconv before `blocks` existed (commit 4b805de: the
    /// fuzz corpus's `raw-training-state`, a dycnn 2/2/2 run of one epoch, after its mode byte).
    /// It still resumes, with blocks at the default 3, and its config re-encodes to the old JSON
    /// byte for byte (a dycnn config does not write the default `blocks`).
    func testStateWrittenBeforeBlocksStillResumes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let corpus = root.appendingPathComponent("Fuzz/corpus/checkpoint/raw-training-state")
        let bytes = try Data(contentsOf: corpus).dropFirst()   // mode 0 (raw) + the state file
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-oldstate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("old.state").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let file = try SafetensorsFile.read(path: path)
        let oldJSON = try XCTUnwrap(file.metadata["dyconv.config"])
        XCTAssertFalse(oldJSON.contains("blocks"), "the fixture must predate the key")
        XCTAssertEqual(file.metadata["dyconv.state_version"], TrainingStateFile.version)

        let sample = try FashionMNIST.loadSample()
        let train = sample.prefix(16), test = sample.subset(16..<24)
        let old = try Trainer.resume(path: path, train: train, test: test)
        XCTAssertEqual(old.config.blocks, 3)
        XCTAssertEqual(old.config.model, "dycnn")
        XCTAssertEqual(old.config.widths, [2, 2, 2])
        XCTAssertTrue(old.isFinished)
        XCTAssertEqual(old.config.jsonString(), oldJSON)

        // And it trains on: one more epoch, written and read back with the new key.
        let longer = try Trainer.resume(path: path, train: train, test: test, epochs: 2)
        XCTAssertTrue(longer.runEpoch().loss.isFinite)
        try longer.saveState(path: path)
        XCTAssertEqual(try Trainer.resume(path: path, train: train, test: test).config, longer.config)
    }

    /// Oracle: the documented range 1...16 and the ResNet-(6n+2) layout (6n dynamic layers).
    func testBlocksSettingBuildsTheModelAndIsValidated() throws {
        var c = TrainingConfig()
        XCTAssertEqual(c.blocks, 3)
        for (model, dynamic) in [("dyresnet", 18), ("dyresnet-condconv", 18), ("dyresnet-static", 0)] {
            c.model = model
            c.widths = [8, 16, 32]
            let d = try c.modelDescription()
            XCTAssertEqual(d.family, model)
            XCTAssertEqual(d.dynamicConvolutions.count, dynamic, model)
            // The trainer's description is the family's (the figures `describe` prints).
            XCTAssertEqual(d.multiplyAdds(), try Families.named(model).multiplyAdds(), model)
        }
        c.model = "dyresnet"
        c.blocks = 2
        c.kernels = 8
        let d = try c.modelDescription()
        XCTAssertEqual(d.dynamicConvolutions.count, 12)
        XCTAssertTrue(d.dynamicConvolutions.allSatisfy { $0.kernels == 8 })
        XCTAssertEqual(Trainer.memoryLabel(config: c, description: d), "training dyresnet 8/16/32 ×2 blocks K=8 at batch 128")
        for bad in [0, 17, -1] {
            c.blocks = bad
            XCTAssertThrowsError(try c.validate(), "blocks \(bad)") {
                XCTAssertEqual(($0 as? TrainingError)?.message, "blocks must be in 1...16, got \(bad)")
            }
        }
        // Encoded where it means something, and every config round-trips.
        var dycnn = TrainingConfig()
        XCTAssertFalse(dycnn.jsonString().contains("blocks"))
        dycnn.blocks = 5
        XCTAssertTrue(dycnn.jsonString().contains("\"blocks\":5"))
        XCTAssertTrue(try TrainingConfig.fromJSON(#"{"model":"dyresnet"}"#).jsonString().contains("\"blocks\":3"))
        var other = TrainingConfig()
        other.model = "dyresnet-condconv"; other.widths = [4, 8, 8]; other.blocks = 2; other.kernels = 3; other.epochs = 7
        other.batchSize = 64; other.learningRate = 0.05; other.minLearningRate = 0.001; other.momentum = 0.8
        other.nesterov = false; other.weightDecay = 1e-4; other.normWeightDecay = 1e-5; other.attentionWeightDecay = 1e-6
        other.attentionLRMultiplier = 2; other.schedule = .oneCycle; other.warmupEpochs = 1; other.temperatureStart = 20
        other.temperatureEnd = 0.5; other.temperatureEpochs = 3; other.attentionInit = .pytorch; other.flip = false
        other.shift = 1; other.seed = 9; other.threads = 1
        for config in [TrainingConfig(), dycnn, other] {
            XCTAssertEqual(try TrainingConfig.fromJSON(config.jsonString()), config)
        }
        // A recipe file without the key takes the default.
        XCTAssertEqual(try TrainingConfig.fromJSON(#"{"model":"dyresnet","widths":[8,16,32]}"#).blocks, 3)
        XCTAssertEqual(try TrainingConfig.fromJSON(#"{"model":"dyresnet","blocks":5}"#).blocks, 5)
    }
}
