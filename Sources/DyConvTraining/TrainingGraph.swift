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
            let row = logits + s * classes
            var m = -Float.infinity
            var best = 0
            for j in 0..<classes where row[j] > m { m = row[j]; best = j }
            var total: Double = 0
            for j in 0..<classes { total += Double(expf(row[j] - m)) }
            let label = Int(labels[s])
            loss += Double(m) + log(total) - Double(row[label])
            if best == label { correct += 1 }
            if let grad {
                let g = grad + s * classes
                let inv = 1 / total
                for j in 0..<classes {
                    let p = Float(Double(expf(row[j] - m)) * inv)
                    g[j] = (p - (j == label ? 1 : 0)) * scale
                }
            }
        }
        return (loss, correct)
    }
}
