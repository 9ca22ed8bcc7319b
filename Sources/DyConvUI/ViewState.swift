import DyConvEngine

/// One dynamic convolution of a checkpoint, as the UI lists it.
public struct LayerSummary: Sendable, Equatable {
    /// Tensor-name prefix, e.g. `layer2.0.conv`.
    public var name: String
    /// Softmax (dynamic convolution) or sigmoid (CondConv).
    public var routing: Routing
    /// Number of kernels K.
    public var kernels: Int
    /// The τ the checkpoint was trained to end with.
    public var trainedTemperature: Float

    public init(name: String, routing: Routing, kernels: Int, trainedTemperature: Float) {
        self.name = name; self.routing = routing; self.kernels = kernels; self.trainedTemperature = trainedTemperature
    }
}

/// One per-epoch training snapshot of a checkpoint (from its `TrainingRecord`).
public struct EpochSummary: Sendable, Equatable {
    /// 1-based epoch the snapshot was taken after.
    public var epoch: Int
    /// Total epochs of the run.
    public var epochs: Int
    /// The τ the run used in that epoch (the snapshot's layers'); nil for a static network.
    public var temperature: Float?
    public var trainAccuracy: Float?
    public var testAccuracy: Float?
    public var loss: Float?
    /// Mean normalized entropy H/lnK per dynamic layer over the test set after that epoch,
    /// by layer name (`TrainingRecord.entropy`): the training history's layers × epochs heat
    /// map. nil when the record has none.
    public var layerEntropy: [String: Float]?

    public init(epoch: Int, epochs: Int, temperature: Float?, trainAccuracy: Float? = nil,
                testAccuracy: Float? = nil, loss: Float? = nil, layerEntropy: [String: Float]? = nil) {
        self.epoch = epoch; self.epochs = epochs; self.temperature = temperature
        self.trainAccuracy = trainAccuracy; self.testAccuracy = testAccuracy; self.loss = loss
        self.layerEntropy = layerEntropy
    }

    /// The summary of a training record whose model runs at `temperature` (the τ its layers
    /// store; nil for a network without attention).
    public init(_ r: TrainingRecord, temperature: Float?) {
        self.init(epoch: r.epoch, epochs: r.epochs, temperature: temperature, trainAccuracy: r.trainAccuracy,
                  testAccuracy: r.testAccuracy, loss: r.loss, layerEntropy: r.entropy)
    }
}

/// What the UI knows about one opened checkpoint (the model itself lives in the session).
public struct CheckpointSummary: Sendable, Equatable {
    /// Display name, normally the file name without extension.
    public var name: String
    /// Architecture family, e.g. `dycnn`.
    public var family: String
    /// The dynamic convolutions, low layers first (empty for a static network).
    public var layers: [LayerSummary]
    /// Class names in logit order.
    public var classes: [String]
    /// Training snapshots, by epoch (empty when the run kept none): what `<` `>` step through.
    public var epochs: [EpochSummary]
    /// Every epoch of the run the history can tell, by epoch: the snapshots and the epochs
    /// without one (from the records' `TrainingRecord.history`); what the sparklines draw.
    /// Equal to `epochs` when every epoch kept its snapshot.
    public var history: [EpochSummary]
    /// The final checkpoint's own training record, if it carries one.
    public var training: EpochSummary?

    /// `history` defaults to `epochs`.
    public init(name: String, family: String, layers: [LayerSummary], classes: [String],
                epochs: [EpochSummary] = [], history: [EpochSummary]? = nil, training: EpochSummary? = nil) {
        self.name = name; self.family = family; self.layers = layers; self.classes = classes
        self.epochs = epochs; self.history = history ?? epochs; self.training = training
    }

