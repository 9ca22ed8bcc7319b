import DyConvEngine

/// BatchNorm2d: batch statistics (summed over all workers) in training, running statistics in
/// evaluation. Running statistics follow PyTorch: momentum 0.1, unbiased variance.
///
/// With `fusedReLU` the node also applies the ReLU that follows it (one pass instead of two;
/// the backward masks with its own output).
final class BatchNormNode: BufferedNode {
    let spec: BatchNormSpec
    let fusedReLU: Bool
    let gamma: UnsafeMutablePointer<Float>
    let beta: UnsafeMutablePointer<Float>
    let gradGamma: UnsafeMutablePointer<Float>
    let gradBeta: UnsafeMutablePointer<Float>
    let runningMean: UnsafeMutablePointer<Float>
    let runningVar: UnsafeMutablePointer<Float>
    /// Batch mean and 1/sqrt(var + eps) of the last training forward, `[C]`.
    private let mean: UnsafeMutablePointer<Float>
    private let invStd: UnsafeMutablePointer<Float>
    /// Totals of a reduction, `2 × C`.
    private let totals: UnsafeMutablePointer<Double>
    private let slot: UnsafeMutablePointer<Double>
    private let plane: Int
    /// Whether the producing convolution accumulates this batch's Σx and Σx² per channel, sample
    /// by sample while each output is in cache (`accumulateStatistics`), so that the forward pass
    /// skips its own statistics pass. The additions happen in the same order, so the result is
    /// bit-identical either way.
    var statisticsFromProducer = false
    private let pendingStatistics: UnsafeMutablePointer<Double>
    /// Whether to record the mean of every output plane (`channelMeans`), which a following
    /// dynamic convolution uses as its global average pooling.
    var providesChannelMeans = false
    /// Mean of each output plane of the last forward, `[n, C]` (when `providesChannelMeans`).
    let channelMeans: FloatBuffer

    init(spec: BatchNormSpec, shape: [Int], maxBatch: Int, layout: ParameterLayout,
         storage: StoragePointers, slot: UnsafeMutablePointer<Double>, fusedReLU: Bool = false) {
        self.spec = spec
        self.fusedReLU = fusedReLU
        let w = layout.parameter("\(spec.name).weight")!, b = layout.parameter("\(spec.name).bias")!
        gamma = storage.parameters + w.offset
        beta = storage.parameters + b.offset
        gradGamma = storage.gradients + w.offset
        gradBeta = storage.gradients + b.offset
        runningMean = storage.buffers + layout.buffer("\(spec.name).running_mean")!.offset
        runningVar = storage.buffers + layout.buffer("\(spec.name).running_var")!.offset
        let c = spec.channels
        mean = .allocate(capacity: c); mean.initialize(repeating: 0, count: c)
        invStd = .allocate(capacity: c); invStd.initialize(repeating: 1, count: c)
        totals = .allocate(capacity: 2 * c); totals.initialize(repeating: 0, count: 2 * c)
        self.slot = slot
        plane = shape.dropFirst().reduce(1, *)
        pendingStatistics = .allocate(capacity: 2 * c)
        pendingStatistics.initialize(repeating: 0, count: 2 * c)
        channelMeans = FloatBuffer(count: maxBatch * c)
        super.init(inShape: shape, outShape: shape, maxBatch: maxBatch)
    }

    deinit {
        mean.deallocate(); invStd.deallocate(); totals.deallocate()
        pendingStatistics.deallocate()
    }

    /// Starts a batch of `accumulateStatistics` calls.
    func resetStatistics() {
        pendingStatistics.update(repeating: 0, count: 2 * spec.channels)
    }

    /// Adds one sample's per-channel Σx and Σx² (`x` is `[C, plane]`); samples must come in order.
    func accumulateStatistics(_ x: UnsafePointer<Float>) {
        let c = spec.channels
        for ch in 0..<c {
            let (a, b) = Vec.sumAndSquares(x + ch * plane, count: plane)
            pendingStatistics[ch] += a
            pendingStatistics[c + ch] += b
        }
    }

    /// Records the mean of output plane `index` (= sample · C + channel) right after writing it.
    @inline(__always)
    private func recordMean(_ y: UnsafePointer<Float>, index: Int) {
        if providesChannelMeans {
            globalAvgPoolSample(y, channels: 1, plane: plane, y: channelMeans.pointer + index)
        }
    }

