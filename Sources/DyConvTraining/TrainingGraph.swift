import DyConvData
import DyConvEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One worker's executable copy of a model: nodes with forward and backward over the layer
/// list of a `ModelDescription`, reading the shared parameter storage and accumulating into
/// the worker's own gradient buffer.
final class TrainingGraph: @unchecked Sendable {
    let description: ModelDescription
    let context: GraphContext
    let root: SequenceNode
    /// Dynamic convolutions in execution order (for attention statistics).
    let dynamicNodes: [DynamicConvNode]
    /// Floats per input sample and per output (logit) row.
    let inputSize: Int
    let outputSize: Int
    let maxBatch: Int
    /// dL/dlogits of the last loss evaluation, `[maxBatch, classes]`.
    let gradLogits: FloatBuffer

    /// Builds the graph. The description must validate; `storage` must follow `layout`.
    /// - Parameter fusion: whether adjacent convolution/BatchNorm pairs share work (statistics
    ///   and global average pooling computed while data is in cache); results are bit-identical.
    init(description: ModelDescription, layout: ParameterLayout, storage: StoragePointers,
         maxBatch: Int, context: GraphContext, fusion: Bool = true) {
        self.description = description
        self.context = context
        self.maxBatch = maxBatch
        var dynamic: [DynamicConvNode] = []
        var batchNormIndex = 0
        func build(_ layers: [LayerSpec], _ start: [Int]) -> SequenceNode {
            var shape = start
            var nodes: [Node] = []
            var index = 0
            while index < layers.count {
                let layer = layers[index]
                index += 1
                let node: Node
                switch layer {
                case .conv(let c):
                    if c.isDynamic {
                        let d = DynamicConvNode(spec: c, inShape: shape, maxBatch: maxBatch, layout: layout, storage: storage)
                        dynamic.append(d)
                        node = d
                    } else {
                        node = ConvNode(spec: c, inShape: shape, maxBatch: maxBatch, layout: layout, storage: storage)
                    }
                case .batchNorm(let b):
                    let slot = context.shared.slot(batchNormIndex, channels: b.channels)
                    batchNormIndex += 1
                    // A ReLU right after a BatchNorm is fused into it.
                    let fuse = index < layers.count && layers[index] == .activation(.relu)
                    if fuse { index += 1 }
                    node = BatchNormNode(spec: b, shape: shape, maxBatch: maxBatch, layout: layout,
                                         storage: storage, slot: slot, fusedReLU: fuse)
                case .activation(let kind):
                    node = ActivationNode(kind: kind, shape: shape, maxBatch: maxBatch)
                case .maxPool(let p), .avgPool(let p):
                    let out = [shape[0], (shape[1] + 2 * p.padding - p.kernel) / p.stride + 1,
                               (shape[2] + 2 * p.padding - p.kernel) / p.stride + 1]
                    if case .maxPool = layer {
                        node = MaxPoolNode(pool: p, inShape: shape, outShape: out, maxBatch: maxBatch)
                    } else {
                        node = AvgPoolNode(pool: p, inShape: shape, outShape: out, maxBatch: maxBatch)
                    }
                case .globalAvgPool:
                    node = GlobalAvgPoolNode(inShape: shape, maxBatch: maxBatch)
                case .linear(let l):
                    node = LinearNode(spec: l, inShape: shape, maxBatch: maxBatch, layout: layout, storage: storage)
                case .residual(let body, let shortcut):
                    let b = build(body, shape)
                    let s = shortcut.isEmpty ? nil : build(shortcut, shape)
                    node = ResidualNode(body: b, shortcut: s, inShape: shape, maxBatch: maxBatch)
                }
                nodes.append(node)
                shape = node.outShape
            }
            if fusion {
                for (a, b) in zip(nodes, nodes.dropFirst()) {
                    if let bn = b as? BatchNormNode {
                        if let conv = a as? ConvNode { conv.statisticsConsumer = bn; bn.statisticsFromProducer = true }
                        if let conv = a as? DynamicConvNode { conv.statisticsConsumer = bn; bn.statisticsFromProducer = true }
                    }
                    if let bn = a as? BatchNormNode, let conv = b as? DynamicConvNode {
                        bn.providesChannelMeans = true
                        conv.meansProducer = bn
                    }
                }
            }
            if nodes.isEmpty {
                // An empty body behaves as the identity; represent it by a no-op activation-free copy.
                nodes.append(IdentityNode(shape: shape, maxBatch: maxBatch))
            }
            return SequenceNode(nodes: nodes, inShape: start, maxBatch: maxBatch)
        }
        let input = [description.input.channels, description.input.height, description.input.width]
        root = build(description.layers, input)
        dynamicNodes = dynamic
        inputSize = input.reduce(1, *)
        outputSize = root.outSize
        gradLogits = FloatBuffer(count: maxBatch * outputSize)
    }