    /// Builds the summary of a model description.
    public init(name: String, description: ModelDescription, epochs: [EpochSummary] = [], history: [EpochSummary]? = nil,
                training: EpochSummary? = nil) {
        self.init(name: name, family: description.family,
                  layers: description.dynamicConvolutions.map {
                      LayerSummary(name: $0.name, routing: $0.routing, kernels: $0.kernels,
                                   trainedTemperature: $0.attention?.temperature ?? 1)
                  },
                  classes: description.classes, epochs: epochs, history: history, training: training)
    }

    /// The history of a run: every snapshot's summary (`snapshots`, from `records`), then the
    /// epochs the snapshots' and the final checkpoint's `TrainingRecord.history` add (snapshots
    /// are kept only for some epochs, `SnapshotRetention`), by epoch. Without snapshots (a
    /// checkpoint or a snapshot opened on its own) the final record's history alone, so the
    /// history panel still draws the epochs that led to it.
    /// A network without attention (snapshots without τ) gets no τ for the added epochs either
    /// (without snapshots the UI leaves τ out for a static network itself).
    public static func history(snapshots: [EpochSummary], records: [TrainingRecord],
                               final: TrainingRecord?) -> [EpochSummary] {
        var byEpoch: [Int: EpochSummary] = [:]
        for s in snapshots { byEpoch[s.epoch] = s }
        let hasTemperature = snapshots.isEmpty || snapshots.contains { $0.temperature != nil }
        for r in records + (final.map { [$0] } ?? []) {
            for e in r.history ?? [] where byEpoch[e.epoch] == nil {
                byEpoch[e.epoch] = EpochSummary(epoch: e.epoch, epochs: r.epochs, temperature: hasTemperature ? e.temperature : nil,
                                                trainAccuracy: e.trainAccuracy, testAccuracy: e.testAccuracy, loss: e.loss,
                                                layerEntropy: e.entropy)
            }
        }
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }

    /// Whether the network has no dynamic convolution.
    public var isStatic: Bool { layers.isEmpty }

    /// "softmax", "sigmoid", "static" or "mixed" routing of the dynamic layers.
    public var routingName: String {
        guard let first = layers.first?.routing else { return "static" }
        return layers.allSatisfy { $0.routing == first } ? first.rawValue : "mixed"
    }

    /// A short description of the routing, e.g. "DyConv softmax K=4".
    public var routingLabel: String {
        guard let first = layers.first else { return "static" }
        let kinds = layers.allSatisfy { $0.routing == first.routing }
            ? (first.routing == .sigmoid ? "CondConv sigmoid" : "DyConv softmax") : "mixed routing"
        let ks = Set(layers.map(\.kernels))
        return kinds + (ks.count == 1 ? " K=\(first.kernels)" : " K=\(ks.sorted().map(String.init).joined(separator: "/"))")
    }
}

/// What the images being browsed are: their number, labels if they have any, and class
/// names (pixels stay in the session).
public struct DatasetSummary: Sendable, Equatable {
    /// Display name, e.g. "sample" or the data directory.
    public var name: String
    /// Labels of all images, in index order; nil for unlabelled images (a flat folder of
    /// image files): the UI then shows no true class and no right/wrong mark.
    public let labels: [Int]?
    /// Class names of the labels.
    public var classNames: [String]
    /// How many images (from index 0) the dataset view evaluates.
    public var evaluationLimit: Int
    /// How many images (from index 0) the depth profile, the heat rows' dataset means and the
    /// simplex clouds are computed over, in the background from launch and again after every
    /// change of τ, mode, epoch or checkpoint: `min(count, profileDefault)` unless set.
    public var profileLimit: Int
    /// The profile's default size: about 0.3 s of engine time for the shipped models.
    public static let profileDefault = 1000
    /// Number of images.
    public let count: Int
    /// How the images were prepared for the model when that changed them, e.g. "resized to
    /// 256, centre crop 224" or "grey repeated to RGB": shown in the header and the dataset
    /// view, so the user knows the model did not see the files as they are. nil: as they are.
    public var note: String?

