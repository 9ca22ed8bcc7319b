/// One executable layer of a compiled `Model`, and the compilation of a layer list.
///
/// Each case's forward pass lives in a file named for it: `DynamicConv2d.swift` (every
/// convolution, static ones included), `BatchNormLayer.swift`, `ElementwiseLayers.swift`
/// (activations, residual sums), `PoolingLayers.swift` and `LinearLayer.swift`.
enum CompiledLayer: Sendable {
    case conv(DynamicConv2d)
    case affine(scale: [Float], shift: [Float])
    case activation(ActivationKind)
    case maxPool(PoolSpec)
    case avgPool(PoolSpec)
    case globalAvgPool
    case linear(LinearSpec, weight: [Float], bias: [Float]?)
    indirect case residual(body: [CompiledLayer], shortcut: [CompiledLayer])

    func forward(_ x: Tensor, _ ctx: inout Model.ForwardContext) -> Tensor {
        switch self {
        case .conv(let layer): return layer.forward(x, &ctx)
        case .affine(let scale, let shift): return Self.affine(x, scale: scale, shift: shift)
        case .activation(let kind): return Self.activation(x, kind)
        case .maxPool(let pool): return Self.pool(x, pool, max: true, parallel: ctx.parallel)
        case .avgPool(let pool): return Self.pool(x, pool, max: false, parallel: ctx.parallel)
        case .globalAvgPool: return Self.globalAvgPool(x)
        case .linear(let spec, let weight, let bias): return Self.linear(x, spec, weight: weight, bias: bias)
        case .residual(let body, let shortcut):
            let a = Model.run(body, x, &ctx)   // body first: its dynamic layers come first in the trace
            return Self.sum(a, Model.run(shortcut, x, &ctx))
        }
    }

    /// Compiles a layer list. BatchNorms that directly follow a convolution are folded into it
    /// (exactly, for every routing), and an activation that follows is fused into the same pass.
    static func compile(_ specs: [LayerSpec], _ p: [String: Tensor]) -> [CompiledLayer] {
        var out: [CompiledLayer] = []
        var i = 0
        while i < specs.count {
            switch specs[i] {
            case .conv(let c):
                var layer: DynamicConv2d
                if c.isDynamic {
                    layer = DynamicConv2d(spec: c, weight: p["\(c.name).weight"]!.data, bias: p["\(c.name).bias"]?.data,
                                          fc1Weight: p["\(c.name).attention.fc1.weight"]!.data,
                                          fc1Bias: p["\(c.name).attention.fc1.bias"]?.data,
                                          fc2Weight: p["\(c.name).attention.fc2.weight"]!.data,
                                          fc2Bias: p["\(c.name).attention.fc2.bias"]!.data)
                } else {
                    layer = DynamicConv2d(spec: c, weight: p["\(c.name).weight"]!.data, bias: p["\(c.name).bias"]?.data)
                }
                if i + 1 < specs.count, case .batchNorm(let b) = specs[i + 1], b.channels == c.outChannels {
                    let (scale, shift) = batchNormAffine(b, p)
                    layer.foldBatchNorm(scale: scale, shift: shift)
                    i += 1
                }
                if i + 1 < specs.count, case .activation(let kind) = specs[i + 1] {
                    layer.activation = kind
                    i += 1
                }
                layer.prepareImplicitGemm()
                out.append(.conv(layer))
            case .batchNorm(let b):
                let (scale, shift) = batchNormAffine(b, p)
                out.append(.affine(scale: scale, shift: shift))
            case .activation(let kind):
                out.append(.activation(kind))
            case .maxPool(let s):
                out.append(.maxPool(s))
            case .avgPool(let s):
                out.append(.avgPool(s))
            case .globalAvgPool:
                out.append(.globalAvgPool)
            case .linear(let l):
                out.append(.linear(l, weight: p["\(l.name).weight"]!.data, bias: p["\(l.name).bias"]?.data))
            case .residual(let body, let shortcut):
                out.append(.residual(body: compile(body, p), shortcut: compile(shortcut, p)))
            }
            i += 1
        }
        return out
    }
}
