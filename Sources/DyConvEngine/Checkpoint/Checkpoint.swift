import Foundation

/// Where a training run stood when a checkpoint was written; stored as JSON in metadata `dyconv.training`.
///
/// Accuracies are fractions in [0, 1]; `entropy` maps each dynamic layer's
/// name to its mean normalised attention entropy H(π)/ln K over the test set.
///
/// The τ of the epoch is not here: it is stored once, as each dynamic layer's
/// `attention.temperature` in the architecture (`ModelDescription.trainedTemperature`).
/// Files written before that carry a `temperature` field in this record; the reader
/// ignores it (dyconv always wrote the same τ in both places).
public struct TrainingRecord: Codable, Sendable, Equatable {
    /// Epochs completed when the snapshot was taken (0 = before any training).
    public var epoch: Int
    /// Epochs the run was configured for.
    public var epochs: Int
    /// Mean training loss of the last epoch.
    public var loss: Float?
    /// Training-set accuracy of the last epoch, in [0, 1].
    public var trainAccuracy: Float?
    /// Test-set accuracy after the last epoch, in [0, 1].
    public var testAccuracy: Float?
    /// Mean normalised attention entropy per dynamic layer, by layer name.
    public var entropy: [String: Float]?
    /// The figures of every finished epoch 1…`epoch`, oldest first (absent in records written
    /// before dyconv kept it). Snapshots are kept only for some epochs (`SnapshotRetention`);
    /// this is how the epochs without one stay in the training history.
    public var history: [Epoch]?

    /// The figures of one finished epoch, as `TrainingRecord` holds them for the last one.
    public struct Epoch: Codable, Sendable, Equatable {
        /// The epoch (1-based).
        public var epoch: Int
        /// The τ of that epoch (at its last step).
        public var temperature: Float
        /// Mean training loss of that epoch.
        public var loss: Float?
        /// Training-set accuracy of that epoch, in [0, 1].
        public var trainAccuracy: Float?
        /// Test-set accuracy after that epoch, in [0, 1].
        public var testAccuracy: Float?
        /// Mean normalised attention entropy per dynamic layer, by layer name.
        public var entropy: [String: Float]?

        /// Creates one epoch's figures.
        public init(epoch: Int, temperature: Float, loss: Float? = nil, trainAccuracy: Float? = nil,
                    testAccuracy: Float? = nil, entropy: [String: Float]? = nil) {
            self.epoch = epoch; self.temperature = temperature; self.loss = loss
            self.trainAccuracy = trainAccuracy; self.testAccuracy = testAccuracy; self.entropy = entropy
        }
    }

    /// Creates a training record.
    public init(epoch: Int, epochs: Int, loss: Float? = nil,
                trainAccuracy: Float? = nil, testAccuracy: Float? = nil, entropy: [String: Float]? = nil,
                history: [Epoch]? = nil) {
        self.epoch = epoch
        self.epochs = epochs
        self.loss = loss
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
        self.entropy = entropy
        self.history = history
    }

    /// This record's own epoch as a history entry, at `temperature` (the τ its model's layers
    /// store: the record itself keeps no τ).
    public func asEpoch(temperature: Float) -> Epoch {
        Epoch(epoch: epoch, temperature: temperature, loss: loss, trainAccuracy: trainAccuracy,
              testAccuracy: testAccuracy, entropy: entropy)
    }
}

/// A dyconv model on disk: a safetensors file whose metadata holds the architecture.
///
/// The file is plain safetensors (readable by `safetensors.safe_open` or
/// `safetensors.torch.load_file`); its `__metadata__` carries `format: dyconv`,
/// `dyconv.format_version: 1`, `dyconv.architecture` (the `ModelDescription`
/// JSON) and optionally `dyconv.training` (a `TrainingRecord`). Tensor names
/// and shapes are those of `ModelDescription.parameterShapes()`, which follow
/// PyTorch `state_dict` conventions. See `docs/CHECKPOINT.md`.
public struct Checkpoint: Sendable, Equatable {
    /// The network the tensors belong to.
    public var description: ModelDescription
    /// Every parameter tensor, by `state_dict` name, in the shapes of `description.parameterShapes()`.
    public var tensors: [String: Tensor]
    /// Metadata besides the reserved keys (`format`, `dyconv.format_version`,
    /// `dyconv.architecture`, `dyconv.training`), kept on a round trip.
    public var metadata: [String: String]
    /// The training state, if the checkpoint was written by a training run.
    public var training: TrainingRecord?

