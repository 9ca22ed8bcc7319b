import DyConvData
import DyConvEngine
import Foundation

// The training state file: everything needed to continue a run bit-exactly, as a safetensors
// file read through the engine's hardened reader (docs/TRAINING.md, "The state file").

/// The layout of a training state file (`FILE.state`): a safetensors file whose
/// `__metadata__` says what it is and how far the run got.
///
/// Tensors (all F32):
/// - every trainable parameter and every BatchNorm buffer under its checkpoint name
///   (`conv1.weight`, `bn1.running_mean`, …), exactly as `ParameterLayout` lists them;
/// - the SGD momentum of each trainable parameter under `momentum.<name>`.
///
/// Metadata (strings; the JSON values use the encoders of the checkpoint format):
/// `format` = `dyconv-training-state`, `dyconv.state_version` = `2`, `dyconv.config`
/// (`TrainingConfig` JSON), `dyconv.model` (`ModelDescription` JSON; not `dyconv.architecture`,
/// so that a state is never mistaken for a checkpoint), `dyconv.counters` (epoch, step in epoch,
/// global step, the current epoch's running sums), `dyconv.history` (`[EpochMetrics]` JSON),
/// `dyconv.threads` (the thread count, which decides the summation order).
///
/// Version 1 was the `DYCONVTS` format of dyconv before the file layer; it is refused with a
/// line that says so.
enum TrainingStateFile {
    static let format = "dyconv-training-state"
    static let version = "2"
    /// The prefix of the momentum tensors' names.
    static let momentumPrefix = "momentum."
    /// The first bytes of a version 1 state.
    static let legacyMagic = Array("DYCONVTS".utf8)

    enum Key {
        static let format = "format"
        static let version = "dyconv.state_version"
        static let config = "dyconv.config"
        static let model = "dyconv.model"
        static let counters = "dyconv.counters"
        static let history = "dyconv.history"
        static let threads = "dyconv.threads"
    }

