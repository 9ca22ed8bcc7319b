extension PoolSpec {
    /// Outputs along an axis of `size` inputs.
    @inline(__always)
    package func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }

    /// The inputs that output `o` reads along an axis of `size` (the padding left out): the
    /// windows of the pooling layers' forward passes and of the trainer's backward passes.
    @inline(__always)
    package func window(_ o: Int, size: Int) -> Range<Int> {
        let start = o * stride - padding
        return max(start, 0)..<min(start + kernel, size)
    }
}

/// Max pooling `[C, H, W] → [C, Ho, Wo]` (PyTorch `MaxPool2d`; padding is −∞): one sample, or
/// N samples passed as N·C channels. NaN inputs never win.
///
/// With `argmax` it also records, per output, the index `ih·W + iw` of the winning input in its
/// plane (the first on ties, the window's first position when nothing beats −∞): the trainer
/// routes the gradient through it.
public func maxPoolSample(_ x: UnsafePointer<Float>, channels: Int, height h: Int, width w: Int,
                          pool: PoolSpec, y: UnsafeMutablePointer<Float>,
                          argmax: UnsafeMutablePointer<Int32>? = nil) {
    let ho = pool.outputSize(h), wo = pool.outputSize(w)
    for c in 0..<channels {
        let plane = x + c * h * w
        var o = c * ho * wo
        for oh in 0..<ho {
            let rows = pool.window(oh, size: h)
            for ow in 0..<wo {
                let cols = pool.window(ow, size: w)
                var m = -Float.infinity
                var best = rows.lowerBound * w + cols.lowerBound
                for ih in rows {
                    for iw in cols where plane[ih * w + iw] > m {
                        m = plane[ih * w + iw]
                        best = ih * w + iw
                    }
                }
                y[o] = m
                argmax?[o] = Int32(best)
                o += 1
            }
        }
    }
}

/// Average pooling (PyTorch `AvgPool2d`, `count_include_pad=True`): one sample `[C, H, W]`, or N
/// samples passed as N·C channels.
public func avgPoolSample(_ x: UnsafePointer<Float>, channels: Int, height h: Int, width w: Int,
                          pool: PoolSpec, y: UnsafeMutablePointer<Float>) {
    let ho = pool.outputSize(h), wo = pool.outputSize(w)
    let inv = 1 / Float(pool.kernel * pool.kernel)
    var o = 0
    for c in 0..<channels {
        let plane = x + c * h * w
        for oh in 0..<ho {
            let rows = pool.window(oh, size: h)
            for ow in 0..<wo {
                var acc: Float = 0
                for ih in rows { for iw in pool.window(ow, size: w) { acc += plane[ih * w + iw] } }
                y[o] = acc * inv
                o += 1
            }
        }
    }
}

/// Global average pooling: `[C, P] → [C]` (one sample, or N samples as N·C channels).
public func globalAvgPoolSample(_ x: UnsafePointer<Float>, channels: Int, plane: Int,
                                y: UnsafeMutablePointer<Float>) {
    let inv = 1 / Float(plane)
    for c in 0..<channels { y[c] = sum(x + c * plane, count: plane) * inv }
}

/// The sum of `count` floats, with 16 independent lanes so the loop vectorizes.
@inline(__always)
public func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD16<Float>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= count {
        lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    var total = lanes.sum()
    while i < count { total += x[i]; i += 1 }
    return total
}

/// Fully connected layer over a batch: y[N, out] = x[N, in] · Wᵀ + b (the engine's linear
/// layers and attention branches, and the trainer's linear nodes).
public func linearForward(_ x: UnsafePointer<Float>, batch: Int, inFeatures: Int, outFeatures: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          y: UnsafeMutablePointer<Float>) {
    sgemm(transB: true, m: batch, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
          b: weight, ldb: inFeatures, c: y, ldc: outFeatures)
    if let bias {
        for n in 0..<batch { for j in 0..<outFeatures { y[n * outFeatures + j] += bias[j] } }
    }
}
