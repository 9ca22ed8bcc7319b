
/// A convolution with K kernels mixed per sample by an attention branch (Chen et al. 2020).
///
/// For an input batch x `[N, C_in, H, W]`:
///
///     g  = GAP(x)                                  [N, C_in]
///     h  = ReLU(g · fc1ᵀ + b1)                     [N, hidden]
///     z  = h · fc2ᵀ + b2                           [N, K]
///     π  = softmax(z / τ)   or   sigmoid(z / τ)    [N, K]   (CondConv routing)
///     a  = mode(π)                                  [N, K]   (aggregation ablation)
///     W̃n = Σ_k a_nk W_k,   b̃n = Σ_k a_nk b_k + c   per sample
///     yn = act(conv(xn, W̃n) + b̃n)
///
/// `c` is a static per-channel shift (a folded BatchNorm's), `act` an optional fused activation.
/// With `routing == .static` this is an ordinary convolution (K = 1, no attention branch).
public struct DynamicConv2d: Sendable {
    /// The layer's description (name, channels, kernel size, routing, K, attention width).
    public let spec: ConvSpec
    /// Kernels `[K, out, in/g, k, k]` (`[out, in/g, k, k]` viewed as K = 1 when static).
    public private(set) var weight: [Float]
    /// Per-kernel biases `[K, out]`, or nil.
    public private(set) var bias: [Float]?
    /// Static per-channel shift `[out]` added after aggregation (folded BatchNorm), or nil.
    public private(set) var shift: [Float]?
    /// FC1 of the attention branch `[hidden, in]` and its optional bias `[hidden]`.
    public let fc1Weight: [Float], fc1Bias: [Float]?
    /// FC2 of the attention branch `[K, hidden]` and its bias `[K]`.
    public let fc2Weight: [Float], fc2Bias: [Float]
    /// Activation applied in the same pass (fused), or nil.
    public var activation: ActivationKind?
    /// The kernels in tap-major layout `[K, k·k, out, in]` for the implicit-GEMM path, or nil
    /// (grouped convolutions, 1×1 kernels, or before `prepareImplicitGemm()`).
    public private(set) var tapMajorWeight: [Float]?

    /// Builds the layer from checkpoint-shaped tensors; shapes are the caller's responsibility
    /// (the `Model` initialiser checks them against the description).
    public init(spec: ConvSpec, weight: [Float], bias: [Float]?,
                fc1Weight: [Float] = [], fc1Bias: [Float]? = nil,
                fc2Weight: [Float] = [], fc2Bias: [Float] = []) {
        self.spec = spec; self.weight = weight; self.bias = bias
        self.fc1Weight = fc1Weight; self.fc1Bias = fc1Bias
        self.fc2Weight = fc2Weight; self.fc2Bias = fc2Bias
        self.shift = nil
        self.activation = nil
        self.tapMajorWeight = nil
    }

    /// Keeps a tap-major copy of the kernels so that ungrouped k×k convolutions can run as
    /// implicit GEMM (`ImplicitGemmPlan`). Call after the last change to `weight`.
    public mutating func prepareImplicitGemm() {
        let g = geometry(height: spec.kernel, width: spec.kernel)
        guard ImplicitGemmPlan.applies(g, minimumChannels: 1) else { tapMajorWeight = nil; return }
        var t = [Float](repeating: 0, count: weight.count)
        weight.withUnsafeBufferPointer { w in
            t.withUnsafeMutableBufferPointer { d in
                ImplicitGemmPlan(g).toTapMajor(w.baseAddress!, d.baseAddress!, count: kernels)
            }
        }
        tapMajorWeight = t
    }

    /// Input channels from which a convolution runs as implicit GEMM (`DYCONV_IMPLICIT_MIN_CHANNELS`
    /// overrides; 0 turns the path off).
    static let implicitMinimumChannels: Int = {
        if let v = EnvironmentSetting.implicitMinimumChannels.integer { return v }
        return 8
    }()

    /// How one sample's convolution runs for a geometry.
    enum ConvPath {
        /// Stride-1 "same": implicit GEMM over column copies, no wasted columns.
        case same(SameConvPlan)
        /// Implicit GEMM over phase planes (any stride and padding).
        case implicit(ImplicitGemmPlan)
        /// im2col + GEMM, or the direct depthwise kernel (grouped, 1×1, few input channels).
        case columns
    }

