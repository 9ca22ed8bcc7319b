/// The shape arithmetic of one 2-D convolution (PyTorch `Conv2d` conventions, dilation 1): the
/// engine's layers and the trainer's nodes both size their buffers and loops from it.
public struct ConvGeometry: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let height: Int
    public let width: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let groups: Int

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int,
                kernel: Int, stride: Int, padding: Int, groups: Int) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.height = height; self.width = width
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.groups = groups
    }

    /// The geometry of layer `spec` on an input of `height × width`.
    public init(spec: ConvSpec, height: Int, width: Int) {
        self.init(inChannels: spec.inChannels, outChannels: spec.outChannels, height: height, width: width,
                  kernel: spec.kernel, stride: spec.stride, padding: spec.padding, groups: spec.groups)
    }

    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// Input channels per group.
    public var groupIn: Int { inChannels / groups }
    /// Output channels per group.
    public var groupOut: Int { outChannels / groups }
    /// Rows of the im2col matrix of one group: (in/g)·k·k.
    public var columnRows: Int { groupIn * kernel * kernel }
    /// Elements of one weight tensor `[out, in/g, k, k]`.
    public var weightCount: Int { outChannels * columnRows }
    /// Output pixels per channel.
    public var outPixels: Int { outHeight * outWidth }
    /// Floats of one input sample `[in, H, W]`.
    public var inputCount: Int { inChannels * height * width }
    /// Floats of one output sample `[out, H', W']`.
    public var outputCount: Int { outChannels * outPixels }
    /// Each output channel reads exactly one input channel (depthwise and channel-multiplier convs).
    public var isDepthwise: Bool { groupIn == 1 && groups > 1 }
    /// A 1×1 stride-1 unpadded conv needs no im2col.
    public var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    /// Scratch floats `conv2dSample` needs.
    public var scratchCount: Int { (isDepthwise || isPointwise) ? 0 : columnRows * outPixels }
    /// The output columns `ow` whose input column `ow·stride − padding + kernelColumn` lies inside
    /// the image; the columns outside it only see padding.
    @inline(__always)
    public func validOutputColumns(kernelColumn kj: Int) -> Range<Int> {
        let (lo, hi) = validRange(size: width, outSize: outWidth, stride: stride, padding: padding, offset: kj)
        return lo..<hi
    }

    /// Multiply-adds of one sample.
    public var multiplyAdds: Int { outChannels * outPixels * columnRows }
}

/// The valid output range `[lo, hi)` of one kernel offset along one axis.
///
/// Output position `o` reads input `o * stride - padding + offset`, which must lie in `[0, size)`.
@inline(__always)
package func validRange(size: Int, outSize: Int, stride: Int, padding: Int, offset: Int) -> (Int, Int) {
    // o * stride >= padding - offset  and  o * stride <= size - 1 + padding - offset
    let minNumerator = padding - offset
    var lo = minNumerator <= 0 ? 0 : (minNumerator + stride - 1) / stride
    let maxNumerator = size - 1 + padding - offset
    var hi = maxNumerator < 0 ? 0 : maxNumerator / stride + 1
    lo = min(max(lo, 0), outSize)
    hi = min(max(hi, lo), outSize)
    return (lo, hi)
}

/// Unfolds one image `[C, H, W]` into columns: row `(c·k + ky)·k + kx`, column `oy·outW + ox`.
///
/// Rows are `ld` floats apart, so several images can be unfolded side by side (the trainer's
/// batched GEMMs). For stride-1 "same" convolutions each row is one contiguous shifted copy, the
/// few columns that read padding zeroed column by column afterwards (no per-row calls).
package func im2col(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                   kernel: Int, stride: Int, padding: Int, outH: Int, outW: Int,
                   col: UnsafeMutablePointer<Float>, ld: Int) {
    let same = stride == 1 && outW == width && outH == height
    for ky in 0..<kernel {
        let (yLo, yHi) = validRange(size: height, outSize: outH, stride: stride, padding: padding, offset: ky)
        for kx in 0..<kernel {
            let (xLo, xHi) = validRange(size: width, outSize: outW, stride: stride, padding: padding, offset: kx)
            for c in 0..<channels {
                let row = col + ((c * kernel + ky) * kernel + kx) * ld
                let plane = x + c * height * width
                if yHi <= yLo || xHi <= xLo {
                    Vec.zero(row, count: outH * outW)
                    continue
                }
                if yLo > 0 { Vec.zero(row, count: yLo * outW) }
                if yHi < outH { Vec.zero(row + yHi * outW, count: (outH - yHi) * outW) }
                if same {
                    // dst[j] = plane[j + offset] on the valid block, then zero the invalid columns.
                    let offset = (ky - padding) * width + (kx - padding)
                    let first = yLo * outW + xLo, last = (yHi - 1) * outW + xHi
                    Vec.copy(plane + first + offset, row + first, count: last - first)
                    // Strided single stores: per-row loops would compile to 1-float memset calls.
                    for ox in 0..<outW where ox < xLo || ox >= xHi {
                        var j = yLo * outW + ox
                        while j < yHi * outW { row[j] = 0; j += outW }
                    }
                    continue
                }
                for oy in yLo..<yHi {
                    let dst = row + oy * outW
                    let src = plane + (oy * stride - padding + ky) * width + (kx - padding)
                    for ox in 0..<xLo { dst[ox] = 0 }
                    if stride == 1 {
                        Vec.copy(src + xLo, dst + xLo, count: xHi - xLo)
                    } else {
                        for ox in xLo..<xHi { dst[ox] = src[ox * stride] }
                    }
                    for ox in xHi..<outW { dst[ox] = 0 }
                }
            }
        }
    }
}


