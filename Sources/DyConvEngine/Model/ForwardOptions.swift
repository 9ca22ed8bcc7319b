/// How a dynamic layer turns its attention π into the kernel it applies:
/// the paper's ablation of aggregation (Chen et al., Table 6).
///
/// The rule keeps each image's total mass Σ_k π_k (`aggregationCoefficients`): for dynamic
/// convolution (softmax routing, Σπ = 1) `average` is 1/K and `max` one-hot; for CondConv
/// (sigmoid routing, independent gates r) `average` is Σr/K and `max` puts Σr on the largest gate.
public enum AggregationMode: String, Codable, Sendable, CaseIterable {
    /// Σ π_k W_k with the π the attention branch computed (the normal mode).
    case attention
    /// a_k = (Σ_j π_j) / K for every input: the average kernel (1/K for softmax, Σr/K for CondConv).
    case average
    /// Σ_j π_j at argmax π, 0 elsewhere: only the kernel with the largest attention (one-hot for
    /// softmax, Σr on the largest gate for CondConv).
    case max
    /// π permuted among the K kernels: one seeded cyclic permutation per layer and image, drawn
    /// from (seed, layer, the image's index in its dataset), so an image's result never depends
    /// on the batch it runs in (`Model.forward(_:options:partners:imageIndices:)`).
    case shuffleImage = "shuffle-image"
    /// Each image uses, at every dynamic layer, the π its fixed partner image gets there in a
    /// clean pass (`ShuffleAcrossPartners`: a seeded derangement of the dataset's indices), so the
    /// result never depends on the batch. `Model.forward` needs the partner images in this mode.
    case shuffleAcross = "shuffle-across"

    /// The next mode in a fixed cycle (for UIs).
    public var next: AggregationMode {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// Options of one forward pass: temperature, aggregation mode, and whether to trace.
public struct ForwardOptions: Sendable, Equatable {
    /// Temperature for every dynamic layer; `nil` uses each layer's trained τ.
    public var temperature: Float?
    /// Per-layer temperatures by layer name; these win over `temperature`.
    public var layerTemperatures: [String: Float]
    /// How the attention is used to aggregate kernels.
    public var mode: AggregationMode
    /// Seed of the shuffle modes.
    public var seed: UInt64
    /// Whether to collect the per-layer attention trace.
    public var collectTrace: Bool

    public init(temperature: Float? = nil, layerTemperatures: [String: Float] = [:],
                mode: AggregationMode = .attention, seed: UInt64 = 0, collectTrace: Bool = true) {
        self.temperature = temperature
        self.layerTemperatures = layerTemperatures
        self.mode = mode
        self.seed = seed
        self.collectTrace = collectTrace
    }

    /// The τ a layer runs with, given its trained τ.
    public func temperature(forLayer name: String, trained: Float) -> Float {
        layerTemperatures[name] ?? temperature ?? trained
    }

    /// Checks the options a caller took from a user (flags, keys) against `model`: every τ lies
    /// in `Limits.temperature` and every per-layer τ names one of the model's dynamic layers.
    ///
    /// The forward pass itself never traps on a τ, but one outside the range gives meaningless
    /// (saturated) attention, so the CLI and the TUI call this first and print the error.
    /// - Throws: `ForwardOptionsError`, one line naming the bad value (and layer).
    public func validate(for model: Model) throws(ForwardOptionsError) {
        if let t = temperature, !Limits.isValidTemperature(t) {
            throw ForwardOptionsError("τ \(t) is out of range: \(Limits.temperatureRangeText)")
        }
        let names = model.dynamicLayerNames
        let known = Set(names)
        for name in layerTemperatures.keys.sorted() {
            guard known.contains(name) else {
                let list = names.isEmpty ? "the model has none"
                    : "the model's are \(names.prefix(4).map { "'\($0)'" }.joined(separator: ", "))\(names.count > 4 ? ", … (\(names.count) in all)" : "")"
                throw ForwardOptionsError("no dynamic layer is named '\(name)'; \(list)")
            }
            let t = layerTemperatures[name]!
            guard Limits.isValidTemperature(t) else {
                throw ForwardOptionsError("τ \(t) of layer '\(name)' is out of range: \(Limits.temperatureRangeText)")
            }
        }
    }
}

/// Forward options a model cannot run with (`ForwardOptions.validate(for:)`), as one line.
public struct ForwardOptionsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