    /// The path for this geometry (`DYCONV_IMPLICIT_MIN_CHANNELS=0` forces im2col).
    func convPath(_ g: ConvGeometry) -> ConvPath {
        let minimum = Self.implicitMinimumChannels
        guard tapMajorWeight != nil, minimum > 0 else { return .columns }
        if SameConvPlan.applies(g, minimumChannels: minimum) { return .same(SameConvPlan(g)) }
        if ImplicitGemmPlan.applies(g, minimumChannels: minimum) { return .implicit(ImplicitGemmPlan(g)) }
        return .columns
    }

    /// Floats of every bank mixed per step of a group mix (4 banks × 16 KB stay in a core's cache).
    static let mixBlock = 4096

    /// Samples of one core's chunk whose kernels are mixed together: up to 8, as many as have
    /// their mixed kernels within 16 M floats (64 MB); 1 when the banks (K·per floats) fit in a
    /// core's cache anyway, where the next sample reads them from.
    static func mixGroup(samples: Int, per: Int, kernels: Int) -> Int {
        guard samples > 1, kernels * per > 1 << 18 else { return 1 }
        return max(1, min(samples, 8, (16 << 20) / per))
    }

    /// Number of kernels mixed (1 for a static convolution).
    public var kernels: Int { spec.isDynamic ? spec.kernels : 1 }

