/// Per-sample "implicit GEMM" convolution: no im2col matrix.
///
/// The zero-padded input is split into `s × s` phase planes (`phase(a, b)[i, j] =
/// x_pad[s·i + a, s·j + b]`; one plane when s = 1). Output `(oy, ox)` of tap `(ty, tx)` reads
/// phase `(ty mod s, tx mod s)` at `(oy + ty/s, ox + tx/s)`, so on an output grid as wide as a
/// phase plane every tap is one GEMM with reduction length C over a strided view of the phases
/// at a constant offset:
///
///     grid[out, outH × phaseW] += W_tap[out, C] · phases[C, offset(tap) …]   (one GEMM per tap)
///
/// The grid's columns beyond the output width read past the image row and are dropped when the
/// grid is written out (with bias and activation in the same pass). Kernels are tap-major
/// (`[tap][out][C]`). The trainer extends this plan with the backward pass.
package struct ImplicitGemmPlan: Sendable {
    package let geometry: ConvGeometry
    /// Phase plane size (the padded input is split into phases of this size).
    package let phaseH: Int, phaseW: Int, phasePlane: Int
    /// Output positions on the grid (`outH × phaseW`).
    package let gridSize: Int
    /// Kernel taps k·k.
    package let taps: Int
    /// The phases `a·s + b` that some tap reads, in slot order.
    package let usedPhases: [Int]
    /// Offset of each tap's view into the phase buffer.
    package let tapOffsets: [Int]
    /// Floats of the phase buffer (all used phases of all channels, plus slack for the grid's
    /// garbage columns, which read up to `reach` floats past the last phase row).
    package let phaseCount: Int

    /// Whether a convolution can and should run this way: ungrouped, and with enough input
    /// channels that each tap's GEMM is not too thin (with few channels, im2col's single GEMM
    /// with reduction C·k·k is faster).
    package static func applies(_ g: ConvGeometry, minimumChannels: Int = 4) -> Bool {
        g.groups == 1 && g.inChannels >= minimumChannels && g.kernel > 1
    }

    package init(_ g: ConvGeometry) {
        geometry = g
        let s = g.stride, k = g.kernel, reach = (k - 1) / s
        phaseH = max((g.height + 2 * g.padding + s - 1) / s, g.outHeight + reach)
        phaseW = max((g.width + 2 * g.padding + s - 1) / s, g.outWidth + reach)
        phasePlane = phaseH * phaseW
        gridSize = g.outHeight * phaseW
        taps = k * k
        var used = Set<Int>()
        for ty in 0..<k { for tx in 0..<k { used.insert((ty % s) * s + tx % s) } }
        usedPhases = used.sorted()
        // A phase's slot is its rank among the used phases (binary search in the sorted list):
        // no table over all s² phases, which would take 2 GB for a (valid) stride of 16 384.
        let phases = usedPhases
        func slot(_ phase: Int) -> Int {
            var lo = 0, hi = phases.count
            while lo < hi { let mid = (lo + hi) / 2; if phases[mid] < phase { lo = mid + 1 } else { hi = mid } }
            return lo
        }
        let phaseBlock = g.inChannels * phasePlane, rowLength = phaseW
        tapOffsets = (0..<(k * k)).map { t in
            let ty = t / k, tx = t % k
            return slot((ty % s) * s + tx % s) * phaseBlock + (ty / s) * rowLength + tx / s
        }
        phaseCount = usedPhases.count * phaseBlock + reach + 16
    }

    /// Floats of the output grid `[out, outH × phaseW]`.
    package var gridCount: Int { geometry.outChannels * gridSize }

    /// Visits every element of `count` kernels: `body(i, t)` with `i` its index in the checkpoint
    /// layout `[K][out][C][tap]` and `t` its index in the tap-major layout `[K][tap][out][C]`.
    @inline(__always)
    private func forEachTapMajorIndex(count: Int, _ body: (_ index: Int, _ tapMajorIndex: Int) -> Void) {
        let (out, c, taps) = (geometry.outChannels, geometry.inChannels, taps)
        let size = out * c * taps
        for k in 0..<count {
            for o in 0..<out {
                for ci in 0..<c {
                    let from = k * size + (o * c + ci) * taps
                    for t in 0..<taps { body(from + t, k * size + (t * out + o) * c + ci) }
                }
            }
        }
    }

    /// Rearranges `count` kernels `[out][C][tap]` into tap-major `[tap][out][C]`.
    package func toTapMajor(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        forEachTapMajorIndex(count: count) { i, t in dst[t] = src[i] }
    }

    /// Adds `count` tap-major kernels into the `[out][C][tap]` layout: the adjoint of `toTapMajor`
    /// (the trainer's kernel gradients).
    package func addFromTapMajor(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        forEachTapMajorIndex(count: count) { i, t in dst[i] += src[t] }
    }

    /// The phase rows (or columns) `[lo, hi)` that hold image pixels: phase index `i` maps to
    /// image row `s·i + phase − padding`, which must lie in `[0, size)`.
    @inline(__always)
    package func inside(phase: Int, size: Int, extent: Int) -> Range<Int> {
        let (lo, hi) = validRange(size: size, outSize: extent, stride: geometry.stride, padding: geometry.padding,
                                  offset: phase)
        return lo..<hi
    }

    /// Copies one sample `x` `[C, H, W]` into the phase buffer. Only the image pixels are
    /// written: the borders must be zero already (zero the buffer once, it is never dirtied).
    package func loadInput(_ x: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>) {
        let g = geometry, s = g.stride
        for (slot, phase) in usedPhases.enumerated() {
            let a = phase / s, b = phase % s
            let rows = inside(phase: a, size: g.height, extent: phaseH)
            let cols = inside(phase: b, size: g.width, extent: phaseW)
            if rows.isEmpty || cols.isEmpty { continue }
            for c in 0..<g.inChannels {
                let plane = phases + (slot * g.inChannels + c) * phasePlane
                let source = x + c * g.height * g.width
                for i in rows {
                    let src = source + (s * i + a - g.padding) * g.width + (b - g.padding)
                    let dst = plane + i * phaseW
                    if s == 1 {
                        (dst + cols.lowerBound).update(from: src + cols.lowerBound, count: cols.count)
                    } else if s == 2 {
                        gatherEven(src, into: dst, cols)
                    } else {
                        for j in cols { dst[j] = src[s * j] }
                    }
                }
            }
        }
    }

    /// `dst[j] = src[2j]` for j in `cols`, four at a time (8-wide loads, even lanes kept).
    /// The vector loop reads up to `src[2j + 7]` only while that is before the last needed
    /// element `src[2(cols.upperBound − 1)]`, so it never reads past the row.
    @inline(__always)
    private func gatherEven(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, _ cols: Range<Int>) {
        var j = cols.lowerBound
        let raw = UnsafeRawPointer(src)
        while j + 4 < cols.upperBound {
            let v = raw.loadUnaligned(fromByteOffset: 2 * j * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dst + j).storeBytes(of: SIMD4(v[0], v[2], v[4], v[6]), as: SIMD4<Float>.self)
            j += 4
        }
        while j < cols.upperBound { dst[j] = src[2 * j]; j += 1 }
    }

    /// The convolution of the loaded sample with tap-major kernel `w` onto the grid, for the
    /// output channels `channels` (all by default; disjoint ranges can run on different cores).
    package func convolve(weights w: UnsafePointer<Float>, phases: UnsafePointer<Float>,
                          grid: UnsafeMutablePointer<Float>, channels: Range<Int>? = nil) {
        let (out, c) = (geometry.outChannels, geometry.inChannels)
        let r = channels ?? 0..<out
        if r.isEmpty { return }
        for t in 0..<taps {
            sgemm(m: r.count, n: gridSize, k: c, a: w + (t * out + r.lowerBound) * c, lda: c,
                  b: phases + tapOffsets[t], ldb: phasePlane,
                  beta: t == 0 ? 0 : 1, c: grid + r.lowerBound * gridSize, ldc: gridSize)
        }
    }

    /// Writes the grid's valid columns of output channels `channels` (all by default) to `y`
    /// `[out, outH, outW]` as act(grid + bias).
    package func writeOutput(_ grid: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             activation: ActivationKind?, into y: UnsafeMutablePointer<Float>,
                             channels: Range<Int>? = nil) {
        let g = geometry
        let (oh, ow) = (g.outHeight, g.outWidth)
        for o in channels ?? 0..<g.outChannels {
            let b = bias?[o] ?? 0
            for r in 0..<oh {
                biasActivation(grid + o * gridSize + r * phaseW, y + (o * oh + r) * ow, count: ow, bias: b,
                               activation: activation)
            }
        }
    }
}

