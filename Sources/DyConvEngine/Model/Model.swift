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
        self.layers = Self.compile(description.layers, parameters)
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
    /// (`DYCONV_SLICE` overrides).
    public func sliceSize(batch n: Int) -> Int {
        if let override = Self.sliceOverride { return override }
        let cache = min(16, max(1, 64_000_000 / max(1, description.multiplyAdds())))
        let spread = max(1, (n + 2 * Parallel.threads - 1) / (2 * Parallel.threads))
        return min(cache, spread)
    }

    private static let sliceOverride: Int? = {
        guard let s = getenv("DYCONV_SLICE"), let v = Int(String(cString: s)), v >= 1 else { return nil }
        return v
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

    // MARK: - Compilation

    static func compile(_ specs: [LayerSpec], _ p: [String: Tensor]) -> [CompiledLayer] {
        var out: [CompiledLayer] = []
        var i = 0
        while i < specs.count {
            switch specs[i] {
            case .conv(let c):
                var layer: DynamicConv2d
                if c.isDynamic {
                    layer = DynamicConv2d(spec: c, weight: p["\(c.name).weight"]!.data, bias: p["\(c.name).bias"]?.data,
                                          fc1Weight: p["\(c.name).attention.fc1.weight"]!.data,
                                          fc1Bias: p["\(c.name).attention.fc1.bias"]?.data,
                                          fc2Weight: p["\(c.name).attention.fc2.weight"]!.data,
                                          fc2Bias: p["\(c.name).attention.fc2.bias"]!.data)
                } else {
                    layer = DynamicConv2d(spec: c, weight: p["\(c.name).weight"]!.data, bias: p["\(c.name).bias"]?.data)
                }
                if i + 1 < specs.count, case .batchNorm(let b) = specs[i + 1], b.channels == c.outChannels {
                    let (scale, shift) = batchNormAffine(b, p)
                    layer.foldBatchNorm(scale: scale, shift: shift)
                    i += 1
                }
                if i + 1 < specs.count, case .activation(let kind) = specs[i + 1] {
                    layer.activation = kind
                    i += 1
                }
                layer.prepareImplicitGemm()
                out.append(.conv(layer))
            case .batchNorm(let b):
                let (scale, shift) = batchNormAffine(b, p)
                out.append(.affine(scale: scale, shift: shift))
            case .activation(let kind):
                out.append(.activation(kind))
            case .maxPool(let s):
                out.append(.maxPool(s))
            case .avgPool(let s):
                out.append(.avgPool(s))
            case .globalAvgPool:
                out.append(.globalAvgPool)
            case .linear(let l):
                out.append(.linear(l, weight: p["\(l.name).weight"]!.data, bias: p["\(l.name).bias"]?.data))
            case .residual(let body, let shortcut):
                out.append(.residual(body: compile(body, p), shortcut: compile(shortcut, p)))
            }
            i += 1
        }
        return out
    }

    /// The inference BatchNorm as a per-channel affine map: scale = γ/√(var+ε), shift = β − mean·scale.
    static func batchNormAffine(_ b: BatchNormSpec, _ p: [String: Tensor]) -> (scale: [Float], shift: [Float]) {
        let gamma = p["\(b.name).weight"]!.data, beta = p["\(b.name).bias"]!.data
        let mean = p["\(b.name).running_mean"]!.data, variance = p["\(b.name).running_var"]!.data
        var scale = [Float](repeating: 0, count: b.channels), shift = scale
        for c in 0..<b.channels {
            scale[c] = gamma[c] / (max(variance[c], 0) + b.eps).squareRoot()
            shift[c] = beta[c] - mean[c] * scale[c]
        }
        return (scale, shift)
    }
}

/// One executable layer of a compiled `Model`.
enum CompiledLayer: Sendable {
    case conv(DynamicConv2d)
    case affine(scale: [Float], shift: [Float])
    case activation(ActivationKind)
    case maxPool(PoolSpec)
    case avgPool(PoolSpec)
    case globalAvgPool
    case linear(LinearSpec, weight: [Float], bias: [Float]?)
    indirect case residual(body: [CompiledLayer], shortcut: [CompiledLayer])

