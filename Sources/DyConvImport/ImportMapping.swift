import DyConvEngine
import Foundation

/// `--from mapping.json`: a network no preset covers, described by its dyconv architecture and
/// where each dyconv tensor lives in the state_dict.
///
/// ```json
/// {
///   "architecture": { …a ModelDescription, docs/CHECKPOINT.md… },
///   "tensors":  { "fc.weight": "head.classifier.weight" },
///   "prefixes": [ { "dyconv": "layer1.", "torch": "backbone.stage1." } ]
/// }
/// ```
/// A dyconv tensor name is looked up in `tensors` first (exact), then the first rule of
/// `prefixes` whose `dyconv` prefix it starts with rewrites that prefix; otherwise the PyTorch name
/// is the dyconv name. Attention FC weights may be stored `[o, i]` or `[o, i, 1, 1]`. The
/// architecture's layers and family are used; input, normalisation and classes come from the
/// command line like every preset's, and `--tau` (when given) replaces every dynamic layer's τ.
public struct ImportMapping: Sendable, Equatable {
    /// One prefix rewrite.
    public struct PrefixRule: Codable, Sendable, Equatable {
        /// The start of a dyconv tensor name.
        public var dyconv: String
        /// What it is in the state_dict.
        public var torch: String
        public init(dyconv: String, torch: String) { self.dyconv = dyconv; self.torch = torch }
    }

    /// The mapping file (for messages and the checkpoint's metadata).
    public var file: String
    /// The network; its layers name the dyconv tensors (`parameterShapes()`).
    public var architecture: ModelDescription
    /// Exact renames, dyconv name → PyTorch name.
    public var tensors: [String: String]
    /// Prefix rewrites, tried in order.
    public var prefixes: [PrefixRule]

    public init(file: String, architecture: ModelDescription, tensors: [String: String] = [:], prefixes: [PrefixRule] = []) {
        self.file = file
        self.architecture = architecture
        self.tensors = tensors
        self.prefixes = prefixes
    }

    /// The largest mapping file read.
    public static let maxBytes = 16 << 20

    private struct FileContents: Codable {
        var architecture: ModelDescription
        var tensors: [String: String]?
        var prefixes: [PrefixRule]?
    }

    /// Reads and checks a mapping file: JSON of the form above, every `tensors` key a tensor of
    /// the architecture, the architecture valid on its own input.
    public static func read(path: String) throws(ImportError) -> ImportMapping {
        let bytes: [UInt8]
        let size: Int
        do { (bytes, size) = try Files.readPrefix(path: path, count: maxBytes) } catch {
            throw ImportError(.invalidMapping, file: path, error.reason)
        }
        guard size <= maxBytes else {
            throw ImportError(.invalidMapping, file: path, "is \(Limits.formatBytes(size)), more than the limit of \(Limits.formatBytes(maxBytes))")
        }
        // One level for the file's object around the architecture.
        guard !ModelDescription.jsonNestsDeeper(bytes, than: Limits.maxJSONDepth + 1) else {
            throw ImportError(.invalidMapping, file: path, "nests deeper than \(Limits.maxJSONDepth + 1) levels")
        }
        let contents: FileContents
        do { contents = try JSONDecoder().decode(FileContents.self, from: Data(bytes)) } catch {
            throw ImportError(.invalidMapping, file: path, "is not a mapping (\"architecture\", \"tensors\", \"prefixes\"): \(Self.summarize(error))")
        }
        let mapping = ImportMapping(file: path, architecture: contents.architecture,
                                    tensors: contents.tensors ?? [:], prefixes: contents.prefixes ?? [])
        try mapping.check()
        return mapping
    }

    /// Encodes the mapping as the file `read(path:)` reads (key-sorted, indented).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(FileContents(architecture: architecture, tensors: tensors, prefixes: prefixes))
    }

    /// Checks the architecture and that every exact rename names one of its tensors.
    public func check() throws(ImportError) {
        do { try architecture.validate() } catch {
            throw ImportError(.invalidMapping, file: file, "architecture is invalid: \(error)")
        }
        let names = Set(architecture.parameterShapes().map(\.name))
        if let stray = tensors.keys.sorted().first(where: { !names.contains($0) }) {
            throw ImportError(.invalidMapping, file: file, "\"tensors\" maps '\(stray)', which the architecture does not have")
        }
    }

    /// The PyTorch name of the dyconv tensor `name`.
    public func torchName(of name: String) -> String {
        if let exact = tensors[name] { return exact }
        if let rule = prefixes.first(where: { name.hasPrefix($0.dyconv) }) {
            return rule.torch + name.dropFirst(rule.dyconv.count)
        }
        return name
    }

    /// The build step: every tensor of the architecture, taken by its mapped name.
    func build(_ builder: inout ModelBuilder, _ options: ImportOptions) throws(ImportError) -> [LayerSpec] {
        for (name, shape) in architecture.parameterShapes() {
            var shapes = [shape]
            if name.hasSuffix(".attention.fc1.weight") || name.hasSuffix(".attention.fc2.weight") {
                shapes.append(shape + [1, 1])   // a 1×1-conv FC
            }
            try builder.take(name, from: torchName(of: name), oneOf: shapes,
                             what: "\(file) maps dyconv '\(name)' \(ImportError.format(shape)) here")
        }
        guard let tau = options.temperature else { return architecture.layers }
        guard Limits.isValidTemperature(tau) else { throw ImportError(.invalidOption, file: "--tau", Limits.temperatureRangeText) }
        return Self.settingTemperature(tau, in: architecture.layers)
    }

    /// `layers` with every dynamic convolution's τ set to `tau`.
    static func settingTemperature(_ tau: Float, in layers: [LayerSpec]) -> [LayerSpec] {
        layers.map { layer in
            switch layer {
            case .conv(var c) where c.attention != nil:
                c.attention?.temperature = tau
                return .conv(c)
            case .residual(let body, let shortcut):
                return .residual(body: settingTemperature(tau, in: body), shortcut: settingTemperature(tau, in: shortcut))
            default:
                return layer
            }
        }
    }

    private static func summarize(_ error: Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }
}

extension ModelBuilder {
    /// Takes the state_dict tensor `key` as the dyconv tensor `name` (for mappings and presets
    /// whose layers are not built one module at a time), reshaped to the first of `shapes`.
    public mutating func take(_ name: String, from key: String, oneOf shapes: [[Int]], what: String) throws(ImportError) {
        setParameter(name, try reader.take(key, oneOf: shapes, what: what))
    }
}