    /// Creates a checkpoint; nothing is checked until `write(path:)`.
    public init(description: ModelDescription, tensors: [String: Tensor],
                metadata: [String: String] = [:], training: TrainingRecord? = nil) {
        self.description = description
        self.tensors = tensors
        self.metadata = metadata
        self.training = training
    }

    /// The format version this build writes and reads.
    public static let formatVersion = "1"

    /// The metadata keys the checkpoint format defines.
    public enum MetadataKey {
        /// Always `"dyconv"` when written by dyconv (its value is not checked on read).
        public static let format = "format"
        /// The format version, `"1"`.
        public static let formatVersion = "dyconv.format_version"
        /// The `ModelDescription` as JSON.
        public static let architecture = "dyconv.architecture"
        /// The `TrainingRecord` as JSON (optional).
        public static let training = "dyconv.training"
        /// Keys set by the writer and stripped from `Checkpoint.metadata` by the reader.
        public static let reserved: Set<String> = [format, formatVersion, architecture, training]
    }

    // MARK: Reading

    /// Reads and validates a checkpoint.
    ///
    /// Beyond the container checks of `SafetensorsFile.read(path:)`, this checks
    /// the metadata, decodes and validates the architecture, and requires exactly
    /// the tensors the architecture needs (names ending in `.num_batches_tracked`
    /// are ignored), with the right shapes and finite values. The attention
    /// weights `p.attention.fc1.weight` / `p.attention.fc2.weight` may also be
    /// stored as PyTorch 1×1-conv weights `[hidden, in, 1, 1]` / `[K, hidden, 1, 1]`;
    /// they are reshaped to 2-D.
    /// - Throws: `CheckpointError`, one line naming the file and, where relevant, the tensor.
    public static func read(path: String) throws(CheckpointError) -> Checkpoint {
        try Checkpoint(file: try SafetensorsFile.read(path: path, ignoring: isIgnoredTensorName), path: path)
    }

    /// Interprets an already-read safetensors file as a checkpoint; `path` only names it in errors.
    ///
    /// - Throws: `CheckpointError` as `read(path:)` does.
    public init(file: SafetensorsFile, path: String) throws(CheckpointError) {
        let header = try CheckpointMetadata(fileMetadata: file.metadata, path: path)
        let tensors = try Self.conformingTensors(file.tensors, to: header.description, path: path)
        self.init(description: header.description, tensors: tensors, metadata: header.metadata, training: header.training)
    }

    /// The dyconv keys of a file's `__metadata__`: the version checked, the architecture
    /// decoded and validated, the training record decoded; the other keys returned as they are.
    static func interpretMetadata(_ fileMetadata: [String: String], path: String) throws(CheckpointError)
        -> (description: ModelDescription, training: TrainingRecord?, metadata: [String: String]) {
        var metadata = fileMetadata
        if let version = metadata[MetadataKey.formatVersion], version != Self.formatVersion {
            throw CheckpointError(.invalidMetadata, path: path,
                "checkpoint format version '\(version)' is not supported (this build reads version \(Self.formatVersion))")
        }
        guard let architecture = metadata[MetadataKey.architecture] else {
            throw CheckpointError(.invalidMetadata, path: path,
                "no '\(MetadataKey.architecture)' metadata: not a dyconv checkpoint (see docs/CHECKPOINT.md)")
        }
        let description: ModelDescription
        do {
            description = try ModelDescription.fromJSON(architecture)
        } catch {
            throw CheckpointError(.invalidArchitecture, path: path,
                "'\(MetadataKey.architecture)' does not decode: \(Self.summarize(error))")
        }
        do {
            try description.validate()
        } catch {
            throw CheckpointError(.invalidArchitecture, path: path, "architecture is invalid: \(Self.summarize(error))")
        }
        var training: TrainingRecord?
        if let text = metadata[MetadataKey.training] {
            // The record is shallow (its deepest value, a history entry's entropy object, is at
            // level 4): refuse hostile nesting before the recursive decoder sees it.
            guard !HeaderJSON.nestsDeeper(text.utf8, than: 8) else {
                throw CheckpointError(.invalidMetadata, path: path,
                    "'\(MetadataKey.training)' nests deeper than 8 levels; it is not a training record")
            }
            do {
                training = try Self.makeJSONDecoder().decode(TrainingRecord.self, from: Data(text.utf8))
            } catch {
                throw CheckpointError(.invalidMetadata, path: path,
                    "'\(MetadataKey.training)' is not a valid training record: \(Self.summarize(error))")
            }
        }
        for key in MetadataKey.reserved { metadata.removeValue(forKey: key) }
        return (description, training, metadata)
    }

