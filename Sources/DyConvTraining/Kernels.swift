import CBLAS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Low-level kernels of the training graph: GEMM, im2col / col2im and small helpers.
///
/// Every function works on raw pointers into preallocated workspaces, so the training loop
/// never allocates. Shapes are given explicitly; layouts are row-major (NCHW for images).
enum Kernels {
    /// `C = alpha · op(A) · op(B) + beta · C` in row-major layout (`op` = optional transpose).
    ///
    /// `m × k` is the shape of `op(A)`, `k × n` of `op(B)`, `m × n` of `C`.
    @inline(__always)
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            } else if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    numericCast(m), numericCast(n), numericCast(k), alpha,
                    a, numericCast(lda), b, numericCast(ldb), beta, c, numericCast(ldc))
    }

    /// Restricts OpenBLAS to one thread per call (the trainer parallelises over the batch itself).
    static func useSingleThreadedBLAS() {
        openblas_set_num_threads(1)
    }

    /// The valid output range `[lo, hi)` of one kernel offset along one axis.
    ///
    /// Output position `o` reads input `o * stride - padding + offset`, which must lie in `[0, size)`.
    @inline(__always)
    static func validRange(size: Int, outSize: Int, stride: Int, padding: Int, offset: Int) -> (Int, Int) {
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
    /// Rows are `ld` floats apart, so several images can be unfolded side by side.
    static func im2col(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                       kernel: Int, stride: Int, padding: Int, outH: Int, outW: Int,
                       col: UnsafeMutablePointer<Float>, ld: Int) {
        for ky in 0..<kernel {
            let (yLo, yHi) = validRange(size: height, outSize: outH, stride: stride, padding: padding, offset: ky)
            for kx in 0..<kernel {
                let (xLo, xHi) = validRange(size: width, outSize: outW, stride: stride, padding: padding, offset: kx)
                for c in 0..<channels {
                    let row = col + ((c * kernel + ky) * kernel + kx) * ld
                    let plane = x + c * height * width
                    if yLo > 0 { row.update(repeating: 0, count: yLo * outW) }
                    if yHi < outH { (row + yHi * outW).update(repeating: 0, count: (outH - yHi) * outW) }
                    if xHi <= xLo {
                        if yHi > yLo { (row + yLo * outW).update(repeating: 0, count: (yHi - yLo) * outW) }
                        continue
                    }
                    for oy in yLo..<yHi {
                        let dst = row + oy * outW
                        let src = plane + (oy * stride - padding + ky) * width + (kx - padding)
                        for ox in 0..<xLo { dst[ox] = 0 }
                        if stride == 1 {
                            (dst + xLo).update(from: src + xLo, count: xHi - xLo)
                        } else {
                            for ox in xLo..<xHi { dst[ox] = src[ox * stride] }
                        }
                        for ox in xHi..<outW { dst[ox] = 0 }
                    }
                }
            }
        }
    }

    /// Folds columns back into an image, accumulating: the adjoint of `im2col`.
    ///
    /// `dx` (`[C, H, W]`) is added to, not overwritten.
    static func col2im(_ col: UnsafePointer<Float>, ld: Int, channels: Int, height: Int, width: Int,
                       kernel: Int, stride: Int, padding: Int, outH: Int, outW: Int,
                       dx: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let plane = dx + c * height * width
            for ky in 0..<kernel {
                let (yLo, yHi) = validRange(size: height, outSize: outH, stride: stride, padding: padding, offset: ky)
                for kx in 0..<kernel {
                    let (xLo, xHi) = validRange(size: width, outSize: outW, stride: stride, padding: padding, offset: kx)
                    if xHi <= xLo { continue }
                    let row = col + ((c * kernel + ky) * kernel + kx) * ld
                    for oy in yLo..<yHi {
                        let src = row + oy * outW
                        let dst = plane + (oy * stride - padding + ky) * width + (kx - padding)
                        if stride == 1 {
                            for ox in xLo..<xHi { dst[ox] += src[ox] }
                        } else {
                            for ox in xLo..<xHi { dst[ox * stride] += src[ox] }
                        }
                    }
                }
            }
        }
    }

    /// `y[i] += x[i]` for `count` elements.
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// The sum of `count` floats, accumulated in Double.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var i = 0
        var total: Double = 0
        // Float partial sums over short blocks, flushed into Double: fast and accurate enough.
        while i + 4 <= count {
            s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]
            i += 4
            if i & 255 == 0 {
                total += Double(s0) + Double(s1) + Double(s2) + Double(s3)
                s0 = 0; s1 = 0; s2 = 0; s3 = 0
            }
        }
        while i < count { s0 += x[i]; i += 1 }
        return total + Double(s0) + Double(s1) + Double(s2) + Double(s3)
    }
}
