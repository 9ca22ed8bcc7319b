/// A network ready for inference: the description, its parameters, and the compiled layers.
///
/// `forward` runs a normalized batch `[N, C, H, W]` and returns a `ForwardTrace` with the
/// per-layer attention, the logits and the class probabilities. BatchNorms that directly follow
/// a convolution are folded into it (exactly, for every routing), and an activation that follows
/// is fused into the same pass. `Model` is immutable after creation and safe to share between threads.
public final class Model: @unchecked Sendable {
    /// The architecture.
    public let description: ModelDescription
    /// The parameters with checkpoint names and shapes (unfolded), e.g. for saving.
    public let parameters: [String: Tensor]
    /// The compiled layers.
    let layers: [CompiledLayer]
    /// Whether the network is a classifier (`ModelDescription.isClassifier`); else headless.
    public let isClassifier: Bool

    /// Builds a model; throws when the description is invalid or a parameter is missing,
    /// unexpected, misshapen or non-finite.
    public init(description: ModelDescription, parameters: [String: Tensor]) throws {
        try description.validate()
        let expected = description.parameterShapes()
        for (name, shape) in expected {
            guard let t = parameters[name] else { throw ModelDescriptionError("missing parameter '\(name)'") }
            guard t.shape == shape else {
                throw ModelDescriptionError("parameter '\(name)' has shape \(t.shape), the architecture needs \(shape)")
            }
            guard t.isFinite else { throw ModelDescriptionError("parameter '\(name)' has non-finite values") }
        }
        let known = Set(expected.map(\.name))
        if let extra = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelDescriptionError("unexpected parameter '\(extra)'")
        }
        self.description = description
        self.parameters = parameters
        self.isClassifier = description.isClassifier
        Parallel.configureBLAS()
        self.layers = CompiledLayer.compile(description.layers, parameters)
    }

    /// Names of the dynamic layers, in execution order (the trace's order).
    public var dynamicLayerNames: [String] { description.dynamicConvolutions.map(\.name) }

    /// Checks that an input batch fits the model's input spec.
    public func validateInput(shape: [Int]) throws {
        let i = description.input
        guard shape.count == 4, shape[0] >= 1, shape[1] == i.channels, shape[2] == i.height, shape[3] == i.width else {
            throw ModelDescriptionError("input of shape \(shape) does not fit the model's [N, \(i.channels), \(i.height), \(i.width)]")
        }
    }

    /// Runs the network on a normalized batch `[N, C, H, W]`.
    ///
    /// A batch larger than one slice (`sliceSize` samples) runs depth-first: the batch is cut into
    /// slices, the slices are spread over the cores, and each slice goes through the whole network
    /// on one core while its activations stay in that core's cache. The result is the same as in
    /// one piece: each sample's computation does not depend on the others, in every mode.
    ///
    /// - Parameter partners: in `shuffle-across` mode (required there, ignored otherwise), the
    ///   partner image of each sample, `[N, C, H, W]` like `input` (see `ShuffleAcrossPartners`).
    ///   The partners run first in attention mode, with the same τ, and sample n then mixes its
    ///   kernels at every dynamic layer with the π its partner got there. The trace's `applied`
    ///   holds the partner's π, `attention` the π the sample computed itself.
    /// - Parameter imageIndices: the dataset index of each sample (N values), which seeds its
    ///   `shuffle-image` permutation so the image gets the same one in any batch; nil means the
    ///   sample's position 0..<N in `input` (a tensor without a dataset). Other modes ignore it.
    public func forward(_ input: Tensor, options: ForwardOptions, partners: Tensor?,
                        imageIndices: [Int]? = nil) -> ForwardTrace {
        forward(input, options: options, slice: sliceSize(batch: input.shape.first ?? 1), partners: partners,
                imageIndices: imageIndices)
    }

    /// `forward(_:options:partners:)` in any mode but `shuffle-across` (which needs partners).
    public func forward(_ input: Tensor, options: ForwardOptions = ForwardOptions()) -> ForwardTrace {
        forward(input, options: options, partners: nil)
    }

    /// `forward` with an explicit slice size (samples per depth-first slice).
    func forward(_ input: Tensor, options: ForwardOptions, slice: Int, partners: Tensor? = nil,
                 imageIndices: [Int]? = nil) -> ForwardTrace {
        precondition((try? validateInput(shape: input.shape)) != nil,
                     "Model.forward: input shape \(input.shape) does not fit \(description.input)")
        precondition(slice >= 1, "Model.forward: slice must be at least 1")
        let borrowing = options.mode == .shuffleAcross
        precondition(!borrowing || partners?.shape == input.shape,
                     "Model.forward: shuffle-across needs one partner image per sample (partners of shape \(input.shape))")
        let n = input.shape[0]
        precondition(imageIndices == nil || imageIndices!.count == n,
                     "Model.forward: \(imageIndices?.count ?? 0) image indices for a batch of \(n)")
        let indices = imageIndices ?? Array(0..<n)
        guard n > slice else {
            return run(input, partners: borrowing ? partners : nil, options: options, parallel: true, imageIndices: indices)
        }
        // `slices` nearly equal slices `[n·s/slices, n·(s+1)/slices)` of at most `slice` samples,
        // as many per core (64 images on 2 cores with slices of ≤ 6: 12 slices of 5–6, 32 per core).
        let threads = max(1, Parallel.threads)
        let slices = min(n, (((n + slice - 1) / slice + threads - 1) / threads) * threads)   // none empty
        let perSample = input.count / n
        var parts = [ForwardTrace?](repeating: nil, count: slices)
        let partnerData = borrowing ? partners!.data : []
        parts.withUnsafeMutableBufferPointer { pb in
            nonisolated(unsafe) let results = pb
            input.data.withUnsafeBufferPointer { ib in
                partnerData.withUnsafeBufferPointer { qb in
                    nonisolated(unsafe) let source = ib, partnerSource = qb
                    // One work item per slice: idle cores take the next slice (dynamic balance).
                    Parallel.forEachChunk(slices, maxChunks: Parallel.threads > 1 ? slices : 1) { _, range in
                        for s in range {
                            let lo = n * s / slices, hi = n * (s + 1) / slices
                            var shape = input.shape
                            shape[0] = hi - lo
                            let part = (lo * perSample)..<(hi * perSample)
                            let x = Tensor(shape: shape, data: Array(source[part]))
                            let q = borrowing ? Tensor(shape: shape, data: Array(partnerSource[part])) : nil
                            results[s] = self.run(x, partners: q, options: options, parallel: false,
                                                  imageIndices: Array(indices[lo..<hi]))
                        }
                    }
                }
            }
        }
        return ForwardTrace(concatenating: parts.map { $0! })
    }

    /// One batch (or slice) through the network; with `partners`, first the partners' clean pass
    /// whose per-layer π the batch then applies (shuffle-across).
    private func run(_ x: Tensor, partners: Tensor?, options: ForwardOptions, parallel: Bool, imageIndices: [Int]) -> ForwardTrace {
        var borrowed: [[Float]]?
        if let partners {
            var clean = options
            clean.mode = .attention
            clean.collectTrace = true
            var partnerContext = ForwardContext(options: clean, parallel: parallel, imageIndices: imageIndices)
            _ = Self.run(layers, partners, &partnerContext)
            borrowed = partnerContext.traces.map(\.attention)
        }
        var context = ForwardContext(options: options, parallel: parallel, imageIndices: imageIndices, borrowed: borrowed)
        return finish(Self.run(layers, x, &context), traces: context.traces, batch: x.shape[0])
    }

    /// Samples per depth-first slice for a batch: as many as keep one slice's work near 64 M
    /// multiply-adds (its activations stay in a core's cache: 6 images of `dycnn`, 1 of the
    /// ImageNet models), at most 16, and small enough that every core gets at least two slices
    /// (`DYCONV_SLICE` overrides). A model whose kernel banks outweigh its work runs the batch in
    /// one piece, layer by layer (`readsBanksOncePerBatch`).
    public func sliceSize(batch n: Int) -> Int {
        if let override = Self.sliceOverride { return override }
        if n > 1 && readsBanksOncePerBatch { return n }
        var cache = min(16, max(1, 64_000_000 / max(1, description.multiplyAdds())))
        // Kernel banks far larger than the activations (DY-ResNet-18 at 224²: 45 M bank floats,
        // 0.8 M in its largest activation): slices of 4 images mix their kernels together
        // (`DynamicConv2d.mixGroup`), reading the banks from memory once per 4 images.
        if hasHeavyBanks { cache = max(cache, 4) }
        let spread = max(1, (n + 2 * Parallel.threads - 1) / (2 * Parallel.threads))
        return min(cache, spread)
    }

    /// Whether the layers that run on their kernel banks (`DynamicConv2d.prefersKernelBanks`)
    /// hold at least one bank float per 8 multiply-adds of the whole pass: then depth-first
    /// slices would stream those banks from memory once per slice, where the whole batch reads
    /// them once (kaijieshi7's `dy_resnet18` on 32×32 images: 42 M of 82 M).
    var readsBanksOncePerBatch: Bool {
        var banks = 0
        description.forEachLayer { layer, shape, _ in
            guard case .conv(let c) = layer, c.isDynamic, shape.count == 3 else { return }
            let g = ConvGeometry(spec: c, height: shape[1], width: shape[2])
            if DynamicConv2d.prefersKernelBanks(g, kernels: c.kernels) {
                banks = CheckedSize.sum(banks, CheckedSize.product(c.kernels, g.weightCount) ?? Int.max) ?? Int.max
            }
        }
        return banks > 0 && banks >= description.multiplyAdds() / 8
    }

    /// Whether the dynamic layers' banks (Σ K·|W|) hold at least 16 times the floats of the
    /// largest activation of one image, and more than fits in the caches (4 M floats).
    var hasHeavyBanks: Bool {
        var banks = 0, largest = 0
        description.forEachLayer { layer, _, output in
            largest = max(largest, CheckedSize.product(output) ?? Int.max)
            guard case .conv(let c) = layer, c.isDynamic else { return }
            let weights = CheckedSize.product([c.kernels, c.outChannels, c.inChannels / max(1, c.groups), c.kernel, c.kernel])
            banks = CheckedSize.sum(banks, weights ?? Int.max) ?? Int.max
        }
        return banks >= 4 << 20 && banks / 16 >= largest
    }

    private static let sliceOverride: Int? = {
        EnvironmentSetting.slice.integer
    }()

    /// The trace of one batch from the network's output and the collected layer traces:
    /// probabilities for a classifier, none (`[N, 0]`) for a headless network.
    func finish(_ out: Tensor, traces: [LayerTrace], batch n: Int) -> ForwardTrace {
        let logits = out.reshaped([n, out.count / n])
        var probabilities = Tensor(shape: [n, 0], data: [])
        if isClassifier {
            probabilities = logits
            probabilities.data.withUnsafeMutableBufferPointer {
                softmaxRows($0.baseAddress!, rows: n, cols: logits.shape[1])
            }
        }
        return ForwardTrace(layers: traces, logits: logits, probabilities: probabilities,
                            outputShape: Array(out.shape.dropFirst()))
    }

    /// Multiply-adds of one forward pass of `batch` images (convolutions incl. attention branch and
    /// kernel aggregation, linear layers).
    /// Saturates at `Int.max`.
    public func multiplyAdds(batch: Int) -> Int {
        CheckedSize.product(description.multiplyAdds(), batch) ?? Int.max
    }

    // MARK: - Execution

    struct ForwardContext {
        let options: ForwardOptions
        /// Whether layers may spread their work over the cores (false inside a depth-first slice).
        var parallel = true
        /// The dataset index of each sample (seeds of the shuffle-image permutations).
        var imageIndices: [Int]
        /// Shuffle-across: the partners' π `[N, K]` of every dynamic layer, in execution order.
        var borrowed: [[Float]]? = nil
        var traces: [LayerTrace] = []
        var dynamicIndex = 0
    }

    static func run(_ layers: [CompiledLayer], _ input: Tensor, _ ctx: inout ForwardContext) -> Tensor {
        var x = input
        for layer in layers { x = layer.forward(x, &ctx) }
        return x
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
