/// Dynamic convolutions with small outputs: the batch convolved with every kernel bank, mixed after.
///
/// The convolution is linear in its kernel: y_n = conv(x_n, Σ_k a_nk W_k) = Σ_k a_nk conv(x_n, W_k).
/// Mixing W̃_n per sample streams K·|W| floats to do |W|·P multiply-adds (P output pixels);
/// for the deep layers of a small input (2×2 and 1×1 outputs in a ResNet-18 on 32×32 images)
/// that streaming is nearly all the time, and it is repeated for every sample. Here instead the
/// batch's im2col columns `[C·taps, N·P]` are multiplied by each kernel's tap blocks, so the
/// banks are read once per batch, inside GEMMs, giving Z `[K, out, N·P]`; each sample then
/// mixes its K rows: y_n[o, p] = act(Σ_k a_nk Z[k, o, n·P + p] + b̃_n[o]).
/// Taps that only ever read padding (all but the centre tap of a 3×3 convolution on a 1×1 input)
/// add nothing and are skipped, so those kernel entries are never read.
extension DynamicConv2d {
    /// Whether a batch of this geometry runs on the kernel banks (`convolveBanks`) rather than
    /// mixing each sample's kernel first.
    ///
    /// Cost per sample, in units of one GEMM multiply-add: mixing streams K·|W| floats at about
    /// r units each (r ≈ 12 when the banks come from memory, ≈ 2 from a core's cache) and then
    /// convolves with |W|·P multiply-adds; the banks cost K·|W|·P multiply-adds. Banks win when
    /// P·(K − 1) < K·r; P ≤ 16 also bounds the batch's column buffer, and one sample's K outputs
    /// (K·out·P floats) must stay within 4 M floats or one kernel's size.
    static func prefersKernelBanks(_ g: ConvGeometry, kernels: Int) -> Bool {
        guard kernels >= 2, g.groups == 1 else { return false }
        let bankBytes = kernels * g.weightCount * MemoryLayout<Float>.stride
        let r = bankBytes > (1 << 20) ? 12 : 2
        let p = g.outPixels
        return p <= 16 && p * (kernels - 1) < kernels * r
            && kernels * g.outChannels * p <= max(4 << 20, g.weightCount)
    }

    /// Batch columns (N·P) up to which the bank products run as matrix-vector products.
    static let gemvColumns = 4

    /// The banks in `[K][tap][out][C]` order (the tap-major copy, or the checkpoint layout of a
    /// 1×1 kernel, which is already in that order), or nil when this layer cannot use them.
    var kernelBanks: [Float]? {
        guard spec.isDynamic, spec.groups == 1 else { return nil }
        return spec.kernel == 1 ? weight : tapMajorWeight
    }

    /// The taps `ky·k + kx` that read at least one image pixel for some output position.
    static func usedTaps(_ g: ConvGeometry) -> [Int] {
        var taps: [Int] = []
        for ky in 0..<g.kernel {
            let (rowLo, rowHi) = validRange(size: g.height, outSize: g.outHeight, stride: g.stride,
                                            padding: g.padding, offset: ky)
            if rowLo >= rowHi { continue }
            for kx in 0..<g.kernel where !g.validOutputColumns(kernelColumn: kx).isEmpty {
                taps.append(ky * g.kernel + kx)
            }
        }
        return taps
    }

    /// b̃ = shift + Σ_k a_k b_k of one sample (coefficients `a`, K floats; nil for a static layer)
    /// into `out` (`spec.outChannels` floats); nil when the layer has neither bias nor shift.
    func mixBias(_ a: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>) -> UnsafePointer<Float>? {
        guard bias != nil || shift != nil else { return nil }
        let count = spec.outChannels
        for o in 0..<count { out[o] = shift?[o] ?? 0 }
        if let b = bias {
            if spec.isDynamic, let a {
                for kk in 0..<kernels {
                    let ak = a[kk]
                    for o in 0..<count { out[o] += ak * b[kk * count + o] }
                }
            } else {
                for o in 0..<count { out[o] += b[o] }
            }
        }
        return UnsafePointer(out)
    }

