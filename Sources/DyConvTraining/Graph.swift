import DyConvEngine

// The training graph's frame: the state its per-worker copies share, the per-pass context, the
// parameter storage, the `Node` base class (forward and backward), and the sequence and residual
// nodes. Each layer's node has a file named for it (`ConvNode`, `DynamicConvNode`,
// `BatchNormNode`, `PoolingNodes`, `LinearNode`, `ActivationNode`); their forward passes call the
// engine's kernels, their backward passes are the trainer's own.

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
