import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// Every op against its naive reference loop.
final class OpsTests: XCTestCase {
    /// conv2dSample over a grid of geometries (kernel, stride, padding, groups incl. depthwise).
    func testConvolutionMatchesNaiveLoop() {
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Int, g: Int)] = [
            (3, 5, 7, 9, 3, 1, 1, 1), (4, 6, 8, 8, 1, 1, 0, 1), (4, 6, 9, 7, 1, 2, 0, 1),
            (2, 4, 11, 11, 5, 2, 2, 1), (3, 8, 13, 13, 7, 2, 3, 1), (4, 4, 6, 6, 3, 1, 0, 2),
            (6, 6, 9, 9, 3, 2, 1, 6), (4, 8, 7, 7, 3, 1, 1, 4), (8, 8, 5, 5, 5, 1, 2, 8),
            (1, 3, 5, 5, 3, 1, 1, 1), (6, 4, 6, 5, 3, 3, 1, 2),
            (3, 4, 6, 8, 5, 1, 2, 1), (2, 3, 2, 3, 5, 1, 2, 1), (2, 3, 1, 1, 3, 1, 1, 1),
        ]
        for (i, t) in cases.enumerated() {
            let x = randomTensor([2, t.c, t.h, t.w], seed: UInt64(i))
            let w = randomTensor([t.o, t.c / t.g, t.k, t.k], seed: UInt64(100 + i))
            let bias = randomTensor([t.o], seed: UInt64(200 + i)).data
            let g = ConvGeometry(inChannels: t.c, outChannels: t.o, height: t.h, width: t.w,
                                 kernel: t.k, stride: t.s, padding: t.p, groups: t.g)
            var y = Tensor.zeros([2, t.o, g.outHeight, g.outWidth])
            var scratch = [Float](repeating: .nan, count: max(g.scratchCount, 1))
            for s in 0..<2 {
                x.data.withUnsafeBufferPointer { xp in w.data.withUnsafeBufferPointer { wp in
                    bias.withUnsafeBufferPointer { bp in y.data.withUnsafeMutableBufferPointer { yp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            conv2dSample(g, x: xp.baseAddress! + s * t.c * t.h * t.w, w: wp.baseAddress!,
                                         bias: bp.baseAddress!, y: yp.baseAddress! + s * t.o * g.outPixels,
                                         scratch: sp.baseAddress!, allowSplit: s == 1)
                        }
                    } }
                } }
            }
            let ref = Naive.conv(x, w, bias: bias, stride: t.s, padding: t.p, groups: t.g)
            XCTAssertEqual(y.shape, ref.shape)
            XCTAssertLessThan(y.maxAbsDifference(ref), 1e-4, "case \(i): \(t)")
        }
    }

    /// The register-accumulating depthwise 3×3 kernel (`DepthwiseConv3x3`, stride 1 and 2) with
    /// fused activations, on widths below, at and above the 8-wide vectors, odd and even sizes
    /// and a 1×1 image, against the naive loop followed by the activation.
    func testDepthwise3x3MatchesNaiveLoop() {
        let sizes = [(1, 1), (2, 3), (7, 7), (9, 17), (16, 16), (13, 12), (5, 24)]
        let activations: [ActivationKind?] = [nil, .relu, .relu6, .hardswish]
        for (i, (h, w)) in sizes.enumerated() {
            for stride in [1, 2] {
                let c = 5
                let g = ConvGeometry(inChannels: c, outChannels: c, height: h, width: w, kernel: 3, stride: stride,
                                     padding: 1, groups: c)
                XCTAssertTrue(DepthwiseConv3x3.applies(g))
                let x = randomTensor([1, c, h, w], seed: UInt64(300 + i), scale: 3)
                let wt = randomTensor([c, 1, 3, 3], seed: UInt64(400 + i))
                let bias = randomTensor([c], seed: UInt64(500 + i)).data
                let ref = Naive.conv(x, wt, bias: bias, stride: stride, padding: 1, groups: c)
                for act in activations {
                    var y = [Float](repeating: .nan, count: ref.count)
                    x.data.withUnsafeBufferPointer { xp in wt.data.withUnsafeBufferPointer { wp in
                        bias.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { yp in
                            depthwiseConv2dSample(g, x: xp.baseAddress!, w: wp.baseAddress!, bias: bp.baseAddress!,
                                                  y: yp.baseAddress!, activation: act)
                        } }
                    } }
                    var expected = ref.data
                    if let act { expected.withUnsafeMutableBufferPointer { Activation.apply(act, $0.baseAddress!, count: $0.count) } }
                    for j in 0..<expected.count {
                        XCTAssertEqual(y[j], expected[j], accuracy: 1e-4, "\(h)×\(w) stride \(stride) \(String(describing: act)) at \(j)")
                    }
                }
            }
        }
    }

    /// The implicit-GEMM convolution (phase planes, one GEMM per tap) over strides 1–3, kernels
    /// 3–5, paddings 0–2, odd sizes and an image smaller than the kernel, with bias and activation.
    func testImplicitGemmConvolutionMatchesNaiveLoop() {
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Int)] = [
            (8, 5, 7, 9, 3, 1, 1), (8, 6, 8, 8, 3, 2, 1), (9, 4, 11, 10, 5, 2, 2), (8, 3, 9, 7, 3, 1, 0),
            (10, 4, 13, 12, 3, 3, 1), (8, 4, 2, 3, 5, 1, 2), (16, 8, 28, 28, 3, 1, 1), (8, 8, 14, 14, 3, 2, 1),
        ]
        for (i, t) in cases.enumerated() {
            let g = ConvGeometry(inChannels: t.c, outChannels: t.o, height: t.h, width: t.w,
                                 kernel: t.k, stride: t.s, padding: t.p, groups: 1)
            XCTAssertTrue(ImplicitGemmPlan.applies(g))
            let plan = ImplicitGemmPlan(g)
            let f = ReluConvFixture(g, seed: UInt64(300 + i))
            let (x, bias, tapMajor) = (f.x, f.bias, f.tapMajor)
            var phases = [Float](repeating: 0, count: plan.phaseCount)
            var grid = [Float](repeating: .nan, count: plan.gridCount)
            var y = Tensor.zeros([2, t.o, g.outHeight, g.outWidth])
            for s in 0..<2 {
                x.data.withUnsafeBufferPointer { xp in
                    plan.loadInput(xp.baseAddress! + s * t.c * t.h * t.w, into: &phases)
                }
                for r in ReluConvFixture.channelRanges(sample: s, channels: t.o) {
                    plan.convolve(weights: tapMajor, phases: phases, grid: &grid, channels: r)
                    y.data.withUnsafeMutableBufferPointer { yp in
                        plan.writeOutput(grid, bias: bias, activation: .relu, into: yp.baseAddress! + s * t.o * g.outPixels,
                                         channels: r)
                    }
                }
            }
            let ref = f.reference
            XCTAssertEqual(y.shape, ref.shape)
            XCTAssertLessThan(y.maxAbsDifference(ref), 1e-4, "case \(i): \(t)")
        }
    }

    /// The stride-1 "same" implicit GEMM (column copies, no wasted columns) for kernels 3, 5 and 7,
    /// odd and tiny sizes, with bias and activation, whole and split by output channels.
    func testSameConvolutionMatchesNaiveLoop() {
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int)] = [
            (8, 5, 7, 9, 3), (8, 6, 8, 8, 3), (9, 4, 11, 10, 5), (8, 3, 9, 7, 7), (8, 4, 2, 3, 3), (16, 8, 28, 28, 3),
            (8, 2, 1, 2, 3),
        ]
        for (i, t) in cases.enumerated() {
            let p = (t.k - 1) / 2
            let g = ConvGeometry(inChannels: t.c, outChannels: t.o, height: t.h, width: t.w,
                                 kernel: t.k, stride: 1, padding: p, groups: 1)
            XCTAssertTrue(SameConvPlan.applies(g) || p >= t.w, "case \(i)")
            if !SameConvPlan.applies(g) { continue }
            let plan = SameConvPlan(g)
            let f = ReluConvFixture(g, seed: UInt64(600 + i))
            let (x, bias, tapMajor) = (f.x, f.bias, f.tapMajor)
            var buffer = [Float](repeating: 0, count: plan.bufferCount)
            var y = Tensor(shape: [2, t.o, t.h, t.w], repeating: .nan)
            for s in 0..<2 {
                x.data.withUnsafeBufferPointer { xp in
                    plan.loadInput(xp.baseAddress! + s * t.c * t.h * t.w, into: &buffer)
                }
                for r in ReluConvFixture.channelRanges(sample: s, channels: t.o) {
                    y.data.withUnsafeMutableBufferPointer { yp in
                        plan.convolve(weights: tapMajor, buffer: buffer, bias: bias, activation: .relu,
                                      into: yp.baseAddress! + s * t.o * t.h * t.w, channels: r)
                    }
                }
            }
            XCTAssertLessThan(y.maxAbsDifference(f.reference), 1e-4, "case \(i): \(t)")
        }
    }

    func testPoolingMatchesNaiveLoop() {
        let x = randomTensor([2, 3, 9, 8], seed: 5)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)] {
            let spec = PoolSpec(kernel: k, stride: s, padding: p)
            let ho = (9 + 2 * p - k) / s + 1, wo = (8 + 2 * p - k) / s + 1
            for isMax in [true, false] {
                var y = Tensor.zeros([2, 3, ho, wo])
                x.data.withUnsafeBufferPointer { xp in y.data.withUnsafeMutableBufferPointer { yp in
                    for n in 0..<2 {
                        let src = xp.baseAddress! + n * 3 * 72, dst = yp.baseAddress! + n * 3 * ho * wo
                        if isMax { maxPoolSample(src, channels: 3, height: 9, width: 8, pool: spec, y: dst) }
                        else { avgPoolSample(src, channels: 3, height: 9, width: 8, pool: spec, y: dst) }
                    }
                } }
                let ref = Naive.pool(x, kernel: k, stride: s, padding: p, max: isMax)
                XCTAssertLessThan(y.maxAbsDifference(ref), 1e-5, "k\(k) s\(s) p\(p) max=\(isMax)")
            }
        }
    }

    func testGlobalPoolLinearSoftmaxActivations() {
        let x = randomTensor([2, 4, 3, 5], seed: 9)
        var g = [Float](repeating: 0, count: 8)
        x.data.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gp in
            for n in 0..<2 { globalAvgPoolSample(xp.baseAddress! + n * 60, channels: 4, plane: 15, y: gp.baseAddress! + n * 4) }
        } }
        let ref = Naive.gap(x)
        for n in 0..<2 { for c in 0..<4 { XCTAssertEqual(g[n * 4 + c], ref[n][c], accuracy: 1e-5) } }

        let w = randomTensor([3, 4], seed: 10), b = randomTensor([3], seed: 11).data
        var y = [Float](repeating: 0, count: 6)
        g.withUnsafeBufferPointer { gp in w.data.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
            y.withUnsafeMutableBufferPointer { yp in
                linearForward(gp.baseAddress!, batch: 2, inFeatures: 4, outFeatures: 3, weight: wp.baseAddress!,
                              bias: bp.baseAddress!, y: yp.baseAddress!)
            }
        } } }
        for n in 0..<2 {
            let r = Naive.linear(Array(g[(n * 4)..<(n * 4 + 4)]), w, b)
            for j in 0..<3 { XCTAssertEqual(y[n * 3 + j], r[j], accuracy: 1e-5) }
        }

        var z: [Float] = [1, 2, 3, -1, 0, 50]
        z.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: 2, cols: 3, temperature: 2) }
        let r0 = Naive.softmax([1, 2, 3], temperature: 2), r1 = Naive.softmax([-1, 0, 50], temperature: 2)
        for j in 0..<3 { XCTAssertEqual(z[j], r0[j], accuracy: 1e-6); XCTAssertEqual(z[3 + j], r1[j], accuracy: 1e-6) }

        let v: [Float] = [-4, -3, -1, 0, 0.5, 2.9, 3, 6, 7]
        for kind in [ActivationKind.relu, .relu6, .hardswish] {
            var a = v
            a.withUnsafeMutableBufferPointer { Activation.apply(kind, $0.baseAddress!, count: $0.count) }
            for (i, x) in v.enumerated() {
                let expected: Float
                switch kind {
                case .relu: expected = max(x, 0)
                case .relu6: expected = min(max(x, 0), 6)
                case .hardswish: expected = x * min(max(x + 3, 0), 6) / 6
                }
                XCTAssertEqual(a[i], expected, accuracy: 1e-6, "\(kind)(\(x))")
            }
        }
        var s: [Float] = [-2, 0, 3]
        s.withUnsafeMutableBufferPointer { sigmoid($0.baseAddress!, count: 3, temperature: 1) }
        for (i, x) in [-2, 0, 3].enumerated() { XCTAssertEqual(s[i], 1 / (1 + Float(exp(Double(-x)))), accuracy: 1e-6) }
    }
}