    /// The JSON encoder of every metadata value (sorted keys: the same run gives the same bytes).
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension Trainer {
    // MARK: - State files

    /// Writes everything needed to continue this run exactly (weights, BatchNorm statistics,
    /// momentum, counters, history) to `path` as a safetensors file (`TrainingStateFile`),
    /// atomically (`Files.writeAtomically`: the same temporary names as checkpoints, so
    /// `RunFiles.removeStaleTemporaries` knows them all).
    ///
    /// - Throws: `TrainingError` naming the file when it cannot be written.
    public func saveState(path: String) throws {
        typealias Key = TrainingStateFile.Key
        var metadata = [Key.format: TrainingStateFile.format, Key.version: TrainingStateFile.version,
                        Key.threads: String(threads)]
        do {
            metadata[Key.config] = try TrainingStateFile.encode(config)
            metadata[Key.model] = try TrainingStateFile.encode(description)
            metadata[Key.counters] = try TrainingStateFile.encode(counters)
            metadata[Key.history] = try TrainingStateFile.encode(history)
        } catch {
            throw TrainingError("\(path): cannot encode the training state: \(error)")
        }
        var tensors: [String: Tensor] = [:]
        func add(_ entries: [ParameterEntry], from storage: FloatBuffer, prefix: String = "") {
            for e in entries {
                tensors[prefix + e.name] = Tensor(shape: e.shape,
                                                  data: Array(UnsafeBufferPointer(start: storage.pointer + e.offset, count: e.count)))
            }
        }
        add(layout.parameters, from: parameters)
        add(layout.buffers, from: buffers)
        add(layout.parameters, from: momentum, prefix: TrainingStateFile.momentumPrefix)
        do {
            try SafetensorsFile(tensors: tensors, metadata: metadata).write(path: path)
        } catch {
            throw TrainingError("\(path): cannot write the training state: \(RunFiles.reasonText(error))")
        }
    }

    /// Continues a run saved with `saveState`. With the same thread count the continuation is
    /// bit-identical to an uninterrupted run; `threads` overrides the saved count.
    ///
    /// The file goes through the engine's safetensors reader (its size, header and offset
    /// checks), then everything in it is checked against everything else before the trainer is
    /// built: the metadata decodes, the config and model are valid, the counters are in range,
    /// the tensors are exactly the model's (names and shapes) plus their momentum, all finite,
    /// and the run fits in memory.
    ///
    /// - Throws: `TrainingError` with one line naming the file for a missing, truncated,
    ///   inconsistent or older-format state file; `DataError` when a dataset does not fit the model.
    /// - Parameter epochs: a new total number of epochs (more extends the run, fewer ends it
    ///   sooner; not fewer than the epochs already trained). The learning-rate schedule follows
    ///   the new total from the next step on, so such a run differs from one started with it.
    public static func resume(path: String, train: ImageDataset, test: ImageDataset,
                              threads: Int? = nil, epochs: Int? = nil) throws -> Trainer {
        typealias Key = TrainingStateFile.Key
        if let threads, !(1...64).contains(threads) {
            throw TrainingError("threads must be in 1...64, got \(threads)")
        }
        func fail(_ reason: String) -> TrainingError { TrainingError("\(path): \(reason)") }

        // The bytes and the tensors decoded from them are alive together.
        let bytes: [UInt8]
        do { bytes = try Files.readAll(path: path, alive: 2) } catch {
            throw fail("cannot read the training state: \(error.reason)")
        }
        if bytes.starts(with: TrainingStateFile.legacyMagic) {
            throw fail("a training state from an older dyconv (DYCONVTS); start the run again")
        }
        // First the container and the metadata only (no tensor is loaded).
        let metadata = try decodeStateFile(bytes, path: path, loadingTensors: false).metadata
        guard metadata[Key.format] == TrainingStateFile.format else {
            if metadata[Checkpoint.MetadataKey.architecture] != nil {
                throw fail("this is a dyconv checkpoint, not a training state (the state is the checkpoint's name + .state)")
            }
            throw fail("not a dyconv training state file (metadata 'format' is \(metadata[Key.format].map { "'\($0)'" } ?? "missing"))")
        }
        guard metadata[Key.version] == TrainingStateFile.version else {
            throw fail("unsupported training state version \(metadata[Key.version].map { "'\($0)'" } ?? "(missing)") (this build reads version \(TrainingStateFile.version))")
        }
        func value<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
            guard let text = metadata[key] else { throw fail("no '\(key)' metadata in the training state") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw fail("'\(key)' in the training state does not decode: \(Checkpoint.summarize(error))")
            }
        }
        var config = try value(Key.config, as: TrainingConfig.self)
        let description = try value(Key.model, as: ModelDescription.self)
        let c = try value(Key.counters, as: Counters.self)
        let history = try value(Key.history, as: [EpochMetrics].self)
        let savedThreads = try value(Key.threads, as: Int.self)

        if let epochs {
            guard epochs >= c.epoch else {
                throw fail("the run already trained \(c.epoch) epochs, more than the \(epochs) asked for")
            }
            config.epochs = epochs
        }
        do { try config.validate(checkingModel: false) } catch { throw fail("\(error)") }
        do { try description.validate() } catch { throw fail("stored model is invalid: \(error)") }
        guard (1...64).contains(savedThreads) else {
            throw fail("stored thread count \(savedThreads) is outside 1...64")
        }
        guard c.epoch >= 0, c.iterationInEpoch >= 0, c.globalIteration >= 0, c.epochImages >= 0,
              (0...c.epochImages).contains(c.epochCorrect) else {
            throw fail("counters out of range in training state (negative, or more correct images than images)")
        }
        guard c.epoch <= config.epochs else {
            throw fail("counters out of range in training state: epoch \(c.epoch) of a \(config.epochs)-epoch run")
        }
        guard c.epochLoss.isFinite, c.epochSeconds.isFinite else {
            throw fail("counters out of range in training state: non-finite running sums")
        }
        // Before the tensors are decoded (and copied several times over by the trainer).
        try Trainer.checkMemory(config: config, description: description, threads: threads ?? savedThreads,
                                trainImages: train.count)
        try train.checkCompatible(with: description, name: "training set")
        try test.checkCompatible(with: description, name: "test set")

        let stored = try decodeStateFile(bytes, path: path, loadingTensors: true).tensors
        let layout = ParameterLayout(description)
        let momentumNames = layout.parameters.map { TrainingStateFile.momentumPrefix + $0.name }
        let expected = layout.parameters + layout.buffers
        let expectedNames = Set(expected.map(\.name) + momentumNames)
        for name in expected.map(\.name) + momentumNames where stored[name] == nil {
            throw fail("tensor '\(name)' is missing (the state does not match its model)")
        }
        if let extra = stored.keys.sorted().first(where: { !expectedNames.contains($0) }) {
            throw fail("unexpected tensor '\(extra)' (the state does not match its model)")
        }
        var momentumValues = [Float](repeating: 0, count: layout.parameterCount)
        var tensors: [String: Tensor] = [:]
        for (entry, momentumName) in zip(layout.parameters, momentumNames) {
            let weights = stored[entry.name]!, velocity = stored[momentumName]!
            for (name, tensor) in [(entry.name, weights), (momentumName, velocity)] {
                guard tensor.shape == entry.shape else {
                    throw fail("tensor '\(name)': shape \(tensor.shape) does not match the model's \(entry.shape)")
                }
                guard tensor.data.allSatisfy(\.isFinite) else { throw fail("tensor '\(name)' holds non-finite values") }
            }
            tensors[entry.name] = weights
            momentumValues.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: velocity.data)
        }
        for entry in layout.buffers {
            let tensor = stored[entry.name]!
            guard tensor.shape == entry.shape else {
                throw fail("tensor '\(entry.name)': shape \(tensor.shape) does not match the model's \(entry.shape)")
            }
            guard tensor.data.allSatisfy(\.isFinite) else { throw fail("tensor '\(entry.name)' holds non-finite values") }
            tensors[entry.name] = tensor
        }
        let trainer = try Trainer(validated: config, description: description, train: train, test: test,
                                  parameters: tensors, threads: threads ?? savedThreads)
        guard c.iterationInEpoch <= trainer.iterationsPerEpoch else {
            throw fail("state is at step \(c.iterationInEpoch) of an epoch that has \(trainer.iterationsPerEpoch) steps with this training set")
        }
        trainer.momentum.load(momentumValues)
        trainer.counters = c
        trainer.history = history
        return trainer
    }

    /// The bytes of a state through the engine's safetensors reader; a container error becomes
    /// one line that says whether the file is cut short or not a state at all.
    private static func decodeStateFile(_ bytes: [UInt8], path: String, loadingTensors: Bool) throws -> SafetensorsFile {
        do {
            return try SafetensorsFile.decode(bytes, path: path, ignoring: { _ in !loadingTensors })
        } catch {
            let detail = error.tensor.map { "tensor '\($0)': \(error.reason)" } ?? error.reason
            switch error.kind {
            case .truncated, .invalidOffsets:
                throw TrainingError("\(path): training state is truncated or corrupt: \(detail)")
            default:
                throw TrainingError("\(path): not a dyconv training state file: \(detail)")
            }
        }
    }
}
