import DyConvData
import DyConvEngine
import Foundation

// Evaluation of the current weights (running BatchNorm statistics) on a dataset: the engine's
// `Model` of the current tensors through the one `evaluate(model:dataset:…)` routine, so the
// training history's statistics are those `dyconv eval` and the visualizer report.

extension Trainer {
    // MARK: - Evaluation

    /// Evaluates the current weights in evaluation mode (running BatchNorm statistics) on the
    /// first `limit` images of `dataset` (all by default), at `temperature` (default: current τ).
    ///
    /// - Throws: `DataError` when the images or classes do not fit the model or `limit` is below
    ///   1, `TrainingError` for a non-positive temperature, `ForwardOptionsError` for one outside
    ///   `Limits.temperature`.
    public func evaluate(_ dataset: ImageDataset, temperature: Float? = nil, limit: Int? = nil) throws -> EvaluationResult {
        try dataset.checkCompatible(with: description, name: "evaluation set")
        if let temperature, !(temperature > 0 && temperature.isFinite) {
            throw TrainingError("temperature must be > 0, got \(temperature)")
        }
        let tau = temperature ?? self.temperature
        guard let model = currentModel() else { return Trainer.notFinite(dataset, limit: limit, temperature: tau, layers: description) }
        return try DyConvData.evaluate(model: model, dataset: dataset, options: ForwardOptions(temperature: tau), limit: limit)
    }

    /// `evaluate` of the whole dataset, already known to fit, at the current τ.
    func evaluateCompatible(_ dataset: ImageDataset) -> EvaluationResult {
        do {
            return try evaluate(dataset)
        } catch {
            // The trainer checked the datasets when it was made, and τ stays between the
            // configured start and end, both validated against `Limits.temperature`.
            preconditionFailure("Trainer: evaluating a dataset checked at init failed: \(error)")
        }
    }

    /// The fraction correct as the training history has always recorded it (Float division).
    static func accuracy(_ result: EvaluationResult) -> Float {
        result.images > 0 ? Float(result.correct) / Float(result.images) : 0
    }

    /// The engine model of the current weights and τ; nil when a weight is not finite (a
    /// diverged run), which `Model` refuses.
    func currentModel() -> Model? {
        try? checkpoint().makeModel()
    }

    /// The result for weights that are not finite: no image counts as correct, the loss and
    /// every statistic are NaN.
    private static func notFinite(_ dataset: ImageDataset, limit: Int?, temperature: Float,
                                  layers description: ModelDescription) -> EvaluationResult {
        let images = max(0, min(limit ?? dataset.count, dataset.count))
        let layers = description.dynamicConvolutions.map {
            LayerAttentionSummary(name: $0.name, meanEntropy: .nan, meanMaxAttention: .nan,
                                  meanAttention: [Double](repeating: .nan, count: $0.kernels), meanMass: .nan)
        }
        return EvaluationResult(temperature: temperature, mode: .attention, images: images, correct: 0, loss: .nan, layers: layers)
    }

    // MARK: - Test hooks

    /// Runs forward on a normalised batch in evaluation mode and returns the logits (for tests
    /// that compare with the engine's `Model`).
    func evaluationLogits(_ input: Tensor, temperature: Float) -> Tensor {
        let n = input.shape[0]
        var out: [Float] = []
        var start = 0
        let size = graphs[0].inputSize
        while start < n {
            let m = min(workerBatch, n - start)
            let graph = graphs[0]
            graph.context.training = false
            graph.context.synchronize = false
            graph.context.temperature = temperature
            input.data.withUnsafeBufferPointer { buffer in
                let logits = graph.forward(buffer.baseAddress! + start * size, n: m)
                out.append(contentsOf: UnsafeBufferPointer(start: logits, count: m * classes))
            }
            start += m
        }
        return Tensor(shape: [n, classes], data: out)
    }
}
