#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The statistics of an evaluation, defined once: `EvaluationAccumulator` adds the forward
// trace of one batch at a time, and every evaluator (`evaluate(model:dataset:…)` in DyConvData,
// used by the CLI, the TUI's session and the trainer) reports its `EvaluationResult`.

/// Per-layer attention statistics over a set of images, each a mean over the images.
///
/// π is a layer's `LayerTrace.attention` as its routing computed it: softmax(z/τ) (dynamic
/// convolution, Σπ = 1) or the sigmoid gates r = sigmoid(z/τ) (CondConv, Σr free in 0…K).
public struct LayerAttentionSummary: Sendable, Codable, Equatable {
    /// The dynamic layer's name (its tensor-name prefix, e.g. `layer3.1.conv`).
    public var name: String
    /// Mean normalized entropy H(p)/ln K of p = π / Σπ (`LayerTrace.entropy`, `normalizedEntropy`):
    /// 1 = flat, 0 = one kernel. The same for softmax and sigmoid routing.
    public var meanEntropy: Double
    /// Mean of max_k π_k, π as computed (not renormalised): the largest share for softmax
    /// routing, the largest gate r for CondConv (where it says how strongly, not how
    /// exclusively, a kernel is chosen; `meanEntropy` measures the latter).
    public var meanMaxAttention: Double
    /// Mean π_k per kernel (K values).
    public var meanAttention: [Double]
    /// Mean Σ_k π_k: 1 for softmax routing, free (Σr) for sigmoid routing.
    public var meanMass: Double

    public init(name: String, meanEntropy: Double, meanMaxAttention: Double, meanAttention: [Double], meanMass: Double) {
        self.name = name
        self.meanEntropy = meanEntropy
        self.meanMaxAttention = meanMaxAttention
        self.meanAttention = meanAttention
        self.meanMass = meanMass
    }

    /// Decodes what `encode(to:)` writes. The per-layer statistics in training states written
    /// before issue #9 (the trainer's own type) have neither `meanAttention` nor `meanMass`, and
    /// their `meanMaxAttention` is the max of π/Σπ: they decode with `[]` and 0 for the missing
    /// two (JSON has no NaN), so such a run still resumes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        meanEntropy = try c.decode(Double.self, forKey: .meanEntropy)
        meanMaxAttention = try c.decode(Double.self, forKey: .meanMaxAttention)
        meanAttention = try c.decodeIfPresent([Double].self, forKey: .meanAttention) ?? []
        meanMass = try c.decodeIfPresent(Double.self, forKey: .meanMass) ?? 0
    }
}

/// The accuracy, loss and attention statistics of one model at one τ and aggregation mode.
public struct EvaluationResult: Sendable, Codable, Equatable {
    /// The global τ used, or nil for each layer's trained τ.
    public var temperature: Float?
    public var mode: AggregationMode
    /// Number of images evaluated and how many were classified correctly
    /// (`ForwardTrace.prediction(sample:)` equal to the label).
    public var images: Int
    public var correct: Int
    /// How many of the images had a label, so count in `correct`, `loss` and `accuracy`:
    /// `images` for a labelled dataset, 0 for an unlabelled one (image files, a flat folder),
    /// whose result holds only the attention statistics.
    public var scored: Int
    /// Mean softmax cross-entropy −log softmax(logits)_label over the scored images (natural log),
    /// `softmaxCrossEntropy(_:classes:label:gradient:scale:)`; 0 when none is scored.
    public var loss: Double
    /// Per dynamic layer, in execution order.
    public var layers: [LayerAttentionSummary]

    /// A result; `scored` defaults to `images` (every image labelled).
    public init(temperature: Float?, mode: AggregationMode, images: Int, correct: Int, loss: Double,
                layers: [LayerAttentionSummary], scored: Int? = nil) {
        self.temperature = temperature
        self.mode = mode
        self.images = images
        self.correct = correct
        self.scored = scored ?? images
        self.loss = loss
        self.layers = layers
    }

    /// Decodes what `encode(to:)` writes; a result written before unlabelled datasets existed
    /// has no `scored`, and every one of its images was labelled.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature)
        mode = try c.decode(AggregationMode.self, forKey: .mode)
        images = try c.decode(Int.self, forKey: .images)
        correct = try c.decode(Int.self, forKey: .correct)
        scored = try c.decodeIfPresent(Int.self, forKey: .scored) ?? images
        loss = try c.decode(Double.self, forKey: .loss)
        layers = try c.decode([LayerAttentionSummary].self, forKey: .layers)
    }

    /// Whether the images had labels, so `accuracy` and `loss` mean something.
    public var isScored: Bool { scored > 0 }

    /// Fraction of correct predictions among the scored images (0 when none is scored: check
    /// `isScored` before showing it).
    public var accuracy: Double { scored > 0 ? Double(correct) / Double(scored) : 0 }
}