    // MARK: Writing

    /// Validates the checkpoint and writes it atomically as a safetensors file.
    ///
    /// `dtype` is how tensors are stored: F32 (the default, exact) or narrower. Narrowing
    /// rounds each value to nearest (ties to even), but a tensor stays F32 whole when the
    /// narrower type would turn one of its values infinite (F16: |x| ≥ 65520), or, for a
    /// BatchNorm `running_var` (a divisor, √(var + eps)), when a nonzero value would fall
    /// below the normal range (F16: |x| < 2⁻¹⁴) and lose its relative precision or become 0.
    /// Other tensors accept subnormal rounding (absolute error ≤ 2⁻²⁵ for F16). See
    /// `TensorDType.holds(_:relativePrecision:)` and docs/CHECKPOINT.md. Training snapshots
    /// are written as F16.
    ///
    /// The file is written to `<path>.tmp-<pid>` in the same directory, fsynced
    /// and renamed over `path`, so readers never see a partial file and an
    /// existing file survives a failed write. The same rules as `read(path:)`
    /// apply, so everything written can be read back; attention weights given
    /// in the 4-D alias shapes are stored 2-D.
    /// - Throws: `CheckpointError` naming `path`: the parent directory is
    ///   missing, a reserved metadata key is set, the architecture is invalid,
    ///   a tensor is missing, unexpected, misshapen or non-finite, or I/O failed.
    public func write(path: String, dtype: TensorDType = .f32) throws(CheckpointError) {
        if let key = metadata.keys.sorted().first(where: { MetadataKey.reserved.contains($0) }) {
            throw CheckpointError(.invalidMetadata, path: path,
                "metadata key '\(key)' is reserved (the writer sets it from the checkpoint's fields)")
        }
        do {
            try description.validate()
        } catch {
            throw CheckpointError(.invalidArchitecture, path: path, "architecture is invalid: \(Self.summarize(error))")
        }
        let tensors = try Self.conformingTensors(self.tensors, to: description, path: path)
        var fileMetadata = metadata
        fileMetadata[MetadataKey.format] = "dyconv"
        fileMetadata[MetadataKey.formatVersion] = Self.formatVersion
        do {
            // The encoding of `ModelDescription.jsonString()` (which `fromJSON` reads back), but
            // a value JSON cannot hold (an infinite eps) is an error here, not a trap.
            let architectureEncoder = JSONEncoder()
            architectureEncoder.outputFormatting = [.sortedKeys]
            fileMetadata[MetadataKey.architecture] = String(decoding: try architectureEncoder.encode(description), as: UTF8.self)
            if let training {
                fileMetadata[MetadataKey.training] = String(decoding: try Self.makeJSONEncoder().encode(training), as: UTF8.self)
            }
        } catch {
            throw CheckpointError(.invalidMetadata, path: path, "cannot encode the metadata as JSON: \(Self.summarize(error))")
        }
        var dtypes: [String: TensorDType] = [:]
        if dtype != .f32 {
            for (name, tensor) in tensors
            where dtype.holds(tensor.data, relativePrecision: Self.isDivisorTensorName(name)) { dtypes[name] = dtype }
        }
        try SafetensorsFile(tensors: tensors, metadata: fileMetadata, dtypes: dtypes).write(path: path)
    }

    // MARK: Validation

    /// Whether a tensor name is skipped on read: PyTorch's BatchNorm `*.num_batches_tracked` counters.
    public static func isIgnoredTensorName(_ name: String) -> Bool {
        name.hasSuffix(".num_batches_tracked")
    }

    /// Whether a tensor divides (BatchNorm `*.running_var`, under √(var + eps)), so that
    /// narrowing it must keep every value's relative precision (`write(path:dtype:)`).
    static func isDivisorTensorName(_ name: String) -> Bool {
        name.hasSuffix(".running_var")
    }

