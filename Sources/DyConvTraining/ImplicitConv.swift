import DyConvEngine

/// The engine's implicit-GEMM convolution (`ImplicitGemmPlan`: phase planes, one GEMM per tap)
/// with the trainer's per-node buffers and its backward pass.
///
/// Backward uses the same strided views as the forward pass; the upstream gradient is laid out
/// on the grid with zero garbage columns, so they contribute nothing to the weight gradient or
/// to the phase gradients.
struct ImplicitConv {
    let plan: ImplicitGemmPlan
    /// Zero-bordered input phases `[usedPhases][C][phaseH × phaseW]` (+ slack for garbage reads).
    let paddedInput: FloatBuffer
    /// Output on the grid `[out, outH × phaseW]`.
    let gridOutput: FloatBuffer
    /// Upstream gradient on the grid, garbage columns kept at zero.
    let gridGradient: FloatBuffer
    /// Input-gradient phases, laid out like `paddedInput`.
    let paddedGradient: FloatBuffer

    var channels: Int { plan.geometry.inChannels }
    var outChannels: Int { plan.geometry.outChannels }

    /// Whether a convolution can run this way (and profits: with very few input channels each
    /// tap's GEMM is too thin, and im2col with reduction C·k·k is faster).
    static func applies(_ spec: ConvSpec, _ g: ConvGeometry) -> Bool {
        spec.groups == 1 && spec.inChannels >= 4
    }

    init(_ g: ConvGeometry) {
        plan = ImplicitGemmPlan(g)
        paddedInput = FloatBuffer(count: plan.phaseCount)
        gridOutput = FloatBuffer(count: plan.gridCount)
        gridGradient = FloatBuffer(count: plan.gridCount)
        paddedGradient = FloatBuffer(count: plan.phaseCount)
    }

    /// Rearranges `count` kernels `[out][C][tap]` into tap-major `[tap][out][C]`.
    func toTapMajor(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        plan.toTapMajor(src, dst, count: count)
    }

    /// Adds `count` tap-major kernels into the `[out][C][tap]` layout (the adjoint of `toTapMajor`).
    func addFromTapMajor(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        plan.addFromTapMajor(src, into: dst, count: count)
    }

    /// Copies sample `x` (`[C, H, W]`) into the phases (borders stay zero).
    func loadInput(_ x: UnsafePointer<Float>) {
        plan.loadInput(x, into: paddedInput.pointer)
    }

    /// `y = conv(x, w)` for one sample (after `loadInput`), written compactly into `y` (`[out, outH, outW]`).
    func forward(weights w: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        plan.convolve(weights: w, phases: paddedInput.pointer, grid: gridOutput.pointer)
        plan.writeOutput(gridOutput.pointer, bias: nil, activation: nil, into: y)
    }

    /// Copies the upstream gradient `dy` (`[out, outH, outW]`) onto the grid.
    func loadGradient(_ dy: UnsafePointer<Float>) {
        let g = gridGradient.pointer, (outH, outW) = (plan.geometry.outHeight, plan.geometry.outWidth)
        for o in 0..<outChannels {
            for r in 0..<outH {
                Vec.copy(dy + (o * outH + r) * outW, g + o * plan.gridSize + r * plan.phaseW, count: outW)
            }
        }
    }

    /// dW_tap = dy_grid · phase(tap view)ᵀ for one sample (after `loadInput` and `loadGradient`),
    /// written (or with `accumulate`, added) tap-major into `dw`.
    func weightGradient(into dw: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let g = gridGradient.pointer, xp = paddedInput.pointer
        for t in 0..<plan.taps {
            sgemm(transB: true, m: outChannels, n: channels, k: plan.gridSize, a: g, lda: plan.gridSize,
                  b: xp + plan.tapOffsets[t], ldb: plan.phasePlane, beta: accumulate ? 1 : 0,
                  c: dw + t * outChannels * channels, ldc: channels)
        }
    }

    /// dx = Σ_tap w_tapᵀ · dy_grid placed at the tap's offset in the phase gradients, then
    /// gathered back into `dx` (`[C, H, W]`, overwritten) (after `loadGradient`).
    func inputGradient(weights w: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let g = gridGradient.pointer, dp = paddedGradient.pointer
        let geometry = plan.geometry, s = geometry.stride
        let (height, width, padding) = (geometry.height, geometry.width, geometry.padding)
        Vec.zero(dp, count: paddedGradient.count)
        for t in 0..<plan.taps {
            sgemm(transA: true, m: channels, n: plan.gridSize, k: outChannels, a: w + t * outChannels * channels,
                  lda: channels, b: g, ldb: plan.gridSize, beta: 1, c: dp + plan.tapOffsets[t], ldc: plan.phasePlane)
        }
        if plan.usedPhases.count < s * s { Vec.zero(dx, count: channels * height * width) }
        for (slot, phase) in plan.usedPhases.enumerated() {
            let a = phase / s, b = phase % s
            let rows = plan.inside(phase: a, size: height, extent: plan.phaseH)
            let cols = plan.inside(phase: b, size: width, extent: plan.phaseW)
            for c in 0..<channels {
                let plane = dp + (slot * channels + c) * plan.phasePlane
                let target = dx + c * height * width
                for i in rows {
                    let dst = target + (s * i + a - padding) * width + (b - padding)
                    let src = plane + i * plan.phaseW
                    if s == 1 {
                        Vec.copy(src + cols.lowerBound, dst + cols.lowerBound, count: cols.count)
                    } else {
                        for j in cols { dst[s * j] = src[j] }
                    }
                }
            }
        }
    }
}
