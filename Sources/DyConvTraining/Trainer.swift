import DyConvData
import DyConvEngine
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Trains a `ModelDescription` with SGD on an `ImageDataset`, data-parallel over threads.
///
/// Each step splits the batch over `config.threads` workers; every worker runs forward and
/// backward on its share with its own workspaces, BatchNorm statistics are summed over all
/// workers (so they are those of the full batch), gradients are summed in worker order and
/// each worker updates a slice of the parameters. Shuffling and augmentation are drawn from
/// `(seed, epoch)` on one thread, so a run is deterministic for a given seed and thread count,
/// and `saveState` / `resume` continue it bit-exactly.
///
/// Typical use:
/// ```
/// let trainer = try Trainer(config: config, train: train, test: test)
/// while !trainer.isFinished {
///     let metrics = trainer.runEpoch { progress in ... }
///     try trainer.checkpoint().write(path: out)
///     try trainer.saveState(path: out + ".state")
/// }
/// ```
public final class Trainer {
    /// The run's settings.
    public let config: TrainingConfig
    /// The model being trained (attention τ = `config.temperatureEnd`).
    public let description: ModelDescription
    /// Names, shapes and offsets of every tensor.
    public let layout: ParameterLayout
    /// Steps per epoch (the last batch may be smaller).
    public let iterationsPerEpoch: Int
    /// Epoch summaries so far.
    public internal(set) var history: [EpochMetrics] = []

    /// Completed epochs.
    public var epoch: Int { counters.epoch }
    /// Steps done in the current epoch.
    public var iterationInEpoch: Int { counters.iterationInEpoch }
    /// Steps done over the whole run.
    public var iteration: Int { counters.globalIteration }
    /// Whether all configured epochs are done.
    public var isFinished: Bool { counters.epoch >= config.epochs }
    /// τ of the last step (the start τ before any step).
    public var temperature: Float { schedules.temperature(at: max(counters.globalIteration - 1, 0)) }
    /// Learning rate of the last step (the first step's before any step).
    public var learningRate: Float { schedules.learningRate(at: max(counters.globalIteration - 1, 0)) }

    let train: ImageDataset
    let test: ImageDataset
    let schedules: Schedules
    let sgd: SGD
    let threads: Int
    let workerBatch: Int
    let parameters: FloatBuffer
    let buffers: FloatBuffer
    let momentum: FloatBuffer
    let gradients: [FloatBuffer]
    let shared: SharedGraphState
    let graphs: [TrainingGraph]
    let pool: WorkerPool
    let inputs: [FloatBuffer]
    let labels: [UnsafeMutablePointer<Int32>]
    let partials: UnsafeMutablePointer<Double>
    let classes: Int
    var counters = Counters()
    var plan: EpochPlan?

    /// Progress counters (saved with the state).
    struct Counters: Codable, Equatable {
        var epoch = 0
        var iterationInEpoch = 0
        var globalIteration = 0
        var epochLoss = 0.0
        var epochCorrect = 0
        var epochImages = 0
        var epochSeconds = 0.0

        /// Closes the current epoch: advances the epoch and clears the per-epoch sums.
        mutating func startNextEpoch() {
            epoch += 1
            iterationInEpoch = 0
            epochLoss = 0
            epochCorrect = 0
            epochImages = 0
            epochSeconds = 0
        }
    }

    /// The order and augmentation of one epoch, derived from `(seed, epoch)`.
    struct EpochPlan {
        let epoch: Int
        /// Dataset index of each position.
        let order: [Int]
        /// The flip and shift of each position.
        let placements: [ImagePlacement]
    }

    /// Creates a trainer for the model `config` names, with freshly initialised weights.
    public convenience init(config: TrainingConfig, train: ImageDataset, test: ImageDataset) throws {
        try self.init(config: config, description: try config.modelDescription(), train: train, test: test)
    }

    /// Creates a trainer for any description (e.g. a tiny test model), with fresh weights.
    ///
    /// - Throws: `TrainingError` for a bad config or description, `DataError` when a dataset
    ///   does not fit the model.
    public convenience init(config: TrainingConfig, description: ModelDescription,
                            train: ImageDataset, test: ImageDataset) throws {
        try config.validate(checkingModel: false)
        do { try description.validate() } catch {
            throw TrainingError("model '\(description.family)' is invalid: \(error)")
        }
        try train.checkCompatible(with: description, name: "training set")
        try test.checkCompatible(with: description, name: "test set")
        guard train.count >= 2 else { throw TrainingError("training set needs at least 2 images, has \(train.count)") }
        // Before the initial weights: those alone can be tens of GB (widths 4096, K=64).
        try Trainer.checkMemory(config: config, description: description, threads: config.threads,
                                trainImages: train.count)
        let initial = Trainer.initialParameters(description, config: config)
        try self.init(validated: config, description: description, train: train, test: test,
                      parameters: initial, threads: config.threads)
    }

