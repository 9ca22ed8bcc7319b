import DyConvEngine

// The numbers of a `dyconv report`, as written to report.json (schema "dyconv-report/1").
//
// `Report` is the one value the three outputs are made from: `ReportMeasurement` fills it from
// checkpoints and a dataset (through the one `evaluate(model:dataset:…)` routine), the figures
// (`ReportFigures`) and report.md (`ReportMarkdown`) only read it. A test can therefore build a
// `Report` by hand and check a figure or a table without evaluating anything.
//
// Worked example (two checkpoints of one recipe at seeds 0 and 1, one static twin):
//   checkpoints[0] = dycnn seed 0, checkpoints[1] = dycnn seed 1, checkpoints[2] = dycnn-static seed 0
//   groups[0] = { label "dycnn K=4 softmax", checkpoints [0, 1], seeds [0, 1], accuracy {mean, min, max, sd, n: 2} }
//   groups[1] = { label "dycnn-static", checkpoints [2], … }
//   comparisons = [{ kind: dynamicVsStatic, members: [{group 0, value "dynamic"}, {group 1, value "static"}],
//                    pairs: [{seeds [0], deltas [+0.004], …}] }]

/// Everything `dyconv report` measured, in checkpoint order as given.
public struct Report: Sendable, Codable, Equatable {
    /// "dyconv-report/1".
    public var schema: String
    /// The dataset the checkpoints were evaluated on.
    public var data: DataInfo
    /// The settings of the measurement.
    public var settings: Settings
    /// One entry per checkpoint, in the order given on the command line.
    public var checkpoints: [CheckpointReport]
    /// Checkpoints of the same recipe but for the seed (and, for unfinished runs, stopped at the
    /// same epoch), in order of first appearance.
    public var groups: [GroupReport]
    /// Sets of groups whose recipes differ in exactly one respect (K, τ schedule, routing).
    public var comparisons: [Comparison]
    /// The figures written, in the order report.md shows them.
    public var figures: [FigureInfo]

    public static let schemaName = "dyconv-report/1"

    /// Fewer seeds than this make a group or a paired comparison "not conclusive" (`tooFewSeeds`):
    /// the seed-to-seed spread of a recipe is then unknown or barely estimated.
    public static let minimumSeeds = 3

    /// Below this many test images `dyconv report` warns that the accuracies are coarse (the
    /// binomial standard error of an accuracy near 90 % is 0.95 points at 1000 images).
    public static let minimumImages = 1000

    public init(data: DataInfo, settings: Settings, checkpoints: [CheckpointReport], groups: [GroupReport],
                comparisons: [Comparison], figures: [FigureInfo] = []) {
        schema = Self.schemaName
        self.data = data; self.settings = settings; self.checkpoints = checkpoints; self.groups = groups
        self.comparisons = comparisons; self.figures = figures
    }

    /// The dataset: its display name (e.g. "Fashion-MNIST test set") and the images evaluated.
    public struct DataInfo: Sendable, Codable, Equatable {
        public var name: String
        public var images: Int
        /// Class names when the dataset has them (the columns of the by-class heat map).
        public var classNames: [String]?
        public init(name: String, images: Int, classNames: [String]? = nil) {
            self.name = name; self.images = images; self.classNames = classNames
        }
    }

    /// The τ values of the inference sweep, the aggregation modes of the ablation and the shuffle seed.
    public struct Settings: Sendable, Codable, Equatable {
        public var temperatures: [Float]
        public var modes: [AggregationMode]
        public var seed: UInt64
        public init(temperatures: [Float], modes: [AggregationMode], seed: UInt64) {
            self.temperatures = temperatures; self.modes = modes; self.seed = seed
        }
    }
}

