import DyConvEngine

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
