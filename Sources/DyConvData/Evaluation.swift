import DyConvEngine

/// Per-layer attention statistics over a set of images.
public struct LayerAttentionSummary: Sendable, Codable, Equatable {
    /// The dynamic layer's name.
    public var name: String
    /// Mean normalized entropy H(π)/ln K (1 = flat, 0 = one-hot).
    public var meanEntropy: Double
    /// Mean of max_k π_k.
    public var meanMaxAttention: Double
    /// Mean π per kernel (K values).
    public var meanAttention: [Double]
    /// Mean Σ_k π_k (1 for softmax routing; free for sigmoid routing).
    public var meanMass: Double
}

/// The accuracy and attention statistics of one model at one τ and aggregation mode.
public struct EvaluationResult: Sendable, Codable, Equatable {
    /// The global τ used, or nil for each layer's trained τ.
    public var temperature: Float?
    public var mode: AggregationMode
    /// Number of images evaluated and how many were classified correctly.
    public var images: Int
    public var correct: Int
    public var layers: [LayerAttentionSummary]

    /// Fraction of correct predictions.
    public var accuracy: Double { images > 0 ? Double(correct) / Double(images) : 0 }
}

/// Evaluates a model on (a prefix of) a dataset in batches.
///
/// The forward passes split each batch over the cores. Neither shuffle depends on the batch:
/// `shuffle-image` seeds each image's permutation with `options.seed` and its dataset index, and
/// in `shuffle-across` mode every image borrows the π of its fixed partner
/// (`ShuffleAcrossPartners(count: dataset.count, seed: options.seed)`), so the result does not
/// depend on `batchSize`. `progress(done, total)` is called after every batch;
/// return `false` from it to stop early (the result then covers the images done so far).
///
/// - Throws: `DataError` (one line) before any work when there is nothing to evaluate (an empty
///   dataset, `limit` below 1) or the model cannot score these labels
///   (`ImageDataset.checkEvaluable(by:name:)`: input shape, headless model, too few classes);
///   `ForwardOptionsError` when a τ is out of range or names no layer
///   (`ForwardOptions.validate(for:)`), or shuffle-across has fewer than 2 images to pair.
public func evaluate(model: Model, dataset: ImageDataset, options: ForwardOptions, limit: Int? = nil,
                     batchSize: Int = 250, progress: ((Int, Int) -> Bool)? = nil) throws -> EvaluationResult {
    try dataset.checkEvaluable(by: model.description)
    if let limit, limit < 1 {
        throw DataError(.invalidArgument, file: "", "the number of images to evaluate must be at least 1, got \(limit)")
    }
    try options.validate(for: model)
    let partners = options.mode == .shuffleAcross ? try ShuffleAcrossPartners(count: dataset.count, seed: options.seed) : nil
    let total = min(limit ?? dataset.count, dataset.count)
    let names = model.dynamicLayerNames
    let ks = model.description.dynamicConvolutions.map(\.kernels)
    var entropy = [Double](repeating: 0, count: names.count)
    var maxPi = entropy, mass = entropy
    var meanPi = ks.map { [Double](repeating: 0, count: $0) }
    var correct = 0
    var done = 0
    var opts = options
    opts.collectTrace = true
    while done < total {
        let indices = Array(done..<min(done + max(batchSize, 1), total))
        let trace = model.forward(dataset, indices: indices, options: opts, partners: partners)
        for (row, i) in indices.enumerated() where trace.prediction(sample: row) == dataset.labels[i] { correct += 1 }
        for (l, layer) in trace.layers.enumerated() {
            let k = layer.kernels
            for row in 0..<indices.count {
                entropy[l] += Double(layer.entropy[row])
                var m: Float = 0, s: Float = 0
                for j in 0..<k {
                    let v = layer.attention[row * k + j]
                    m = max(m, v); s += v
                    meanPi[l][j] += Double(v)
                }
                maxPi[l] += Double(m); mass[l] += Double(s)
            }
        }
        done += indices.count
        if let progress, !progress(done, total) { break }
    }
    let n = Double(max(done, 1))
    let layers = names.indices.map {
        LayerAttentionSummary(name: names[$0], meanEntropy: entropy[$0] / n, meanMaxAttention: maxPi[$0] / n,
                              meanAttention: meanPi[$0].map { $0 / n }, meanMass: mass[$0] / n)
    }
    return EvaluationResult(temperature: options.temperature, mode: options.mode, images: done,
                            correct: correct, layers: layers)
}

extension Model {
    /// Runs images `indices` of `dataset` (normalized for this model) with `options`; in
    /// `shuffle-across` mode each image's partner (from `partners`, required then) runs too, and
    /// `shuffle-image` seeds each image's permutation with its index, so an image's result is
    /// the same in any batch.
    public func forward(_ dataset: ImageDataset, indices: [Int], options: ForwardOptions,
                        partners: ShuffleAcrossPartners?) -> ForwardTrace {
        let input = dataset.batch(indices, normalization: description.normalization)
        guard options.mode == .shuffleAcross, let partners else {
            return forward(input, options: options, partners: nil, imageIndices: indices)
        }
        let partnerImages = dataset.batch(indices.map(partners.partner), normalization: description.normalization)
        return forward(input, options: options, partners: partnerImages, imageIndices: indices)
    }
}
