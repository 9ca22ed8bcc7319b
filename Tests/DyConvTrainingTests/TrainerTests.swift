import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining
import DyConvTestSupport

/// A synthetic, learnable dataset: class `c` has a bright 3×3 blob at a class-specific place.
func syntheticDataset(count: Int, size: Int = 8, classes: Int = 3, seed: UInt64) throws -> ImageDataset {
    var rng = SeededGenerator(seed: seed, stream: 0)
    var pixels = [UInt8](repeating: 0, count: count * size * size)
    var labels = [Int]()
    for i in 0..<count {
        let label = rng.below(classes)
        labels.append(label)
        for p in 0..<(size * size) { pixels[i * size * size + p] = UInt8(rng.below(60)) }
        let cy = 1 + (label * 2) % (size - 3), cx = 1 + (label * 3 + rng.below(2)) % (size - 3)
        for y in cy..<(cy + 3) { for x in cx..<(cx + 3) { pixels[i * size * size + y * size + x] = UInt8(180 + rng.below(70)) } }
    }
    return try ImageDataset(channels: 1, height: size, width: size, pixels: pixels, labels: labels,
                            classNames: (0..<classes).map { "c\($0)" })
}

/// A small model on 1×8×8 inputs with every layer kind the `dycnn` family uses.
func tinyModel(routing: Routing = .softmax, classes: Int = 3) -> ModelDescription {
    let dynamic = routing != .static
    func conv(_ name: String, _ i: Int, _ o: Int, stride: Int = 1) -> LayerSpec {
        .conv(ConvSpec(name: name, inChannels: i, outChannels: o, kernel: 3, stride: stride, padding: 1,
                       routing: routing, kernels: dynamic ? 3 : 1,
                       attention: dynamic ? AttentionSpec(hidden: 4, temperature: 1) : nil))
    }
    let layers: [LayerSpec] = [
        .conv(ConvSpec(name: "stem.conv", inChannels: 1, outChannels: 4, kernel: 3, padding: 1)),
        .batchNorm(BatchNormSpec(name: "stem.bn", channels: 4)), .activation(.relu),
        conv("layer1.0.conv", 4, 6), .batchNorm(BatchNormSpec(name: "layer1.0.bn", channels: 6)), .activation(.relu),
        conv("layer2.0.conv", 6, 8, stride: 2), .batchNorm(BatchNormSpec(name: "layer2.0.bn", channels: 8)), .activation(.relu),
        .globalAvgPool,
        .linear(LinearSpec(name: "fc", inFeatures: 8, outFeatures: classes)),
    ]
    return ModelDescription(family: "tiny", input: InputSpec(channels: 1, height: 8, width: 8),
                            normalization: Normalization(mean: [0.3], std: [0.3]),
                            classes: (0..<classes).map { "c\($0)" }, layers: layers)
}

func tinyConfig(threads: Int = 2, epochs: Int = 2, batch: Int = 8) -> TrainingConfig {
    var c = TrainingConfig()
    c.model = "tiny"
    c.epochs = epochs
    c.batchSize = batch
    c.learningRate = 0.05
    c.threads = threads
    c.temperatureStart = 10
    c.temperatureEpochs = 1
    c.seed = 7
    return c
}

final class TrainerTests: XCTestCase {
    func testLossDecreasesOnFixedBatch() throws {
        let data = try syntheticDataset(count: 16, seed: 1)
        var config = tinyConfig(threads: 1, epochs: 200, batch: 16)
        config.flip = false
        config.shift = 0
        config.schedule = .constant
        config.temperatureEpochs = 0
        let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
        let first = try XCTUnwrap(trainer.step())
        var last = first
        for _ in 0..<60 {
            trainer.nextEpoch()
            last = try XCTUnwrap(trainer.step())
        }
        XCTAssertTrue(first.loss.isFinite && last.loss.isFinite)
        XCTAssertGreaterThan(first.loss, 0.7, "three balanced-ish classes start near ln 3")
        XCTAssertLessThan(last.loss, 0.25 * first.loss, "loss \(first.loss) → \(last.loss)")
        XCTAssertEqual(last.correct, 16)
    }

    func testTwoWorkersMatchOneWorker() throws {
        // Synchronised BatchNorm and summed gradients: splitting the batch must not change the step.
        let data = try syntheticDataset(count: 24, seed: 2)
        var results: [[String: Tensor]] = []
        for threads in [1, 2] {
            var config = tinyConfig(threads: threads, epochs: 1, batch: 12)
            config.seed = 3
            let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
            trainer.step()
            trainer.step()
            results.append(trainer.tensors())
        }
        for (name, a) in results[0] {
            let b = try XCTUnwrap(results[1][name])
            let scale = max(a.data.map { abs($0) }.max() ?? 1, 1)
            XCTAssertLessThan(a.maxAbsDifference(b), 2e-5 * scale, name)
        }
        // And the running statistics really moved.
        XCTAssertNotEqual(results[1]["stem.bn.running_mean"]!.data, [0, 0, 0, 0])
    }

