import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

final class OptimizerTests: XCTestCase {
    func testSGDMatchesPyTorchFormulas() {
        // A description with a conv weight (decayed), BN (not decayed) and attention (no decay, LR × 5).
        let d = testDescription([dynamicConv("d", 1, 1, kernel: 1, padding: 0, kernels: 2, hidden: 1),
                                 .batchNorm(BatchNormSpec(name: "bn", channels: 1))], input: (1, 1, 1))
        let layout = ParameterLayout(d)
        var config = TrainingConfig()
        config.momentum = 0.9
        config.weightDecay = 0.1
        config.attentionLRMultiplier = 5
        config.attentionWeightDecay = 0
        config.normWeightDecay = 0
        for nesterov in [false, true] {
            config.nesterov = nesterov
            let sgd = SGD(layout: layout, config: config)
            let n = layout.parameterCount
            var w = [Float](repeating: 1, count: n), b = [Float](repeating: 0, count: n)
            let g = [Float](repeating: 0.5, count: n)
            let lr: Float = 0.01
            for _ in 0..<2 {
                w.withUnsafeMutableBufferPointer { wp in
                    b.withUnsafeMutableBufferPointer { bp in
                        g.withUnsafeBufferPointer { gp in
                            sgd.update(0..<n, parameters: wp.baseAddress!, gradients: gp.baseAddress!,
                                       momentumBuffer: bp.baseAddress!, learningRate: lr)
                        }
                    }
                }
            }
            // Reference: two PyTorch SGD steps from w = 1 with constant gradient 0.5.
            func reference(decay: Float, lr: Float) -> Float {
                var w: Float = 1, buf: Float = 0
                for step in 0..<2 {
                    let d = 0.5 + decay * w
                    buf = step == 0 ? d : 0.9 * buf + d
                    w -= lr * (nesterov ? d + 0.9 * buf : buf)
                }
                return w
            }
            for e in layout.parameters {
                let expected: Float
                switch e.role {
                case .convWeight: expected = reference(decay: 0.1, lr: lr)
                case .attentionWeight, .attentionBias: expected = reference(decay: 0, lr: 5 * lr)
                default: expected = reference(decay: 0, lr: lr)
                }
                XCTAssertEqual(w[e.offset], expected, accuracy: 1e-6, "\(e.name) nesterov=\(nesterov)")
            }
        }
    }

    func testParameterLayoutFollowsCheckpointNames() {
        let d = Families.dycnn(widths: [8, 16, 32], kernels: 4)
        let layout = ParameterLayout(d)
        let names = Set(layout.parameters.map(\.name) + layout.buffers.map(\.name))
        XCTAssertEqual(names, Set(d.parameterShapes().map(\.name)))
        XCTAssertEqual(layout.parameter("layer3.1.conv.weight")?.shape, [4, 32, 32, 3, 3])
        XCTAssertEqual(layout.parameter("layer3.1.conv.attention.fc2.weight")?.role, .attentionWeight)
        XCTAssertEqual(layout.buffer("stem.bn.running_var")?.role, .runningVar)
        XCTAssertEqual(layout.parameterCount + layout.bufferCount, d.parameterShapes().reduce(0) { $0 + $1.shape.reduce(1, *) })
    }

    func testCosineScheduleWithWarmup() {
        var config = TrainingConfig()
        config.epochs = 10
        config.learningRate = 0.1
        config.minLearningRate = 0.001
        config.warmupEpochs = 1
        let s = Schedules(config: config, iterationsPerEpoch: 10)
        XCTAssertEqual(s.learningRate(at: 0), 0.01, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(at: 9), 0.1, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(at: 10), 0.1, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(at: 55), 0.001 + 0.099 * 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(at: 100), 0.001, accuracy: 1e-4)
        for t in 10..<99 { XCTAssertGreaterThanOrEqual(s.learningRate(at: t), s.learningRate(at: t + 1)) }
    }

    func testOneCycleSchedule() {
        var config = TrainingConfig()
        config.epochs = 10
        config.learningRate = 0.5
        config.schedule = .oneCycle
        let s = Schedules(config: config, iterationsPerEpoch: 10)
        XCTAssertEqual(s.learningRate(at: 0), 0.02, accuracy: 1e-6)              // lr / 25
        XCTAssertEqual(s.learningRate(at: 29), 0.5, accuracy: 1e-6)              // peak at 30% − 1
        XCTAssertEqual(s.learningRate(at: 99), 0.02 / 1e4, accuracy: 1e-8)       // lr / 25 / 1e4
        XCTAssertLessThan(s.learningRate(at: 10), s.learningRate(at: 20))
    }