/// One checkpoint: what it is, what it costs, how it evaluates and how it was trained.
public struct CheckpointReport: Sendable, Codable, Equatable {
    /// The path as given (the figures print `name` only, so they do not depend on where the files are).
    public var path: String
    /// The file name without `.safetensors` (e.g. "dycnn-dynamic").
    public var name: String
    /// The training recipe's model family (`dyconv.recipe` "model", e.g. "dycnn-condconv"), or
    /// "imported" for a checkpoint without a recipe.
    public var family: String
    /// Routing of its dynamic layers: "softmax" (dynamic convolution), "sigmoid" (CondConv), or
    /// "static" when it has none.
    public var routing: String
    /// K of its dynamic layers (0 for a static model; the largest when they differ).
    public var kernels: Int
    /// Widths, blocks and other recipe fields, as `key=value` strings in key order (seed and threads
    /// excluded): the grouping key's parts.
    public var recipe: [String]?
    /// The recipe's seed, nil without a recipe.
    public var seed: Int?
    /// Index into `Report.groups`.
    public var group: Int
    /// Parameters and multiply-adds per image, as `dyconv describe` counts them.
    public var parameters: Int
    public var multiplyAdds: Int
    /// The τ the dynamic layers were trained to (nil for a static model).
    public var trainedTemperature: Float?
    /// Epochs trained and epochs planned, from the checkpoint's training record (nil without one).
    /// A checkpoint with `epoch < epochs` is an unfinished run (a stopped training, a snapshot):
    /// it is grouped apart from finished runs of its recipe (`isFinished`).
    public var epoch: Int?
    public var epochs: Int?
    /// Binomial standard error of the trained accuracy p over the n images evaluated,
    /// √(p(1 − p)/n), as a fraction (0.0024 = 0.24 points): how far another n test images of the
    /// same distribution could move it. Set by `ReportComparisons.assemble`; nil without a
    /// trained evaluation.
    public var standardError: Double?
    /// Evaluations at the trained τ in every mode of `Settings.modes` (attention first), then in
    /// attention mode at each τ of `Settings.temperatures`. `EvaluationResult.temperature` is nil
    /// for the trained τ.
    public var evaluations: [EvaluationResult]
    /// The training record's figures per epoch (empty without one; from the snapshots' records
    /// when the checkpoint's own record predates `history`).
    public var history: [TrainingRecord.Epoch]
    /// Where `history` came from: "checkpoint" (its own training record), "snapshots" (the
    /// longest history among the records of the snapshots beside it, read even with
    /// `--no-snapshots`), nil when it is empty.
    public var historySource: String?
    /// Per-epoch snapshots found beside the checkpoint (`Snapshots.list(for:)`), evaluated at
    /// their own τ in attention mode: the training curves' boxes. Empty when there are none.
    public var snapshots: [SnapshotReport]

    public init(path: String, name: String, family: String, routing: String, kernels: Int, recipe: [String]?, seed: Int?,
                group: Int, parameters: Int, multiplyAdds: Int, trainedTemperature: Float?,
                evaluations: [EvaluationResult], history: [TrainingRecord.Epoch], snapshots: [SnapshotReport] = [],
                epoch: Int? = nil, epochs: Int? = nil, historySource: String? = nil) {
        self.path = path; self.name = name; self.family = family; self.routing = routing; self.kernels = kernels
        self.recipe = recipe; self.seed = seed; self.group = group; self.parameters = parameters
        self.multiplyAdds = multiplyAdds; self.trainedTemperature = trainedTemperature
        self.evaluations = evaluations; self.history = history; self.snapshots = snapshots
        self.epoch = epoch; self.epochs = epochs; self.historySource = historySource
    }

    /// "epoch 21/30" for an unfinished run, nil for a finished one (or one without a record).
    public var unfinishedStage: String? {
        guard !isFinished, let epoch, let epochs else { return nil }
        return "epoch \(epoch)/\(epochs)"
    }

    /// Whether training ran all its planned epochs (true without a training record: an import).
    public var isFinished: Bool {
        guard let epoch, let epochs else { return true }
        return epoch >= epochs
    }

    /// The evaluation at the trained τ in attention mode (the checkpoint as trained).
    public var trained: EvaluationResult? {
        evaluations.first { $0.temperature == nil && $0.mode == .attention }
    }

    /// The evaluation at the trained τ in `mode`.
    public func evaluation(mode: AggregationMode) -> EvaluationResult? {
        evaluations.first { $0.temperature == nil && $0.mode == mode }
    }

    /// The evaluations in attention mode at a global τ, in increasing τ.
    public var temperatureSweep: [EvaluationResult] {
        evaluations.filter { $0.temperature != nil && $0.mode == .attention }.sorted { $0.temperature! < $1.temperature! }
    }
}

