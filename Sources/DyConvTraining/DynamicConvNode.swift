import DyConvEngine

/// A dynamic convolution (Chen et al.) or CondConv: K kernels mixed per sample by an attention
/// branch `π = route(fc2(ReLU(fc1(GAP(x)))) / τ)`, `W̃ₙ = Σₖ πₙₖ Wₖ`, `yₙ = W̃ₙ ∗ xₙ + b̃ₙ`.
///
/// Backward: `dL/dWₖ = Σₙ πₙₖ dL/dW̃ₙ`, `dL/dπₙₖ = ⟨dL/dW̃ₙ, Wₖ⟩ + ⟨dL/db̃ₙ, bₖ⟩`, then through
/// the routing function, fc2, ReLU, fc1 and GAP back to the input, which therefore receives
/// gradient from both the convolution and the attention path.
///
/// Each sample's W̃ₙ is mixed right before it is used (and again in backward), and each dL/dW̃ₙ
/// is folded into dL/dπₙ and dL/dW in one pass while it is in cache, so no `[N × kernel]`
/// buffers stream through memory.
final class DynamicConvNode: BufferedNode {
    let spec: ConvSpec
    let geometry: ConvGeometry
    let kernels: Int
    let hidden: Int
    let routing: Routing
    // Parameters and gradients.
    let weight: UnsafeMutablePointer<Float>          // [K, P]
    let bias: UnsafeMutablePointer<Float>?           // [K, out]
    let fc1: UnsafeMutablePointer<Float>             // [hidden, in]
    let fc1Bias: UnsafeMutablePointer<Float>?        // [hidden]
    let fc2: UnsafeMutablePointer<Float>             // [K, hidden]
    let fc2Bias: UnsafeMutablePointer<Float>         // [K]
    let gradWeight: UnsafeMutablePointer<Float>
    let gradBias: UnsafeMutablePointer<Float>?
    let gradFc1: UnsafeMutablePointer<Float>
    let gradFc1Bias: UnsafeMutablePointer<Float>?
    let gradFc2: UnsafeMutablePointer<Float>
    let gradFc2Bias: UnsafeMutablePointer<Float>
    // Per-batch workspaces.
    private let pooled: FloatBuffer      // [N, in]
    private let hiddenAct: FloatBuffer   // [N, hidden] (after ReLU)
    /// Attention logits z of the last forward, `[N, K]`.
    let logits: FloatBuffer
    /// Attention π of the last forward, `[N, K]`.
    let attention: FloatBuffer
    private let mixedBias: FloatBuffer   // b̃ [N, out]
    private let gradMixedBias: FloatBuffer // dL/db̃ [N, out]
    private let gradPi: FloatBuffer      // [N, K]
    private let gradHidden: FloatBuffer  // [N, hidden]
    private let gradPooled: FloatBuffer  // [N, in]
    // Per-sample workspaces.
    private let mixed: FloatBuffer       // W̃ₙ [P]
    private let gradMixed: FloatBuffer   // dL/dW̃ₙ [P]
    private let dots: UnsafeMutablePointer<Double>
    private let col: FloatBuffer         // [in·k·k, H'W'] (im2col path)
    /// The implicit-GEMM path (ungrouped, ≥ 4 input channels), with kernels kept tap-major.
    private let implicit: ImplicitConv?
    private let tapWeights: FloatBuffer  // [K, P] tap-major copy of the kernels
    private let tapGradient: FloatBuffer // [K, P] tap-major dL/dW
    /// Whether this layer runs the implicit-GEMM path (otherwise im2col + GEMM).
    var usesImplicitGEMM: Bool { implicit != nil }
    /// The BatchNorm right after this convolution, which takes its batch statistics from here.
    var statisticsConsumer: BatchNormNode?
    /// The BatchNorm right before this convolution, whose recorded plane means are this
    /// layer's global average pooling.
    var meansProducer: BatchNormNode?