/// Sums the statistics of `EvaluationResult` over batches: `add` one batch's `ForwardTrace`
/// (run with `collectTrace`) and its labels (nil for unlabelled images: attention statistics
/// only), then read `result` (at any time: the images so far).
///
/// The sums are in Double and in image order, so a result does not depend on how the images
/// were cut into batches beyond the last bits.
public struct EvaluationAccumulator: Sendable {
    /// The dynamic layers' names and kernel counts, in execution order.
    public let layerNames: [String]
    public let kernels: [Int]
    /// Images added so far, and how many of them were predicted correctly.
    public private(set) var images = 0
    public private(set) var correct = 0
    /// Images added with a label (those `correct` and the loss count).
    public private(set) var scored = 0
    /// Sums over the images added: cross-entropy, and per layer normalized entropy, max π, Σπ and π_k.
    public private(set) var lossSum = 0.0
    public private(set) var entropySums: [Double]
    private var maxSums: [Double]
    private var massSums: [Double]
    private var attentionSums: [[Double]]

    /// An empty accumulator for `model`'s dynamic layers.
    public init(model: Model) {
        self.init(layerNames: model.dynamicLayerNames, kernels: model.description.dynamicConvolutions.map(\.kernels))
    }

    /// An empty accumulator for dynamic layers named `layerNames` with `kernels` kernels each.
    public init(layerNames: [String], kernels: [Int]) {
        precondition(layerNames.count == kernels.count, "EvaluationAccumulator: \(layerNames.count) names for \(kernels.count) layers")
        self.layerNames = layerNames
        self.kernels = kernels
        entropySums = [Double](repeating: 0, count: layerNames.count)
        maxSums = entropySums
        massSums = entropySums
        attentionSums = kernels.map { [Double](repeating: 0, count: $0) }
    }

    /// Adds one batch: `trace` of a classifier with one trace layer per dynamic layer
    /// (`collectTrace` on), `labels[row]` the label of its sample `row`, or nil for unlabelled
    /// images (they add to the attention statistics, not to `correct` or the loss).
    public mutating func add(_ trace: ForwardTrace, labels: [Int]?) {
        let n = trace.batchSize
        precondition(labels == nil || labels!.count == n, "EvaluationAccumulator.add: \(labels?.count ?? 0) labels for a batch of \(n)")
        precondition(trace.layers.count == layerNames.count,
                     "EvaluationAccumulator.add: \(trace.layers.count) traced layers for \(layerNames.count) dynamic layers (collectTrace off?)")
        let classes = trace.outputCount
        if let labels {
            trace.logits.data.withUnsafeBufferPointer { logits in
                for row in 0..<n {
                    let label = labels[row]
                    precondition(label >= 0 && label < classes, "EvaluationAccumulator.add: label \(label) of sample \(row) is not one of \(classes) classes")
                    if trace.prediction(sample: row) == label { correct += 1 }
                    lossSum += softmaxCrossEntropy(logits.baseAddress! + row * classes, classes: classes, label: label).loss
                }
            }
            scored += n
        }
        for (l, layer) in trace.layers.enumerated() {
            let k = layer.kernels
            precondition(k == kernels[l], "EvaluationAccumulator.add: layer \(layer.name) has \(k) kernels, expected \(kernels[l])")
            for row in 0..<n {
                entropySums[l] += Double(layer.entropy[row])
                var largest: Float = 0, mass: Float = 0
                for j in 0..<k {
                    let v = layer.attention[row * k + j]
                    largest = max(largest, v)
                    mass += v
                    attentionSums[l][j] += Double(v)
                }
                maxSums[l] += Double(largest)
                massSums[l] += Double(mass)
            }
        }
        images += n
    }

    /// The means over the images added so far (0 for none), labelled with the τ and mode used.
    public func result(temperature: Float?, mode: AggregationMode) -> EvaluationResult {
        let n = Double(max(images, 1))
        let layers = layerNames.indices.map {
            LayerAttentionSummary(name: layerNames[$0], meanEntropy: entropySums[$0] / n, meanMaxAttention: maxSums[$0] / n,
                                  meanAttention: attentionSums[$0].map { $0 / n }, meanMass: massSums[$0] / n)
        }
        return EvaluationResult(temperature: temperature, mode: mode, images: images, correct: correct,
                                loss: lossSum / Double(max(scored, 1)), layers: layers, scored: scored)
    }
}