    func testTwoWorkersMatchOneWorkerOnDycnn() throws {
        // The real 28×28 geometry (implicit-GEMM strides 1 and 2, K = 4, fusions).
        let sample = try FashionMNIST.loadSample()
        let data = sample.prefix(72)
        var results: [[String: Tensor]] = []
        var losses: [[Float]] = []
        for threads in [1, 2] {
            var config = TrainingConfig()
            config.widths = [8, 16, 32]
            config.batchSize = 24
            config.threads = threads
            config.seed = 4
            let trainer = try Trainer(config: config, train: data, test: data)
            var l: [Float] = []
            for _ in 0..<3 { l.append(try XCTUnwrap(trainer.step()).loss) }
            losses.append(l)
            results.append(trainer.tensors())
        }
        for (a, b) in zip(losses[0], losses[1]) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(a))) }
        for (name, a) in results[0] {
            let b = try XCTUnwrap(results[1][name])
            let scale = max(a.data.map { abs($0) }.max() ?? 1, 1)
            XCTAssertLessThan(a.maxAbsDifference(b), 1e-4 * scale, name)
        }
    }

    func testDeterministicForSeedAndThreadCount() throws {
        let data = try syntheticDataset(count: 20, seed: 4)
        func run(seed: UInt64) throws -> [String: Tensor] {
            var config = tinyConfig(threads: 2, epochs: 1, batch: 6)
            config.seed = seed
            let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
            trainer.runEpoch()
            return trainer.tensors()
        }
        let a = try run(seed: 5), b = try run(seed: 5), c = try run(seed: 6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    /// The epoch-0 snapshot records the untrained model and leaves the run unchanged.
    func testInitialCheckpointIsEpochZeroAndChangesNothing() throws {
        let data = try syntheticDataset(count: 20, seed: 4)
        let plain = try Trainer(config: tinyConfig(threads: 2, epochs: 1, batch: 6), description: tinyModel(), train: data, test: data)
        let snapped = try Trainer(config: tinyConfig(threads: 2, epochs: 1, batch: 6), description: tinyModel(), train: data, test: data)
        let before = snapped.tensors()
        let (checkpoint, evaluation) = snapped.initialCheckpoint()
        XCTAssertEqual(checkpoint.training?.epoch, 0)
        XCTAssertEqual(checkpoint.description.trainedTemperature, 10)  // τ_start of tinyConfig, stored in the layers
        XCTAssertNil(checkpoint.training?.loss)
        XCTAssertEqual(checkpoint.training?.testAccuracy, Float(evaluation.correct) / Float(evaluation.images))
        XCTAssertEqual(checkpoint.training?.entropy?.count, 2)
        XCTAssertEqual(evaluation.images, 20)
        XCTAssertEqual(checkpoint.tensors, before)
        plain.runEpoch()
        snapped.runEpoch()
        XCTAssertEqual(plain.tensors(), snapped.tensors())
        XCTAssertNotEqual(snapped.tensors(), before)
    }

    func testResumeIsBitIdentical() throws {
        let data = try syntheticDataset(count: 22, seed: 8)
        let test = try syntheticDataset(count: 10, seed: 9)
        let config = tinyConfig(threads: 2, epochs: 3, batch: 8)   // 3 steps per epoch, last batch 6
        let straight = try Trainer(config: config, description: tinyModel(), train: data, test: test)
        while !straight.isFinished { straight.runEpoch() }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-resume-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.state").path

        // Interrupt mid-epoch (after epoch 1 and one step of epoch 2), and again at an epoch end.
        var first: Trainer? = try Trainer(config: config, description: tinyModel(), train: data, test: test)
        first!.runEpoch()
        first!.step()
        try first!.saveState(path: path)
        first = nil
        let second = try Trainer.resume(path: path, train: data, test: test)
        XCTAssertEqual(second.epoch, 1)
        XCTAssertEqual(second.iterationInEpoch, 1)
        second.runEpoch()
        try second.saveState(path: path)
        let third = try Trainer.resume(path: path, train: data, test: test)
        while !third.isFinished { third.runEpoch() }

        XCTAssertEqual(third.tensors(), straight.tensors(), "weights and BatchNorm statistics must be bit-identical")
        XCTAssertEqual(third.history.map(\.loss), straight.history.map(\.loss))
        XCTAssertEqual(third.history.map(\.testAccuracy), straight.history.map(\.testAccuracy))
        XCTAssertEqual(third.iteration, straight.iteration)
    }

    func testResumeRejectsBadFiles() throws {
        let data = try syntheticDataset(count: 8, seed: 10)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-badstate-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.state").path
        XCTAssertThrowsError(try Trainer.resume(path: missing, train: data, test: data)) { error in
            XCTAssertTrue("\(error)".contains("missing.state"), "\(error)")
        }
        let garbage = dir.appendingPathComponent("garbage.state").path
        try Data("not a state file at all".utf8).write(to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try Trainer.resume(path: garbage, train: data, test: data)) { error in
            XCTAssertTrue("\(error)".contains("not a dyconv training state"), "\(error)")
        }
        // A truncated state file.
        let trainer = try Trainer(config: tinyConfig(threads: 1, epochs: 1, batch: 4), description: tinyModel(),
                                  train: data, test: data)
        let good = dir.appendingPathComponent("good.state").path
        try trainer.saveState(path: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let cut = dir.appendingPathComponent("cut.state").path
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try Trainer.resume(path: cut, train: data, test: data)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        XCTAssertNoThrow(try Trainer.resume(path: good, train: data, test: data))
        XCTAssertThrowsError(try Trainer.resume(path: good, train: data, test: data, threads: 0))
        // Weights must be finite.
        var tensors = trainer.tensors()
        tensors["fc.bias"]!.data[0] = .nan
        XCTAssertThrowsError(try trainer.load(parameters: tensors)) { XCTAssertTrue("\($0)".contains("fc.bias"), "\($0)") }
    }

    func testCheckpointLoadsIntoEngineAndMatchesEvaluationForward() throws {
        let data = try syntheticDataset(count: 24, seed: 11)
        for routing in [Routing.softmax, .sigmoid, .static] {
            var config = tinyConfig(threads: 2, epochs: 2, batch: 8)
            config.temperatureStart = 5
            config.temperatureEnd = 0.8
            config.temperatureEpochs = 2
            let trainer = try Trainer(config: config, description: tinyModel(routing: routing), train: data, test: data)
            trainer.runEpoch()
            trainer.step()     // mid-annealing: τ is between start and end
            let checkpoint = trainer.checkpoint()
            let model = try checkpoint.makeModel()
            let input = data.batch(Array(0..<10), normalization: trainer.description.normalization)
            let engine = model.forward(input).logits
            let ours = trainer.evaluationLogits(input, temperature: trainer.temperature)
            XCTAssertLessThan(engine.maxAbsDifference(ours), 1e-4, "\(routing)")
            if routing != .static {
                XCTAssertEqual(checkpoint.description.dynamicConvolutions.first?.attention?.temperature, trainer.temperature)
                XCTAssertGreaterThan(trainer.temperature, 0.8)
                XCTAssertLessThan(trainer.temperature, 5)
            }
            XCTAssertEqual(checkpoint.training?.epoch, 1)
            XCTAssertEqual(checkpoint.training?.epochs, 2)
            XCTAssertEqual(checkpoint.training?.testAccuracy, trainer.history.last?.testAccuracy)
            // Round trip through the file format.
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-ckpt-\(getpid()).safetensors").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try checkpoint.write(path: path)
            let read = try Checkpoint.read(path: path)
            XCTAssertEqual(read.tensors, checkpoint.tensors)
            XCTAssertEqual(read.training, checkpoint.training)
        }
    }

    func testEvaluationReportsAttentionStatistics() throws {
        let data = try syntheticDataset(count: 30, seed: 12)
        let trainer = try Trainer(config: tinyConfig(), description: tinyModel(), train: data, test: data)
        let hot = try trainer.evaluate(data, temperature: 1000)
        XCTAssertEqual(hot.images, 30)
        XCTAssertEqual(hot.layers.map(\.name), ["layer1.0.conv", "layer2.0.conv"])
        for layer in hot.layers {
            XCTAssertEqual(layer.meanEntropy, 1, accuracy: 1e-3, "τ → ∞ gives uniform attention")
            XCTAssertEqual(layer.meanMaxAttention, 1 / 3, accuracy: 1e-3)
        }
        // With fc2 = 0 and fc2.bias = [1, 0, −1], π = softmax([1, 0, −1] / τ) for every image.
        var tensors = trainer.tensors()
        for layer in ["layer1.0.conv", "layer2.0.conv"] {
            tensors["\(layer).attention.fc2.weight"] = .zeros([3, 4])
            tensors["\(layer).attention.fc2.bias"] = Tensor(shape: [3], data: [1, 0, -1])
        }
        try trainer.load(parameters: tensors)
        let cold = try trainer.evaluate(data, temperature: 0.01)
        for layer in cold.layers {
            XCTAssertLessThan(layer.meanEntropy, 1e-6, "τ → 0 gives one-hot attention")
            XCTAssertEqual(layer.meanMaxAttention, 1, accuracy: 1e-6)
        }
        let e = [Float(1), 0, -1].map { expf($0) }
        let pi = e.map { $0 / e.reduce(0, +) }
        let entropy = -pi.map { $0 * logf($0) }.reduce(0, +) / logf(3)
        for layer in try trainer.evaluate(data, temperature: 1).layers {
            XCTAssertEqual(layer.meanEntropy, Double(entropy), accuracy: 1e-5)
            XCTAssertEqual(layer.meanMaxAttention, Double(pi[0]), accuracy: 1e-5)
        }
        // Same answer with one worker.
        var single = tinyConfig(threads: 1)
        single.seed = tinyConfig().seed
        let one = try Trainer(config: single, description: tinyModel(), train: data, test: data)
        try one.load(parameters: trainer.tensors())
        let a = try one.evaluate(data, temperature: 2), b = try trainer.evaluate(data, temperature: 2)
        XCTAssertEqual(a.correct, b.correct)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5)
        XCTAssertEqual(a.layers[1].meanEntropy, b.layers[1].meanEntropy, accuracy: 1e-5)
        XCTAssertEqual(try trainer.evaluate(data, limit: 7).images, 7)
        // Images of another size are rejected instead of overrunning the buffers.
        let big = try syntheticDataset(count: 4, size: 10, seed: 15)
        XCTAssertThrowsError(try trainer.evaluate(big)) { XCTAssertTrue("\($0)".contains("10"), "\($0)") }
        XCTAssertThrowsError(try trainer.evaluate(data, temperature: 0))
    }

    func testTemperatureAnnealsEveryIteration() throws {
        let data = try syntheticDataset(count: 40, seed: 13)
        var config = tinyConfig(threads: 1, epochs: 3, batch: 10)   // 4 steps per epoch
        config.temperatureStart = 30
        config.temperatureEnd = 1
        config.temperatureEpochs = 2                                // 8 steps of annealing
        let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
        var taus: [Float] = []
        while !trainer.isFinished {
            while let s = trainer.step() { taus.append(s.temperature) }
            trainer.finishEpoch()
        }
        let expected: [Float] = (0..<12).map { $0 < 8 ? 30 - 29 * Float($0) / 8 : 1 }
        XCTAssertEqual(taus.count, 12)
        for (a, b) in zip(taus, expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertEqual(trainer.history.map(\.temperature).last, 1)
    }

    func testFamilyModelsTrainOnFashionMNISTSample() throws {
        let sample = try FashionMNIST.loadSample()
        let train = sample.prefix(40), test = sample.subset(40..<60)
        for model in ["dycnn", "dycnn-static", "dycnn-condconv"] {
            var config = TrainingConfig()
            config.model = model
            config.widths = [4, 4, 8]
            config.kernels = 2
            config.epochs = 1
            config.batchSize = 20
            let trainer = try Trainer(config: config, train: train, test: test)
            XCTAssertEqual(trainer.description.family, model)
            let metrics = trainer.runEpoch()
            XCTAssertEqual(metrics.epoch, 1)
            XCTAssertTrue(metrics.loss.isFinite)
            XCTAssertEqual(metrics.layers.count, model == "dycnn-static" ? 0 : 6)
            // The engine's inference forward on the checkpoint equals the training graph's
            // evaluation-mode forward on the real 28×28 geometry.
            let engine = try trainer.checkpoint().makeModel()
            let input = test.batch(Array(0..<12), normalization: trainer.description.normalization)
            let ours = trainer.evaluationLogits(input, temperature: trainer.temperature)
            XCTAssertLessThan(engine.forward(input).logits.maxAbsDifference(ours), 1e-4, model)
        }
    }

    func testLastBatchOfOneImageOnTwoWorkers() throws {
        // 9 images, batch 8: the second step has one image, so worker 1 gets none.
        let data = try syntheticDataset(count: 9, seed: 16)
        let trainer = try Trainer(config: tinyConfig(threads: 2, epochs: 1, batch: 8), description: tinyModel(),
                                  train: data, test: data)
        XCTAssertEqual(trainer.iterationsPerEpoch, 2)
        XCTAssertEqual(trainer.step()?.images, 8)
        let last = try XCTUnwrap(trainer.step())
        XCTAssertEqual(last.images, 1)
        XCTAssertTrue(last.loss.isFinite)
        XCTAssertNil(trainer.step())
        XCTAssertTrue(trainer.tensors().values.allSatisfy(\.isFinite))
    }

    func testDatasetMustFitModel() throws {
        let data = try syntheticDataset(count: 10, seed: 14)
        XCTAssertThrowsError(try Trainer(config: TrainingConfig(), train: data, test: data)) { error in
            XCTAssertTrue("\(error)".contains("28"), "\(error)")
        }
    }
}

extension Trainer {
    /// Completes the current epoch (steps left, then the test evaluation).
    func nextEpoch() {
        while step() != nil {}
        finishEpoch()
    }
}
