import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

/// Issue #9: the trainer evaluates the engine `Model` of its weights through the one
/// `evaluate(model:dataset:…)`, so its history reports what `dyconv eval` reports.
final class TrainerEvaluationTests: XCTestCase {
    /// Oracles: (1) `evaluate(model:)` on the engine model built from `Trainer.checkpoint()`,
    /// which must give the epoch's history exactly; (2) the training graph's own evaluation-mode
    /// logits (`evaluationLogits`), from which the loss and accuracy are computed by hand — the
    /// loss is the mean cross-entropy the trainer always reported.
    func testCondConvHistoryIsTheEngineEvaluation() throws {
        let train = try syntheticDataset(count: 40, seed: 21)
        let test = try syntheticDataset(count: 25, seed: 22)
        var config = tinyConfig(threads: 2, epochs: 2, batch: 8)
        config.temperatureStart = 4
        config.temperatureEnd = 1
        let trainer = try Trainer(config: config, description: tinyModel(routing: .sigmoid), train: train, test: test)
        let metrics = trainer.runEpoch()
        let model = try trainer.checkpoint().makeModel()
        let engine = try evaluate(model: model, dataset: test, options: ForwardOptions(temperature: trainer.temperature))
        XCTAssertEqual(metrics.layers, engine.layers.map(\.withoutClassMeans))  // the history keeps no per-class table
        XCTAssertEqual(metrics.testLoss, Float(engine.loss))
        XCTAssertEqual(metrics.testAccuracy, Float(engine.correct) / Float(engine.images))
        XCTAssertEqual(trainer.checkpoint().training?.entropy, metrics.entropyByLayer)
        XCTAssertEqual(try trainer.evaluate(test), engine)

        let input = test.batch(Array(0..<test.count), normalization: trainer.description.normalization)
        let logits = trainer.evaluationLogits(input, temperature: trainer.temperature)
        var loss = 0.0, correct = 0
        for i in 0..<test.count {
            let row = (0..<3).map { Double(logits[i, $0]) }
            let top = row.max()!
            loss += top + log(row.map { exp($0 - top) }.reduce(0, +)) - row[test.labels![i]]
            if row.firstIndex(of: top) == test.labels![i] { correct += 1 }
        }
        XCTAssertEqual(Double(metrics.testLoss), loss / Double(test.count), accuracy: 1e-4)
        XCTAssertEqual(engine.correct, correct)
        // The sigmoid gates do not sum to 1 (so meanMaxAttention is the raw gate, see EvaluationStatisticsTests).
        XCTAssertTrue(metrics.layers.contains { abs($0.meanMass - 1) > 0.01 })
    }

    /// Training states written before issue #9 keep the trainer's former per-layer statistics
    /// (name, meanEntropy, meanMaxAttention); their history still decodes, so such runs resume.
    /// Oracle: that type's JSON, written out; and a round trip of the current type.
    func testEarlierStateHistoryDecodes() throws {
        let old = #"{"name":"layer1.0.conv","meanEntropy":0.5,"meanMaxAttention":0.75}"#
        XCTAssertEqual(try JSONDecoder().decode(LayerAttentionSummary.self, from: Data(old.utf8)),
                       LayerAttentionSummary(name: "layer1.0.conv", meanEntropy: 0.5, meanMaxAttention: 0.75,
                                             meanAttention: [], meanMass: 0))
        let now = LayerAttentionSummary(name: "l", meanEntropy: 0.25, meanMaxAttention: 0.5, meanAttention: [0.5, 0.25], meanMass: 0.75)
        XCTAssertEqual(try JSONDecoder().decode(LayerAttentionSummary.self, from: JSONEncoder().encode(now)), now)
        XCTAssertThrowsError(try JSONDecoder().decode(LayerAttentionSummary.self, from: Data(#"{"name":"l","meanEntropy":0.5}"#.utf8)))
    }

    /// A run whose weights are no longer finite still closes its epoch: NaN statistics, none correct.
    func testNonFiniteWeightsGiveNaNStatistics() throws {
        let data = try syntheticDataset(count: 12, seed: 23)
        let trainer = try Trainer(config: tinyConfig(threads: 1), description: tinyModel(), train: data, test: data)
        // `load(parameters:)` refuses non-finite weights; a diverged step writes them directly.
        for entry in trainer.layout.parameters where entry.name == "fc.bias" {
            (trainer.parameters.pointer + entry.offset).pointee = .infinity
        }
        let r = try trainer.evaluate(data)
        XCTAssertEqual(r.images, 12)
        XCTAssertEqual(r.correct, 0)
        XCTAssertTrue(r.loss.isNaN)
        XCTAssertTrue(r.layers.allSatisfy { $0.meanEntropy.isNaN })
    }
}
