/// The shape arithmetic of one 2-D convolution (PyTorch `Conv2d` conventions, dilation 1).
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
        let lo = min(outWidth, max(0, (padding - kj + stride - 1) / stride))
        let hi = min(outWidth, (width - 1 + padding - kj) / stride + 1)
        return lo..<max(lo, hi)
    }

    /// Multiply-adds of one sample.
    public var multiplyAdds: Int { outChannels * outPixels * columnRows }
}

/// Unrolls the input patches of channels `[c0, c0 + channels)` of one sample into columns.
///
/// - x: `[C, H, W]` one sample. cols: `[channels·k·k, Ho·Wo]`.
@inline(__always)
func im2col(_ g: ConvGeometry, x: UnsafePointer<Float>, firstChannel c0: Int, channels: Int,
            cols: UnsafeMutablePointer<Float>) {
    let (h, w, k, s, p) = (g.height, g.width, g.kernel, g.stride, g.padding)
    let (ho, wo) = (g.outHeight, g.outWidth)
    let hw = h * w
    if s == 1 && ho == h && wo == w {
        im2colSame(g, x: x, firstChannel: c0, channels: channels, cols: cols)
        return
    }
    var row = 0
    for c in 0..<channels {
        let plane = x + (c0 + c) * hw
        for ki in 0..<k {
            for kj in 0..<k {
                let dst = cols + row * ho * wo
                row += 1
                let valid = g.validOutputColumns(kernelColumn: kj)
                let (owLo, owHi) = (valid.lowerBound, valid.upperBound)
                // Rows are short (7…224 floats): plain loops beat memmove/memset calls here.
                for oh in 0..<ho {
                    let ih = oh * s - p + ki
                    let d = dst + oh * wo
                    if ih < 0 || ih >= h || owHi <= owLo {
                        for ow in 0..<wo { d[ow] = 0 }
                        continue
                    }
                    let src = plane + ih * w
                    for ow in 0..<owLo { d[ow] = 0 }
                    if s == 1 {
                        let shifted = src + (kj - p)
                        for ow in owLo..<owHi { d[ow] = shifted[ow] }
                    } else {
                        var iw = owLo * s - p + kj
                        for ow in owLo..<owHi { d[ow] = src[iw]; iw += s }
                    }
                    for ow in owHi..<wo { d[ow] = 0 }
                }
            }
        }
    }
}

/// `im2col` for stride-1 "same" convolutions (output as large as the input).
///
/// Row (c, ki, kj) is the plane shifted by (ki − p)·W + (kj − p): one contiguous copy of the
/// block between the first and last valid output positions, zero rows above and below it, and
/// single zero stores at the few columns whose input lies in the left or right padding (the
/// block copy put the neighbouring row's pixels there). No per-row calls.
@inline(__always)
func im2colSame(_ g: ConvGeometry, x: UnsafePointer<Float>, firstChannel c0: Int, channels: Int,
                cols: UnsafeMutablePointer<Float>) {
    let (h, w, k, p) = (g.height, g.width, g.kernel, g.padding)
    let hw = h * w
    var row = 0
    for c in 0..<channels {
        let plane = x + (c0 + c) * hw
        for ki in 0..<k {
            // Output rows oh whose input row oh + ki − p lies inside the image.
            let rLo = min(h, max(0, p - ki)), rHi = max(rLo, min(h, h + p - ki))
            for kj in 0..<k {
                let dst = cols + row * hw
                row += 1
                let valid = g.validOutputColumns(kernelColumn: kj)
                if rHi <= rLo || valid.isEmpty {
                    dst.update(repeating: 0, count: hw)
                    continue
                }
                if rLo > 0 { dst.update(repeating: 0, count: rLo * w) }
                if rHi < h { (dst + rHi * w).update(repeating: 0, count: (h - rHi) * w) }
                // dst[j] = plane[j + shift] for j in [rLo·w + cLo, (rHi − 1)·w + cHi): all inside the plane.
                let shift = (ki - p) * w + (kj - p)
                let first = rLo * w + valid.lowerBound, last = (rHi - 1) * w + valid.upperBound
                (dst + first).update(from: plane + shift + first, count: last - first)   // memcpy: long, worth a call
                // Columns that read padding: zero them in every valid row.
                for col in 0..<valid.lowerBound {
                    var j = rLo * w + col
                    while j < rHi * w { dst[j] = 0; j += w }
                }
                for col in valid.upperBound..<w {
                    var j = rLo * w + col
                    while j < rHi * w { dst[j] = 0; j += w }
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
        depthwiseConv2dSample(g, x: x, w: w, bias: bias, y: y)
        if let activation { Activation.apply(activation, y, count: g.outChannels * g.outPixels) }
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
            im2col(g, x: x, firstChannel: gi * g.groupIn, channels: g.groupIn, cols: scratch!)
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

/// Direct convolution where each output channel reads one input channel (depthwise).
///
/// Output channel o reads input channel o / (C_out / g). Shapes as in `conv2dSample`.
/// Each output row is accumulated as k·k scaled input rows ("row axpy"), so the inner loop
/// is contiguous (stride 1) and vectorizes; padding only narrows the column range.
public func depthwiseConv2dSample(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
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
