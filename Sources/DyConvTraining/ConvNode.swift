import DyConvEngine

extension ConvGeometry {
    /// Unfolds sample `x` into `col` (rows `ld` apart).
    @inline(__always)
    func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int) {
        DyConvEngine.im2col(x, channels: inChannels, height: height, width: width, kernel: kernel,
                            stride: stride, padding: padding, outH: outHeight, outW: outWidth, col: col, ld: ld)
    }

    /// Folds `col` (rows `ld` apart, used as scratch) into the sample gradient `dx` (overwritten).
    @inline(__always)
    func col2im(_ col: UnsafeMutablePointer<Float>, ld: Int, _ dx: UnsafeMutablePointer<Float>) {
        Kernels.col2im(col, ld: ld, channels: inChannels, height: height, width: width, kernel: kernel,
                       stride: stride, padding: padding, outH: outHeight, outW: outWidth, dx: dx)
    }
}

/// A static convolution: implicit GEMM per sample (`ImplicitConv`) for ungrouped convolutions
/// with ≥ 4 input channels whose output planes are large enough to keep those GEMMs wide,
/// im2col + SGEMM otherwise.
///
/// On the im2col path samples are processed in chunks whose unfolded inputs sit side by side,
/// so the GEMMs are wide even for small feature maps (`[out/g, in/g·k·k] × [in/g·k·k, chunk·H'W']`).
final class ConvNode: BufferedNode {
    let spec: ConvSpec
    let geometry: ConvGeometry
    let weight: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>?
    let gradWeight: UnsafeMutablePointer<Float>
    let gradBias: UnsafeMutablePointer<Float>?
    /// Samples per chunk.
    let chunk: Int
    private let col: FloatBuffer
    private let staging: FloatBuffer

    /// Output columns a chunk aims for (wide enough for efficient GEMMs, small enough for cache).
    static let targetColumns = 1024
    /// The BatchNorm right after this convolution, which takes its batch statistics from here.
    var statisticsConsumer: BatchNormNode?
    /// The implicit-GEMM path, with the kernel and its gradient kept tap-major.
    private let implicit: ImplicitConv?
    private let tapWeights: FloatBuffer
    private let tapGradient: FloatBuffer
    /// Whether this layer runs the implicit-GEMM path.
    var usesImplicitGEMM: Bool { implicit != nil }
    /// Smallest output plane for the per-sample implicit path (below, batched im2col GEMMs win).
    static let implicitMinimumPlane = 100

    init(spec: ConvSpec, inShape: [Int], maxBatch: Int, layout: ParameterLayout, storage: StoragePointers) {
        self.spec = spec
        geometry = ConvGeometry(spec: spec, height: inShape[1], width: inShape[2])
        let useImplicit = ImplicitConv.applies(spec, geometry) && geometry.outPixels >= ConvNode.implicitMinimumPlane
        implicit = useImplicit ? ImplicitConv(geometry) : nil
        tapWeights = FloatBuffer(count: useImplicit ? geometry.weightCount : 0)
        tapGradient = FloatBuffer(count: useImplicit ? geometry.weightCount : 0)
        (weight, gradWeight) = storage.parameter("\(spec.name).weight", layout)!
        let b = spec.bias ? storage.parameter("\(spec.name).bias", layout) : nil
        (bias, gradBias) = (b?.value, b?.gradient)
        chunk = useImplicit ? 1 : max(1, min(maxBatch, ConvNode.targetColumns / max(geometry.outPixels, 1)))
        col = FloatBuffer(count: useImplicit ? 0 : geometry.groups * geometry.columnRows * chunk * geometry.outPixels)
        staging = FloatBuffer(count: chunk > 1 ? geometry.outChannels * chunk * geometry.outPixels : 0)
        super.init(inShape: inShape, outShape: [spec.outChannels, geometry.outHeight, geometry.outWidth], maxBatch: maxBatch)
    }