    /// `convolve` on the kernel banks (see the type's overview); `banks` from `kernelBanks`.
    func convolveBanks(_ x: Tensor, coefficients: [Float], banks: [Float], parallel: Bool) -> Tensor {
        let n = x.shape[0]
        let g = geometry(height: x.shape[2], width: x.shape[3])
        let (k, out, c, p) = (kernels, spec.outChannels, spec.inChannels, g.outPixels)
        let taps = g.kernel * g.kernel, perTap = out * c, perKernel = taps * perTap
        let used = Self.usedTaps(g)
        var y = Tensor.uninitialized([n, out, g.outHeight, g.outWidth])
        // Samples per block: the block's columns and outputs Z stay within 4 M floats each.
        let block = max(1, min(n, (4 << 20) / max(1, g.columnRows * p), (4 << 20) / max(1, k * out * p)))
        let chunks = parallel ? Parallel.threads : 1
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: g.columnRows * block * p)
        let z = UnsafeMutablePointer<Float>.allocate(capacity: k * out * block * p)
        let mixedBias = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * out))
        defer { columns.deallocate(); z.deallocate(); mixedBias.deallocate() }
        let act = activation
        x.data.withUnsafeBufferPointer { xb in
            y.data.withUnsafeMutableBufferPointer { yb in
                banks.withUnsafeBufferPointer { wb in
                    coefficients.withUnsafeBufferPointer { ab in
                        nonisolated(unsafe) let xp = xb.baseAddress!, yp = yb.baseAddress!, wp = wb.baseAddress!
                        nonisolated(unsafe) let ap = ab.baseAddress!, cols = columns, zp = z
                        var hasBias = false
                        for s in 0..<n { hasBias = mixBias(ap + s * k, into: mixedBias + s * out) != nil }
                        nonisolated(unsafe) let biases = hasBias ? UnsafePointer(mixedBias) : nil
                        var first = 0
                        while first < n {
                            let m = min(block, n - first), width = m * p
                            // The block's columns, sample s at column s·P (rows c·taps + tap).
                            Parallel.forEachChunk(m, maxChunks: chunks) { _, samples in
                                for s in samples {
                                    im2col(xp + (first + s) * g.inputCount, channels: c, height: g.height,
                                           width: g.width, kernel: g.kernel, stride: g.stride, padding: g.padding,
                                           outH: g.outHeight, outW: g.outWidth, col: cols + s * p, ld: width)
                                }
                            }
                            let base = first
                            // Output channels split over the cores: Z for them, then their outputs.
                            Parallel.forEachChunk(out, maxChunks: chunks) { _, r in
                                for kk in 0..<k {
                                    let zk = zp + (kk * out + r.lowerBound) * width
                                    if used.isEmpty || width <= Self.gemvColumns {
                                        zk.update(repeating: 0, count: r.count * width)
                                    }
                                    for (i, t) in used.enumerated() {
                                        let a = wp + kk * perKernel + t * perTap + r.lowerBound * c
                                        if width <= Self.gemvColumns {
                                            // A few columns: one streaming pass over the kernel block per
                                            // column (the block stays in cache for the next ones).
                                            for j in 0..<width {
                                                sgemvAccumulating(m: r.count, k: c, a: a, lda: c, x: cols + t * width + j,
                                                                  incx: taps * width, y: zk + j, incy: width)
                                            }
                                        } else {
                                            sgemm(m: r.count, n: width, k: c, a: a, lda: c, b: cols + t * width,
                                                  ldb: taps * width, beta: i == 0 ? 0 : 1, c: zk, ldc: width)
                                        }
                                    }
                                }
                                for s in 0..<m {
                                    let a = ap + (base + s) * k
                                    for o in r {
                                        let dst = yp + ((base + s) * out + o) * p
                                        for j in 0..<p {
                                            var v: Float = 0
                                            for kk in 0..<k { v += a[kk] * zp[(kk * out + o) * width + s * p + j] }
                                            dst[j] = v
                                        }
                                        biasActivation(dst, dst, count: p, bias: biases?[(base + s) * out + o] ?? 0,
                                                       activation: act)
                                    }
                                }
                            }
                            first += m
                        }
                    }
                }
            }
        }
        return y
    }
}
