import DyConvEngine

/// Low-level kernels of the training graph's backward passes (col2im, the adjoint of the
/// engine's im2col). The forward computations (GEMM, im2col, pooling,
/// activations, routing) are the engine's kernels.
///
/// Every function works on raw pointers into preallocated workspaces, so the training loop
/// never allocates. Shapes are given explicitly; layouts are row-major (NCHW for images).
enum Kernels {
    /// Folds columns back into an image: the adjoint of `im2col`. Overwrites `dx` (`[C, H, W]`).
    ///
    /// `col` is scratch: entries that fall into the padding may be zeroed.
    static func col2im(_ col: UnsafeMutablePointer<Float>, ld: Int, channels: Int, height: Int, width: Int,
                       kernel: Int, stride: Int, padding: Int, outH: Int, outW: Int,
                       dx: UnsafeMutablePointer<Float>) {
        let same = stride == 1 && outW == width && outH == height && kernel % 2 == 1 && padding == kernel / 2
        for c in 0..<channels {
            let plane = dx + c * height * width
            if same {
                // The centre tap covers every pixel once: copy it, then accumulate the others
                // as contiguous shifted streams (their padding columns zeroed first).
                Vec.copy(col + ((c * kernel + padding) * kernel + padding) * ld, plane, count: height * width)
            } else {
                Vec.zero(plane, count: height * width)
            }
            for ky in 0..<kernel {
                let (yLo, yHi) = validRange(size: height, outSize: outH, stride: stride, padding: padding, offset: ky)
                if yHi <= yLo { continue }
                for kx in 0..<kernel {
                    if same && ky == padding && kx == padding { continue }
                    let (xLo, xHi) = validRange(size: width, outSize: outW, stride: stride, padding: padding, offset: kx)
                    if xHi <= xLo { continue }
                    let row = col + ((c * kernel + ky) * kernel + kx) * ld
                    if same {
                        if xLo > 0 || xHi < outW {
                            for oy in yLo..<yHi {
                                let r = row + oy * outW
                                for ox in 0..<xLo { r[ox] = 0 }
                                for ox in xHi..<outW { r[ox] = 0 }
                            }
                        }
                        let offset = (ky - padding) * width + (kx - padding)
                        let first = yLo * outW + xLo, last = (yHi - 1) * outW + xHi
                        Vec.accumulate(row + first, into: plane + first + offset, count: last - first)
                        continue
                    }
                    for oy in yLo..<yHi {
                        let src = row + oy * outW
                        let dst = plane + (oy * stride - padding + ky) * width + (kx - padding)
                        if stride == 1 {
                            Vec.accumulate(src + xLo, into: dst + xLo, count: xHi - xLo)
                        } else {
                            for ox in xLo..<xHi { dst[ox * stride] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}