    /// The geometry for an input of the given spatial size.
    public func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(spec: spec, height: height, width: width)
    }

    /// Folds a following inference BatchNorm (y·scale + shift per channel) into the layer. Exact.
    public mutating func foldBatchNorm(scale: [Float], shift bnShift: [Float]) {
        let out = spec.outChannels
        let per = weight.count / (kernels * out)
        for k in 0..<kernels {
            for o in 0..<out {
                let s = scale[o]
                let base = (k * out + o) * per
                for i in 0..<per { weight[base + i] *= s }
                if bias != nil { bias![k * out + o] *= s }
            }
        }
        tapMajorWeight = nil   // stale; `prepareImplicitGemm()` again
        var newShift = bnShift
        if let old = shift { for o in 0..<out { newShift[o] += old[o] * scale[o] } }
        shift = newShift
    }

    /// Attention logits z `[N, K]` and routing π `[N, K]` for a batch.
    ///
    /// `parallel: false` keeps the work on the calling thread (the caller is already parallel).
    public func attention(_ x: Tensor, temperature: Float, parallel: Bool = true) -> (logits: [Float], pi: [Float]) {
        precondition(spec.isDynamic, "attention() on a static convolution")
        let n = x.shape[0], c = spec.inChannels
        let plane = x.shape[2] * x.shape[3]
        let hidden = spec.attention!.hidden, k = spec.kernels
        var pooled = [Float](repeating: 0, count: n * c)
        var h = [Float](repeating: 0, count: n * hidden)
        var z = [Float](repeating: 0, count: n * k)
        x.data.withUnsafeBufferPointer { xp in
            pooled.withUnsafeMutableBufferPointer { gp in
                // GAP over all N·C planes, split over the cores when large.
                nonisolated(unsafe) let src = xp.baseAddress!, dst = gp.baseAddress!
                Parallel.forEachChunk(n * c, maxChunks: parallel && n * c * plane >= Parallel.streamingSplitThreshold ? Parallel.threads : 1) { _, r in
                    globalAvgPoolSample(src + r.lowerBound * plane, channels: r.count, plane: plane,
                                        y: dst + r.lowerBound)
                }
            }
        }
        var pi = z
        pooled.withUnsafeBufferPointer { gp in
            fc1Weight.withUnsafeBufferPointer { w1 in
                fc2Weight.withUnsafeBufferPointer { w2 in
                    fc2Bias.withUnsafeBufferPointer { b2 in
                        fc1Bias.withOptionalPointer { b1 in
                            h.withUnsafeMutableBufferPointer { hp in
                                z.withUnsafeMutableBufferPointer { zp in
                                    pi.withUnsafeMutableBufferPointer { pp in
                                        attentionBranch(pooled: gp.baseAddress!, batch: n, channels: c, hidden: hidden,
                                                        kernels: k, fc1: w1.baseAddress!, fc1Bias: b1,
                                                        fc2: w2.baseAddress!, fc2Bias: b2.baseAddress!,
                                                        routing: spec.routing, temperature: temperature,
                                                        hiddenActivations: hp.baseAddress!, logits: zp.baseAddress!,
                                                        attention: pp.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (z, pi)
    }

    /// Runs the layer on a batch with per-sample coefficients `coefficients` `[N, K]` (ignored when static).
    ///
    /// The samples are split over the cores, and a batch of one spreads its large GEMMs and
    /// depthwise convolutions over them; `parallel: false` keeps everything on the calling thread.
    public func convolve(_ x: Tensor, coefficients: [Float], parallel: Bool = true) -> Tensor {
        let n = x.shape[0]
        let g = geometry(height: x.shape[2], width: x.shape[3])
        if let banks = kernelBanks, Self.prefersKernelBanks(g, kernels: kernels) {
            return convolveBanks(x, coefficients: coefficients, banks: banks, parallel: parallel)
        }
        let k = kernels, out = spec.outChannels, per = g.weightCount
        var y = Tensor.uninitialized([n, out, g.outHeight, g.outWidth])
        let inStride = spec.inChannels * g.height * g.width
        let outStride = out * g.outPixels
        let act = activation
        let batchOne = n == 1 && parallel
        let path = convPath(g)
        let scratchCount: Int
        switch path {
        case .same(let plan): scratchCount = plan.bufferCount
        case .implicit(let plan): scratchCount = plan.phaseCount + plan.gridCount
        case .columns: scratchCount = g.scratchCount
        }
        let bank: [Float]   // [K, per] in the layout the path reads
        if case .columns = path { bank = weight } else { bank = tapMajorWeight! }
        x.data.withUnsafeBufferPointer { xb in
            y.data.withUnsafeMutableBufferPointer { yb in
                bank.withUnsafeBufferPointer { wb in
                    nonisolated(unsafe) let xp = xb.baseAddress!, yp = yb.baseAddress!, wp = wb.baseAddress!
                    Parallel.forEachChunk(n, maxChunks: parallel ? Parallel.threads : 1) { _, samples in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(scratchCount, 1))
                        // A dynamic layer mixes `per` floats whatever K is (K = 1 included); a static one
                        // reads its single kernel in place and needs no buffer. Several samples on one
                        // core mix together (`mixGroup`), so the banks are read once for the group.
                        let group = spec.isDynamic && !batchOne ? Self.mixGroup(samples: samples.count, per: per, kernels: k) : 1
                        let mixed = UnsafeMutablePointer<Float>.allocate(capacity: spec.isDynamic ? max(group * per, 1) : 1)
                        let mixedBias = UnsafeMutablePointer<Float>.allocate(capacity: out)
                        defer { scratch.deallocate(); mixed.deallocate(); mixedBias.deallocate() }
                        // Implicit GEMM: the input buffer's borders are zeroed once and never written.
                        switch path {
                        case .same(let plan): scratch.update(repeating: 0, count: plan.bufferCount)
                        case .implicit(let plan): scratch.update(repeating: 0, count: plan.phaseCount)
                        case .columns: break
                        }
                        for s in samples {
                            // Aggregate the kernel (and bias) of this sample: W̃ = Σ a_k W_k.
                            let kernelPointer: UnsafePointer<Float>
                            if spec.isDynamic && group > 1 {
                                // The first sample of a group mixes the group's kernels, a block of every
                                // bank at a time (the block stays in cache for the group's samples).
                                let slot = (s - samples.lowerBound) % group
                                if slot == 0 {
                                    let members = min(group, samples.upperBound - s)
                                    coefficients.withUnsafeBufferPointer { cp in
                                        var b = 0
                                        while b < per {
                                            let count = min(Self.mixBlock, per - b)
                                            for m in 0..<members {
                                                Vec.mix(cp.baseAddress! + (s + m) * k, kernels: k, bank: wp + b, count: count,
                                                        bankStride: per, into: mixed + m * per + b)
                                            }
                                            b += count
                                        }
                                    }
                                }
                                kernelPointer = UnsafePointer(mixed + slot * per)
                            } else if spec.isDynamic {
                                // mixed[per] = a[K] · W[K, per].
                                coefficients.withUnsafeBufferPointer { cp in
                                    // A single sample with large banks (DY-MobileNetV2's 1×1 layers) mixes on all cores.
                                    let chunks = batchOne && k * per >= Parallel.streamingSplitThreshold ? Parallel.threads : 1
                                    nonisolated(unsafe) let a = cp.baseAddress! + s * k, into = mixed
                                    Parallel.forEachChunk(per, maxChunks: chunks) { _, r in
                                        Vec.mix(a, kernels: k, bank: wp + r.lowerBound, count: r.count, bankStride: per,
                                                into: into + r.lowerBound)
                                    }
                                }
                                kernelPointer = UnsafePointer(mixed)
                            } else {
                                kernelPointer = wp
                            }
                            let biasPointer = coefficients.withUnsafeBufferPointer { cp in
                                mixBias(spec.isDynamic ? cp.baseAddress! + s * k : nil, into: mixedBias)
                            }
                            let ys = yp + s * outStride
                            // A large single sample splits its output channels over the cores.
                            let chunks = batchOne && g.multiplyAdds >= Parallel.splitThreshold ? Parallel.threads : 1
                            nonisolated(unsafe) let buffer = scratch, w = kernelPointer, b = biasPointer
                            if case .same(let plan) = path {
                                plan.loadInput(xp + s * inStride, into: scratch)
                                Parallel.forEachChunk(out, maxChunks: chunks) { _, r in
                                    plan.convolve(weights: w, buffer: buffer, bias: b, activation: act, into: ys, channels: r)
                                }
                            } else if case .implicit(let plan) = path {
                                let grid = scratch + plan.phaseCount
                                plan.loadInput(xp + s * inStride, into: scratch)
                                Parallel.forEachChunk(out, maxChunks: chunks) { _, r in
                                    plan.convolve(weights: w, phases: buffer, grid: grid, channels: r)
                                    plan.writeOutput(grid, bias: b, activation: act, into: ys, channels: r)
                                }
                            } else if batchOne && g.isDepthwise {
                                depthwiseSplitOverChannels(g, x: xp + s * inStride, w: kernelPointer,
                                                           bias: biasPointer, activation: act, y: ys)
                            } else {
                                conv2dSample(g, x: xp + s * inStride, w: kernelPointer, bias: biasPointer,
                                             y: ys, scratch: scratch, allowSplit: batchOne, activation: act)
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}

extension DynamicConv2d {
    /// The layer in a compiled model: attention, the aggregation mode's coefficients (and the
    /// trace, when collected), then the convolution. A static layer only convolves.
    func forward(_ x: Tensor, _ ctx: inout Model.ForwardContext) -> Tensor {
        guard spec.isDynamic else { return convolve(x, coefficients: [], parallel: ctx.parallel) }
        let n = x.shape[0], k = spec.kernels
        let tau = ctx.options.temperature(forLayer: spec.name, trained: spec.attention!.temperature)
        let (z, pi) = attention(x, temperature: tau, parallel: ctx.parallel)
        let applied = aggregationCoefficients(pi, batch: n, kernels: k, mode: ctx.options.mode,
                                              seed: ctx.options.seed, layerIndex: ctx.dynamicIndex,
                                              imageIndices: ctx.imageIndices, partner: ctx.borrowed?[ctx.dynamicIndex])
        ctx.dynamicIndex += 1
        if ctx.options.collectTrace {
            let entropy = (0..<n).map { normalizedEntropy(pi[($0 * k)..<(($0 + 1) * k)]) }
            ctx.traces.append(LayerTrace(name: spec.name, routing: spec.routing, kernels: k, temperature: tau,
                                         logits: z, attention: pi, applied: applied, entropy: entropy))
        }
        return convolve(x, coefficients: applied, parallel: ctx.parallel)
    }
}

/// Depthwise convolution of one sample with its channels split over the cores.
func depthwiseSplitOverChannels(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>?, activation: ActivationKind?, y: UnsafeMutablePointer<Float>) {
    let groupsPerChunk = g.groups
    nonisolated(unsafe) let x = x, w = w, bias = bias, y = y
    let chunks = g.multiplyAdds >= Parallel.streamingSplitThreshold ? Parallel.threads : 1
    Parallel.forEachChunk(groupsPerChunk, maxChunks: chunks) { _, r in
        // A sub-convolution over groups r: channels of those groups only.
        let sub = ConvGeometry(inChannels: r.count * g.groupIn, outChannels: r.count * g.groupOut,
                               height: g.height, width: g.width, kernel: g.kernel, stride: g.stride,
                               padding: g.padding, groups: r.count)
        depthwiseConv2dSample(sub, x: x + r.lowerBound * g.groupIn * g.height * g.width,
                              w: w + r.lowerBound * g.groupOut * g.kernel * g.kernel,
                              bias: bias.map { $0 + r.lowerBound * g.groupOut },
                              y: y + r.lowerBound * g.groupOut * g.outPixels, activation: activation)
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's storage, or nil.
    @inline(__always)
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
