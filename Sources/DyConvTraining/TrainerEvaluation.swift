import DyConvData
import DyConvEngine
import Foundation

// Evaluation of the current weights (running BatchNorm statistics) on a dataset.

extension Trainer {
    // MARK: - Evaluation

    /// Evaluates the current weights in evaluation mode (running BatchNorm statistics) on the
    /// first `limit` images of `dataset` (all by default), at `temperature` (default: current τ).
    ///
    /// - Throws: `DataError` when the images or classes do not fit the model, `TrainingError`
    ///   for a non-positive temperature.
    public func evaluate(_ dataset: ImageDataset, temperature: Float? = nil, limit: Int? = nil) throws -> Evaluation {
        try dataset.checkCompatible(with: description, name: "evaluation set")
        if let temperature, !(temperature > 0 && temperature.isFinite) {
            throw TrainingError("temperature must be > 0, got \(temperature)")
        }
        return evaluateCompatible(dataset, temperature: temperature, limit: limit)
    }

    /// `evaluate` for a dataset already known to fit.
    func evaluateCompatible(_ dataset: ImageDataset, temperature: Float? = nil, limit: Int? = nil) -> Evaluation {
        let total = max(0, min(limit ?? dataset.count, dataset.count))
        let tau = temperature ?? self.temperature
        let layerCount = graphs[0].dynamicNodes.count
        let stride = 2 + 2 * layerCount
        let chunk = workerBatch
        let chunks = (total + chunk - 1) / chunk
        let partials = self.partials
        let table = normalizationTable
        let classes = self.classes
        let order = Array(0..<total)
        do {
            order.withUnsafeBufferPointer { orderBuffer in
                pool.run { w in
                    let graph = graphs[w]
                    let context = graph.context
                    context.training = false
                    context.synchronize = false
                    context.updateRunningStatistics = false
                    context.temperature = tau
                    let mine = partials + w * stride
                    mine.update(repeating: 0, count: stride)
                    var c = w
                    while c < chunks {
                        let range = (c * chunk)..<min((c + 1) * chunk, total)
                        let m = range.count
                        dataset.assemble(UnsafeBufferPointer(rebasing: orderBuffer[range]), table: table,
                                         into: inputs[w].pointer, labels: labels[w])
                        let logits = graph.forward(inputs[w].pointer, n: m)
                        let result = CrossEntropy.evaluate(logits, labels: labels[w], n: m, classes: classes,
                                                           scale: 0, grad: nil)
                        mine[0] += result.loss
                        mine[1] += Double(result.correct)
                        for (l, node) in graph.dynamicNodes.enumerated() {
                            let k = node.kernels
                            let pi = node.attention.pointer
                            var entropy = 0.0, maxPi = 0.0
                            for s in 0..<m {
                                let row = UnsafeBufferPointer(start: pi + s * k, count: k)
                                entropy += Double(normalizedEntropy(row))
                                var total: Float = 0, largest: Float = 0
                                for v in row { total += max(v, 0); largest = max(largest, v) }
                                maxPi += total > 0 ? Double(largest / total) : 0
                            }
                            mine[2 + l] += entropy
                            mine[2 + layerCount + l] += maxPi
                        }
                        c += threads
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: stride)
        for w in 0..<threads { for i in 0..<stride { sums[i] += partials[w * stride + i] } }
        let images = Double(max(total, 1))
        let layers = graphs[0].dynamicNodes.enumerated().map { l, node in
            LayerAttentionStatistics(name: node.spec.name, meanEntropy: Float(sums[2 + l] / images),
                                     meanMaxAttention: Float(sums[2 + layerCount + l] / images))
        }
        return Evaluation(images: total, correct: Int(sums[1]), loss: Float(sums[0] / images),
                          temperature: tau, layers: layers)
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