    init(spec: ConvSpec, inShape: [Int], maxBatch: Int, layout: ParameterLayout, storage: StoragePointers) {
        self.spec = spec
        let g = ConvGeometry(spec: spec, height: inShape[1], width: inShape[2])
        geometry = g
        kernels = spec.kernels
        hidden = spec.attention!.hidden
        routing = spec.routing
        let p = spec.name
        func param(_ suffix: String) -> (value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>)? {
            storage.parameter("\(p).\(suffix)", layout)
        }
        (weight, gradWeight) = param("weight")!
        let b = spec.bias ? param("bias") : nil
        (bias, gradBias) = (b?.value, b?.gradient)
        (fc1, gradFc1) = param("attention.fc1.weight")!
        (fc2, gradFc2) = param("attention.fc2.weight")!
        (fc2Bias, gradFc2Bias) = param("attention.fc2.bias")!
        let f1b = param("attention.fc1.bias")
        (fc1Bias, gradFc1Bias) = (f1b?.value, f1b?.gradient)
        let n = maxBatch, k = spec.kernels
        pooled = FloatBuffer(count: n * g.inChannels)
        hiddenAct = FloatBuffer(count: n * hidden)
        logits = FloatBuffer(count: n * k)
        attention = FloatBuffer(count: n * k)
        mixedBias = FloatBuffer(count: spec.bias ? n * g.outChannels : 0)
        gradMixedBias = FloatBuffer(count: spec.bias ? n * g.outChannels : 0)
        gradPi = FloatBuffer(count: n * k)
        gradHidden = FloatBuffer(count: n * hidden)
        gradPooled = FloatBuffer(count: n * g.inChannels)
        mixed = FloatBuffer(count: g.weightCount)
        gradMixed = FloatBuffer(count: g.weightCount)
        dots = .allocate(capacity: k)
        dots.initialize(repeating: 0, count: k)
        let useImplicit = ImplicitConv.applies(spec, g)
        implicit = useImplicit ? ImplicitConv(g) : nil
        col = FloatBuffer(count: useImplicit ? 0 : g.groups * g.columnRows * g.outPixels)
        tapWeights = FloatBuffer(count: useImplicit ? k * g.weightCount : 0)
        tapGradient = FloatBuffer(count: useImplicit ? k * g.weightCount : 0)
        super.init(inShape: inShape, outShape: [spec.outChannels, g.outHeight, g.outWidth], maxBatch: maxBatch)
    }

    deinit {
        dots.deallocate()
    }

    /// The kernel bank in the layout the convolution path uses (tap-major on the implicit path).
    private var bank: UnsafePointer<Float> { UnsafePointer(implicit != nil ? tapWeights.pointer : weight) }

