import DyConvEngine

/// What a tensor of the model is, which decides its optimiser group and its initialisation.
public enum ParameterRole: String, Codable, Sendable, CaseIterable {
    /// A convolution kernel (static `[out, in/g, k, k]` or dynamic `[K, out, in/g, k, k]`).
    case convWeight
    /// A convolution bias (`[out]` or `[K, out]`).
    case convBias
    /// BatchNorm scale γ.
    case normWeight
    /// BatchNorm shift β.
    case normBias
    /// An attention-branch FC weight (`fc1` or `fc2`).
    case attentionWeight
    /// An attention-branch FC bias.
    case attentionBias
    /// A linear layer's weight.
    case linearWeight
    /// A linear layer's bias.
    case linearBias
    /// BatchNorm running mean (a buffer, not trained by the optimiser).
    case runningMean
    /// BatchNorm running variance (a buffer, not trained by the optimiser).
    case runningVar

    /// Whether the optimiser updates this tensor.
    public var isTrainable: Bool { self != .runningMean && self != .runningVar }

    /// Whether the tensor belongs to a dynamic convolution's attention branch.
    public var isAttention: Bool { self == .attentionWeight || self == .attentionBias }

    /// Whether the tensor is a BatchNorm parameter or a bias (no weight decay by default).
    public var isNormOrBias: Bool {
        self == .normWeight || self == .normBias || self == .convBias || self == .linearBias
    }
}

/// One named tensor inside the trainer's flat storage.
public struct ParameterEntry: Codable, Sendable, Equatable {
    /// The checkpoint (PyTorch `state_dict`) name, e.g. `layer1.0.conv.attention.fc2.weight`.
    public var name: String
    /// The tensor shape.
    public var shape: [Int]
    /// Offset of the first element in the flat storage (parameters or buffers).
    public var offset: Int
    /// What the tensor is.
    public var role: ParameterRole

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// The flat memory layout of a model's trainable parameters and BatchNorm buffers.
///
/// Trainable tensors live contiguously in one `[Float]` (so gradients, momentum and the
/// optimiser are simple vector operations); running statistics live in a second one.
/// Names and shapes are exactly those of `ModelDescription.parameterShapes()`.
public struct ParameterLayout: Codable, Sendable, Equatable {
    /// Trainable tensors, in `parameterShapes()` order.
    public private(set) var parameters: [ParameterEntry] = []
    /// BatchNorm running statistics, in `parameterShapes()` order.
    public private(set) var buffers: [ParameterEntry] = []
    /// Total number of trainable floats.
    public private(set) var parameterCount = 0
    /// Total number of buffer floats.
    public private(set) var bufferCount = 0

    /// Builds the layout of a description.
    public init(_ description: ModelDescription) {
        var roles: [String: ParameterRole] = [:]
        func visit(_ layers: [LayerSpec]) {
            for layer in layers {
                switch layer {
                case .conv(let c):
                    roles["\(c.name).weight"] = .convWeight
                    roles["\(c.name).bias"] = .convBias
                    roles["\(c.name).attention.fc1.weight"] = .attentionWeight
                    roles["\(c.name).attention.fc2.weight"] = .attentionWeight
                    roles["\(c.name).attention.fc1.bias"] = .attentionBias
                    roles["\(c.name).attention.fc2.bias"] = .attentionBias
                case .batchNorm(let b):
                    roles["\(b.name).weight"] = .normWeight
                    roles["\(b.name).bias"] = .normBias
                    roles["\(b.name).running_mean"] = .runningMean
                    roles["\(b.name).running_var"] = .runningVar
                case .linear(let l):
                    roles["\(l.name).weight"] = .linearWeight
                    roles["\(l.name).bias"] = .linearBias
                case .residual(let body, let shortcut):
                    visit(body); visit(shortcut)
                case .activation, .maxPool, .avgPool, .globalAvgPool:
                    break
                }
            }
        }
        visit(description.layers)
        for (name, shape) in description.parameterShapes() {
            // Every name parameterShapes() emits is registered above.
            let role = roles[name] ?? .convWeight
            if role.isTrainable {
                parameters.append(ParameterEntry(name: name, shape: shape, offset: parameterCount, role: role))
                parameterCount += shape.reduce(1, *)
            } else {
                buffers.append(ParameterEntry(name: name, shape: shape, offset: bufferCount, role: role))
                bufferCount += shape.reduce(1, *)
            }
        }
    }

    /// The trainable entry with this name.
    public func parameter(_ name: String) -> ParameterEntry? { parameters.first { $0.name == name } }

    /// The buffer entry with this name.
    public func buffer(_ name: String) -> ParameterEntry? { buffers.first { $0.name == name } }
}