    /// A labelled dataset: one label per image.
    public init(name: String, labels: [Int], classNames: [String], evaluationLimit: Int? = nil, note: String? = nil) {
        self.init(name: name, count: labels.count, labels: labels, classNames: classNames, evaluationLimit: evaluationLimit,
                  note: note)
    }

    /// A dataset of `count` images, labelled when `labels` is given (then `labels.count`
    /// must be `count`).
    public init(name: String, count: Int, labels: [Int]?, classNames: [String], evaluationLimit: Int? = nil,
                note: String? = nil) {
        precondition(labels == nil || labels!.count == count, "DatasetSummary: \(labels!.count) labels for \(count) images")
        self.name = name; self.labels = labels; self.classNames = classNames; self.note = note
        self.count = max(count, 0)
        self.evaluationLimit = min(max(evaluationLimit ?? self.count, 0), self.count)
        self.profileLimit = min(DatasetSummary.profileDefault, self.count)
    }

    /// Whether the images carry labels.
    public var isLabelled: Bool { labels != nil }

    /// The label of image `i`, if the images are labelled and `i` is one of them.
    public func label(_ i: Int) -> Int? {
        guard let labels, i >= 0, i < labels.count else { return nil }
        return labels[i]
    }

    /// The name of class `c`, or "class c" when it has none.
    public func className(_ c: Int) -> String { c >= 0 && c < classNames.count ? classNames[c] : "class \(c)" }
}

/// What a forward pass depends on besides the image: checkpoint, epoch, τ and mode.
public struct ConfigKey: Hashable, Sendable {
    /// Index of the checkpoint among the opened ones.
    public var checkpoint: Int
    /// Index into that checkpoint's `epochs`, or nil for the final checkpoint.
    public var epoch: Int?
    /// The τ given to the forward pass for every dynamic layer; nil = the layers' trained τ.
    public var temperature: Float?
    /// τ of single dynamic layers by layer name (the user's per-layer τ, keys `{` `}`): these
    /// win over `temperature` (`ForwardOptions.layerTemperatures`).
    public var layerTemperatures: [String: Float]
    /// Aggregation mode.
    public var mode: AggregationMode

    public init(checkpoint: Int, epoch: Int?, temperature: Float?, layerTemperatures: [String: Float] = [:],
                mode: AggregationMode) {
        self.checkpoint = checkpoint; self.epoch = epoch; self.temperature = temperature
        self.layerTemperatures = layerTemperatures; self.mode = mode
    }

    /// The forward options of this configuration.
    public func forwardOptions(seed: UInt64 = 0) -> ForwardOptions {
        ForwardOptions(temperature: temperature, layerTemperatures: layerTemperatures, mode: mode, seed: seed,
                       collectTrace: true)
    }

    /// Whether `other` differs from this configuration only in τ, mode or epoch (same
    /// checkpoint): the clouds then keep their points, marked stale, until recomputed.
    public func sameNetwork(as other: ConfigKey) -> Bool { checkpoint == other.checkpoint }
}

/// The result of the real forward pass on the current image, as the session reports it.
public struct ForwardResult: Sendable, Equatable {
    /// The configuration it ran with.
    public var key: ConfigKey
    /// Index of the image.
    public var imageIndex: Int
    /// The image as the model saw it (before normalization): grey or RGB.
    public var image: PixelImage
    /// The trace of the image (batch of one; in shuffle-across mode `applied` holds the π of
    /// its partner `partnerIndex`).
    public var trace: ForwardTrace
    /// Wall time of the forward pass.
    public var milliseconds: Double
    /// In shuffle-across mode, the image whose π this one was mixed with (its fixed partner,
    /// `ShuffleAcrossPartners(count: dataset.count, seed: 0).partner(of: imageIndex)`), shown
    /// beside the mode so the user knows where the applied coefficients came from; nil otherwise.
    public var partnerIndex: Int?

