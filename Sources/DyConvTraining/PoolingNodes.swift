import DyConvEngine

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
