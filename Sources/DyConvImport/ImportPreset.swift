import DyConvEngine

/// How one public code base names and wires its network: a function that reads the tensors
/// through a `ModelBuilder` and returns the dyconv layers, in execution order.
public struct ImportPreset: Sendable {
    /// The `--from` name, e.g. `kaijieshi7-resnet18`; also the imported model's family.
    public let name: String
    /// One line for `dyconv import --help` and docs/IMPORT.md.
    public let summary: String
    /// τ when `--tau` is not given: what the code's module ends training with.
    public let defaultTemperature: Float
    /// Reads the tensors and returns the layers.
    public let build: @Sendable (inout ModelBuilder, ImportOptions) throws(ImportError) -> [LayerSpec]

    public init(name: String, summary: String, defaultTemperature: Float = 1,
                build: @escaping @Sendable (inout ModelBuilder, ImportOptions) throws(ImportError) -> [LayerSpec]) {
        self.name = name
        self.summary = summary
        self.defaultTemperature = defaultTemperature
        self.build = build
    }
}

extension ImportOptions {
    /// τ for `preset`: `--tau` if given, else the preset's default.
    public func temperature(for preset: ImportPreset) -> Float { temperature ?? preset.defaultTemperature }
}

/// The presets `dyconv import --from NAME` knows.
public enum ImportPresets {
    /// Every preset, in the order `--help` lists them.
    public static let all: [ImportPreset] = [
        DyconvLayoutPreset.preset,
        KaijieshiResNet.resnet18,
        KaijieshiResNet.resnet34,
        TArdeleanPresets.resnet10,
        TArdeleanPresets.resnet18,
        TArdeleanPresets.mobilenetV2,
    ]

    /// The preset called `name`, or nil.
    public static func named(_ name: String) -> ImportPreset? { all.first { $0.name == name } }

    /// The names, comma-separated, for messages.
    public static var namesText: String { all.map(\.name).joined(separator: ", ") }
}
