import DyConvEngine

/// One batch of `evaluate(model:dataset:options:limit:batchSize:onBatch:)`, as it finishes.
public struct EvaluationBatch: Sendable {
    /// The dataset indices of the batch (consecutive, from 0 upwards over the batches).
    public var indices: Range<Int>
    /// The batch's forward trace (attention of every dynamic layer, logits, probabilities).
    public var trace: ForwardTrace
    /// The result over every image done so far, this batch included.
    public var result: EvaluationResult
    /// Images to evaluate in all.
    public var total: Int
}

/// Evaluates a model on (a prefix of) a dataset in batches; the statistics are those of
/// `EvaluationResult` (see `EvaluationAccumulator`). An unlabelled dataset gives the attention
/// statistics with nothing scored (`EvaluationResult.isScored` false: no accuracy, no loss).
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
    try evaluate(model: model, dataset: dataset, options: options, limit: limit, batchSize: batchSize) { batch in
        progress?(batch.result.images, batch.total) ?? true
    }
}

/// `evaluate(model:dataset:options:limit:batchSize:progress:)` that hands each finished batch
/// (its trace and the result so far) to `onBatch`; return `false` from it to stop early.
public func evaluate(model: Model, dataset: ImageDataset, options: ForwardOptions, limit: Int? = nil,
                     batchSize: Int = 250, onBatch: (EvaluationBatch) -> Bool) throws -> EvaluationResult {
    try dataset.checkEvaluable(by: model.description)
    if let limit, limit < 1 {
        throw DataError(.invalidArgument, file: "", "the number of images to evaluate must be at least 1, got \(limit)")
    }
    try options.validate(for: model)
    let partners = options.mode == .shuffleAcross ? try ShuffleAcrossPartners(count: dataset.count, seed: options.seed) : nil
    let total = min(limit ?? dataset.count, dataset.count)
    var statistics = EvaluationAccumulator(model: model)
    var opts = options
    opts.collectTrace = true
    while statistics.images < total {
        let done = statistics.images
        let indices = done..<min(done + max(batchSize, 1), total)
        let trace = model.forward(dataset, indices: Array(indices), options: opts, partners: partners)
        statistics.add(trace, labels: dataset.labels.map { Array($0[indices]) })
        let result = statistics.result(temperature: options.temperature, mode: options.mode)
        if !onBatch(EvaluationBatch(indices: indices, trace: trace, result: result, total: total)) { break }
    }
    return statistics.result(temperature: options.temperature, mode: options.mode)
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