    /// Fills this worker's partial sums via `fill` and leaves the sums over all workers in
    /// `totals` (summed in worker order, so every worker gets bit-identical totals).
    private func allReduce(region: Int, context: GraphContext, fill: (UnsafeMutablePointer<Double>) -> Void) {
        let c2 = 2 * spec.channels
        guard context.synchronize && context.shared.workers > 1 else {
            fill(totals)
            return
        }
        let workers = context.shared.workers
        let base = slot + region * workers * c2
        fill(base + context.worker * c2)
        context.shared.barrier.wait()
        for i in 0..<c2 {
            var t = 0.0
            for w in 0..<workers { t += base[w * c2 + i] }
            totals[i] = t
        }
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        let c = spec.channels, plane = self.plane
        let y = output
        if !context.training {
            for ch in 0..<c {
                let (scale, shift) = batchNormInference(gamma: gamma[ch], beta: beta[ch], mean: runningMean[ch],
                                                        variance: runningVar[ch], eps: spec.eps)
                for s in 0..<n {
                    let o = (s * c + ch) * plane
                    Vec.affine(x + o, y + o, count: plane, scale: scale, shift: shift, relu: fusedReLU)
                    recordMean(y + o, index: s * c + ch)
                }
            }
            return
        }
        allReduce(region: 0, context: context) { part in
            if statisticsFromProducer {
                part.update(from: pendingStatistics, count: 2 * c)
                return
            }
            for ch in 0..<c {
                var s1 = 0.0, s2 = 0.0
                for s in 0..<n {
                    let (a, b) = Vec.sumAndSquares(x + (s * c + ch) * plane, count: plane)
                    s1 += a; s2 += b
                }
                part[ch] = s1
                part[c + ch] = s2
            }
        }
        let batch = context.synchronize ? context.totalBatch : n
        let count = Double(batch * plane)
        for ch in 0..<c {
            let m = totals[ch] / count
            let variance = max(totals[c + ch] / count - m * m, 0)
            mean[ch] = Float(m)
            invStd[ch] = Float(1 / (variance + Double(spec.eps)).squareRoot())
            if context.updateRunningStatistics {
                let momentum = context.batchNormMomentum
                let unbiased = count > 1 ? variance * count / (count - 1) : variance
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(m)
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(unbiased)
            }
            let scale = gamma[ch] * invStd[ch]
            let shift = beta[ch] - mean[ch] * scale
            for s in 0..<n {
                let o = (s * c + ch) * plane
                Vec.affine(x + o, y + o, count: plane, scale: scale, shift: shift, relu: fusedReLU)
                recordMean(y + o, index: s * c + ch)
            }
        }
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        let c = spec.channels, plane = self.plane
        precondition(context.training, "BatchNormNode: backward needs a training-mode forward")
        let mask: UnsafePointer<Float>? = fusedReLU ? UnsafePointer(output) : nil
        // Reduce Σg and Σg·(x − mean) per channel, g = dy (masked by the fused ReLU).
        allReduce(region: 1, context: context) { part in
            for ch in 0..<c {
                let m = mean[ch]
                var sg = 0.0, sgx = 0.0
                for s in 0..<n {
                    let o = (s * c + ch) * plane
                    let (a, b) = Vec.normReduction(dy + o, x + o, mask: mask.map { $0 + o }, mean: m, count: plane)
                    sg += a; sgx += b
                }
                part[ch] = sg
                part[c + ch] = sgx
                // This worker's share of dγ = Σ g·x̂ and dβ = Σ g.
                gradBeta[ch] += Float(sg)
                gradGamma[ch] += Float(sgx * Double(invStd[ch]))
            }
        }
        guard needInputGrad else { return }
        let batch = context.synchronize ? context.totalBatch : n
        let count = Double(batch * plane)
        let dx = gradInput
        for ch in 0..<c {
            // dx = γ·inv·(g − mean(g) − x̂·mean(g·x̂)) = a·g − b − c·(x − mean).
            let inv = Double(invStd[ch]), gammaInv = Double(gamma[ch]) * inv
            let a = Float(gammaInv)
            let b = Float(gammaInv * totals[ch] / count)
            let cc = Float(gammaInv * inv * inv * totals[c + ch] / count)
            for s in 0..<n {
                let o = (s * c + ch) * plane
                Vec.normGradient(dy + o, x + o, mask: mask.map { $0 + o }, dx + o, count: plane,
                                 mean: mean[ch], a: a, b: b, c: cc)
            }
        }
    }
}