    override func forward(_ x: UnsafePointer<Float>, n: Int, context: GraphContext) {
        let g = geometry
        let hw = g.outPixels
        let y = output
        let col = self.col.pointer
        let statistics = context.training ? statisticsConsumer : nil
        statistics?.resetStatistics()
        if let implicit {
            implicit.toTapMajor(weight, tapWeights.pointer, count: 1)
            for s in 0..<n {
                let ys = y + s * g.outputCount
                implicit.loadInput(x + s * g.inputCount)
                implicit.forward(weights: tapWeights.pointer, into: ys)
                if let bias {
                    for co in 0..<g.outChannels { Vec.addScalar(bias[co], into: ys + co * hw, count: hw) }
                }
                statistics?.accumulateStatistics(ys)
            }
            return
        }
        for start in stride(from: 0, to: n, by: chunk) {
            let s = min(chunk, n - start)
            let columns = s * hw
            unfold(x, start: start, count: s)
            let target = s == 1 ? y + start * g.outputCount : staging.pointer
            for gi in 0..<g.groups {
                sgemm(m: g.groupOut, n: columns, k: g.columnRows,
                      a: weight + gi * g.groupOut * g.columnRows, lda: g.columnRows,
                      b: col + gi * g.columnRows * columns, ldb: columns,
                      beta: 0, c: target + gi * g.groupOut * columns, ldc: columns)
            }
            for j in 0..<s {
                let dst = y + (start + j) * g.outputCount
                for co in 0..<g.outChannels {
                    let b = bias?[co] ?? 0
                    let row = dst + co * hw
                    if s > 1 {
                        Vec.copy(staging.pointer + co * columns + j * hw, row, count: hw)
                        if bias != nil { Vec.addScalar(b, into: row, count: hw) }
                    } else if bias != nil {
                        Vec.addScalar(b, into: row, count: hw)
                    }
                }
                statistics?.accumulateStatistics(dst)
            }
        }
    }

    /// Unfolds samples `start..<start + count` of `x` side by side into the column buffer.
    private func unfold(_ x: UnsafePointer<Float>, start: Int, count: Int) {
        let g = geometry, hw = g.outPixels
        for j in 0..<count { g.im2col(x + (start + j) * g.inputCount, col.pointer + j * hw, ld: count * hw) }
    }

    override func backward(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int,
                           needInputGrad: Bool, context: GraphContext) {
        let g = geometry
        let hw = g.outPixels
        let col = self.col.pointer
        if let gradBias {
            for s in 0..<n {
                for co in 0..<g.outChannels {
                    gradBias[co] += Float(Vec.sum(dy + s * g.outputCount + co * hw, count: hw))
                }
            }
        }
        if let implicit {
            tapGradient.zero()
            for s in 0..<n {
                implicit.loadInput(x + s * g.inputCount)
                implicit.loadGradient(dy + s * g.outputCount)
                implicit.weightGradient(into: tapGradient.pointer, accumulate: true)
                if needInputGrad {
                    implicit.inputGradient(weights: tapWeights.pointer, into: gradInput + s * g.inputCount)
                }
            }
            implicit.addFromTapMajor(tapGradient.pointer, into: gradWeight, count: 1)
            return
        }
        for start in stride(from: 0, to: n, by: chunk) {
            let s = min(chunk, n - start)
            let columns = s * hw
            unfold(x, start: start, count: s)
            let grad: UnsafePointer<Float>
            if s == 1 {
                grad = dy + start * g.outputCount
            } else {
                let st = staging.pointer
                for j in 0..<s {
                    let src = dy + (start + j) * g.outputCount
                    for co in 0..<g.outChannels {
                        (st + co * columns + j * hw).update(from: src + co * hw, count: hw)
                    }
                }
                grad = UnsafePointer(st)
            }
            for gi in 0..<g.groups {
                sgemm(transB: true, m: g.groupOut, n: g.columnRows, k: columns,
                      a: grad + gi * g.groupOut * columns, lda: columns,
                      b: col + gi * g.columnRows * columns, ldb: columns,
                      beta: 1, c: gradWeight + gi * g.groupOut * g.columnRows, ldc: g.columnRows)
            }
            if needInputGrad {
                for gi in 0..<g.groups {
                    sgemm(transA: true, m: g.columnRows, n: columns, k: g.groupOut,
                          a: weight + gi * g.groupOut * g.columnRows, lda: g.columnRows,
                          b: grad + gi * g.groupOut * columns, ldb: columns,
                          beta: 0, c: col + gi * g.columnRows * columns, ldc: columns)
                }
                for j in 0..<s { g.col2im(col + j * hw, ld: columns, gradInput + (start + j) * g.inputCount) }
            }
        }
    }
}
