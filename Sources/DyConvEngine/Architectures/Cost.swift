/// Counting the multiply-adds of one forward pass.
extension ModelDescription {
    /// Multiply-adds of one image: convolutions (plus, for dynamic layers, the attention branch and
    /// the aggregation Σ π_k W_k), linear layers. Pooling and elementwise work is not counted.
    /// Saturates at `Int.max` (a validated model's layers are bounded, their sum need not be).
    public func multiplyAdds() -> Int {
        var total = 0
        func add(_ n: Int) { total = CheckedSize.sum(total, n) ?? Int.max }
        func visit(_ layers: [LayerSpec], _ start: [Int]) -> [Int] {
            var shape = start
            for layer in layers {
                switch layer {
                case .conv(let c):
                    let g = ConvGeometry(inChannels: c.inChannels, outChannels: c.outChannels, height: shape[1],
                                         width: shape[2], kernel: c.kernel, stride: c.stride, padding: c.padding,
                                         groups: c.groups)
                    add(g.multiplyAdds)
                    if c.isDynamic, let a = c.attention {
                        add(c.inChannels * a.hidden + a.hidden * c.kernels)   // attention FCs
                        add(c.kernels * g.weightCount)                        // Σ π_k W_k
                    }
                    shape = [c.outChannels, g.outHeight, g.outWidth]
                case .linear(let l):
                    add(l.inFeatures * l.outFeatures)
                    shape = [l.outFeatures]
                case .residual(let body, let shortcut):
                    let out = visit(body, shape)
                    _ = visit(shortcut, shape)
                    shape = out
                default:
                    shape = (try? ModelDescription.walk([layer], shape)) ?? shape
                }
            }
            return shape
        }
        _ = visit(layers, [input.channels, input.height, input.width])
        return total
    }
}
