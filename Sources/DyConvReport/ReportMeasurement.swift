import DyConvData
import DyConvEngine
import DyConvTraining
import Foundation

// Measuring: checkpoints × dataset → `Report` (grouping and comparisons: ReportComparisons.swift).
//
// Every number comes from the one `evaluate(model:dataset:options:limit:batchSize:onBatch:)` that
// `dyconv eval`, the TUI and the trainer use, so a report row equals the matching `dyconv eval` line.
// Per checkpoint, in this order (the order of `CheckpointReport.evaluations`):
//   1. at the trained τ in each mode of `ReportOptions.modes` (attention first; a static model has
//      no attention to aggregate otherwise, so it is evaluated in attention mode only);
//   2. in attention mode at each τ of `ReportOptions.temperatures` (not for a static model: τ
//      changes nothing in it);
//   3. each snapshot beside it (`Snapshots.list(for:)`) at its own τ in attention mode.
// `history` is the checkpoint's training record's, or, when that has none (records written before
// the trainer kept it), the longest history among its snapshots' records (their headers are read
// even with `--no-snapshots`: that costs no evaluation); `historySource` says which.
// Before any evaluation every checkpoint is described (recipe, seed, stage of training, costs) and
// the set is checked (`ReportComparisons.checkDistinct`): a run given twice fails at once.
// For a 10,000-image test set and the default 5 modes + 8 τ that is 13 passes per checkpoint.
//
// Example: `let loaded = try ReportMeasurement.load(["a.safetensors"], with: loader)`, then
// `ReportMeasurement.measure(loaded, load: loader, dataset: set, dataName: "Fashion-MNIST test",
// options: ReportOptions())` → a `Report` with one checkpoint, one group and no comparisons.

/// What `dyconv report` evaluates, and how.
public struct ReportOptions: Sendable, Equatable {
    /// The inference τ sweep (attention mode).
    public var temperatures: [Float]
    /// The aggregation modes at the trained τ (attention is always evaluated, and first).
    public var modes: [AggregationMode]
    /// Seed of the shuffle modes.
    public var seed: UInt64
    /// Evaluate only the first N images (nil: all).
    public var limit: Int?
    /// Images per forward pass (the results do not depend on it).
    public var batchSize: Int
    /// Whether to evaluate the snapshots beside each checkpoint.
    public var snapshots: Bool

    public static let defaultTemperatures: [Float] = [0.25, 0.5, 1, 2, 5, 10, 30, 100]
    public static let defaultModes: [AggregationMode] = [.attention, .average, .max, .shuffleImage, .shuffleAcross]

    /// `temperatures` keeps each τ once, in the order given (`--tau 1 1` is one column, one pass).
    public init(temperatures: [Float] = defaultTemperatures, modes: [AggregationMode] = defaultModes, seed: UInt64 = 0,
                limit: Int? = nil, batchSize: Int = 250, snapshots: Bool = true) {
        var unique: [Float] = []
        for t in temperatures where !unique.contains(t) { unique.append(t) }
        self.temperatures = unique; self.modes = modes; self.seed = seed; self.limit = limit
        self.batchSize = batchSize; self.snapshots = snapshots
    }

    /// `modes` with attention first and no mode twice.
    var orderedModes: [AggregationMode] {
        var out: [AggregationMode] = [.attention]
        for m in modes where !out.contains(m) { out.append(m) }
        return out
    }
}

/// A failure of the report, one line naming the checkpoint or file it is about.
public struct ReportError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A checkpoint read from `path`, with its model built.
public struct LoadedCheckpoint {
    public var path: String
    public var checkpoint: Checkpoint
    public var model: Model
    public init(path: String, checkpoint: Checkpoint, model: Model) { self.path = path; self.checkpoint = checkpoint; self.model = model }
}

public enum ReportMeasurement {
    /// Reads a checkpoint and builds its model; throws one line naming the file. The CLI passes
    /// its own loader (the one every command uses), tests pass `Checkpoint.read` + `makeModel`.
    public typealias Loader = (String) throws -> (Checkpoint, Model)

