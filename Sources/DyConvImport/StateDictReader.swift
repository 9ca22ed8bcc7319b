import DyConvEngine
import DyConvTorch

/// Reads the tensors of a state_dict by their PyTorch names, remembers which were taken, and
/// reports a missing, mis-shaped or (at the end) unexpected tensor by name with what was expected.
///
/// Taking moves a tensor out of the dictionary (no copy of a 45 MB kernel bank); `has` and
/// `shape(of:)` look without taking, for presets that decide from the names what is there.
public struct StateDictReader {
    /// The source file, as the user named it (for messages).
    public let file: String
    /// The tensors not yet taken.
    private var remaining: [String: Tensor]
    /// Shapes of every tensor of the file (taken or not), for `shape(of:)`.
    private let shapes: [String: [Int]]

    /// A reader over `stateDict`, read from `file`.
    public init(_ stateDict: TorchStateDict, file: String) {
        self.file = file
        self.remaining = stateDict.tensors
        self.shapes = stateDict.tensors.mapValues(\.shape)
    }

    /// Whether the file holds a float tensor named `key`.
    public func has(_ key: String) -> Bool { shapes[key] != nil }

    /// The shape of `key`, or nil when the file has no such tensor.
    public func shape(of key: String) -> [Int]? { shapes[key] }

    /// Every tensor name of the file, sorted.
    public var names: [String] { shapes.keys.sorted() }

    /// Takes `key` after checking its rank; `what` says which module needs which shape, for the
    /// messages ("kaijieshi7 Dynamic_conv2d needs weight [K, out, in/groups, k, k]").
    public mutating func take(_ key: String, rank: Int, what: String) throws(ImportError) -> Tensor {
        let tensor = try take(key, what: what)
        guard tensor.rank == rank else {
            throw ImportError(.shapeMismatch, file: file, tensor: key,
                              "has shape \(ImportError.format(tensor.shape)), a rank-\(rank) tensor was expected (\(what))")
        }
        return tensor
    }

    /// Takes `key` after checking its exact shape.
    public mutating func take(_ key: String, shape: [Int], what: String) throws(ImportError) -> Tensor {
        let tensor = try take(key, what: what)
        guard tensor.shape == shape else {
            throw ImportError(.shapeMismatch, file: file, tensor: key,
                              "has shape \(ImportError.format(tensor.shape)), expected \(ImportError.format(shape)) (\(what))")
        }
        return tensor
    }

    /// Takes `key` if its shape is one of `shapes` (e.g. a Linear `[h, in]` or its 1×1-conv
    /// alias `[h, in, 1, 1]`), returned reshaped to the first.
    public mutating func take(_ key: String, oneOf shapes: [[Int]], what: String) throws(ImportError) -> Tensor {
        let tensor = try take(key, what: what)
        guard let first = shapes.first, shapes.contains(tensor.shape) else {
            let wanted = shapes.map(ImportError.format).joined(separator: " or ")
            throw ImportError(.shapeMismatch, file: file, tensor: key,
                              "has shape \(ImportError.format(tensor.shape)), expected \(wanted) (\(what))")
        }
        return tensor.shape == first ? tensor : tensor.reshaped(first)
    }

    private mutating func take(_ key: String, what: String) throws(ImportError) -> Tensor {
        if let tensor = remaining.removeValue(forKey: key) {
            // Checked here, by the file's name for the tensor: the checkpoint writer would find it
            // later, but under the dyconv name and naming the output file.
            guard tensor.isFinite else {
                throw ImportError(.nonFiniteValue, file: file, tensor: key, "holds NaN or ±Inf (\(what))")
            }
            return tensor
        }
        if shapes[key] != nil {
            // A preset bug, not a file fault, but said plainly rather than trapping.
            throw ImportError(.inconsistent, file: file, tensor: key, "is used twice (\(what))")
        }
        throw ImportError(.missingTensor, file: file, tensor: key, "missing (\(what))")
    }

    /// The names not taken, sorted.
    public var unused: [String] { remaining.keys.sorted() }

    /// Throws when tensors were left over, naming them: up to eight by name and shape, more
    /// grouped by their first two name components (`layer1.2 (14)`), which for the usual
    /// `stage.block.…` names says which blocks the preset does not have.
    public func checkAllUsed(by preset: String) throws(ImportError) {
        let left = unused
        guard let first = left.first else { return }
        if left.count == 1 {
            throw ImportError(.unexpectedTensor, file: file, tensor: first,
                              "unexpected: \(ImportError.format(shapes[first] ?? [])) is not part of \(preset)")
        }
        if left.count <= 8 {
            let shown = left.map { "'\($0)' \(ImportError.format(shapes[$0] ?? []))" }.joined(separator: ", ")
            throw ImportError(.unexpectedTensor, file: file, "\(left.count) unexpected tensors, not part of \(preset): \(shown)")
        }
        var groups: [(prefix: String, count: Int)] = []
        for name in left {
            let prefix = name.split(separator: ".", omittingEmptySubsequences: false).prefix(2).joined(separator: ".")
            if groups.last?.prefix == prefix { groups[groups.count - 1].count += 1 } else { groups.append((prefix, 1)) }
        }
        let shown = groups.prefix(12).map { "\($0.prefix) (\($0.count))" }.joined(separator: ", ")
        let more = groups.count > 12 ? " and \(groups.count - 12) more" : ""
        throw ImportError(.unexpectedTensor, file: file,
                          "\(left.count) unexpected tensors, not part of \(preset), under \(shown)\(more)")
    }
}