    /// `y = W̃ ∗ x` for one sample with its mixed kernel: the implicit GEMM, or the engine's
    /// per-sample convolution (im2col + GEMM, direct depthwise, pointwise without im2col).
    private func convolve(_ x: UnsafePointer<Float>, kernel w: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        if let implicit {
            implicit.loadInput(x)
            implicit.forward(weights: w, into: y)
            return
        }
        conv2dSample(geometry, x: x, w: w, bias: nil, y: y, scratch: col.pointer)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        let g = geometry, k = kernels, hid = hidden
        let plane = g.height * g.width
        let gp = pooled.pointer, h = hiddenAct.pointer, z = logits.pointer, pi = attention.pointer
        // Attention branch: the engine's, on this node's buffers (h, z and π are kept for backward).
        if let meansProducer {
            gp.update(from: meansProducer.channelMeans.pointer, count: n * g.inChannels)
        } else {
            globalAvgPoolSample(x, channels: n * g.inChannels, plane: plane, y: gp)
        }
        attentionBranch(pooled: gp, batch: n, channels: g.inChannels, hidden: hid, kernels: k,
                        fc1: fc1, fc1Bias: fc1Bias, fc2: fc2, fc2Bias: fc2Bias, routing: routing,
                        temperature: context.temperature, hiddenActivations: h, logits: z, attention: pi)
        // Per-sample biases b̃ = π · B.
        if let bias {
            sgemm(m: n, n: g.outChannels, k: k, a: pi, lda: k, b: bias, ldb: g.outChannels,
                  beta: 0, c: mixedBias.pointer, ldc: g.outChannels)
        }
        if let implicit { implicit.toTapMajor(weight, tapWeights.pointer, count: k) }
        // Convolution with each sample's own kernel, mixed just before use.
        let hw = g.outPixels
        let y = output
        let wt = mixed.pointer
        let statistics = context.training ? statisticsConsumer : nil
        statistics?.resetStatistics()
        for s in 0..<n {
            let ys = y + s * g.outputCount
            Vec.mix(pi + s * k, kernels: k, bank: bank, count: g.weightCount, into: wt)
            convolve(x + s * g.inputCount, kernel: wt, into: ys)
            if bias != nil {
                let bs = mixedBias.pointer + s * g.outChannels
                for co in 0..<g.outChannels {
                    Vec.addScalar(bs[co], into: ys + co * hw, count: hw)
                }
            }
            statistics?.accumulateStatistics(ys)
        }
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        let g = geometry, k = kernels, hid = hidden
        let hw = g.outPixels
        let pi = attention.pointer, dpi = gradPi.pointer
        let wt = mixed.pointer, dwt = gradMixed.pointer
        // dL/dW accumulates in the bank's layout: tap-major scratch on the implicit path.
        let gradBank: UnsafeMutablePointer<Float>
        if implicit != nil {
            tapGradient.zero()
            gradBank = tapGradient.pointer
        } else {
            gradBank = gradWeight
        }
        for s in 0..<n {
            let xs = x + s * g.inputCount
            let dys = dy + s * g.outputCount
            // dW̃ₙ = dyₙ ⋆ xₙ.
            if let implicit {
                implicit.loadInput(xs)
                implicit.loadGradient(dys)
                implicit.weightGradient(into: dwt)
            } else {
                let col = self.col.pointer
                g.im2col(xs, col, ld: hw)
                for gi in 0..<g.groups {
                    sgemm(transB: true, m: g.groupOut, n: g.columnRows, k: hw,
                          a: dys + gi * g.groupOut * hw, lda: hw,
                          b: col + gi * g.columnRows * hw, ldb: hw,
                          beta: 0, c: dwt + gi * g.groupOut * g.columnRows, ldc: g.columnRows)
                }
            }
            // dπₙₖ = ⟨dW̃ₙ, Wₖ⟩ and dWₖ += πₙₖ dW̃ₙ in one pass.
            Vec.scatterDot(dwt, weights: pi + s * k, kernels: k, bank: bank, gradBank: gradBank,
                           count: g.weightCount, dots: dots)
            for j in 0..<k { dpi[s * k + j] = Float(dots[j]) }
            if let bias {
                // db̃ₙ = Σ dyₙ; dπₙₖ += ⟨db̃ₙ, bₖ⟩.
                let dbs = gradMixedBias.pointer + s * g.outChannels
                for co in 0..<g.outChannels { dbs[co] = Float(Vec.sum(dys + co * hw, count: hw)) }
                for j in 0..<k {
                    var dot: Float = 0
                    for co in 0..<g.outChannels { dot += dbs[co] * bias[j * g.outChannels + co] }
                    dpi[s * k + j] += dot
                }
            }
            // The convolution path of dxₙ, with W̃ₙ mixed again.
            if needInputGrad {
                Vec.mix(pi + s * k, kernels: k, bank: bank, count: g.weightCount, into: wt)
                let dx = gradInput + s * g.inputCount
                if let implicit {
                    implicit.inputGradient(weights: wt, into: dx)
                } else {
                    let col = self.col.pointer
                    for gi in 0..<g.groups {
                        sgemm(transA: true, m: g.columnRows, n: hw, k: g.groupOut,
                              a: wt + gi * g.groupOut * g.columnRows, lda: g.columnRows,
                              b: dys + gi * g.groupOut * hw, ldb: hw,
                              beta: 0, c: col + gi * g.columnRows * hw, ldc: hw)
                    }
                    g.col2im(col, ld: hw, dx)
                }
            }
        }
        if let implicit { implicit.addFromTapMajor(tapGradient.pointer, into: gradWeight, count: k) }
        if let gradBias {
            sgemm(transA: true, m: k, n: g.outChannels, k: n, a: pi, lda: k, b: gradMixedBias.pointer,
                  ldb: g.outChannels, beta: 1, c: gradBias, ldc: g.outChannels)
        }
        // Through the routing function: dz = dπ · ∂π/∂z (in place in dpi).
        let invT = 1 / context.temperature
        for s in 0..<n {
            let pr = pi + s * k, dr = dpi + s * k
            switch routing {
            case .sigmoid:
                for j in 0..<k { dr[j] = dr[j] * pr[j] * (1 - pr[j]) * invT }
            case .softmax, .static:
                var dot: Float = 0
                for j in 0..<k { dot += pr[j] * dr[j] }
                for j in 0..<k { dr[j] = pr[j] * (dr[j] - dot) * invT }
            }
        }
        let dz = dpi
        // fc2.
        let h = hiddenAct.pointer, dh = gradHidden.pointer
        sgemm(transA: true, m: k, n: hid, k: n, a: dz, lda: k, b: h, ldb: hid,
              beta: 1, c: gradFc2, ldc: hid)
        for s in 0..<n { for j in 0..<k { gradFc2Bias[j] += dz[s * k + j] } }
        sgemm(m: n, n: hid, k: k, a: dz, lda: k, b: fc2, ldb: hid, beta: 0, c: dh, ldc: hid)
        for i in 0..<(n * hid) where h[i] <= 0 { dh[i] = 0 }
        // fc1.
        let gp = pooled.pointer
        sgemm(transA: true, m: hid, n: g.inChannels, k: n, a: dh, lda: hid, b: gp, ldb: g.inChannels,
              beta: 1, c: gradFc1, ldc: g.inChannels)
        if let gradFc1Bias {
            for s in 0..<n { for j in 0..<hid { gradFc1Bias[j] += dh[s * hid + j] } }
        }
        guard needInputGrad else { return }
        // GAP: the attention path's share of dx.
        let dg = gradPooled.pointer
        sgemm(m: n, n: g.inChannels, k: hid, a: dh, lda: hid, b: fc1, ldb: g.inChannels,
              beta: 0, c: dg, ldc: g.inChannels)
        let plane = g.height * g.width
        let invPlane = 1 / Float(plane)
        let dx = gradInput
        for i in 0..<(n * g.inChannels) { Vec.addScalar(dg[i] * invPlane, into: dx + i * plane, count: plane) }
    }
}