    init(validated config: TrainingConfig, description: ModelDescription, train: ImageDataset,
                 test: ImageDataset, parameters initial: [String: Tensor], threads: Int) throws {
        try Trainer.checkMemory(config: config, description: description, threads: threads, trainImages: train.count)
        // OpenBLAS one thread per call: the trainer parallelises over the batch itself.
        Parallel.configureBLAS()
        self.config = config
        self.description = description
        self.train = train
        self.test = test
        layout = ParameterLayout(description)
        iterationsPerEpoch = (train.count + config.batchSize - 1) / config.batchSize
        schedules = Schedules(config: config, iterationsPerEpoch: iterationsPerEpoch)
        sgd = SGD(layout: layout, config: config)
        self.threads = threads
        workerBatch = (config.batchSize + threads - 1) / threads
        classes = description.classes.count
        parameters = FloatBuffer(count: layout.parameterCount)
        buffers = FloatBuffer(count: layout.bufferCount)
        momentum = FloatBuffer(count: layout.parameterCount)
        let parameterCount = layout.parameterCount
        gradients = (0..<threads).map { _ in FloatBuffer(count: parameterCount) }
        shared = SharedGraphState(workers: threads)
        var graphs: [TrainingGraph] = []
        for w in 0..<threads {
            let storage = StoragePointers(parameters: parameters.pointer, buffers: buffers.pointer,
                                          gradients: gradients[w].pointer)
            graphs.append(TrainingGraph(description: description, layout: layout, storage: storage,
                                        maxBatch: workerBatch, context: GraphContext(worker: w, shared: shared)))
        }
        self.graphs = graphs
        guard graphs[0].outputSize == classes else {
            throw TrainingError("model '\(description.family)' outputs \(graphs[0].outputSize) values per image, expected \(classes) class logits")
        }
        // Created before the raw allocations below, so that a failure here leaks nothing.
        pool = try WorkerPool(count: threads)
        let batch = workerBatch, inputSize = graphs[0].inputSize
        inputs = (0..<threads).map { _ in FloatBuffer(count: batch * inputSize) }
        labels = (0..<threads).map { _ in
            let p = UnsafeMutablePointer<Int32>.allocate(capacity: max(batch, 1))
            p.initialize(repeating: 0, count: max(batch, 1))
            return p
        }
        let partialCount = 2 * threads   // each worker's loss and correct count of a step
        partials = .allocate(capacity: partialCount)
        partials.initialize(repeating: 0, count: partialCount)
        try load(parameters: initial)
    }

    deinit {
        pool.shutdown()
        for p in labels { p.deallocate() }
        partials.deallocate()
    }

    // MARK: - Parameters

    /// Fresh weights: Kaiming-normal (fan-out) convolutions, BatchNorm γ=1 β=0, PyTorch-default
    /// linear layers, attention FCs per `config.attentionInit` (fc2 bias 0 with Kaiming).
    static func initialParameters(_ description: ModelDescription, config: TrainingConfig) -> [String: Tensor] {
        var p = Model.seededParameters(description, seed: config.seed)
        guard config.attentionInit == .pytorch else { return p }
        var rng = SeededGenerator(seed: config.seed, stream: 1)
        for conv in description.dynamicConvolutions {
            guard let a = conv.attention else { continue }
            func uniform(_ shape: [Int], fanIn: Int) -> Tensor {
                let bound = 1 / Float(fanIn).squareRoot()
                var t = Tensor.zeros(shape)
                for i in 0..<t.count {
                    t.data[i] = (rng.nextUnitFloat() * 2 - 1) * bound
                }
                return t
            }
            p["\(conv.name).attention.fc1.weight"] = uniform([a.hidden, conv.inChannels], fanIn: conv.inChannels)
            if a.fc1Bias { p["\(conv.name).attention.fc1.bias"] = uniform([a.hidden], fanIn: conv.inChannels) }
            p["\(conv.name).attention.fc2.weight"] = uniform([conv.kernels, a.hidden], fanIn: a.hidden)
            p["\(conv.name).attention.fc2.bias"] = uniform([conv.kernels], fanIn: a.hidden)
        }
        return p
    }

