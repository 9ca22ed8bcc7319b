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
    public private(set) var history: [EpochMetrics] = []

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

    private let train: ImageDataset
    private let test: ImageDataset
    private let schedules: Schedules
    private let sgd: SGD
    private let threads: Int
    private let workerBatch: Int
    private let parameters: FloatBuffer
    private let buffers: FloatBuffer
    private let momentum: FloatBuffer
    private let gradients: [FloatBuffer]
    private let shared: SharedGraphState
    private let graphs: [TrainingGraph]
    private let pool: WorkerPool
    private let inputs: [FloatBuffer]
    private let labels: [UnsafeMutablePointer<Int32>]
    private let partials: UnsafeMutablePointer<Double>
    private let classes: Int
    var counters = Counters()
    private var plan: EpochPlan?

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
        let order: [Int32]
        /// Per position: bit 0 = flip, bits 1-4 = x shift + 8, bits 5-8 = y shift + 8 (as UInt16).
        let augmentation: [UInt16]
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

    private init(validated config: TrainingConfig, description: ModelDescription, train: ImageDataset,
                 test: ImageDataset, parameters initial: [String: Tensor], threads: Int) throws {
        try Trainer.checkMemory(config: config, description: description, threads: threads, trainImages: train.count)
        Kernels.useSingleThreadedBLAS()
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
        let partialCount = threads * (2 + 2 * graphs[0].dynamicNodes.count)
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
        var rng = TrainingRNG(seed: config.seed, stream: 1)
        for conv in description.dynamicConvolutions {
            guard let a = conv.attention else { continue }
            func uniform(_ shape: [Int], fanIn: Int) -> Tensor {
                let bound = 1 / Float(fanIn).squareRoot()
                var t = Tensor.zeros(shape)
                for i in 0..<t.count {
                    t.data[i] = (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound
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
    /// `TrainingRecord` of the last finished epoch; `metadata["dyconv.recipe"]` holds the config.
    public func checkpoint() -> Checkpoint {
        let last = history.last
        return checkpoint(record: TrainingRecord(epoch: counters.epoch, epochs: config.epochs, temperature: temperature,
                                                 loss: last?.loss, trainAccuracy: last?.trainAccuracy,
                                                 testAccuracy: last?.testAccuracy, entropy: last?.entropyByLayer))
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
    public func initialCheckpoint() -> (checkpoint: Checkpoint, evaluation: Evaluation) {
        precondition(counters.epoch == 0 && history.isEmpty && counters.epochImages == 0,
                     "initialCheckpoint() after training started")
        let evaluation = evaluateCompatible(test)
        let entropy = evaluation.layers.entropyByName
        let record = TrainingRecord(epoch: 0, epochs: config.epochs, temperature: temperature, loss: nil,
                                    trainAccuracy: nil, testAccuracy: evaluation.accuracy,
                                    entropy: entropy.isEmpty ? nil : entropy)
        return (checkpoint(record: record), evaluation)
    }

    // MARK: - Epoch plan and batches

    /// The current epoch's order and augmentation (built on first use).
    func currentPlan() -> EpochPlan { epochPlan() }

    private func epochPlan() -> EpochPlan {
        if let plan, plan.epoch == counters.epoch { return plan }
        var rng = TrainingRNG(seed: config.seed, stream: 0x1000 &+ UInt64(counters.epoch))
        var order = (0..<train.count).map { Int32($0) }
        var i = order.count - 1
        while i > 0 {
            order.swapAt(i, rng.below(i + 1))
            i -= 1
        }
        let s = config.shift
        var augmentation = [UInt16](repeating: 0, count: train.count)
        for p in 0..<train.count {
            let flip: UInt16 = config.flip ? UInt16(rng.below(2)) : 0
            let dx = s > 0 ? rng.below(2 * s + 1) - s : 0
            let dy = s > 0 ? rng.below(2 * s + 1) - s : 0
            augmentation[p] = flip | UInt16(dx + 8) << 1 | UInt16(dy + 8) << 5
        }
        let made = EpochPlan(epoch: counters.epoch, order: order, augmentation: augmentation)
        plan = made
        return made
    }

    /// Writes normalised, augmented images into a worker's input buffer.
    static func assemble(_ dataset: ImageDataset, normalization table: UnsafePointer<Float>,
                                 indices: UnsafeBufferPointer<Int32>, augmentation: UnsafeBufferPointer<UInt16>?,
                                 into out: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        let (c, h, w) = (dataset.channels, dataset.height, dataset.width)
        let size = c * h * w, plane = h * w
        dataset.pixels.withUnsafeBufferPointer { source in
            let src = source.baseAddress!
            for (row, index) in indices.enumerated() {
                let image = src + Int(index) * size
                let target = out + row * size
                labels[row] = Int32(dataset.labels[Int(index)])
                var flip = false, dx = 0, dy = 0
                if let augmentation {
                    let a = augmentation[row]
                    flip = a & 1 == 1
                    dx = Int((a >> 1) & 15) - 8
                    dy = Int((a >> 5) & 15) - 8
                }
                for ch in 0..<c {
                    let t = table + ch * 256, s = image + ch * plane, d = target + ch * plane
                    let zero = t[0]
                    if !flip && dx == 0 && dy == 0 {
                        for k in 0..<plane { d[k] = t[Int(s[k])] }
                        continue
                    }
                    // out(y, x) = flipped(y - dy, x - dx), zero pixels outside.
                    for y in 0..<h {
                        let sy = y - dy
                        let row = d + y * w
                        if sy < 0 || sy >= h { row.update(repeating: zero, count: w); continue }
                        let srow = s + sy * w
                        for x in 0..<w {
                            let fx = x - dx
                            if fx < 0 || fx >= w { row[x] = zero; continue }
                            row[x] = t[Int(srow[flip ? w - 1 - fx : fx])]
                        }
                    }
                }
            }
        }
    }

    /// The 256-entry lookup table per channel of the model's normalisation.
    private lazy var normalizationTable: [Float] = {
        let n = description.normalization
        let c = description.input.channels
        var table = [Float](repeating: 0, count: c * 256)
        for ch in 0..<c {
            let m = n.mean.count == 1 ? n.mean[0] : n.mean[ch]
            let s = n.std.count == 1 ? n.std[0] : n.std[ch]
            for v in 0..<256 { table[ch * 256 + v] = (Float(v) / 255 - m) / s }
        }
        return table
    }()

    /// Splits `n` samples over the workers: worker `w` gets `count` samples from `offset`.
    private func share(_ n: Int, worker w: Int) -> (offset: Int, count: Int) {
        let base = n / threads, extra = n % threads
        let count = base + (w < extra ? 1 : 0)
        let offset = w * base + min(w, extra)
        return (offset, count)
    }

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
        table.withUnsafeBufferPointer { tableBuffer in
            plan.order.withUnsafeBufferPointer { order in
                plan.augmentation.withUnsafeBufferPointer { augmentation in
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
                        Trainer.assemble(train, normalization: tableBuffer.baseAddress!,
                                         indices: UnsafeBufferPointer(rebasing: order[range]),
                                         augmentation: UnsafeBufferPointer(rebasing: augmentation[range]),
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
            testLoss: evaluation.loss, testAccuracy: evaluation.accuracy,
            temperature: temperature, learningRate: learningRate,
            imagesPerSecond: counters.epochSeconds > 0 ? Float(Double(counters.epochImages) / counters.epochSeconds) : 0,
            trainSeconds: counters.epochSeconds,
            evalSeconds: evalSeconds,
            layers: evaluation.layers)
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
        let order = (0..<total).map { Int32($0) }
        table.withUnsafeBufferPointer { tableBuffer in
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
                        Trainer.assemble(dataset, normalization: tableBuffer.baseAddress!,
                                         indices: UnsafeBufferPointer(rebasing: orderBuffer[range]),
                                         augmentation: nil, into: inputs[w].pointer, labels: labels[w])
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

    // MARK: - State files

    /// The JSON header of a state file.
    struct StateHeader: Codable {
        var format = "dyconv-training-state"
        var version = 1
        var config: TrainingConfig
        var description: ModelDescription
        var layout: ParameterLayout
        var counters: Counters
        var history: [EpochMetrics]
        var threads: Int
    }

    private static let magic = Array("DYCONVTS".utf8)

    /// Writes everything needed to continue this run exactly (weights, BatchNorm statistics,
    /// momentum, counters, history) to `path`, atomically.
    ///
    /// - Throws: `TrainingError` naming the file when it cannot be written.
    public func saveState(path: String) throws {
        let header = StateHeader(config: config, description: description, layout: layout,
                                 counters: counters, history: history, threads: threads)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json: Data
        do { json = try encoder.encode(header) } catch {
            throw TrainingError("\(path): cannot encode the training state: \(error)")
        }
        var prefix = Trainer.magic
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(contentsOf: json)
        // The engine's atomic writer (`<path>.tmp-<pid>`, fsync, rename): the same temporary
        // names as checkpoints, so `RunFiles.removeStaleTemporaries` knows them all.
        do {
            try FileIO.writeAtomically(path: path) { append in
                try prefix.withUnsafeBytes { try append($0) }
                for buffer in [parameters, buffers, momentum] {
                    #if _endian(little)
                    try append(UnsafeRawBufferPointer(start: buffer.pointer, count: 4 * buffer.count))
                    #else
                    let bits = (0..<buffer.count).map { buffer.pointer[$0].bitPattern.littleEndian }
                    try bits.withUnsafeBytes { try append($0) }
                    #endif
                }
            }
        } catch let error as CheckpointError {
            throw TrainingError("\(path): cannot write the training state: \(RunFiles.reasonText(error))")
        }
    }

    /// Continues a run saved with `saveState`. With the same thread count the continuation is
    /// bit-identical to an uninterrupted run; `threads` overrides the saved count.
    ///
    /// - Throws: `TrainingError` naming the file for a missing, truncated or inconsistent state
    ///   file; `DataError` when a dataset does not fit the model.
    /// - Parameter epochs: a new total number of epochs (more extends the run, fewer ends it
    ///   sooner; not fewer than the epochs already trained). The learning-rate schedule follows
    ///   the new total from the next step on, so such a run differs from one started with it.
    public static func resume(path: String, train: ImageDataset, test: ImageDataset,
                              threads: Int? = nil, epochs: Int? = nil) throws -> Trainer {
        if let threads, !(1...64).contains(threads) {
            throw TrainingError("threads must be in 1...64, got \(threads)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TrainingError("\(path): cannot read the training state: \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
            throw TrainingError("\(path): not a dyconv training state file")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        guard length <= UInt64(bytes.count - 16) else { throw TrainingError("\(path): truncated training state header") }
        let headerEnd = 16 + Int(length)
        let header: StateHeader
        do { header = try JSONDecoder().decode(StateHeader.self, from: Data(bytes[16..<headerEnd])) } catch {
            throw TrainingError("\(path): training state header does not decode: \(error)")
        }
        guard header.format == "dyconv-training-state", header.version == 1 else {
            throw TrainingError("\(path): unsupported training state format \(header.format) v\(header.version)")
        }
        var config = header.config
        if let epochs {
            guard epochs >= header.counters.epoch else {
                throw TrainingError("\(path): the run already trained \(header.counters.epoch) epochs, more than the \(epochs) asked for")
            }
            config.epochs = epochs
        }
        do { try config.validate(checkingModel: false) } catch { throw TrainingError("\(path): \(error)") }
        do { try header.description.validate() } catch {
            throw TrainingError("\(path): stored model is invalid: \(error)")
        }
        guard ParameterLayout(header.description) == header.layout else {
            throw TrainingError("\(path): stored parameter layout does not match the stored model")
        }
        guard (1...64).contains(header.threads) else {
            throw TrainingError("\(path): stored thread count \(header.threads) is outside 1...64")
        }
        let layout = header.layout
        // Before the weights are copied out of the file (several times its size in memory).
        try Trainer.checkMemory(config: config, description: header.description, threads: threads ?? header.threads,
                                trainImages: train.count)
        let expected = headerEnd + 4 * (2 * layout.parameterCount + layout.bufferCount)
        guard bytes.count == expected else {
            throw TrainingError("\(path): expected \(expected) bytes, found \(bytes.count) (truncated or corrupt)")
        }
        try train.checkCompatible(with: header.description, name: "training set")
        try test.checkCompatible(with: header.description, name: "test set")
        let c = header.counters
        guard c.epoch >= 0, c.iterationInEpoch >= 0, c.globalIteration >= 0 else {
            throw TrainingError("\(path): negative counters in training state")
        }
        func floats(_ start: Int, _ count: Int) -> [Float] {
            bytes.withUnsafeBytes { raw in
                (0..<count).map { i in
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)))
                }
            }
        }
        let paramValues = floats(headerEnd, layout.parameterCount)
        let bufferValues = floats(headerEnd + 4 * layout.parameterCount, layout.bufferCount)
        let momentumValues = floats(headerEnd + 4 * (layout.parameterCount + layout.bufferCount), layout.parameterCount)
        guard paramValues.allSatisfy(\.isFinite), bufferValues.allSatisfy(\.isFinite),
              momentumValues.allSatisfy(\.isFinite) else {
            throw TrainingError("\(path): training state holds non-finite values")
        }
        var tensors: [String: Tensor] = [:]
        for e in layout.parameters { tensors[e.name] = Tensor(shape: e.shape, data: Array(paramValues[e.offset..<(e.offset + e.count)])) }
        for e in layout.buffers { tensors[e.name] = Tensor(shape: e.shape, data: Array(bufferValues[e.offset..<(e.offset + e.count)])) }
        let trainer = try Trainer(validated: config, description: header.description, train: train, test: test,
                                  parameters: tensors, threads: threads ?? header.threads)
        guard c.iterationInEpoch <= trainer.iterationsPerEpoch else {
            throw TrainingError("\(path): state is at step \(c.iterationInEpoch) of an epoch that has \(trainer.iterationsPerEpoch) steps with this training set")
        }
        trainer.momentum.load(momentumValues)
        trainer.counters = c
        trainer.history = header.history
        return trainer
    }
}
