import DyConvData
import DyConvEngine
import DyConvReport
import Foundation
import XCTest

// Tiny synthetic checkpoints and data for the report tests, built in memory and written to a
// temporary folder so that the report reads them through the same loader as the CLI.
//
// A checkpoint here is a dycnn of widths 2/2/2 (a few hundred parameters) with seeded random
// weights (BatchNorm variances positive) and a `dyconv.recipe` from `TrainingConfig`, so its
// group and comparisons are those of a trained run of that recipe; the dataset is 24 seeded
// random 28×28 images with labels 0…9 in turn.

enum ReportFixtures {
    /// A tiny run's recipe: the `dyconv.recipe` JSON (missing keys take `TrainingConfig`'s
    /// defaults, as in any recipe) and the model it trains.
    struct Recipe {
        var model = "dycnn", kernels = 2, seed = 0, epochs = 3
        var temperature: (start: Float, end: Float, epochs: Float) = (30, 1, 2)

        var json: String {
            "{\"model\":\"\(model)\",\"widths\":[2,2,2],\"kernels\":\(kernels),\"seed\":\(seed),\"epochs\":\(epochs),"
                + "\"temperatureStart\":\(temperature.start),\"temperatureEnd\":\(temperature.end),"
                + "\"temperatureEpochs\":\(temperature.epochs)}"
        }

        var description: ModelDescription {
            let routing: Routing = model.hasSuffix("-static") ? .static : (model.hasSuffix("-condconv") ? .sigmoid : .softmax)
            return Families.dycnn(widths: [2, 2, 2], routing: routing, kernels: kernels, temperature: temperature.end)
        }
    }

    /// A checkpoint of `recipe` with weights drawn from `weightSeed` (default: from the recipe's seed).
    static func checkpoint(_ recipe: Recipe, weightSeed: UInt64? = nil, history: [TrainingRecord.Epoch] = []) -> Checkpoint {
        let description = recipe.description
        var rng = SeededGenerator(seed: weightSeed ?? UInt64(recipe.seed) &+ 100)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in description.parameterShapes() {
            var t = Tensor.zeros(shape)
            for i in 0..<t.count {
                let v = rng.nextNormal()
                // Running variances must be positive; the rest is scaled so activations stay moderate.
                t.data[i] = name.hasSuffix("running_var") ? 0.5 + abs(v) : 0.5 * v
            }
            tensors[name] = t
        }
        return Checkpoint(description: description, tensors: tensors, metadata: ["dyconv.recipe": recipe.json],
                          training: TrainingRecord(epoch: recipe.epochs, epochs: recipe.epochs, history: history))
    }

    /// 24 seeded random 28×28 grey images, labels 0…9 in turn, Fashion-MNIST class names.
    static func dataset(count: Int = 24) throws -> ImageDataset {
        var rng = SeededGenerator(seed: 7)
        let pixels = (0..<(count * 28 * 28)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return try ImageDataset(channels: 1, height: 28, width: 28, pixels: pixels, labels: (0..<count).map { $0 % 10 },
                                classNames: Families.fashionMNISTClasses)
    }

    /// A fresh temporary folder (removed by the test's teardown block).
    static func temporaryDirectory(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// The CLI's loader, as far as the report needs it: read, then build the model.
    static func load(_ path: String) throws -> (Checkpoint, Model) {
        let c = try Checkpoint.read(path: path)
        return (c, try c.makeModel())
    }

    /// A hand-made checkpoint report (no evaluation) with trained-τ accuracies per mode and one
    /// layer's mean entropy and mean Σ of the coefficients, for grouping and comparison tests.
    static func report(path: String, family: String = "dycnn", routing: String = "softmax", kernels: Int = 4,
                       recipe: [String]?, seed: Int?, accuracy: Double, average: Double? = nil,
                       entropy: Double = 0.5, mass: Double = 1) -> CheckpointReport {
        func eval(_ mode: AggregationMode, _ acc: Double) -> EvaluationResult {
            let correct = Int((acc * 1000).rounded())
            return EvaluationResult(temperature: nil, mode: mode, images: 1000, correct: correct, loss: 0.3,
                                    layers: [LayerAttentionSummary(name: "layer1.0.conv", meanEntropy: entropy, meanMaxAttention: 0.5,
                                                                   meanAttention: [0.5, 0.5], meanMass: mass)])
        }
        var evaluations = [eval(.attention, accuracy)]
        if let average { evaluations.append(eval(.average, average)) }
        return CheckpointReport(path: path, name: path, family: family, routing: routing, kernels: kernels, recipe: recipe,
                                seed: seed, group: -1, parameters: 100 * max(kernels, 1), multiplyAdds: 1000, trainedTemperature: 1,
                                evaluations: evaluations, history: [])
    }

    /// The recipe parts a recipe of `model`, `kernels` and τ schedule would have (a few fields suffice).
    static func parts(model: String = "dycnn", kernels: Int? = 4, start: Int? = 30, end: Int? = 1, epochs: Int? = 5,
                      trainEpochs: Int = 30, widths: String = "8/16/32") -> [String] {
        var p = ["epochs=\(trainEpochs)", "model=\(model)", "widths=\(widths)"]
        if let kernels { p.append("kernels=\(kernels)") }
        if let start { p.append("temperatureStart=\(start)") }
        if let end { p.append("temperatureEnd=\(end)") }
        if let epochs { p.append("temperatureEpochs=\(epochs)") }
        return p.sorted()
    }
}
