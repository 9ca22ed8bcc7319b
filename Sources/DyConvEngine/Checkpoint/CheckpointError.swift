/// A checkpoint or safetensors file that cannot be read or written, as one clear line.
///
/// The message names the file and, where the problem is in one tensor, the
/// tensor, e.g. `model.safetensors: tensor 'layer1.0.conv.weight': shape
/// [4,16,16,3,3] does not match the architecture's [4,16,8,3,3]`.
/// `kind` lets code react to a class of failure without parsing the text.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The file (or its directory, when writing) does not exist.
        case fileNotFound
        /// The file exists but cannot be opened or read (permissions, a directory, an I/O error).
        case unreadable
        /// Reading the file would need more memory than `Limits.memoryBudget`.
        case tooLarge
        /// The file ends before the 8-byte header length or before the header it announces.
        case truncated
        /// The header length, or the header text, is not a valid safetensors header.
        case invalidHeader
        /// A header entry is not `{"dtype", "shape", "data_offsets"}` with valid values.
        case invalidEntry
        /// A tensor is stored with a dtype other than F32.
        case unsupportedDType
        /// A tensor's byte range is out of bounds, has the wrong length, overlaps
        /// another one, or the data section has bytes no tensor covers.
        case invalidOffsets
        /// `__metadata__` is malformed, or a `dyconv.*` metadata value is missing or invalid.
        case invalidMetadata
        /// The `dyconv.architecture` JSON does not decode or does not describe a runnable network.
        case invalidArchitecture
        /// A tensor the architecture needs is absent.
        case missingTensor
        /// A tensor the architecture does not use is present.
        case unexpectedTensor
        /// A tensor's shape differs from the architecture's.
        case shapeMismatch
        /// A tensor holds NaN or ±Inf.
        case nonFiniteValue
        /// Writing the file failed (I/O error, missing directory, refused rename).
        case writeFailed
    }

    /// The class of failure.
    public let kind: Kind
    /// The file path as the caller gave it.
    public let path: String
    /// The tensor concerned, if the problem is in one tensor.
    public let tensor: String?
    /// What is wrong, without the file and tensor prefix.
    public let reason: String

    /// Creates an error for `path` (and optionally `tensor`) with a one-line `reason`.
    public init(_ kind: Kind, path: String, tensor: String? = nil, _ reason: String) {
        self.kind = kind
        self.path = path
        self.tensor = tensor
        self.reason = reason
    }

    /// The full one-line message: `<path>: [tensor '<name>': ]<reason>`.
    public var description: String {
        if let tensor { return "\(path): tensor '\(tensor)': \(reason)" }
        return "\(path): \(reason)"
    }
}

extension CheckpointError {
    /// Formats a shape the way the messages show it: `[4,16,8,3,3]`.
    package static func format(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ",") + "]"
    }
}

extension CheckpointError {
    /// The file layer's error as a checkpoint error: same path, same reason.
    package init(_ error: FileError) {
        let kind: Kind
        switch error.kind {
        case .notFound: kind = .fileNotFound
        case .unreadable: kind = .unreadable
        case .tooLarge: kind = .tooLarge
        case .writeFailed: kind = .writeFailed
        }
        self.init(kind, path: error.path, error.reason)
    }
}
