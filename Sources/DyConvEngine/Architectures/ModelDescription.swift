import Foundation

/// The declarative description of a network: what the checkpoint's
/// `__metadata__["dyconv.architecture"]` holds, as JSON.
///
/// A model is an input spec, a normalisation, class names and a list of
/// layers executed in order. Residual blocks nest a `body` and a `shortcut`.
/// Every field is documented in `docs/CHECKPOINT.md`.
public struct ModelDescription: Codable, Sendable, Equatable {
    /// The family name, e.g. `dycnn`, `dy-resnet18`, `dy-mobilenetv2`.
    public var family: String
    /// Input image shape (channels, height, width).
    public var input: InputSpec
    /// Per-channel normalisation applied to [0, 1] pixels: (x - mean) / std.
    public var normalization: Normalization
    /// Class names, in logit order.
    public var classes: [String]
    /// The layers, executed in order.
    public var layers: [LayerSpec]

    public init(family: String, input: InputSpec, normalization: Normalization,
                classes: [String], layers: [LayerSpec]) {
        self.family = family
        self.input = input
        self.normalization = normalization
        self.classes = classes
        self.layers = layers
    }
}

/// Input image shape.
public struct InputSpec: Codable, Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels; self.height = height; self.width = width
    }
}

/// Per-channel mean and standard deviation of the input normalisation.
public struct Normalization: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }
}

/// How a convolution chooses its kernel.
public enum Routing: String, Codable, Sendable, CaseIterable {
    /// One ordinary kernel.
    case `static`
    /// Dynamic convolution: π = softmax(z / τ), Σπ = 1 (Chen et al.).
    case softmax
    /// CondConv: r = sigmoid(z / τ), no Σ = 1 constraint (Yang et al.; τ = 1 is their routing).
    case sigmoid

    /// The name of the coefficients in printed output, so that every printer labels them the
    /// same way: "π" (attention, Σπ = 1) for softmax, "r" (CondConv's routing weights) for
    /// sigmoid, "w" for a static conv; `ascii` gives "pi" for terminals without Unicode.
    public func coefficientSymbol(ascii: Bool = false) -> String {
        switch self {
        case .softmax: return ascii ? "pi" : "π"
        case .sigmoid: return "r"
        case .static: return "w"
        }
    }
}

/// The attention (routing) branch of a dynamic convolution:
/// GAP → FC1 (in → hidden) → ReLU → FC2 (hidden → K) → softmax(z/τ) or sigmoid(z/τ).
public struct AttentionSpec: Codable, Sendable, Equatable {
    /// Width of the hidden layer.
    public var hidden: Int
    /// Whether FC1 has a bias (`p.attention.fc1.bias`).
    public var fc1Bias: Bool
    /// The temperature τ the model was trained to end with (used at inference by default).
    public var temperature: Float

    public init(hidden: Int, fc1Bias: Bool = false, temperature: Float = 1) {
        self.hidden = hidden; self.fc1Bias = fc1Bias; self.temperature = temperature
    }
}

/// A 2-D convolution, static or dynamic.
public struct ConvSpec: Codable, Sendable, Equatable {
    /// Tensor-name prefix `p`: weights are `p.weight`, `p.bias`, `p.attention.*`.
    public var name: String
    public var inChannels: Int
    public var outChannels: Int
    /// Square kernel size.
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var groups: Int
    /// Whether the convolution has a bias (`p.bias`, `[out]` or `[K, out]`).
    public var bias: Bool
    /// Static, softmax (dynamic) or sigmoid (CondConv) routing.
    public var routing: Routing
    /// Number of kernels K (1 for a static convolution).
    public var kernels: Int
    /// The attention branch; present exactly when `routing != .static`.
    public var attention: AttentionSpec?

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, groups: Int = 1, bias: Bool = false, routing: Routing = .static,
                kernels: Int = 1, attention: AttentionSpec? = nil) {
        self.name = name; self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.groups = groups
        self.bias = bias; self.routing = routing; self.kernels = kernels; self.attention = attention
    }

    /// Whether this convolution has K kernels mixed by an attention branch.
    public var isDynamic: Bool { routing != .static }
}

/// BatchNorm2d (inference uses running statistics).
public struct BatchNormSpec: Codable, Sendable, Equatable {
    public var name: String
    public var channels: Int
    public var eps: Float
    public init(name: String, channels: Int, eps: Float = 1e-5) {
        self.name = name; self.channels = channels; self.eps = eps
    }
}

