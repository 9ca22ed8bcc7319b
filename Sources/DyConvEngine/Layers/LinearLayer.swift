/// The fully connected layer over a batch of flattened samples.
extension CompiledLayer {
    /// `y[N, out] = x[N, in] · Wᵀ + b`.
    static func linear(_ x: Tensor, _ spec: LinearSpec, weight: [Float], bias: [Float]?) -> Tensor {
        let n = x.shape[0]
        var y = Tensor.zeros([n, spec.outFeatures])
        x.data.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                bias.withOptionalPointer { bp in
                    y.data.withUnsafeMutableBufferPointer { yp in
                        linearForward(xp.baseAddress!, batch: n, inFeatures: spec.inFeatures,
                                      outFeatures: spec.outFeatures, weight: wp.baseAddress!, bias: bp,
                                      y: yp.baseAddress!)
                    }
                }
            }
        }
        return y
    }
}