/// Implicit GEMM for stride-1 "same" convolutions (output as large as the input) with no
/// wasted columns: the output grid is exactly `H × W`, written straight into the output.
///
/// The input is kept with `p` zero rows above and below each channel plane but no padding
/// columns, once per kernel column `kx` (a *column copy*). Tap `(ky, kx)` then reads the view
/// starting `ky·W + (kx − p)` floats into copy `kx`, so output `(r, c)` reads input
/// `(r + ky − p, c + kx − p)` — except where that column lies outside the image, where the flat
/// view wraps into the neighbouring row. Those wrapped positions are exactly the columns copy `kx`
/// never reads legitimately (`W + d … W − 1` for `d = kx − p < 0`, `0 … d − 1` for `d > 0`), so
/// copy `kx` keeps them zero. Each tap is one GEMM over the channels:
///
///     y[out, H·W] += W_tap[out, C] · copy_kx[C, ky·W + d …]   (ldb = (H + 2p)·W)
package struct SameConvPlan: Sendable {
    package let geometry: ConvGeometry
    /// Floats of one channel plane with its zero rows: `(H + 2p) · W`.
    package let planeSize: Int
    /// Floats of one column copy (all channels, plus `p` floats of slack on both sides).
    package let copySize: Int
    /// Floats of the whole input buffer (k column copies).
    package var bufferCount: Int { geometry.kernel * copySize }

    /// Stride 1, output as large as the input (2p = k − 1), ungrouped, `minimumChannels` inputs.
    package static func applies(_ g: ConvGeometry, minimumChannels: Int = 4) -> Bool {
        g.groups == 1 && g.stride == 1 && g.kernel > 1 && 2 * g.padding == g.kernel - 1
            && g.inChannels >= minimumChannels && g.padding < g.width
    }

    package init(_ g: ConvGeometry) {
        geometry = g
        planeSize = (g.height + 2 * g.padding) * g.width
        copySize = g.inChannels * planeSize + 2 * g.padding
    }

    /// Copies one sample `x` `[C, H, W]` into the k column copies. Only the pixels each copy
    /// reads are written; the zero rows, zeroed columns and slack must be zero already (zero the
    /// buffer once: these positions are never written).
    package func loadInput(_ x: UnsafePointer<Float>, into buffer: UnsafeMutablePointer<Float>) {
        let g = geometry, (h, w, p) = (g.height, g.width, g.padding)
        for kx in 0..<g.kernel {
            let d = kx - p
            // Columns this copy keeps: [max(0, d), min(w, w + d)).
            let lo = max(0, d), hi = min(w, w + d)
            let copy = buffer + kx * copySize + p
            for c in 0..<g.inChannels {
                let src = x + c * h * w
                let dst = copy + c * planeSize + p * w
                if lo == 0 && hi == w {
                    dst.update(from: src, count: h * w)
                } else {
                    for r in 0..<h {
                        (dst + r * w + lo).update(from: src + r * w + lo, count: hi - lo)
                    }
                }
            }
        }
    }

    /// y = act(conv(x, w) + bias) for the loaded sample, tap-major kernel `w` (`[tap][out][C]`),
    /// output channels `channels` (all by default), written into `y` `[out, H, W]`.
    package func convolve(weights w: UnsafePointer<Float>, buffer: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, activation: ActivationKind?,
                          into y: UnsafeMutablePointer<Float>, channels: Range<Int>? = nil) {
        let g = geometry, (out, c, k, p) = (g.outChannels, g.inChannels, g.kernel, g.padding)
        let r = channels ?? 0..<out
        if r.isEmpty { return }
        let n = g.height * g.width
        let yr = y + r.lowerBound * n
        for ky in 0..<k {
            for kx in 0..<k {
                let t = ky * k + kx
                let view = buffer + kx * copySize + p + ky * g.width + (kx - p)
                sgemm(m: r.count, n: n, k: c, a: w + (t * out + r.lowerBound) * c, lda: c,
                      b: view, ldb: planeSize, beta: t == 0 ? 0 : 1, c: yr, ldc: n)
            }
        }
        for o in r {
            let b = bias?[o] ?? 0
            if b == 0 && activation == nil { continue }
            biasActivation(y + o * n, y + o * n, count: n, bias: b, activation: activation)
        }
    }
}
