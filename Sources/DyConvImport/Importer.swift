import DyConvEngine
import DyConvTorch

/// Turns a PyTorch checkpoint into a dyconv checkpoint.
public enum Importer {
    /// Metadata keys the importer sets on the checkpoint it returns.
    public enum MetadataKey {
        /// The source file as the user named it.
        public static let source = "dyconv.import.source"
        /// The preset name, or `mapping:<file>` for `--from mapping.json`.
        public static let preset = "dyconv.import.preset"
    }

    /// Reads `source` (a `torch.save` zip or safetensors file), runs `preset`, checks that every
    /// tensor was used, assembles the description (family = preset name; classes from the
    /// options or numbered), validates it on the input shape, and returns the checkpoint. The
    /// caller writes it: `Checkpoint.write` checks the tensors against the description once more
    /// (names, shapes, finite values) and is atomic. The `Model` is not built here: packing the
    /// kernels of a 45 M-parameter network took longer than the rest of the import together.
    public static func run(source: String, preset: ImportPreset, options: ImportOptions) throws(ImportError) -> Checkpoint {
        try run(stateDict: try read(source), file: source, preset: preset, options: options)
    }

    /// `run(source:preset:options:)` on a state_dict already read; `file` names it in messages.
    public static func run(stateDict: TorchStateDict, file: String, preset: ImportPreset,
                           options: ImportOptions) throws(ImportError) -> Checkpoint {
        try run(stateDict: stateDict, file: file, presetName: preset.name, family: preset.name,
                options: options, build: preset.build)
    }

    /// Reads `source` and imports it by a mapping file (`--from mapping.json`).
    public static func run(source: String, mapping: ImportMapping, options: ImportOptions) throws(ImportError) -> Checkpoint {
        try run(stateDict: try read(source), file: source, mapping: mapping, options: options)
    }

    /// `run(source:mapping:options:)` on a state_dict already read.
    public static func run(stateDict: TorchStateDict, file: String, mapping: ImportMapping,
                           options: ImportOptions) throws(ImportError) -> Checkpoint {
        try run(stateDict: stateDict, file: file, presetName: "mapping:\(mapping.file)",
                family: mapping.architecture.family, options: options, build: mapping.build)
    }

    /// Reads a state_dict, turning the reader's error into an import error (same line).
    static func read(_ source: String) throws(ImportError) -> TorchStateDict {
        do { return try TorchCheckpoint.read(path: source) } catch {
            throw ImportError(.unreadableSource, file: source, error.description.droppingPrefix("\(source): "))
        }
    }

    private static func run(stateDict: TorchStateDict, file: String, presetName: String, family: String,
                            options: ImportOptions,
                            build: (inout ModelBuilder, ImportOptions) throws(ImportError) -> [LayerSpec]) throws(ImportError) -> Checkpoint {
        let normalization = try ImportOptions.normalization(mean: options.normalization.mean, std: options.normalization.std,
                                                            channels: options.input.channels)
        var builder = ModelBuilder(reader: StateDictReader(stateDict, file: file), options: options)
        let layers = try build(&builder, options)
        try builder.reader.checkAllUsed(by: presetName)

        var description = ModelDescription(family: family, input: options.input, normalization: normalization,
                                           classes: [], layers: layers)
        let output: [Int]
        do { output = try description.validate() } catch {
            throw ImportError(.invalidArchitecture, file: file, "the network does not run on \(options.input.channels)×\(options.input.height)×\(options.input.width) inputs: \(error)")
        }
        if output.count == 1 {
            if let classes = options.classes {
                guard classes.count == output[0] else {
                    throw ImportError(.invalidOption, file: "--classes",
                        "names \(classes.count) classes, but the classifier has \(output[0]) outputs")
                }
                description.classes = classes
            } else {
                description.classes = (0..<output[0]).map { "class \($0)" }
            }
        } else if options.classes != nil {
            throw ImportError(.invalidOption, file: "--classes",
                "the network ends in a \(ImportError.format(output)) image, not one score per class")
        }
        return Checkpoint(description: description, tensors: builder.parameters,
                          metadata: [MetadataKey.source: file, MetadataKey.preset: presetName])
    }
}

extension String {
    /// The string without `prefix` when it starts with it.
    func droppingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
