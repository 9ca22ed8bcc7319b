/// The attention branch of a dynamic convolution, from the pooled input to the routing π:
///
///     h = ReLU(g · fc1ᵀ + b1)    [N, hidden]
///     z = h · fc2ᵀ + b2          [N, K]
///     π = route(z / τ)            [N, K]
///
/// One implementation for the engine (`DynamicConv2d.attention`) and the trainer's dynamic
/// convolution node, which keeps `h`, `z` and `π` in its own buffers for the backward pass.
/// `pooled` is the global average pooling of the input, `[N, channels]`.
package func attentionBranch(pooled g: UnsafePointer<Float>, batch n: Int, channels c: Int, hidden: Int,
                             kernels k: Int, fc1: UnsafePointer<Float>, fc1Bias: UnsafePointer<Float>?,
                             fc2: UnsafePointer<Float>, fc2Bias: UnsafePointer<Float>,
                             routing: Routing, temperature: Float,
                             hiddenActivations h: UnsafeMutablePointer<Float>,
                             logits z: UnsafeMutablePointer<Float>, attention pi: UnsafeMutablePointer<Float>) {
    linearForward(g, batch: n, inFeatures: c, outFeatures: hidden, weight: fc1, bias: fc1Bias, y: h)
    Activation.relu(h, count: n * hidden)
    linearForward(UnsafePointer(h), batch: n, inFeatures: hidden, outFeatures: k, weight: fc2, bias: fc2Bias, y: z)
    route(UnsafePointer(z), into: pi, rows: n, kernels: k, routing: routing, temperature: temperature)
}

/// The routing function row by row: π = softmax(z/τ) (dynamic convolution) or sigmoid(z/τ)
/// (CondConv); a static layer's π is z. `z` and `pi` are `[rows, kernels]` and may be the same buffer.
package func route(_ z: UnsafePointer<Float>, into pi: UnsafeMutablePointer<Float>, rows: Int, kernels k: Int,
                   routing: Routing, temperature: Float) {
    if UnsafePointer(pi) != z { pi.update(from: z, count: rows * k) }
    switch routing {
    case .softmax: softmaxRows(pi, rows: rows, cols: k, temperature: temperature)
    case .sigmoid: sigmoid(pi, count: rows * k, temperature: temperature)
    case .static: break
    }
}