    /// Replaces the weights and BatchNorm statistics (all names of the layout are required).
    ///
    /// - Throws: `TrainingError` naming a missing or misshapen tensor.
    public func load(parameters tensors: [String: Tensor]) throws {
        for (entries, storage) in [(layout.parameters, parameters), (layout.buffers, buffers)] {
            for entry in entries {
                guard let t = tensors[entry.name] else { throw TrainingError("missing tensor '\(entry.name)'") }
                guard t.shape == entry.shape else {
                    throw TrainingError("tensor '\(entry.name)' has shape \(t.shape), the model needs \(entry.shape)")
                }
                guard t.isFinite else { throw TrainingError("tensor '\(entry.name)' has non-finite values") }
                t.data.withUnsafeBufferPointer {
                    (storage.pointer + entry.offset).update(from: $0.baseAddress!, count: entry.count)
                }
            }
        }
    }

    /// The current weights and BatchNorm statistics by checkpoint name.
    public func tensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (entries, storage) in [(layout.parameters, parameters), (layout.buffers, buffers)] {
            for entry in entries {
                out[entry.name] = Tensor(shape: entry.shape,
                                         data: Array(UnsafeBufferPointer(start: storage.pointer + entry.offset,
                                                                         count: entry.count)))
            }
        }
        return out
    }

    /// The model with its current weights, the current τ as trained temperature, and a
    /// `TrainingRecord` of the last finished epoch, with every finished epoch in its `history`;
    /// `metadata["dyconv.recipe"]` holds the config.
    public func checkpoint() -> Checkpoint {
        let last = history.last
        let epochs = history.map {
            TrainingRecord.Epoch(epoch: $0.epoch, temperature: $0.temperature, loss: $0.loss, trainAccuracy: $0.trainAccuracy,
                                 testAccuracy: $0.testAccuracy, entropy: $0.entropyByLayer)
        }
        return checkpoint(record: TrainingRecord(epoch: counters.epoch, epochs: config.epochs,
                                                 loss: last?.loss, trainAccuracy: last?.trainAccuracy,
                                                 testAccuracy: last?.testAccuracy, entropy: last?.entropyByLayer,
                                                 history: epochs.isEmpty ? nil : epochs))
    }

    /// The current weights and τ with `record` as the checkpoint's training record.
    private func checkpoint(record: TrainingRecord) -> Checkpoint {
        var d = description
        d.setAttentionTemperature(temperature)
        return Checkpoint(description: d, tensors: tensors(), metadata: ["dyconv.recipe": config.jsonString()],
                          training: record)
    }

    /// The model before any training step, as epoch 0 of the training history: the initial
    /// weights at the starting τ, with its test-set accuracy and attention entropy (the
    /// visualizer shows where the attention started). Evaluating changes no training state.
    ///
    /// - Precondition: no step has run yet.
    public func initialCheckpoint() -> (checkpoint: Checkpoint, evaluation: EvaluationResult) {
        precondition(counters.epoch == 0 && history.isEmpty && counters.epochImages == 0,
                     "initialCheckpoint() after training started")
        let evaluation = evaluateCompatible(test)
        let entropy = evaluation.layers.entropyByName
        let record = TrainingRecord(epoch: 0, epochs: config.epochs, loss: nil,
                                    trainAccuracy: nil, testAccuracy: Trainer.accuracy(evaluation),
                                    entropy: entropy.isEmpty ? nil : entropy)
        return (checkpoint(record: record), evaluation)
    }

    /// The model's normalisation as a lookup table (built once).
    lazy var normalizationTable = NormalizationTable(description.normalization, channels: description.input.channels)

    // MARK: - Training

    /// Wall-clock seconds since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Runs one SGD step of the current epoch; `nil` when the epoch's steps are all done
    /// (then call `finishEpoch()`).
    @discardableResult
    public func step() -> StepMetrics? {
        guard counters.iterationInEpoch < iterationsPerEpoch else { return nil }
        let plan = epochPlan()
        let start = counters.iterationInEpoch * config.batchSize
        let n = min(config.batchSize, train.count - start)
        let t = counters.globalIteration
        let tau = schedules.temperature(at: t)
        let lr = schedules.learningRate(at: t)
        let began = ContinuousClock.now
        let table = normalizationTable
        let count = layout.parameterCount
        let partials = self.partials
        let classes = self.classes
        plan.order.withUnsafeBufferPointer { order in
            plan.placements.withUnsafeBufferPointer { placements in
                pool.run { w in
                    let (offset, m) = share(n, worker: w)
                    let graph = graphs[w]
                    let context = graph.context
                    context.training = true
                    context.synchronize = threads > 1
                    context.updateRunningStatistics = w == 0
                    context.totalBatch = n
                    context.temperature = tau
                    let input = inputs[w].pointer
                    let range = (start + offset)..<(start + offset + m)
                    train.assemble(UnsafeBufferPointer(rebasing: order[range]), table: table,
                                   placements: UnsafeBufferPointer(rebasing: placements[range]),
                                   into: input, labels: labels[w])
                    gradients[w].zero()
                    let logits = graph.forward(input, n: m)
                    let result = CrossEntropy.evaluate(logits, labels: labels[w], n: m, classes: classes,
                                                       scale: 1 / Float(n), grad: graph.gradLogits.pointer)
                    partials[2 * w] = result.loss
                    partials[2 * w + 1] = Double(result.correct)
                    graph.backward(input, dLogits: graph.gradLogits.pointer, n: m)
                    shared.barrier.wait()
                    // Sum the gradients of this worker's parameter slice (in worker order) and update it.
                    let slice = (count * w / threads)..<(count * (w + 1) / threads)
                    let g0 = gradients[0].pointer
                    for v in 1..<max(threads, 1) {
                        let gv = gradients[v].pointer
                        for i in slice { g0[i] += gv[i] }
                    }
                    sgd.update(slice, parameters: parameters.pointer, gradients: g0,
                               momentumBuffer: momentum.pointer, learningRate: lr)
                }
            }
        }
        var loss = 0.0, correct = 0.0
        for w in 0..<threads { loss += partials[2 * w]; correct += partials[2 * w + 1] }
        let seconds = Trainer.seconds(since: began)
        counters.iterationInEpoch += 1
        counters.globalIteration += 1
        counters.epochLoss += loss
        counters.epochCorrect += Int(correct)
        counters.epochImages += n
        counters.epochSeconds += seconds
        return StepMetrics(loss: Float(loss / Double(n)), correct: Int(correct), images: n,
                           temperature: tau, learningRate: lr, seconds: seconds)
    }

    /// The current epoch's progress.
    public var progress: EpochProgress {
        let images = counters.epochImages
        return EpochProgress(
            epoch: counters.epoch + 1, epochs: config.epochs,
            iteration: counters.iterationInEpoch, iterations: iterationsPerEpoch, images: images,
            loss: images > 0 ? Float(counters.epochLoss / Double(images)) : 0,
            accuracy: images > 0 ? Float(counters.epochCorrect) / Float(images) : 0,
            temperature: temperature, learningRate: learningRate,
            imagesPerSecond: counters.epochSeconds > 0 ? Float(Double(images) / counters.epochSeconds) : 0,
            seconds: counters.epochSeconds)
    }

    /// Evaluates on the test set, records the epoch in `history` and starts the next epoch.
    @discardableResult
    public func finishEpoch() -> EpochMetrics {
        let began = ContinuousClock.now
        let evaluation = evaluateCompatible(test)
        let evalSeconds = Trainer.seconds(since: began)
        let images = max(counters.epochImages, 1)
        let metrics = EpochMetrics(
            epoch: counters.epoch + 1, epochs: config.epochs,
            loss: Float(counters.epochLoss / Double(images)),
            trainAccuracy: Float(counters.epochCorrect) / Float(images),
            testLoss: Float(evaluation.loss), testAccuracy: Trainer.accuracy(evaluation),
            temperature: temperature, learningRate: learningRate,
            imagesPerSecond: counters.epochSeconds > 0 ? Float(Double(counters.epochImages) / counters.epochSeconds) : 0,
            trainSeconds: counters.epochSeconds,
            evalSeconds: evalSeconds,
            layers: evaluation.layers.map(\.withoutClassMeans))
        history.append(metrics)
        counters.startNextEpoch()
        plan = nil
        return metrics
    }

    /// Runs the rest of the current epoch (calling `progress` after every step), then evaluates
    /// on the test set and returns the epoch's summary.
    @discardableResult
    public func runEpoch(progress report: (EpochProgress) -> Void = { _ in }) -> EpochMetrics {
        while step() != nil { report(progress) }
        return finishEpoch()
    }

}
