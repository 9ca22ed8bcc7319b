import DyConvEngine

/// Why a PyTorch checkpoint could not be imported, as one line naming the file and, where the
/// problem is one tensor, the tensor:
/// `net.pth: tensor 'layer2.0.conv1.weight': missing (kaijieshi7 Dynamic_conv2d needs weight [K, out, in/groups, k, k])`.
/// `kind` lets tests and callers react to a class of failure without parsing the text.
public struct ImportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The source file cannot be read as a state_dict (the reader's message follows).
        case unreadableSource
        /// A tensor the preset or mapping needs is absent.
        case missingTensor
        /// Tensors nobody used are left over (the preset does not describe this network).
        case unexpectedTensor
        /// A tensor has the wrong rank or shape.
        case shapeMismatch
        /// A tensor holds NaN or ±Inf (named by its PyTorch name: nothing is written).
        case nonFiniteValue
        /// Tensors disagree with each other or with the module's code (K, widths, hidden size).
        case inconsistent
        /// A command-line value is invalid (input shape, mean/std, τ, classes file).
        case invalidOption
        /// The mapping file is unreadable or malformed.
        case invalidMapping
        /// The assembled description is not a runnable network.
        case invalidArchitecture
    }

    /// The class of failure.
    public let kind: Kind
    /// The file concerned, as the caller named it.
    public let file: String
    /// The PyTorch tensor name concerned, if the problem is in one tensor.
    public let tensor: String?
    /// What is wrong, without the file and tensor prefix.
    public let reason: String

    /// Creates an error for `file` (and optionally `tensor`) with a one-line `reason`.
    public init(_ kind: Kind, file: String, tensor: String? = nil, _ reason: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.reason = reason
    }

    /// `<file>: [tensor '<name>': ]<reason>`.
    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(reason)" }
        return "\(file): \(reason)"
    }
}

extension ImportError {
    /// A shape as the messages show it: `[4,16,8,3,3]` (the checkpoint errors' format).
    static func format(_ shape: [Int]) -> String { CheckpointError.format(shape) }
}