    func forward(_ x: Tensor, _ ctx: inout Model.ForwardContext) -> Tensor {
        let n = x.shape[0]
        switch self {
        case .conv(let layer):
            guard layer.spec.isDynamic else { return layer.convolve(x, coefficients: [], parallel: ctx.parallel) }
            let spec = layer.spec
            let tau = ctx.options.temperature(forLayer: spec.name, trained: spec.attention!.temperature)
            let (z, pi) = layer.attention(x, temperature: tau, parallel: ctx.parallel)
            let applied = aggregationCoefficients(pi, batch: n, kernels: spec.kernels, mode: ctx.options.mode,
                                                  seed: ctx.options.seed, layerIndex: ctx.dynamicIndex,
                                                  imageIndices: ctx.imageIndices, partner: ctx.borrowed?[ctx.dynamicIndex])
            ctx.dynamicIndex += 1
            if ctx.options.collectTrace {
                let k = spec.kernels
                let entropy = (0..<n).map { normalizedEntropy(pi[($0 * k)..<(($0 + 1) * k)]) }
                ctx.traces.append(LayerTrace(name: spec.name, routing: spec.routing, kernels: k, temperature: tau,
                                             logits: z, attention: pi, applied: applied, entropy: entropy))
            }
            return layer.convolve(x, coefficients: applied, parallel: ctx.parallel)
        case .affine(let scale, let shift):
            var y = x
            let c = x.shape[1], plane = x.count / (n * c)
            y.data.withUnsafeMutableBufferPointer { yp in
                scale.withUnsafeBufferPointer { sp in
                    shift.withUnsafeBufferPointer { tp in
                        for s in 0..<n {
                            channelAffine(yp.baseAddress! + s * c * plane, channels: c, plane: plane,
                                          scale: sp.baseAddress!, shift: tp.baseAddress!)
                        }
                    }
                }
            }
            return y
        case .activation(let kind):
            var y = x
            y.data.withUnsafeMutableBufferPointer { Activation.apply(kind, $0.baseAddress!, count: $0.count) }
            return y
        case .maxPool(let pool), .avgPool(let pool):
            let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
            let ho = (h + 2 * pool.padding - pool.kernel) / pool.stride + 1
            let wo = (w + 2 * pool.padding - pool.kernel) / pool.stride + 1
            var y = Tensor.uninitialized([n, c, ho, wo])
            let isMax: Bool
            if case .maxPool = self { isMax = true } else { isMax = false }
            x.data.withUnsafeBufferPointer { xp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    nonisolated(unsafe) let xb = xp.baseAddress!, yb = yp.baseAddress!
                    Parallel.forEachChunk(n, maxChunks: ctx.parallel ? Parallel.threads : 1) { _, r in
                        for s in r {
                            if isMax {
                                maxPoolSample(xb + s * c * h * w, channels: c, height: h, width: w, pool: pool,
                                              y: yb + s * c * ho * wo)
                            } else {
                                avgPoolSample(xb + s * c * h * w, channels: c, height: h, width: w, pool: pool,
                                              y: yb + s * c * ho * wo)
                            }
                        }
                    }
                }
            }
            return y
        case .globalAvgPool:
            let c = x.shape[1], plane = x.count / (n * c)
            var y = Tensor.zeros([n, c])
            x.data.withUnsafeBufferPointer { xp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    for s in 0..<n {
                        globalAvgPoolSample(xp.baseAddress! + s * c * plane, channels: c, plane: plane,
                                            y: yp.baseAddress! + s * c)
                    }
                }
            }
            return y
        case .linear(let spec, let weight, let bias):
            var y = Tensor.zeros([n, spec.outFeatures])
            x.data.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    bias.withOptionalPointer { bp in
                        y.data.withUnsafeMutableBufferPointer { yp in
                            linearForward(xp.baseAddress!, batch: n, inFeatures: spec.inFeatures,
                                          outFeatures: spec.outFeatures, weight: wp.baseAddress!, bias: bp,
                                          y: yp.baseAddress!)
                        }
                    }
                }
            }
            return y
        case .residual(let body, let shortcut):
            var a = Model.run(body, x, &ctx)
            let b = Model.run(shortcut, x, &ctx)
            a.data.withUnsafeMutableBufferPointer { ap in
                b.data.withUnsafeBufferPointer { bp in
                    for i in 0..<ap.count { ap[i] += bp[i] }
                }
            }
            return a
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
