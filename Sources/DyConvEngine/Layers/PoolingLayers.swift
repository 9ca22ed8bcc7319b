/// Pooling layers over a batch `[N, C, H, W]`.
extension CompiledLayer {
    /// Max or average pooling, the samples split over the cores when `parallel`.
    static func pool(_ x: Tensor, _ pool: PoolSpec, max isMax: Bool, parallel: Bool) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = pool.outputSize(h), wo = pool.outputSize(w)
        var y = Tensor.uninitialized([n, c, ho, wo])
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                nonisolated(unsafe) let xb = xp.baseAddress!, yb = yp.baseAddress!
                Parallel.forEachChunk(n, maxChunks: parallel ? Parallel.threads : 1) { _, r in
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
    }

    /// Global average pooling `[N, C, …] → [N, C]`.
    static func globalAvgPool(_ x: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], plane = x.count / (n * c)
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
    }
}