    /// Loads every checkpoint with `load`, all before any evaluation, so a bad file, or one run
    /// given twice (`ReportComparisons.checkDistinct`), fails at once.
    public static func load(_ paths: [String], with load: Loader) throws -> [LoadedCheckpoint] {
        guard !paths.isEmpty else { throw ReportError("no checkpoint given") }
        let loaded = try paths.map { path in
            let (checkpoint, model) = try load(path)
            return LoadedCheckpoint(path: path, checkpoint: checkpoint, model: model)
        }
        try ReportComparisons.checkDistinct(try loaded.map { try describe(path: $0.path, checkpoint: $0.checkpoint) })
        return loaded
    }

    /// Evaluates `checkpoints` on `dataset` and assembles the report (groups, comparisons; the
    /// figures are added by `ReportWriter`).
    ///
    /// - Parameters:
    ///   - load: reads the snapshots beside each checkpoint.
    ///   - dataName: how the report names the dataset (e.g. the `--data` folder as given).
    ///   - progress: one line per evaluation ("report: 3/5 dycnn-static attention τ trained
    ///     10000 images 1.3 s"), for stderr.
    public static func measure(_ checkpoints: [LoadedCheckpoint], load: Loader, dataset: ImageDataset, dataName: String,
                               options: ReportOptions, progress: (String) -> Void = { _ in }) throws -> Report {
        guard !checkpoints.isEmpty else { throw ReportError("no checkpoint given") }
        let total = min(options.limit ?? dataset.count, dataset.count)
        let described = try checkpoints.map { try describe(path: $0.path, checkpoint: $0.checkpoint) }
        try ReportComparisons.checkDistinct(described)
        var reports: [CheckpointReport] = []
        // Per checkpoint, right or wrong per image at the trained τ: McNemar's counts of the pairs.
        var correct: [[Bool]?] = []
        for (i, entry) in checkpoints.enumerated() {
            let prefix = "report: \(i + 1)/\(checkpoints.count) \(Snapshots.displayName(of: entry.path))"
            let (report, perImage) = try evaluateCheckpoint(described[i], checkpoint: entry.checkpoint, model: entry.model, load: load,
                                                            dataset: dataset, options: options) { progress(prefix + " " + $0) }
            reports.append(report)
            correct.append(perImage)
        }
        let settings = Report.Settings(temperatures: options.temperatures, modes: options.orderedModes, seed: options.seed)
        var report = ReportComparisons.assemble(data: .init(name: dataName, images: total, classNames: dataset.classNames),
                                                settings: settings, checkpoints: reports)
        ReportComparisons.addDiscordance(&report, correct: correct)
        return report
    }

    /// One checkpoint's report (group -1: `ReportComparisons.assemble` sets it).
    public static func measureCheckpoint(path: String, checkpoint: Checkpoint, model: Model, load: Loader,
                                         dataset: ImageDataset, options: ReportOptions,
                                         progress: (String) -> Void = { _ in }) throws -> CheckpointReport {
        try evaluateCheckpoint(try describe(path: path, checkpoint: checkpoint), checkpoint: checkpoint, model: model,
                               load: load, dataset: dataset, options: options, progress: progress).report
    }

    /// What a checkpoint is, without evaluating it: name, family, recipe parts, seed, stage of
    /// training, costs, trained τ (no evaluations, history or snapshots yet).
    static func describe(path: String, checkpoint: Checkpoint) throws -> CheckpointReport {
        let description = checkpoint.description
        let dynamic = description.dynamicConvolutions
        let routing = dynamic.first?.routing.rawValue ?? Routing.static.rawValue
        var family = "imported", recipe: [String]?, seed: Int?
        if let text = checkpoint.metadata["dyconv.recipe"] {
            let config: TrainingConfig
            do { config = try TrainingConfig.fromJSON(text) } catch {
                throw ReportError("\(path): dyconv.recipe: \(error)")
            }
            family = config.model
            do { recipe = try RecipeParts.parts(of: config, routing: routing) } catch {
                throw ReportError("\(path): dyconv.recipe does not re-encode: \(error)")
            }
            seed = config.seed <= UInt64(Int.max) ? Int(config.seed) : nil
        }
        // The architecture is untrusted; a parameter count beyond Int is refused, not wrapped.
        guard let parameters = description.parameterCount else { throw ReportError("\(path): more parameters than can be counted") }
        return CheckpointReport(
            path: path, name: Snapshots.displayName(of: path), family: family, routing: routing,
            kernels: dynamic.map(\.kernels).max() ?? 0, recipe: recipe, seed: seed, group: -1,
            parameters: parameters, multiplyAdds: description.multiplyAdds(),
            trainedTemperature: description.trainedTemperature, evaluations: [], history: [],
            epoch: checkpoint.training?.epoch, epochs: checkpoint.training?.epochs)
    }