    /// Runs the forward pass on `n` samples; returns the logits `[n, outputSize]`.
    @discardableResult
    func forward(_ input: UnsafePointer<Float>, n: Int) -> UnsafeMutablePointer<Float> {
        precondition(n <= maxBatch, "TrainingGraph: batch \(n) exceeds workspace \(maxBatch)")
        root.forward(input, n: n, context: context)
        return root.output
    }

    /// Backpropagates `dLogits` (`[n, outputSize]`), accumulating parameter gradients.
    func backward(_ input: UnsafePointer<Float>, dLogits: UnsafePointer<Float>, n: Int) {
        root.backward(input, dy: dLogits, n: n, needInputGrad: false, context: context)
    }

    /// The input gradient of the last backward (only valid when it was requested).
    func backwardWithInputGradient(_ input: UnsafePointer<Float>, dLogits: UnsafePointer<Float>, n: Int)
        -> UnsafeMutablePointer<Float> {
        root.backward(input, dy: dLogits, n: n, needInputGrad: true, context: context)
        return root.gradInput
    }
}

/// The identity (used for empty layer lists).
final class IdentityNode: BufferedNode {
    init(shape: [Int], maxBatch: Int) { super.init(inShape: shape, outShape: shape, maxBatch: maxBatch) }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        output.update(from: x, count: n * outSize)
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        if needInputGrad { gradInput.update(from: dy, count: n * inSize) }
    }
}

/// Softmax cross-entropy over logit rows.
enum CrossEntropy {
    /// Returns the summed loss of `n` rows and the number of correct arg-max predictions, and
    /// writes `(softmax − onehot) · scale` into `grad` when given.
    static func evaluate(_ logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, n: Int, classes: Int,
                         scale: Float, grad: UnsafeMutablePointer<Float>?) -> (loss: Double, correct: Int) {
        var loss = 0.0
        var correct = 0
        for s in 0..<n {
            let label = Int(labels[s])
            let r = softmaxCrossEntropy(logits + s * classes, classes: classes, label: label,
                                        gradient: grad.map { $0 + s * classes }, scale: scale)
            loss += r.loss
            if r.argmax == label { correct += 1 }
        }
        return (loss, correct)
    }
}

// MARK: - Memory estimate