    public init(key: ConfigKey, imageIndex: Int, image: PixelImage, trace: ForwardTrace, milliseconds: Double,
                partnerIndex: Int? = nil) {
        self.key = key; self.imageIndex = imageIndex; self.image = image; self.trace = trace; self.milliseconds = milliseconds
        self.partnerIndex = partnerIndex
    }
}

/// What the dataset view evaluates: a configuration over the first `limit` images.
public struct EvaluationKey: Hashable, Sendable {
    public var config: ConfigKey
    public var limit: Int
    public init(config: ConfigKey, limit: Int) { self.config = config; self.limit = limit }
}

/// Accuracy and mean entropy of one configuration over the dataset, possibly still running.
public struct EvaluationProgress: Sendable, Equatable {
    public var key: EvaluationKey
    /// Images evaluated so far.
    public var done: Int
    /// Images to evaluate.
    public var total: Int
    /// Correctly classified images so far.
    public var correct: Int
    /// Sum over evaluated images of each dynamic layer's normalized entropy.
    public var entropySums: [Double]
    /// Sum over evaluated images of each dynamic layer's Σ_k π_k (1 per image for softmax
    /// routing; CondConv's Σr is free): the dataset view's mean Σr per layer.
    public var massSums: [Double]
    /// Wall time so far.
    public var milliseconds: Double
    /// Per dynamic layer, the distribution of the per-image H/lnK over the images so far
    /// (`LayerAttentionSummary.entropyBox` of the evaluation's result: the same routine,
    /// images and nearest-rank quantiles as `dyconv report` and `eval --json`), nil where the
    /// evaluation had no finite value; empty when not reported (the view then draws means).
    /// Not `LayerProfile.quantile`, which sorts the profile pass's 1000 points exactly.
    public var entropyBoxes: [EntropyBox?]

    public init(key: EvaluationKey, done: Int, total: Int, correct: Int, entropySums: [Double], massSums: [Double] = [],
                milliseconds: Double = 0, entropyBoxes: [EntropyBox?] = []) {
        self.key = key; self.done = done; self.total = total; self.correct = correct
        self.entropySums = entropySums; self.massSums = massSums; self.milliseconds = milliseconds
        self.entropyBoxes = entropyBoxes
    }

    /// The H/lnK box of layer `l` so far (nil before the first batch or when not reported).
    public func entropyBox(_ l: Int) -> EntropyBox? { done > 0 && l < entropyBoxes.count ? entropyBoxes[l] : nil }

    /// Mean Σ_k π_k of layer `l` so far (CondConv: mean Σr).
    public func meanMass(_ l: Int) -> Double? { done > 0 && l < massSums.count ? massSums[l] / Double(done) : nil }

    /// Whether every image has been evaluated.
    public var isFinished: Bool { done >= total }
    /// Accuracy over the images evaluated so far (nil before the first batch).
    public var accuracy: Double? { done > 0 ? Double(correct) / Double(done) : nil }
    /// Mean normalized entropy of layer `l` so far.
    public func meanEntropy(_ l: Int) -> Double? { done > 0 && l < entropySums.count ? entropySums[l] / Double(done) : nil }
    /// Mean over layers of the mean normalized entropy.
    public var meanEntropyAllLayers: Double? {
        guard done > 0, !entropySums.isEmpty else { return nil }
        return entropySums.reduce(0, +) / Double(done * entropySums.count)
    }
}

/// What the τ sweep of the dataset view depends on: the configuration without τ, and the limit.
public struct SweepKey: Hashable, Sendable {
    public var checkpoint: Int
    public var epoch: Int?
    public var mode: AggregationMode
    public var limit: Int
    public init(checkpoint: Int, epoch: Int?, mode: AggregationMode, limit: Int) {
        self.checkpoint = checkpoint; self.epoch = epoch; self.mode = mode; self.limit = limit
    }
}

