import CBLAS

/// Single-precision matrix multiply C = alpha·op(A)·op(B) + beta·C through OpenBLAS.
///
/// Row-major. `op(A)` is M×K, `op(B)` is K×N, C is M×N. The one GEMM of the package: the
/// engine's layers and the trainer's forward and backward passes all call it (an empty product,
/// K = 0, leaves beta·C, as BLAS defines it).
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        if beta == 0 {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
        } else if beta != 1 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// y = A·x + y for a row-major M×K matrix A (leading dimension `lda`) through OpenBLAS's
/// `sgemv`, x and y strided: a product with a single column streams A once, where `sgemm`
/// would first copy it into its packed layout.
@inline(__always)
public func sgemvAccumulating(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, incx: Int,
                              y: UnsafeMutablePointer<Float>, incy: Int) {
    guard m > 0, k > 0 else { return }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), 1, a, Int32(lda), x, Int32(incx), 1, y, Int32(incy))
}

/// Like `sgemm` (no transposes), but splits the N columns over the engine's threads when the
/// product is large enough to pay for it. Used for single large samples (batch 1).
public func sgemmSplittingColumns(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                  b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, allowSplit: Bool) {
    let work = m * n * k
    let chunks = (allowSplit && work >= Parallel.streamingSplitThreshold && n >= 64) ? Parallel.threads : 1
    if chunks == 1 {
        sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    nonisolated(unsafe) let b = b, c = c, a = a
    Parallel.forEachChunk(n, maxChunks: chunks) { _, r in
        sgemm(m: m, n: r.count, k: k, a: a, lda: lda, b: b + r.lowerBound, ldb: ldb,
              beta: beta, c: c + r.lowerBound, ldc: ldc)
    }
}
