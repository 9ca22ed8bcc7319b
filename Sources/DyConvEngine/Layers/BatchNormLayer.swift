/// BatchNorm at inference: a per-channel affine map from the running statistics.
extension CompiledLayer {
    /// The inference BatchNorm `b` as per-channel `scale`, `shift` (`batchNormInference`).
    static func batchNormAffine(_ b: BatchNormSpec, _ p: [String: Tensor]) -> (scale: [Float], shift: [Float]) {
        let gamma = p["\(b.name).weight"]!.data, beta = p["\(b.name).bias"]!.data
        let mean = p["\(b.name).running_mean"]!.data, variance = p["\(b.name).running_var"]!.data
        var scale = [Float](repeating: 0, count: b.channels), shift = scale
        for c in 0..<b.channels {
            (scale[c], shift[c]) = batchNormInference(gamma: gamma[c], beta: beta[c], mean: mean[c],
                                                      variance: variance[c], eps: b.eps)
        }
        return (scale, shift)
    }

    /// `y[n, c] = x[n, c]·scale[c] + shift[c]` over a batch `[N, C, …]` (a BatchNorm that could
    /// not be folded into a convolution).
    static func affine(_ x: Tensor, scale: [Float], shift: [Float]) -> Tensor {
        var y = x
        let n = x.shape[0], c = x.shape[1], plane = x.count / (n * c)
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
    }
}