/// Elementwise activations.
public enum ActivationKind: String, Codable, Sendable {
    case relu, relu6, hardswish
}

/// Max or average pooling over a square window.
public struct PoolSpec: Codable, Sendable, Equatable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public init(kernel: Int, stride: Int, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
}

/// A fully connected layer on a `[N, in]` input (`p.weight [out, in]`, `p.bias [out]`).
public struct LinearSpec: Codable, Sendable, Equatable {
    public var name: String
    public var inFeatures: Int
    public var outFeatures: Int
    public var bias: Bool
    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.name = name; self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.bias = bias
    }
}

/// One layer of a `ModelDescription`. Encoded as a JSON object with an `"op"` field.
public indirect enum LayerSpec: Codable, Sendable, Equatable {
    case conv(ConvSpec)
    case batchNorm(BatchNormSpec)
    case activation(ActivationKind)
    case maxPool(PoolSpec)
    case avgPool(PoolSpec)
    /// Global average pooling `[N, C, H, W] → [N, C]`.
    case globalAvgPool
    case linear(LinearSpec)
    /// `y = body(x) + shortcut(x)`; an empty shortcut is the identity.
    case residual(body: [LayerSpec], shortcut: [LayerSpec])

    private enum Keys: String, CodingKey { case op, kind, body, shortcut }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let op = try c.decode(String.self, forKey: .op)
        switch op {
        case "conv": self = .conv(try ConvSpec(from: decoder))
        case "batchnorm": self = .batchNorm(try BatchNormSpec(from: decoder))
        case "activation": self = .activation(try c.decode(ActivationKind.self, forKey: .kind))
        case "maxpool": self = .maxPool(try PoolSpec(from: decoder))
        case "avgpool": self = .avgPool(try PoolSpec(from: decoder))
        case "gap": self = .globalAvgPool
        case "linear": self = .linear(try LinearSpec(from: decoder))
        case "residual":
            self = .residual(body: try c.decode([LayerSpec].self, forKey: .body),
                             shortcut: try c.decodeIfPresent([LayerSpec].self, forKey: .shortcut) ?? [])
        default:
            throw DecodingError.dataCorruptedError(forKey: .op, in: c,
                debugDescription: "unknown layer op '\(op)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .conv(let s): try c.encode("conv", forKey: .op); try s.encode(to: encoder)
        case .batchNorm(let s): try c.encode("batchnorm", forKey: .op); try s.encode(to: encoder)
        case .activation(let k): try c.encode("activation", forKey: .op); try c.encode(k, forKey: .kind)
        case .maxPool(let s): try c.encode("maxpool", forKey: .op); try s.encode(to: encoder)
        case .avgPool(let s): try c.encode("avgpool", forKey: .op); try s.encode(to: encoder)
        case .globalAvgPool: try c.encode("gap", forKey: .op)
        case .linear(let s): try c.encode("linear", forKey: .op); try s.encode(to: encoder)
        case .residual(let body, let shortcut):
            try c.encode("residual", forKey: .op)
            try c.encode(body, forKey: .body)
            try c.encode(shortcut, forKey: .shortcut)
        }
    }
}

extension ModelDescription {
    /// Encodes the description as compact, key-sorted JSON.
    public func jsonString() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        // Encoding plain value types cannot fail.
        let data = try! enc.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether JSON `bytes` nest deeper than `maxDepth` (a byte scan, run before a recursive
    /// decoder): for files that hold a description inside another object (import mappings).
    package static func jsonNestsDeeper(_ bytes: [UInt8], than maxDepth: Int) -> Bool {
        HeaderJSON.nestsDeeper(bytes, than: maxDepth)
    }

    /// Decodes a description from JSON (not yet validated: call `validate()`).
    ///
    /// - Throws: `ModelDescriptionError` when the text nests deeper than `Limits.maxJSONDepth`
    ///   (checked first: the decoder recurses once per level), else the decoder's error.
    public static func fromJSON(_ text: String) throws -> ModelDescription {
        guard !HeaderJSON.nestsDeeper(text.utf8, than: Limits.maxJSONDepth) else {
            throw ModelDescriptionError("the architecture JSON nests deeper than \(Limits.maxJSONDepth) levels (residual blocks nest at most \(Limits.maxNesting) deep)")
        }
        return try JSONDecoder().decode(ModelDescription.self, from: Data(text.utf8))
    }
}
