import DyConvEngine

/// State shared by the per-worker copies of one training graph: the barrier that synchronises
/// BatchNorm statistics across the halves of a batch, and one reduction slot per BatchNorm.
final class SharedGraphState: @unchecked Sendable {
    /// Number of workers that run a training step together.
    let workers: Int
    /// Barrier of those workers.
    let barrier: Barrier
    /// Per-BatchNorm scratch: `2 (forward, backward) × workers × 2 × channels` Doubles, the
    /// partial sums of each worker. Forward and backward use separate regions, so one barrier
    /// per reduction suffices (each region is written once per step, and steps are joined).
    private(set) var slots: [UnsafeMutablePointer<Double>] = []
    private var slotSizes: [Int] = []

    init(workers: Int) {
        self.workers = workers
        barrier = Barrier(count: workers)
    }

    deinit { for slot in slots { slot.deallocate() } }

    /// The slot of the `index`-th BatchNorm layer (created on first request, during graph building).
    func slot(_ index: Int, channels: Int) -> UnsafeMutablePointer<Double> {
        if index < slots.count {
            precondition(slotSizes[index] == channels, "SharedGraphState: slot \(index) size mismatch")
            return slots[index]
        }
        precondition(index == slots.count, "SharedGraphState: slots must be requested in order")
        let count = 2 * workers * 2 * channels
        let slot = UnsafeMutablePointer<Double>.allocate(capacity: count)
        slot.initialize(repeating: 0, count: count)
        slots.append(slot)
        slotSizes.append(channels)
        return slot
    }
}

/// Per-worker, per-pass settings read by the nodes.
final class GraphContext: @unchecked Sendable {
    /// This worker's index.
    let worker: Int
    /// The shared state of all workers.
    let shared: SharedGraphState
    /// Training mode (batch statistics in BatchNorm) or evaluation mode (running statistics).
    var training = false
    /// Whether BatchNorm statistics are summed over all workers (training on a split batch).
    var synchronize = false
    /// Whether this pass updates BatchNorm running statistics (training passes of worker 0).
    var updateRunningStatistics = false
    /// BatchNorm running-statistics momentum (PyTorch: 0.1).
    var batchNormMomentum: Float = 0.1
    /// Temperature τ of every dynamic convolution.
    var temperature: Float = 1
    /// Samples in the whole batch over all synchronised workers (BatchNorm's divisor).
    var totalBatch = 0

    init(worker: Int, shared: SharedGraphState) {
        self.worker = worker
        self.shared = shared
    }
}

/// Pointers into the flat storage that the nodes of one worker's graph read and write.
struct StoragePointers {
    /// Trainable parameters (shared by all workers; read-only during a step).
    var parameters: UnsafeMutablePointer<Float>
    /// BatchNorm running statistics (shared; written by worker 0 only).
    var buffers: UnsafeMutablePointer<Float>
    /// This worker's gradient accumulator (same layout as `parameters`).
    var gradients: UnsafeMutablePointer<Float>

    /// The value and gradient of parameter `name`, or nil when `layout` has none.
    func parameter(_ name: String, _ layout: ParameterLayout)
        -> (value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>)? {
        layout.parameter(name).map { (parameters + $0.offset, gradients + $0.offset) }
    }
}

/// A node of the training graph: one layer with forward and backward over a batch of `n` samples.
///
/// Nodes own their output and input-gradient buffers, sized for `maxBatch` samples, so a
/// training step allocates nothing. `backward` must not modify `dy`, and reads its input `x`
/// (the previous node's output, still intact) instead of keeping a copy.
class Node {
    /// Per-sample input and output shapes (`[C, H, W]` or `[F]`).
    let inShape: [Int]
    let outShape: [Int]
    /// Floats per sample.
    let inSize: Int
    let outSize: Int
    /// The largest batch this node's buffers hold.
    let maxBatch: Int

    init(inShape: [Int], outShape: [Int], maxBatch: Int) {
        self.inShape = inShape
        self.outShape = outShape
        inSize = inShape.reduce(1, *)
        outSize = outShape.reduce(1, *)
        self.maxBatch = maxBatch
    }

    /// The output of the last `forward`, `[n, outSize]`.
    var output: UnsafeMutablePointer<Float> { fatalError("Node.output must be overridden") }
    /// dL/dx of the last `backward`, `[n, inSize]`.
    var gradInput: UnsafeMutablePointer<Float> { fatalError("Node.gradInput must be overridden") }

