/// What one dynamic layer did in a forward pass, for every sample of the batch.
public struct LayerTrace: Sendable, Equatable {
    /// The layer's tensor-name prefix, e.g. `layer2.1.conv`.
    public var name: String
    /// Softmax (dynamic convolution) or sigmoid (CondConv).
    public var routing: Routing
    /// Number of kernels K.
    public var kernels: Int
    /// The τ this pass used.
    public var temperature: Float
    /// Attention logits z, `[N, K]` row-major.
    public var logits: [Float]
    /// π as the routing function computed it, `[N, K]`: softmax(z/τ) or sigmoid(z/τ).
    public var attention: [Float]
    /// The coefficients actually applied after the aggregation mode, `[N, K]`.
    public var applied: [Float]
    /// Normalized entropy H(p)/ln K per sample, `[N]`, of p = attention / Σ attention.
    public var entropy: [Float]

    public init(name: String, routing: Routing, kernels: Int, temperature: Float,
                logits: [Float], attention: [Float], applied: [Float], entropy: [Float]) {
        self.name = name; self.routing = routing; self.kernels = kernels
        self.temperature = temperature; self.logits = logits; self.attention = attention
        self.applied = applied; self.entropy = entropy
    }

    /// The attention π of sample `n` (K values).
    public func attention(sample n: Int) -> ArraySlice<Float> { attention[(n * kernels)..<((n + 1) * kernels)] }
    /// The applied coefficients of sample `n` (K values).
    public func applied(sample n: Int) -> ArraySlice<Float> { applied[(n * kernels)..<((n + 1) * kernels)] }
    /// The attention logits z of sample `n` (K values).
    public func logits(sample n: Int) -> ArraySlice<Float> { logits[(n * kernels)..<((n + 1) * kernels)] }
}

/// Everything a forward pass reports: per-layer attention, the network's output, class probabilities.
///
/// A classifier (`ModelDescription.isClassifier`: the network ends in a vector and names its
/// values) gets probabilities, a prediction and a top-k. A headless network (`classes: []`, or
/// one that ends in an image) gets its raw output in `logits` (flattened per image; the shape is
/// `outputShape`) and no classes: `probabilities` is `[N, 0]`, `isClassifier` false.
public struct ForwardTrace: Sendable, Equatable {
    /// One entry per dynamic layer, in execution order (low layers first).
    public var layers: [LayerTrace]
    /// The network's output `[N, F]`, flattened per image: the logits `[N, classes]` of a classifier.
    public var logits: Tensor
    /// softmax(logits) `[N, classes]` for a classifier; `[N, 0]` for a headless network.
    public var probabilities: Tensor
    /// The output shape of one image: `[classes]`, `[F]`, or `[C, H, W]` for a network ending in an image.
    public var outputShape: [Int]

    public init(layers: [LayerTrace], logits: Tensor, probabilities: Tensor, outputShape: [Int]) {
        self.layers = layers; self.logits = logits; self.probabilities = probabilities
        self.outputShape = outputShape
    }

    /// A trace whose output is the vector `logits` `[N, F]`.
    public init(layers: [LayerTrace], logits: Tensor, probabilities: Tensor) {
        self.init(layers: layers, logits: logits, probabilities: probabilities, outputShape: Array(logits.shape.dropFirst()))
    }

    /// The traces of consecutive slices of one batch, joined into the trace of the whole batch.
    public init(concatenating parts: [ForwardTrace]) {
        precondition(!parts.isEmpty, "ForwardTrace(concatenating:) needs at least one part")
        var layers = parts[0].layers
        for part in parts.dropFirst() {
            for i in layers.indices {
                layers[i].logits += part.layers[i].logits
                layers[i].attention += part.layers[i].attention
                layers[i].applied += part.layers[i].applied
                layers[i].entropy += part.layers[i].entropy
            }
        }
        let features = parts[0].logits.shape.count > 1 ? parts[0].logits.shape[1] : 0
        let classes = parts[0].classCount
        let n = parts.reduce(0) { $0 + $1.batchSize }
        self.init(layers: layers,
                  logits: Tensor(shape: [n, features], data: parts.flatMap(\.logits.data)),
                  probabilities: Tensor(shape: [n, classes], data: parts.flatMap(\.probabilities.data)),
                  outputShape: parts[0].outputShape)
    }

    /// Number of samples in the batch.
    public var batchSize: Int { logits.shape.first ?? 0 }
    /// The network's output values per sample (the length of a row of `logits`).
    public var outputCount: Int { logits.shape.count > 1 ? logits.shape[1] : 0 }
    /// The network's output for sample `n`, flattened: its logits for a classifier.
    public func output(sample n: Int) -> ArraySlice<Float> {
        logits.data[(n * outputCount)..<((n + 1) * outputCount)]
    }
    /// Number of classes (0 for a headless network).
    public var classCount: Int { probabilities.shape.count > 1 ? probabilities.shape[1] : 0 }
    /// Whether the network is a classifier (has class probabilities); false when headless.
    public var isClassifier: Bool { classCount > 0 }

    /// The predicted class of sample `n`: the most probable, the first on ties; a NaN probability
    /// never wins. 0 for a headless network (check `isClassifier`).
    public func prediction(sample n: Int) -> Int {
        let c = classCount
        var best = 0
        for j in 1..<max(c, 1) where ranksAbove(probabilities.data[n * c + j], probabilities.data[n * c + best]) { best = j }
        return best
    }

    /// The `k` most probable classes of sample `n`, most probable first (ties by index, NaN last);
    /// empty for a headless network.
    public func topK(sample n: Int, k: Int) -> [(index: Int, probability: Float)] {
        let c = classCount
        let row = (0..<c).map { (index: $0, probability: probabilities.data[n * c + $0]) }
        return Array(row.sorted { a, b in
            if ranksAbove(a.probability, b.probability) { return true }
            if ranksAbove(b.probability, a.probability) { return false }
            return a.index < b.index
        }.prefix(max(k, 0)))
    }
}

/// The order of probabilities for predictions: larger first, NaN below every number (a strict
/// weak order, so sorting and argmax stay well defined when extreme weights give NaN).
@inline(__always)
func ranksAbove(_ a: Float, _ b: Float) -> Bool {
    a > b || (b.isNaN && !a.isNaN)
}

/// Normalized entropy H(p)/ln K of a non-negative vector (normalized to sum 1 first), in [0, 1].
///
/// Defined for every row the routing can give: 1 for K = 1 and for a row of zeros (nothing is
/// chosen), the limit ln m / ln K when m entries are +∞; NaN only when the row holds NaN.
public func normalizedEntropy<C: Collection>(_ values: C) -> Float where C.Element == Float {
    let k = values.count
    guard k > 1 else { return 1 }
    var sum: Float = 0
    var infinite = 0
    for v in values {
        if v.isNaN { return .nan }
        if v == .infinity { infinite += 1 }
        sum += max(v, 0)
    }
    if infinite > 0 { return logf(Float(infinite)) / logf(Float(k)) }
    guard sum > 0 else { return 1 }
    var h: Float = 0
    for v in values {
        let p = max(v, 0) / sum
        if p > 0 { h -= p * logf(p) }
    }
    return min(max(h / logf(Float(k)), 0), 1)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