/// One point of the τ sweep: accuracy, and mean entropy per layer and over layers, at a τ
/// given to every dynamic layer.
public struct SweepPoint: Sendable, Equatable {
    public var temperature: Float
    /// NaN for unlabelled images.
    public var accuracy: Double
    /// Mean over layers of `layerEntropy`.
    public var meanEntropy: Double
    /// Mean normalized entropy of each dynamic layer over the images (low layers first): the
    /// sweep draws one line per layer, so the low-versus-high contrast stays visible.
    public var layerEntropy: [Double]
    public init(temperature: Float, accuracy: Double, meanEntropy: Double, layerEntropy: [Double] = []) {
        self.temperature = temperature; self.accuracy = accuracy; self.meanEntropy = meanEntropy
        self.layerEntropy = layerEntropy
    }
}

/// Accuracy and mean entropy against τ, filled in as the background sweep progresses.
public struct SweepProgress: Sendable, Equatable {
    public var key: SweepKey
    /// The τ values of the sweep, ascending.
    public var temperatures: [Float]
    /// Finished points, in `temperatures` order.
    public var points: [SweepPoint]
    /// Images done at the τ currently being evaluated.
    public var partialDone: Int

    public init(key: SweepKey, temperatures: [Float], points: [SweepPoint], partialDone: Int = 0) {
        self.key = key; self.temperatures = temperatures; self.points = points; self.partialDone = partialDone
    }

    /// Whether every τ has been evaluated.
    public var isFinished: Bool { points.count >= temperatures.count }
    /// Fraction of the sweep done, 0–1.
    public var fraction: Double {
        guard !temperatures.isEmpty, key.limit > 0 else { return 1 }
        let done = Double(points.count) + Double(min(partialDone, key.limit)) / Double(key.limit)
        return min(done / Double(temperatures.count), 1)
    }

    /// The τ values the dataset view sweeps: log-spaced from 0.1 to 30 (the paper's
    /// annealing start).
    public static let defaultTemperatures: [Float] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30]
}

/// The whole state of the visualizer: everything the renderer draws from.
///
/// Pure value: `update(&state, event)` changes it and returns effects for the session
/// (forward pass, background evaluation); `render(state)` draws it to a `CellGrid`.
public struct ViewState: Sendable, Equatable {
    /// Terminal size in cells.
    public var width: Int
    public var height: Int
    /// Colours available.
    public var colorMode: ColorMode
    /// Characters available (ASCII in a non-UTF-8 locale).
    public var charset: Charset = .unicode
    /// The opened checkpoints (at least one).
    public var checkpoints: [CheckpointSummary]
    /// The images being browsed.
    public var dataset: DatasetSummary
    /// Current checkpoint index.
    public var checkpointIndex: Int = 0
    /// Current training snapshot (index into the checkpoint's `epochs`); nil = final checkpoint.
    public var epochIndex: Int? = nil
    /// Current image index.
    public var imageIndex: Int = 0
    /// τ set by the user for every dynamic layer; nil = the trained τ (or the snapshot's τ).
    public var temperature: Float? = nil
    /// Aggregation mode.
    public var mode: AggregationMode = .attention
    /// Selected dynamic layer (row of the attention panel).
    public var selectedLayer: Int = 0
    /// The last forward pass of the current image.
    public var current: ForwardResult? = nil
    /// τ of single dynamic layers set by the user (keys `{` `}` on the selected layer), by
    /// layer index; they win over `temperature`. Cleared by `0` and on a checkpoint change.
    public var layerTemperatures: [Int: Float] = [:]
    /// π of the first `dataset.profileLimit` images under the current configuration (or,
    /// while they are recomputed, partly under the previous one): the depth profile, the
    /// simplex clouds and the heat rows' dataset means.
    public var cloud = AttentionCloud()
    /// How the simplex is drawn: the selected layer large or every layer side by side, and
    /// the tetrahedron's rotation for K = 4.
    public var simplexView = SimplexView()
    /// Whether the key table is shown.
    public var showHelp = false
    /// Whether the dataset view replaces the attention panels.
    public var showDataset = false
    /// Digits typed after `/` (nil when not entering an index).
    public var gotoInput: String? = nil
    /// A one-line message for the status line (cleared by the next key).
    public var message: String? = nil
    /// Dataset evaluations by configuration (finished or running).
    public var evaluations: [EvaluationKey: EvaluationProgress] = [:]
    /// τ sweeps by configuration.
    public var sweeps: [SweepKey: SweepProgress] = [:]
    /// Set when the user asked to quit.
    public var quit = false