    func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        fatalError("Node.forward must be overridden")
    }

    /// Accumulates parameter gradients into the worker's gradient buffer and, if
    /// `needInputGrad`, writes dL/dx into `gradInput`.
    func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                  needInputGrad: Bool, context: GraphContext) {
        fatalError("Node.backward must be overridden")
    }
}

/// A node with its own output and input-gradient buffers.
class BufferedNode: Node {
    let outputBuffer: FloatBuffer
    let gradInputBuffer: FloatBuffer

    override init(inShape: [Int], outShape: [Int], maxBatch: Int) {
        outputBuffer = FloatBuffer(count: maxBatch * outShape.reduce(1, *))
        gradInputBuffer = FloatBuffer(count: maxBatch * inShape.reduce(1, *))
        super.init(inShape: inShape, outShape: outShape, maxBatch: maxBatch)
    }

    override var output: UnsafeMutablePointer<Float> { outputBuffer.pointer }
    override var gradInput: UnsafeMutablePointer<Float> { gradInputBuffer.pointer }
}

// MARK: - Sequence and residual

/// Layers executed in order; its output is the last layer's output.
final class SequenceNode: Node {
    let nodes: [Node]

    init(nodes: [Node], inShape: [Int], maxBatch: Int) {
        self.nodes = nodes
        super.init(inShape: inShape, outShape: nodes.last?.outShape ?? inShape, maxBatch: maxBatch)
    }

    override var output: UnsafeMutablePointer<Float> { nodes[nodes.count - 1].output }
    override var gradInput: UnsafeMutablePointer<Float> { nodes[0].gradInput }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        var input = x
        for node in nodes {
            node.forward(input, n: n, context: context)
            input = UnsafePointer(node.output)
        }
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        var grad = dy
        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            let input = i == 0 ? x : UnsafePointer(nodes[i - 1].output)
            nodes[i].backward(input, dy: grad, n: n, needInputGrad: i > 0 || needInputGrad, context: context)
            grad = UnsafePointer(nodes[i].gradInput)
        }
    }
}

/// `y = body(x) + shortcut(x)`, with an identity shortcut when it has no layers.
final class ResidualNode: BufferedNode {
    let body: SequenceNode
    let shortcut: SequenceNode?

    init(body: SequenceNode, shortcut: SequenceNode?, inShape: [Int], maxBatch: Int) {
        self.body = body
        self.shortcut = shortcut
        super.init(inShape: inShape, outShape: body.outShape, maxBatch: maxBatch)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        body.forward(x, n: n, context: context)
        let count = n * outSize
        let y = output
        let b = body.output
        if let shortcut {
            shortcut.forward(x, n: n, context: context)
            Vec.add(b, shortcut.output, into: y, count: count)
        } else {
            Vec.add(b, x, into: y, count: count)
        }
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        body.backward(x, dy: dy, n: n, needInputGrad: needInputGrad, context: context)
        let count = n * inSize
        if let shortcut {
            shortcut.backward(x, dy: dy, n: n, needInputGrad: needInputGrad, context: context)
            guard needInputGrad else { return }
            Vec.add(body.gradInput, shortcut.gradInput, into: gradInput, count: count)
        } else {
            guard needInputGrad else { return }
            Vec.add(body.gradInput, dy, into: gradInput, count: count)
        }
    }
}

// MARK: - Elementwise and pooling

/// ReLU, ReLU6 or hard-swish.
final class ActivationNode: BufferedNode {
    let kind: ActivationKind

    init(kind: ActivationKind, shape: [Int], maxBatch: Int) {
        self.kind = kind
        super.init(inShape: shape, outShape: shape, maxBatch: maxBatch)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        Activation.apply(kind, x, output, count: n * outSize)
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        guard needInputGrad else { return }
        let dx = gradInput, count = n * inSize
        switch kind {
        case .relu:
            Vec.reluBackward(dy, x, dx, count: count)
        case .relu6:
            for i in 0..<count { dx[i] = (x[i] > 0 && x[i] < 6) ? dy[i] : 0 }
        case .hardswish:
            for i in 0..<count {
                let v = x[i]
                dx[i] = v < -3 ? 0 : (v > 3 ? dy[i] : dy[i] * (2 * v + 3) / 6)
            }
        }
    }
}

/// Max pooling (padding acts as −∞); remembers the arg-max of every output for backward.
final class MaxPoolNode: BufferedNode {
    let pool: PoolSpec
    private let argmax: UnsafeMutablePointer<Int32>