/// One per-epoch snapshot of a training run, evaluated as it was at that epoch.
public struct SnapshotReport: Sendable, Codable, Equatable {
    /// The epoch of its file name (epoch-NNN.safetensors).
    public var epoch: Int
    public var evaluation: EvaluationResult
    /// The τ the snapshot was evaluated at: its own trained τ (the first dynamic layer's; nil
    /// for a static model). `evaluation.temperature` is nil, as for every trained-τ evaluation.
    public var temperature: Float?
    public init(epoch: Int, evaluation: EvaluationResult, temperature: Float? = nil) {
        self.epoch = epoch; self.evaluation = evaluation; self.temperature = temperature
    }
}

/// Mean, smallest, largest and sample standard deviation of values over seeds. The sample sd is
/// undefined for fewer than two values: `sd` is nil then (JSON null), never a misleading 0.
public struct SeedStatistics: Sendable, Codable, Equatable {
    public var n: Int
    public var mean: Double
    public var min: Double
    public var max: Double
    public var sd: Double?
    public init(n: Int, mean: Double, min: Double, max: Double, sd: Double?) {
        self.n = n; self.mean = mean; self.min = min; self.max = max; self.sd = sd
    }
}

/// Checkpoints that share a recipe except for the seed.
public struct GroupReport: Sendable, Codable, Equatable {
    /// The recipe without seed and threads (`CheckpointReport.recipe` joined by " "), or the
    /// checkpoint's path for one without a recipe; " trained epoch E/N" appended for an
    /// unfinished run (`CheckpointReport.isFinished` false).
    public var key: String
    /// A short human label, e.g. "dycnn 8/16/32 K=4 softmax τ 30→1/5ep", with " (epoch E/N)"
    /// for an unfinished run.
    public var label: String
    /// Indices into `Report.checkpoints`, in increasing seed.
    public var checkpoints: [Int]
    public var seeds: [Int]
    public var family: String
    public var routing: String
    public var kernels: Int
    public var parameters: Int
    public var multiplyAdds: Int
    /// Test accuracy at the trained τ over the seeds.
    public var accuracy: SeedStatistics
    /// Accuracy per aggregation mode (`AggregationMode.rawValue`) over the seeds.
    public var ablation: [String: SeedStatistics]
    /// Per dynamic layer (execution order), mean normalized entropy at the trained τ over the seeds.
    public var layerNames: [String]
    public var entropy: [SeedStatistics]
    /// Accuracy in attention mode against the inference τ over the seeds, in increasing τ: every
    /// τ of the sweep, plus the trained τ when all members were trained to the same one (that
    /// point is the trained evaluation, `trained` true; a sweep τ equal to it keeps the sweep's
    /// numbers, which are the same). Empty for a static group.
    public var temperatureSweep: [SweepPoint]
    /// Fewer than `Report.minimumSeeds` seeds: the mean is not conclusive (report.md says so).
    public var tooFewSeeds: Bool

    /// One τ of a group's inference sweep.
    public struct SweepPoint: Sendable, Codable, Equatable {
        public var temperature: Float
        /// The point is the members' trained evaluation (τ = their shared trained τ, not in the sweep).
        public var trained: Bool
        public var accuracy: SeedStatistics
        public init(temperature: Float, trained: Bool, accuracy: SeedStatistics) {
            self.temperature = temperature; self.trained = trained; self.accuracy = accuracy
        }
    }

    public init(key: String, label: String, checkpoints: [Int], seeds: [Int], family: String, routing: String, kernels: Int,
                parameters: Int, multiplyAdds: Int, accuracy: SeedStatistics, ablation: [String: SeedStatistics],
                layerNames: [String], entropy: [SeedStatistics], temperatureSweep: [SweepPoint] = []) {
        self.key = key; self.label = label; self.checkpoints = checkpoints; self.seeds = seeds; self.family = family
        self.routing = routing; self.kernels = kernels; self.parameters = parameters; self.multiplyAdds = multiplyAdds
        self.accuracy = accuracy; self.ablation = ablation; self.layerNames = layerNames; self.entropy = entropy
        self.temperatureSweep = temperatureSweep; self.tooFewSeeds = seeds.count < Report.minimumSeeds
    }
}