extension TrainingGraph {
    /// An upper estimate of the floats one worker's graph allocates for `maxBatch` samples:
    /// every node's output and input-gradient buffers (the activations saved for backward), the
    /// convolution scratch (im2col columns or implicit-GEMM phases and grids, tap-major kernels),
    /// the dynamic convolutions' attention buffers and mixed kernels, and dL/dlogits. `nil` when a
    /// size overflows. It follows `init` node by node (same paths, same chunking), so it must
    /// change with it; `MemoryEstimateTests` checks it against the real allocation.
    ///
    /// Integer-sized side buffers (max-pool arg-max, BatchNorm sums) count as floats.
    static func estimatedFloats(description: ModelDescription, maxBatch n: Int, workers: Int) -> Int? {
        var total: Int? = 0
        func add(_ terms: Int?...) { for t in terms { total = CheckedSize.sum(total, t) } }
        func times(_ factors: Int...) -> Int? { CheckedSize.product(factors) }
        /// Output and input-gradient buffers of a `BufferedNode`.
        func buffered(_ inSize: Int?, _ outSize: Int?) {
            add(CheckedSize.product(n, CheckedSize.sum(inSize, outSize)))
        }
        /// Implicit-GEMM buffers (phases twice, grid twice), as `ImplicitGemmPlan` sizes them.
        func implicitFloats(_ g: ConvGeometry) -> Int? {
            let s = g.stride, k = g.kernel, reach = (k - 1) / s
            guard let paddedH = CheckedSize.sum(g.height, CheckedSize.sum(times(2, g.padding), s - 1)),
                  let paddedW = CheckedSize.sum(g.width, CheckedSize.sum(times(2, g.padding), s - 1)) else { return nil }
            let phaseH = max(paddedH / s, g.outHeight + reach), phaseW = max(paddedW / s, g.outWidth + reach)
            let usedPhases = min(s, k) * min(s, k)
            let phases = CheckedSize.sum(times(usedPhases, g.inChannels, phaseH, phaseW), reach + 16)
            let grid = times(g.outChannels, g.outHeight, phaseW)
            return CheckedSize.product(2, CheckedSize.sum(phases, grid))
        }
        func walk(_ layers: [LayerSpec], _ start: [Int]) -> [Int]? {
            var shape = start
            if layers.isEmpty { buffered(CheckedSize.product(shape), CheckedSize.product(shape)) }   // IdentityNode
            for layer in layers {
                let inSize = CheckedSize.product(shape)
                switch layer {
                case .conv(let c):
                    guard shape.count == 3, c.stride > 0, c.groups > 0 else { return nil }
                    let g = ConvGeometry(spec: c, height: shape[1], width: shape[2])
                    guard g.outHeight > 0, g.outWidth > 0, let kernelSize = times(g.outChannels, g.inChannels / g.groups, g.kernel, g.kernel),
                          let outPlane = times(g.outHeight, g.outWidth), let colRows = times(g.inChannels, g.kernel, g.kernel)
                    else { return nil }
                    let outSize = times(g.outChannels, outPlane)
                    buffered(inSize, outSize)
                    let canImplicit = ImplicitConv.applies(c, g)
                    if c.isDynamic, let attention = c.attention {
                        let k = c.kernels
                        add(times(n, 2 * g.inChannels + 2 * attention.hidden + 3 * k),
                            c.bias ? times(n, 2 * g.outChannels) : 0,
                            times(2, kernelSize), k)
                        add(canImplicit ? CheckedSize.sum(times(2, k, kernelSize), implicitFloats(g)) : times(colRows, outPlane))
                    } else if canImplicit && outPlane >= ConvNode.implicitMinimumPlane {
                        add(times(2, kernelSize), implicitFloats(g))
                    } else {
                        let chunk = max(1, min(n, ConvNode.targetColumns / max(outPlane, 1)))
                        add(times(colRows, chunk, outPlane), chunk > 1 ? times(g.outChannels, chunk, outPlane) : 0)
                    }
                    shape = [c.outChannels, g.outHeight, g.outWidth]
                case .batchNorm(let b):
                    // Buffers, channel means, per-channel statistics and the shared Double slots.
                    buffered(inSize, inSize)
                    add(times(n, b.channels), times(6, b.channels), times(8, workers, b.channels))
                case .activation:
                    buffered(inSize, inSize)
                case .maxPool(let p), .avgPool(let p):
                    guard shape.count == 3, p.stride > 0 else { return nil }
                    let out = [shape[0], (shape[1] + 2 * p.padding - p.kernel) / p.stride + 1,
                               (shape[2] + 2 * p.padding - p.kernel) / p.stride + 1]
                    buffered(inSize, CheckedSize.product(out))
                    if case .maxPool = layer { add(CheckedSize.product(n, CheckedSize.product(out))) }
                    shape = out
                case .globalAvgPool:
                    guard shape.count == 3 else { return nil }
                    shape = [shape[0]]
                    buffered(inSize, shape[0])
                case .linear(let l):
                    buffered(inSize, l.outFeatures)
                    shape = [l.outFeatures]
                case .residual(let body, let shortcut):
                    guard let out = walk(body, shape) else { return nil }
                    if !shortcut.isEmpty { guard walk(shortcut, shape) != nil else { return nil } }
                    buffered(inSize, CheckedSize.product(out))
                    shape = out
                }
            }
            return shape
        }
        let input = [description.input.channels, description.input.height, description.input.width]
        guard let output = walk(description.layers, input) else { return nil }
        add(CheckedSize.product(n, CheckedSize.product(output)))   // gradLogits
        return total
    }
}