    public init(width: Int, height: Int, colorMode: ColorMode, checkpoints: [CheckpointSummary],
                dataset: DatasetSummary, imageIndex: Int = 0, temperature: Float? = nil) {
        precondition(!checkpoints.isEmpty, "ViewState needs at least one checkpoint")
        self.width = width; self.height = height; self.colorMode = colorMode
        self.checkpoints = checkpoints; self.dataset = dataset
        self.imageIndex = min(max(imageIndex, 0), max(dataset.count - 1, 0))
        self.temperature = temperature
    }

    /// The current checkpoint.
    public var checkpoint: CheckpointSummary { checkpoints[checkpointIndex] }

    /// The current training snapshot, if one is selected.
    public var epoch: EpochSummary? {
        guard let e = epochIndex, e >= 0, e < checkpoint.epochs.count else { return nil }
        return checkpoint.epochs[e]
    }

    /// The τ the current network runs with when the user has not set one: the snapshot's
    /// τ, else the first dynamic layer's trained τ; nil for a static network.
    public var trainedTemperature: Float? {
        guard !checkpoint.isStatic else { return nil }
        return epoch?.temperature ?? checkpoint.layers[0].trainedTemperature
    }

    /// The τ shown on screen (nil for a static network).
    public var effectiveTemperature: Float? {
        guard !checkpoint.isStatic else { return nil }
        return temperature ?? trainedTemperature
    }

    /// Whether the network runs at its trained τ.
    public var isTrainedTemperature: Bool { temperature == nil }

    /// The τ dynamic layer `l` runs with: its own (`layerTemperatures`), else the shown τ;
    /// nil for a static network.
    public func temperature(ofLayer l: Int) -> Float? {
        guard !checkpoint.isStatic else { return nil }
        return layerTemperatures[l] ?? effectiveTemperature
    }

    /// The configuration of the current forward pass.
    public var configKey: ConfigKey {
        var perLayer: [String: Float] = [:]
        if !checkpoint.isStatic {
            for (l, t) in layerTemperatures where l >= 0 && l < checkpoint.layers.count { perLayer[checkpoint.layers[l].name] = t }
        }
        return ConfigKey(checkpoint: checkpointIndex, epoch: epoch == nil ? nil : epochIndex,
                         temperature: checkpoint.isStatic ? nil : (temperature ?? epoch?.temperature),
                         layerTemperatures: perLayer, mode: checkpoint.isStatic ? .attention : mode)
    }

    /// The dataset evaluation of the current configuration.
    public var evaluationKey: EvaluationKey { EvaluationKey(config: configKey, limit: dataset.evaluationLimit) }

    /// The τ sweep of the current configuration (τ for every layer: per-layer τ left out).
    public var sweepKey: SweepKey {
        let c = configKey
        return SweepKey(checkpoint: c.checkpoint, epoch: c.epoch, mode: c.mode, limit: dataset.evaluationLimit)
    }

    /// The current evaluation, if started.
    public var evaluation: EvaluationProgress? { evaluations[evaluationKey] }
    /// The current sweep, if started.
    public var sweep: SweepProgress? { sweeps[sweepKey] }

    /// The current forward result if it matches the current image and configuration.
    public var currentResult: ForwardResult? {
        guard let c = current, c.imageIndex == imageIndex, c.key == configKey else { return nil }
        return c
    }

    /// Label of the current image.
    public var label: Int? { dataset.label(imageIndex) }

    /// Number of dynamic layers of the current checkpoint.
    public var layerCount: Int { checkpoint.layers.count }
}