    init(pool: PoolSpec, inShape: [Int], outShape: [Int], maxBatch: Int) {
        self.pool = pool
        argmax = .allocate(capacity: max(1, maxBatch * outShape.reduce(1, *)))
        super.init(inShape: inShape, outShape: outShape, maxBatch: maxBatch)
    }

    deinit { argmax.deallocate() }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        maxPoolSample(x, channels: n * inShape[0], height: inShape[1], width: inShape[2], pool: pool,
                      y: output, argmax: argmax)
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        guard needInputGrad else { return }
        let (c, h, w) = (inShape[0], inShape[1], inShape[2])
        let outPlane = outShape[1] * outShape[2]
        let dx = gradInput
        dx.update(repeating: 0, count: n * inSize)
        for plane in 0..<(n * c) {
            let d = dx + plane * h * w
            let g = dy + plane * outPlane
            let arg = argmax + plane * outPlane
            for i in 0..<outPlane { d[Int(arg[i])] += g[i] }
        }
    }
}

/// Average pooling (`count_include_pad=True`, as PyTorch's default).
final class AvgPoolNode: BufferedNode {
    let pool: PoolSpec

    init(pool: PoolSpec, inShape: [Int], outShape: [Int], maxBatch: Int) {
        self.pool = pool
        super.init(inShape: inShape, outShape: outShape, maxBatch: maxBatch)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        avgPoolSample(x, channels: n * inShape[0], height: inShape[1], width: inShape[2], pool: pool, y: output)
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        guard needInputGrad else { return }
        let (c, h, w) = (inShape[0], inShape[1], inShape[2])
        let (ho, wo) = (outShape[1], outShape[2])
        let inv = 1 / Float(pool.kernel * pool.kernel)
        let dx = gradInput
        dx.update(repeating: 0, count: n * inSize)
        // The adjoint of `avgPoolSample`: each output's gradient spread over its window.
        for plane in 0..<(n * c) {
            let d = dx + plane * h * w
            let g = dy + plane * ho * wo
            for oy in 0..<ho {
                let rows = pool.window(oy, size: h)
                for ox in 0..<wo {
                    let v = g[oy * wo + ox] * inv
                    for iy in rows { for ix in pool.window(ox, size: w) { d[iy * w + ix] += v } }
                }
            }
        }
    }
}

/// Global average pooling `[C, H, W] → [C]`.
final class GlobalAvgPoolNode: BufferedNode {
    init(inShape: [Int], maxBatch: Int) {
        super.init(inShape: inShape, outShape: [inShape[0]], maxBatch: maxBatch)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        globalAvgPoolSample(x, channels: n * inShape[0], plane: inShape[1] * inShape[2], y: output)
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        guard needInputGrad else { return }
        let plane = inShape[1] * inShape[2]
        let inv = 1 / Float(plane)
        let dx = gradInput
        for i in 0..<(n * inShape[0]) {
            (dx + i * plane).update(repeating: dy[i] * inv, count: plane)
        }
    }
}

// MARK: - Linear

/// `y = x · Wᵀ + b` on the flattened input.
final class LinearNode: BufferedNode {
    let spec: LinearSpec
    let weight: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>?
    let gradWeight: UnsafeMutablePointer<Float>
    let gradBias: UnsafeMutablePointer<Float>?

    init(spec: LinearSpec, inShape: [Int], maxBatch: Int, layout: ParameterLayout, storage: StoragePointers) {
        self.spec = spec
        (weight, gradWeight) = storage.parameter("\(spec.name).weight", layout)!
        let b = spec.bias ? storage.parameter("\(spec.name).bias", layout) : nil
        (bias, gradBias) = (b?.value, b?.gradient)
        super.init(inShape: inShape, outShape: [spec.outFeatures], maxBatch: maxBatch)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        linearForward(x, batch: n, inFeatures: spec.inFeatures, outFeatures: spec.outFeatures,
                      weight: weight, bias: bias, y: output)
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        let (fin, fout) = (spec.inFeatures, spec.outFeatures)
        sgemm(transA: true, m: fout, n: fin, k: n, a: dy, lda: fout, b: x, ldb: fin,
              beta: 1, c: gradWeight, ldc: fin)
        if let gradBias {
            for s in 0..<n { for j in 0..<fout { gradBias[j] += dy[s * fout + j] } }
        }
        if needInputGrad {
            sgemm(m: n, n: fin, k: fout, a: dy, lda: fout, b: weight, ldb: fin,
                  beta: 0, c: gradInput, ldc: fin)
        }
    }
}

// MARK: - BatchNorm

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
