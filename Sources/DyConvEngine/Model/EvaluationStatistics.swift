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
    /// The distribution of the per-image normalized entropy (`EntropyHistogram.box`): what the
    /// report's box plots and the visualizer's dataset view draw. Nil in results that did not
    /// come from an `EvaluationAccumulator` (older JSON, a diverged run) and when no image was added.
    public var entropyBox: EntropyBox?
    /// Mean π_k per true class: `meanAttentionByClass[c][k]` over the images labelled `c`
    /// (`[]` for a class with no image). Nil for unlabelled images and in older JSON.
    public var meanAttentionByClass: [[Double]]?

    public init(name: String, meanEntropy: Double, meanMaxAttention: Double, meanAttention: [Double], meanMass: Double,
                entropyBox: EntropyBox? = nil, meanAttentionByClass: [[Double]]? = nil) {
        self.name = name
        self.meanEntropy = meanEntropy
        self.meanMaxAttention = meanMaxAttention
        self.meanAttention = meanAttention
        self.meanMass = meanMass
        self.entropyBox = entropyBox
        self.meanAttentionByClass = meanAttentionByClass
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
        entropyBox = try c.decodeIfPresent(EntropyBox.self, forKey: .entropyBox)
        meanAttentionByClass = try c.decodeIfPresent([[Double]].self, forKey: .meanAttentionByClass)
    }

    /// The summary without the per-class means (what a training history keeps per epoch: the
    /// box is five numbers, the per-class table classes × K).
    public var withoutClassMeans: LayerAttentionSummary {
        var s = self
        s.meanAttentionByClass = nil
        return s
    }
}

/// Five quantiles of a distribution of normalized entropies (each in [0, 1]), as box plots draw
/// them: whiskers p5…p95, box q1…q3, the median. Quantiles are nearest-rank
/// (`EntropyHistogram.quantile`).
public struct EntropyBox: Sendable, Codable, Equatable {
    public var p5: Double
    public var q1: Double
    public var median: Double
    public var q3: Double
    public var p95: Double

    public init(p5: Double, q1: Double, median: Double, q3: Double, p95: Double) {
        self.p5 = p5; self.q1 = q1; self.median = median; self.q3 = q3; self.p95 = p95
    }
}

/// Per-image normalized entropies H/lnK of one layer, counted in `binCount` equal bins over
/// [0, 1], so its memory does not grow with the dataset; the quantiles are good to half a bin
/// (0.0005): a quantile is the centre of its bin, clamped to the smallest and largest value added
/// (so a layer whose images are all exactly 1 reports 1, not the bin centre 0.9995).
///
/// Values outside [0, 1] (rounding) fall in the end bins; NaN (a diverged model) is counted in
/// `nonFinite` and left out of the quantiles.
public struct EntropyHistogram: Sendable, Equatable {
    /// Bins over [0, 1].
    public static let binCount = 1000
    /// Images per bin: bin b holds the values in [b, b+1) / binCount (the last also holds 1).
    public private(set) var counts: [Int]
    /// Finite values added.
    public private(set) var count = 0
    /// NaN values added (not in `counts`).
    public private(set) var nonFinite = 0
    /// The smallest and largest finite value added (nil before the first).
    public private(set) var minimum: Double?
    public private(set) var maximum: Double?

    public init() { counts = [Int](repeating: 0, count: Self.binCount) }

    /// Counts one image's normalized entropy.
    public mutating func add(_ value: Float) {
        guard value.isFinite else { nonFinite += 1; return }
        let v = Double(value)
        let b = Swift.min(Swift.max(Int((v * Double(Self.binCount)).rounded(.down)), 0), Self.binCount - 1)
        counts[b] += 1
        count += 1
        minimum = Swift.min(minimum ?? v, v)
        maximum = Swift.max(maximum ?? v, v)
    }