    /// The tensors `description` needs, taken from `tensors` and checked.
    ///
    /// Alias shapes of the attention FCs are reshaped to 2-D; `*.num_batches_tracked`
    /// entries are dropped. Missing tensors are reported before unexpected ones,
    /// so a file with the wrong naming scheme gets a message that shows both.
    static func conformingTensors(_ tensors: [String: Tensor], to description: ModelDescription,
                                  path: String) throws(CheckpointError) -> [String: Tensor] {
        let expected = description.parameterShapes()
        let expectedNames = Set(expected.map(\.name))
        let unexpected = tensors.keys
            .filter { !expectedNames.contains($0) && !isIgnoredTensorName($0) }
            .sorted()
        var out: [String: Tensor] = [:]
        out.reserveCapacity(expected.count)
        for (name, shape) in expected {
            guard var tensor = tensors[name] else {
                var reason = "missing (the architecture needs shape \(CheckpointError.format(shape)))"
                if let other = unexpected.first {
                    reason += "; the file has \(unexpected.count) tensor\(unexpected.count == 1 ? "" : "s") the architecture does not use, e.g. '\(other)'"
                }
                throw CheckpointError(.missingTensor, path: path, tensor: name, reason)
            }
            guard elementCount(tensor.shape) == tensor.data.count else {
                throw CheckpointError(.shapeMismatch, path: path, tensor: name,
                    "holds \(tensor.data.count) values, not the \(CheckpointError.format(tensor.shape)) its shape claims")
            }
            if tensor.shape != shape {
                let isAttentionFC = name.hasSuffix(".attention.fc1.weight") || name.hasSuffix(".attention.fc2.weight")
                guard isAttentionFC && tensor.shape == shape + [1, 1] else {
                    throw CheckpointError(.shapeMismatch, path: path, tensor: name,
                        "shape \(CheckpointError.format(tensor.shape)) does not match the architecture's \(CheckpointError.format(shape))")
                }
                tensor.shape = shape
            }
            if let bad = firstNonFinite(tensor.data) {
                var index: [Int] = []
                var rest = bad
                for d in shape.reversed() { index.append(rest % d); rest /= d }
                throw CheckpointError(.nonFiniteValue, path: path, tensor: name,
                    "element \(bad) (index \(CheckpointError.format(index.reversed()))) is \(tensor.data[bad]); checkpoints must hold finite values")
            }
            out[name] = tensor
        }
        if let first = unexpected.first {
            let more = unexpected.count > 1 ? " (and \(unexpected.count - 1) more)" : ""
            throw CheckpointError(.unexpectedTensor, path: path, tensor: first,
                "is not used by the architecture\(more); '*.num_batches_tracked' is the only extra name allowed")
        }
        return out
    }

    /// The number of elements of `shape`, or `nil` if a dimension is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            count = p
        }
        return count
    }

    /// The index of the first NaN or ±Inf in `values`, if any.
    static func firstNonFinite(_ values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { floats -> Int? in
            floats.withMemoryRebound(to: UInt32.self) { bits -> Int? in
                // A value is NaN or ±Inf exactly when its exponent bits are all ones. The
                // integer max-reduction vectorises; only a file with a bad value is searched.
                let exponent: UInt32 = 0x7F80_0000
                var largest: UInt32 = 0
                for b in bits { largest = Swift.max(largest, b & exponent) }
                guard largest == exponent else { return nil }
                return bits.firstIndex { $0 & exponent == exponent }
            }
        }
    }

    // MARK: JSON

    /// The encoder of the training record: sorted keys, non-finite floats as the strings
    /// "nan", "inf", "-inf" (a diverged loss is worth recording).
    static func makeJSONEncoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    /// The decoder matching `makeJSONEncoder()`.
    static func makeJSONDecoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// One line describing a decoding or validation error, with the JSON path where it applies.
    package static func summarize(_ error: any Error) -> String {
        func where_(_ path: [any CodingKey]) -> String {
            guard !path.isEmpty else { return "" }
            var text = ""
            for key in path {
                if let i = key.intValue { text += "[\(i)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return " at \(text)"
        }
        switch error {
        case let e as ModelDescriptionError:
            return e.message
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing field '\(key.stringValue)'\(where_(ctx.codingPath))"
        case DecodingError.typeMismatch(let type, let ctx):
            return "expected \(type)\(where_(ctx.codingPath))"
        case DecodingError.valueNotFound(let type, let ctx):
            return "missing \(type) value\(where_(ctx.codingPath))"
        case DecodingError.dataCorrupted(let ctx):
            var detail = ctx.debugDescription.split(separator: "\n").first.map(String.init) ?? "invalid data"
            if let underlying = ctx.underlyingError {
                let text = String(describing: underlying).split(separator: "\n").first.map(String.init) ?? ""
                if !text.isEmpty { detail += " (\(text))" }
            }
            return "\(detail)\(where_(ctx.codingPath))"
        case EncodingError.invalidValue(let value, let ctx):
            return "cannot encode \(value)\(where_(ctx.codingPath))"
        default:
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
        }
    }
}