extension Trainer {
    /// An upper estimate of the bytes a trainer of `description` allocates: parameters, BatchNorm
    /// statistics and momentum (and a copy of the weights as tensors), one gradient buffer and one graph (`TrainingGraph.estimatedFloats`)
    /// per worker thread, the workers' input batches, and the epoch plan of `trainImages` images.
    /// `nil` when a size overflows.
    public static func estimatedBytes(description: ModelDescription, batchSize: Int, threads: Int,
                                      trainImages: Int = 0) -> Int? {
        guard batchSize >= 1, threads >= 1 else { return nil }
        let layout = ParameterLayout(description)
        let workerBatch = batchSize / threads + (batchSize % threads == 0 ? 0 : 1)   // no overflow
        let inputSize = CheckedSize.product([description.input.channels, description.input.height, description.input.width])
        let perWorker = CheckedSize.sum(
            CheckedSize.sum(layout.parameterCount,
                            TrainingGraph.estimatedFloats(description: description, maxBatch: workerBatch, workers: threads)),
            CheckedSize.product(workerBatch, CheckedSize.sum(inputSize, 1)))   // input batch and labels
        // Parameters and momentum, BatchNorm statistics, and the initial weights as tensors (live
        // while they are loaded, and again while a checkpoint is made).
        let floats = CheckedSize.sum(
            CheckedSize.product(2, CheckedSize.sum(CheckedSize.product(2, layout.parameterCount), layout.bufferCount)),
            CheckedSize.product(perWorker, threads))
        // Epoch plan: an index and a placement per image.
        return CheckedSize.sum(CheckedSize.product(floats, MemoryLayout<Float>.size),
                               CheckedSize.product(trainImages, MemoryLayout<Int>.stride + MemoryLayout<ImagePlacement>.stride))
    }

    /// Refuses, before anything is allocated, a model and batch whose `estimatedBytes` exceed
    /// `Limits.memoryBudget`: "training dycnn 4096/4096/4096 K=64 at batch 128 needs about
    /// 116.0 GB; the limit is 12.0 GB".
    static func checkMemory(config: TrainingConfig, description: ModelDescription, threads: Int,
                            trainImages: Int) throws {
        do {
            try Limits.checkMemory(estimatedBytes(description: description, batchSize: config.batchSize,
                                                  threads: threads, trainImages: trainImages),
                                   for: memoryLabel(config: config, description: description))
        } catch {
            throw TrainingError(error.message)
        }
    }

    /// What `Limits.checkMemory` names: "training dycnn 4096/4096/4096 K=64 at batch 128",
    /// "training dyresnet 8/16/32 ×3 blocks K=4 at batch 128".
    static func memoryLabel(config: TrainingConfig, description: ModelDescription) -> String {
        let widths = config.widths.map(String.init).joined(separator: "/")
        let model = TrainingConfig.dycnnFamilies.contains(config.model)
            ? "\(config.model) \(widths) K=\(config.kernels)"
            : TrainingConfig.dyresnetFamilies.contains(config.model)
            ? "\(config.model) \(widths) ×\(config.blocks) blocks K=\(config.kernels)"
            : description.family
        return "training \(model) at batch \(config.batchSize)"
    }
}
