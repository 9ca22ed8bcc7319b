import DyConvEngine

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