/// Two input samples, a kernel (also tap-major), a bias and the naive ReLU(conv + bias)
/// reference for one ungrouped test convolution (seeds `seed`, `seed + 100`, `seed + 200`).
private struct ReluConvFixture {
    let x: Tensor, bias: [Float], tapMajor: [Float], reference: Tensor

    init(_ g: ConvGeometry, seed: UInt64) {
        x = randomTensor([2, g.inChannels, g.height, g.width], seed: seed)
        let w = randomTensor([g.outChannels, g.inChannels, g.kernel, g.kernel], seed: seed + 100)
        bias = randomTensor([g.outChannels], seed: seed + 200).data
        var t = [Float](repeating: 0, count: w.count)
        w.data.withUnsafeBufferPointer { ImplicitGemmPlan(g).toTapMajor($0.baseAddress!, &t, count: 1) }
        tapMajor = t
        var ref = Naive.conv(x, w, bias: bias, stride: g.stride, padding: g.padding, groups: 1)
        for j in 0..<ref.count { ref.data[j] = max(ref.data[j], 0) }
        reference = ref
    }

    /// Sample 0 whole, sample 1 in two output-channel ranges (as a large single sample runs on two cores).
    static func channelRanges(sample: Int, channels: Int) -> [Range<Int>] {
        sample == 0 ? [0..<channels] : [0..<(channels / 2), (channels / 2)..<channels]
    }
}