/// Groups whose recipes differ in one respect only: the paper's comparisons.
public struct Comparison: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// A dynamic model against its static twin (item 1: accuracy per multiply-add).
        case dynamicVsStatic
        /// Dynamic models differing only in K (item 4).
        case kernels
        /// Dynamic models differing only in the training τ schedule (item 5).
        case temperatureSchedule
        /// Softmax attention against sigmoid routing, trained alike (item 6).
        case softmaxVsSigmoid
    }
    public var kind: Kind
    /// The groups compared, each with the value of what differs ("K=2", "τ 30→1/5ep",
    /// "softmax", "static"), in a fixed order (increasing K; annealed, constant 1, constant 30; …).
    public var members: [Member]
    /// For two members: per shared seed, accuracy(first) − accuracy(second).
    public var pairs: PairedDifference?
    /// For more than two members, the paired differences the item's claim turns on (nil for two
    /// members, whose one difference is `pairs`). K: each K against the next smaller one, since
    /// the claim is that accuracy rises up to K = 4 and then stops rising. τ schedule: every other
    /// schedule against the reference, the member with the most seeds (on a tie the first, the
    /// annealed one), since the claim is that annealing beats each constant τ.
    public var steps: [Step]?

    public struct Member: Sendable, Codable, Equatable {
        public var group: Int
        public var value: String
        public init(group: Int, value: String) { self.group = group; self.value = value }
    }

    /// members[first] against members[second]: `pairs` holds accuracy(first) − accuracy(second).
    public struct Step: Sendable, Codable, Equatable {
        public var first: Int
        public var second: Int
        public var pairs: PairedDifference
        public init(first: Int, second: Int, pairs: PairedDifference) { self.first = first; self.second = second; self.pairs = pairs }
    }

    public init(kind: Kind, members: [Member], pairs: PairedDifference? = nil, steps: [Step]? = nil) {
        self.kind = kind; self.members = members; self.pairs = pairs; self.steps = steps
    }

    /// Every paired difference of the comparison as (first member, second member, difference):
    /// `pairs` for two members, else `steps`. What report.md prints and McNemar's test fills in.
    public var differences: [(first: Int, second: Int, pairs: PairedDifference)] {
        if let p = pairs, members.count == 2 { return [(0, 1, p)] }
        return (steps ?? []).map { ($0.first, $0.second, $0.pairs) }
    }
}

/// Accuracy differences of two groups on the seeds both have.
public struct PairedDifference: Sendable, Codable, Equatable {
    public var seeds: [Int]
    /// accuracy(first) − accuracy(second), per seed, in accuracy units (0.004 = 0.4 points).
    public var deltas: [Double]
    public var meanDelta: Double
    /// Seeds on which the first is ahead (delta > 0).
    public var wins: Int
    /// Fewer than `Report.minimumSeeds` shared seeds: "wins 1/1" says nothing (report.md flags it).
    public var tooFewSeeds: Bool
    /// McNemar's test per seed, on the same test images: how many the first got right and the
    /// second wrong (`firstOnly`), the reverse (`secondOnly`), and the exact two-sided p-value of
    /// that split under "equally good" (binomial, n = firstOnly + secondOnly, ½). A 0.3-point
    /// difference on 10,000 images is 30 more images one way; whether that is chance depends on
    /// how many images the two disagree on, which this says. Nil when per-image results are not
    /// known (a report built by hand, an unlabelled dataset).
    public var firstOnly: [Int]?
    public var secondOnly: [Int]?
    public var mcnemarP: [Double]?
    public init(seeds: [Int], deltas: [Double], meanDelta: Double, wins: Int) {
        self.seeds = seeds; self.deltas = deltas; self.meanDelta = meanDelta; self.wins = wins
        tooFewSeeds = seeds.count < Report.minimumSeeds
    }
}

/// A figure file of the report.
public struct FigureInfo: Sendable, Codable, Equatable {
    /// File name inside the output folder, e.g. "entropy-per-layer.svg".
    public var file: String
    public var title: String
    /// One or two sentences: what is drawn and how to read it (report.md prints it under the image).
    public var caption: String
    public init(file: String, title: String, caption: String) { self.file = file; self.title = title; self.caption = caption }
}