/// Convolves one sample with one weight tensor: y = act(conv(x, w) + bias).
///
/// - x: `[C_in, H, W]`; w: `[C_out, C_in/g, k, k]`; bias: `[C_out]` or nil; y: `[C_out, Ho, Wo]`;
///   scratch: at least `g.scratchCount` floats. `allowSplit` lets a large GEMM use all cores
///   (only when the caller is not already parallel).
public func conv2dSample(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>?, allowSplit: Bool = false,
                         activation: ActivationKind? = nil) {
    if g.isDepthwise {
        depthwiseConv2dSample(g, x: x, w: w, bias: bias, y: y, activation: activation)
        return
    }
    let np = g.outPixels
    let hw = g.height * g.width
    for gi in 0..<g.groups {
        let wg = w + gi * g.groupOut * g.columnRows
        let yg = y + gi * g.groupOut * np
        let cols: UnsafePointer<Float>
        if g.isPointwise {
            cols = x + gi * g.groupIn * hw
        } else {
            im2col(x + gi * g.groupIn * hw, channels: g.groupIn, height: g.height, width: g.width,
                   kernel: g.kernel, stride: g.stride, padding: g.padding, outH: g.outHeight, outW: g.outWidth,
                   col: scratch!, ld: np)
            cols = UnsafePointer(scratch!)
        }
        sgemmSplittingColumns(m: g.groupOut, n: np, k: g.columnRows, a: wg, lda: g.columnRows,
                              b: cols, ldb: np, c: yg, ldc: np, allowSplit: allowSplit)
    }
    // Bias and activation in one pass over the output.
    for o in 0..<g.outChannels {
        let b = bias?[o] ?? 0
        if b == 0 && activation == nil { continue }
        biasActivation(y + o * np, y + o * np, count: np, bias: b, activation: activation)
    }
}

/// Direct convolution where each output channel reads one input channel (depthwise), then
/// the activation, if any.
///
/// Output channel o reads input channel o / (C_out / g). Shapes as in `conv2dSample`.
/// 3×3 kernels with padding 1 and stride 1 or 2 run in `DepthwiseConv3x3`. Otherwise each output
/// row is accumulated as k·k scaled input rows ("row axpy"), so the inner loop is contiguous
/// (stride 1) and vectorizes; padding only narrows the column range.
public func depthwiseConv2dSample(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                  activation: ActivationKind? = nil) {
    if DepthwiseConv3x3.applies(g) {
        DepthwiseConv3x3.convolve(g, x: x, w: w, bias: bias, activation: activation, y: y)
        return
    }
    defer { if let activation { Activation.apply(activation, y, count: g.outChannels * g.outPixels) } }
    let (h, wd, k, s, p) = (g.height, g.width, g.kernel, g.stride, g.padding)
    let (ho, wo) = (g.outHeight, g.outWidth)
    let multiplier = g.groupOut
    // Valid output-column range per kernel column kj.
    let lo = (0..<k).map { g.validOutputColumns(kernelColumn: $0).lowerBound }
    let hi = (0..<k).map { g.validOutputColumns(kernelColumn: $0).upperBound }
    lo.withUnsafeBufferPointer { lo in hi.withUnsafeBufferPointer { hi in
        for o in 0..<g.outChannels {
            let plane = x + (o / multiplier) * h * wd
            let kw = w + o * k * k
            let out = y + o * ho * wo
            let b = bias?[o] ?? 0
            for oh in 0..<ho {
                let d = out + oh * wo
                d.update(repeating: b, count: wo)
                for ki in 0..<k {
                    let ih = oh * s - p + ki
                    if ih < 0 || ih >= h { continue }
                    let row = plane + ih * wd
                    for kj in 0..<k {
                        let wv = kw[ki * k + kj]
                        let (a, e) = (lo[kj], hi[kj])
                        if a >= e { continue }
                        if s == 1 {
                            let src = row + (kj - p)
                            for ow in a..<e { d[ow] += wv * src[ow] }
                        } else {
                            var iw = a * s - p + kj
                            for ow in a..<e { d[ow] += wv * row[iw]; iw += s }
                        }
                    }
                }
            }
        }
    } }
}