    func testTemperatureSchedule() {
        var config = TrainingConfig()
        config.temperatureStart = 30
        config.temperatureEnd = 1
        config.temperatureEpochs = 2.5
        let s = Schedules(config: config, iterationsPerEpoch: 4)
        XCTAssertEqual(s.temperature(at: 0), 30)
        XCTAssertEqual(s.temperature(at: 5), 30 - 29 * 0.5, accuracy: 1e-5)
        XCTAssertEqual(s.temperature(at: 10), 1, accuracy: 1e-6)
        XCTAssertEqual(s.temperature(at: 1000), 1)
        config.temperatureEpochs = 0
        XCTAssertEqual(Schedules(config: config, iterationsPerEpoch: 4).temperature(at: 0), 1)
    }

    func testConfigDecodingUsesDefaultsAndValidates() throws {
        let c = try TrainingConfig.fromJSON(#"{"model": "dycnn-condconv", "epochs": 3, "widths": [8, 16, 32]}"#)
        XCTAssertEqual(c.model, "dycnn-condconv")
        XCTAssertEqual(c.epochs, 3)
        XCTAssertEqual(c.kernels, TrainingConfig().kernels)
        XCTAssertEqual(try TrainingConfig.fromJSON(c.jsonString()), c)
        XCTAssertEqual(try c.modelDescription().family, "dycnn-condconv")
        XCTAssertEqual(try c.modelDescription().dynamicConvolutions.first?.routing, .sigmoid)

        func rejects(_ json: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try TrainingConfig.fromJSON(json), line: line) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
            }
        }
        rejects(#"{"model": "nope"}"#, "unknown model 'nope'")
        rejects(#"{"widths": [8, 16]}"#, "widths")
        rejects(#"{"batchSize": 1}"#, "batch size")
        rejects(#"{"learningRate": -1}"#, "learning rate")
        rejects(#"{"momentum": 1.5}"#, "momentum")
        rejects(#"{"temperatureStart": 0}"#, "temperatures")
        rejects(#"{"threads": 0}"#, "threads")
        rejects(#"{"schedule": "linear"}"#, "does not decode")
        rejects(#"{"warmupEpochs": 20, "epochs": 10}"#, "warm-up")
    }

    func testAugmentationFlipsAndShiftsWithZeroFill() throws {
        // One 1×4×4 image with distinct pixels; check flip and shift placement exactly.
        let pixels: [UInt8] = (0..<16).map { UInt8(10 + $0) }
        let data = try ImageDataset(channels: 1, height: 4, width: 4, pixels: pixels, labels: [0], classNames: ["a"])
        // Normalisation mean 0, std 1: a pixel p becomes p / 255, the zero fill 0.
        let table = NormalizationTable(Normalization(mean: [0], std: [1]), channels: 1)
        var out = [Float](repeating: -1, count: 16)
        var label: Int32 = -1
        func run(flip: Bool, dx: Int, dy: Int) -> [Float] {
            [0].withUnsafeBufferPointer { idx in
                [ImagePlacement(flip: flip, dx: dx, dy: dy)].withUnsafeBufferPointer { placement in
                    out.withUnsafeMutableBufferPointer { o in
                        data.assemble(idx, table: table, placements: placement, into: o.baseAddress!, labels: &label)
                    }
                }
            }
            return out.map { $0 * 255 }.map { $0.rounded() }
        }
        XCTAssertEqual(run(flip: false, dx: 0, dy: 0), pixels.map(Float.init))
        XCTAssertEqual(label, 0)
        XCTAssertEqual(Array(run(flip: true, dx: 0, dy: 0)[0..<4]), [13, 12, 11, 10])
        // Shift right by 1 and down by 2: top two rows and left column are zero pixels.
        let shifted = run(flip: false, dx: 1, dy: 2)
        XCTAssertEqual(Array(shifted[0..<8]), [Float](repeating: 0, count: 8))
        XCTAssertEqual(Array(shifted[8..<12]), [0, 10, 11, 12])
        XCTAssertEqual(Array(shifted[12..<16]), [0, 14, 15, 16])
        // Flip, then shift left by 2.
        let both = run(flip: true, dx: -2, dy: 0)
        XCTAssertEqual(Array(both[0..<4]), [11, 10, 0, 0])
    }

    func testEpochPlansArePermutationsWithBoundedShifts() throws {
        let data = try syntheticDataset(count: 50, seed: 20)
        var config = tinyConfig(threads: 1, epochs: 2, batch: 10)
        config.shift = 2
        let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
        let plan0 = trainer.currentPlan()
        XCTAssertEqual(Set(plan0.order), Set(0..<50))
        var flips = 0
        var shifts = Set<Int>()
        for a in plan0.placements {
            flips += a.flip ? 1 : 0
            shifts.insert(a.dx)
            shifts.insert(a.dy)
        }
        XCTAssertEqual(shifts, [-2, -1, 0, 1, 2])
        XCTAssertGreaterThan(flips, 10)
        XCTAssertLessThan(flips, 40)
        trainer.runEpoch()
        XCTAssertNotEqual(trainer.currentPlan().order, plan0.order, "each epoch reshuffles")
    }
}