    /// `described` with its evaluations, snapshots and history, and whether each image was
    /// classified right at the trained τ in attention mode (nil for an unlabelled dataset).
    static func evaluateCheckpoint(_ described: CheckpointReport, checkpoint: Checkpoint, model: Model, load: Loader,
                                   dataset: ImageDataset, options: ReportOptions,
                                   progress: (String) -> Void) throws -> (report: CheckpointReport, correct: [Bool]?) {
        var report = described
        let path = described.path
        let dynamic = described.routing != Routing.static.rawValue

        func run(_ label: String, _ model: Model, _ forward: ForwardOptions, from file: String,
                 onBatch: (EvaluationBatch) -> Void = { _ in }) throws -> EvaluationResult {
            let start = DispatchTime.now().uptimeNanoseconds
            let result: EvaluationResult
            do {
                result = try evaluate(model: model, dataset: dataset, options: forward, limit: options.limit,
                                      batchSize: max(options.batchSize, 1)) { onBatch($0); return true }
            } catch {
                throw ReportError("\(file): \(error)")
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress("\(label) \(result.images) images \(String(format: "%.1f", seconds)) s")
            return result
        }

        var correct: [Bool]? = dataset.labels == nil ? nil : []
        for mode in dynamic ? options.orderedModes : [.attention] {
            report.evaluations.append(try run("\(mode.rawValue) τ trained", model,
                                              ForwardOptions(mode: mode, seed: options.seed), from: path) { batch in
                guard mode == .attention, let labels = dataset.labels else { return }
                for (n, i) in batch.indices.enumerated() { correct?.append(batch.trace.prediction(sample: n) == labels[i]) }
            })
        }
        if dynamic {
            for t in options.temperatures {
                report.evaluations.append(try run("attention τ \(compactNumber(t))", model,
                                                  ForwardOptions(temperature: t, mode: .attention, seed: options.seed), from: path))
            }
        }
        let snapshotFiles = Snapshots.list(for: path)
        var snapshotRecords: [TrainingRecord?] = []  // of the loaded snapshots, so history need not read them again
        if options.snapshots {
            for snapshot in snapshotFiles {
                let (snapshotCheckpoint, snapshotModel) = try load(snapshot.path)
                snapshotRecords.append(snapshotCheckpoint.training)
                let r = try run("snapshot epoch \(snapshot.epoch) attention τ trained", snapshotModel,
                                ForwardOptions(mode: .attention, seed: options.seed), from: snapshot.path)
                report.snapshots.append(SnapshotReport(epoch: snapshot.epoch, evaluation: r,
                                                       temperature: snapshotCheckpoint.description.trainedTemperature))
            }
        }
        if let own = checkpoint.training?.history, !own.isEmpty {
            report.history = own
            report.historySource = "checkpoint"
        } else {
            // A checkpoint written before the trainer kept `history` (the shipped ones) has none,
            // but its snapshots' records do (compact-snapshots keeps every epoch's figures in
            // them): the longest stands in. The records of the snapshots evaluated above are reused;
            // with --no-snapshots only their headers are read.
            if !options.snapshots {
                for snapshot in snapshotFiles {
                    do { snapshotRecords.append(try Checkpoint.readMetadata(path: snapshot.path).training) } catch { throw ReportError("\(error)") }
                }
            }
            for record in snapshotRecords {
                if let h = record?.history, h.count > report.history.count { report.history = h }
            }
            report.historySource = report.history.isEmpty ? nil : "snapshots"
        }
        return (report, correct)
    }
}

