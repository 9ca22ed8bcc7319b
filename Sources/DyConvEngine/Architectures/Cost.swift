/// Walking the layers with their shapes, and what that walk counts: multiply-adds here, the
/// memory estimate in `Limits.swift`.
extension ModelDescription {
    /// Calls `body` for every layer that computes something, in execution order (a residual
    /// block's body, then its shortcut), with the per-sample shape the layer receives and the one
    /// it gives. For a validated description; a layer that does not fit keeps its input shape.
    public func forEachLayer(_ body: (_ layer: LayerSpec, _ input: [Int], _ output: [Int]) -> Void) {
        func visit(_ layers: [LayerSpec], _ start: [Int]) -> [Int] {
            var shape = start
            for layer in layers {
                if case .residual(let blockBody, let shortcut) = layer {
                    let out = visit(blockBody, shape)
                    _ = visit(shortcut, shape)
                    shape = out
                } else {
                    let out = (try? ModelDescription.walk([layer], shape)) ?? shape
                    body(layer, shape, out)
                    shape = out
                }
            }
            return shape
        }
        _ = visit(layers, [input.channels, input.height, input.width])
    }

    /// Multiply-adds of one image: convolutions (plus, for dynamic layers, the attention branch and
    /// the aggregation Σ π_k W_k), linear layers. Pooling and elementwise work is not counted.
    /// Saturates at `Int.max` (a validated model's layers are bounded, their sum need not be).
    public func multiplyAdds() -> Int {
        var total = 0
        func add(_ n: Int) { total = CheckedSize.sum(total, n) ?? Int.max }
        forEachLayer { layer, shape, _ in
            switch layer {
            case .conv(let c) where shape.count == 3:
                let g = ConvGeometry(spec: c, height: shape[1], width: shape[2])
                add(g.multiplyAdds)
                if c.isDynamic, let a = c.attention {
                    add(c.inChannels * a.hidden + a.hidden * c.kernels)   // attention FCs
                    add(c.kernels * g.weightCount)                        // Σ π_k W_k
                }
            case .linear(let l):
                add(l.inFeatures * l.outFeatures)
            default:
                break
            }
        }
        return total
    }
}