    /// Adds every count of `other` (another part of the same dataset).
    public mutating func merge(_ other: EntropyHistogram) {
        for b in counts.indices { counts[b] += other.counts[b] }
        count += other.count
        nonFinite += other.nonFinite
        if let lo = other.minimum { minimum = Swift.min(minimum ?? lo, lo) }
        if let hi = other.maximum { maximum = Swift.max(maximum ?? hi, hi) }
    }

    /// The nearest-rank `p`-quantile (p in [0, 1]): the value of rank ⌈p·count⌉ (at least 1) in
    /// sorted order, as the centre of its bin clamped to [minimum, maximum]. Nil when empty.
    public func quantile(_ p: Double) -> Double? {
        guard count > 0, let lo = minimum, let hi = maximum else { return nil }
        let rank = Swift.max(1, Int((Swift.min(Swift.max(p, 0), 1) * Double(count)).rounded(.up)))
        var seen = 0
        for (b, c) in counts.enumerated() {
            seen += c
            if seen >= rank {
                let centre = (Double(b) + 0.5) / Double(Self.binCount)
                return Swift.min(Swift.max(centre, lo), hi)
            }
        }
        return hi
    }

    /// p5, q1, median, q3 and p95; nil when empty.
    public var box: EntropyBox? {
        guard let p5 = quantile(0.05), let q1 = quantile(0.25), let m = quantile(0.5),
              let q3 = quantile(0.75), let p95 = quantile(0.95) else { return nil }
        return EntropyBox(p5: p5, q1: q1, median: m, q3: q3, p95: p95)
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
    /// Per layer, the distribution of the per-image normalized entropy.
    public private(set) var entropyHistograms: [EntropyHistogram]
    /// Per layer and class, Σ π_k over the labelled images of that class, and images per class
    /// (grown to the model's class count at the first labelled batch).
    private var classAttentionSums: [[[Double]]]
    private var classCounts: [Int] = []

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
        entropyHistograms = [EntropyHistogram](repeating: EntropyHistogram(), count: layerNames.count)
        classAttentionSums = [[[Double]]](repeating: [], count: layerNames.count)
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
            if classCounts.count < classes {
                classCounts += [Int](repeating: 0, count: classes - classCounts.count)
                for l in classAttentionSums.indices {
                    classAttentionSums[l] += [[Double]](repeating: [Double](repeating: 0, count: kernels[l]),
                                                        count: classes - classAttentionSums[l].count)
                }
            }
            for label in labels { classCounts[label] += 1 }
        }
        for (l, layer) in trace.layers.enumerated() {
            let k = layer.kernels
            precondition(k == kernels[l], "EvaluationAccumulator.add: layer \(layer.name) has \(k) kernels, expected \(kernels[l])")
            for row in 0..<n {
                entropySums[l] += Double(layer.entropy[row])
                entropyHistograms[l].add(layer.entropy[row])
                var largest: Float = 0, mass: Float = 0
                for j in 0..<k {
                    let v = layer.attention[row * k + j]
                    largest = max(largest, v)
                    mass += v
                    attentionSums[l][j] += Double(v)
                    if let labels { classAttentionSums[l][labels[row]][j] += Double(v) }
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
                                  meanAttention: attentionSums[$0].map { $0 / n }, meanMass: massSums[$0] / n,
                                  entropyBox: entropyHistograms[$0].box,
                                  meanAttentionByClass: scored > 0 ? classMeans(layer: $0) : nil)
        }
        return EvaluationResult(temperature: temperature, mode: mode, images: images, correct: correct,
                                loss: lossSum / Double(max(scored, 1)), layers: layers, scored: scored)
    }

    /// Mean π_k per class of layer `l` (`[]` for a class with no image).
    private func classMeans(layer l: Int) -> [[Double]] {
        classAttentionSums[l].enumerated().map { c, sums in
            classCounts[c] > 0 ? sums.map { $0 / Double(classCounts[c]) } : []
        }
    }
}
