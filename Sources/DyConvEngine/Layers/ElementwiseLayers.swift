/// Layers that work value by value: activations and the sum that closes a residual block.
extension CompiledLayer {
    /// `kind` applied to every value of `x`.
    static func activation(_ x: Tensor, _ kind: ActivationKind) -> Tensor {
        var y = x
        y.data.withUnsafeMutableBufferPointer { Activation.apply(kind, $0.baseAddress!, count: $0.count) }
        return y
    }

    /// `a + b` (a residual block's body and shortcut, same shape).
    static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        var y = a
        y.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                for i in 0..<ap.count { ap[i] += bp[i] }
            }
        }
        return y
    }
}
