import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// The kernel-bank path of dynamic convolutions with small outputs (`KernelBankConv.swift`):
/// the oracle is the naive 6-loop convolution of each kernel, weighted by π (Σ_k π_k conv(x, W_k)),
/// and the naive model interpreter for a whole network.
final class KernelBankTests: XCTestCase {
    func layer(inC: Int, outC: Int, kernel: Int, stride: Int, bias: Bool, routing: Routing,
               seed: UInt64) -> (DynamicConv2d, [String: Tensor]) {
        let conv = ConvSpec(name: "dyn", inChannels: inC, outChannels: outC, kernel: kernel, stride: stride,
                            padding: kernel / 2, bias: bias, routing: routing, kernels: 4,
                            attention: AttentionSpec(hidden: 5, fc1Bias: true, temperature: 1))
        let d = DynamicConvTests.oneConvModel(conv, height: 4, width: 4)
        let p = NaiveModel.randomParameters(d, seed: seed)
        var l = DynamicConvTests.layer(d, p)
        l.prepareImplicitGemm()
        return (l, p)
    }

    /// 1×1 outputs (only the centre tap, or the four taps of a stride-2 3×3 on 2×2, read pixels),
    /// a 1×2 output, a 2×2 output with banks larger than a core's cache, 1×1 kernels with stride
    /// 2; with bias and fused ReLU, softmax and sigmoid routing, split over the cores or not.
    func testBankPathMatchesWeightedSumOfNaiveConvolutions() {
        let cases: [(inC: Int, outC: Int, kernel: Int, stride: Int, h: Int, w: Int)] = [
            (8, 6, 3, 1, 1, 1), (8, 6, 3, 2, 2, 2), (8, 5, 3, 1, 1, 2), (96, 96, 3, 1, 2, 2), (12, 7, 1, 2, 2, 2),
            (8, 6, 5, 1, 1, 1),
        ]
        for (i, c) in cases.enumerated() {
            for routing in [Routing.softmax, .sigmoid] {
                var (l, p) = layer(inC: c.inC, outC: c.outC, kernel: c.kernel, stride: c.stride, bias: true,
                                   routing: routing, seed: UInt64(10 + i))
                let g = l.geometry(height: c.h, width: c.w)
                XCTAssertTrue(DynamicConv2d.prefersKernelBanks(g, kernels: 4), "case \(i) should run on the banks")
                XCTAssertNotNil(l.kernelBanks)
                let x = randomTensor([3, c.inC, c.h, c.w], seed: UInt64(40 + i))
                let (_, pi) = l.attention(x, temperature: 1)
                for relu in [false, true] {
                    l.activation = relu ? .relu : nil
                    for parallel in [true, false] {
                        let y = l.convolve(x, coefficients: pi, parallel: parallel)
                        for s in 0..<3 {
                            var sum: Tensor? = nil
                            for k in 0..<4 {
                                let yk = Naive.conv(Naive.sample(x, s), Naive.kernel(p["dyn.weight"]!, k),
                                                    bias: Naive.kernel(p["dyn.bias"]!, k).data, stride: c.stride,
                                                    padding: c.kernel / 2, groups: 1)
                                if sum == nil { sum = Tensor.zeros(yk.shape) }
                                for j in 0..<yk.count { sum!.data[j] += pi[s * 4 + k] * yk.data[j] }
                            }
                            if relu { for j in 0..<sum!.count { sum!.data[j] = max(sum!.data[j], 0) } }
                            XCTAssertLessThan(Naive.sample(y, s).maxAbsDifference(sum!), 1e-4,
                                              "case \(i) \(routing) relu \(relu) parallel \(parallel) sample \(s)")
                        }
                    }
                }
            }
        }
    }

    /// Samples on one core mix their kernels together, a block of every bank at a time
    /// (`DynamicConv2d.mixGroup`): each sample's output against the π-weighted naive convolutions.
    func testGroupMixMatchesWeightedSumOfNaiveConvolutions() {
        var (l, p) = layer(inC: 96, outC: 96, kernel: 3, stride: 1, bias: true, routing: .softmax, seed: 21)
        l.activation = .relu6
        let g = l.geometry(height: 5, width: 5)
        XCTAssertFalse(DynamicConv2d.prefersKernelBanks(g, kernels: 4))
        XCTAssertEqual(DynamicConv2d.mixGroup(samples: 3, per: g.weightCount, kernels: 4), 3)
        let x = randomTensor([3, 96, 5, 5], seed: 22)
        let (_, pi) = l.attention(x, temperature: 1)
        let y = l.convolve(x, coefficients: pi, parallel: false)
        for s in 0..<3 {
            var sum: Tensor? = nil
            for k in 0..<4 {
                let yk = Naive.conv(Naive.sample(x, s), Naive.kernel(p["dyn.weight"]!, k),
                                    bias: Naive.kernel(p["dyn.bias"]!, k).data, stride: 1, padding: 1, groups: 1)
                if sum == nil { sum = Tensor.zeros(yk.shape) }
                for j in 0..<yk.count { sum!.data[j] += pi[s * 4 + k] * yk.data[j] }
            }
            for j in 0..<sum!.count { sum!.data[j] = min(max(sum!.data[j], 0), 6) }
            XCTAssertLessThan(Naive.sample(y, s).maxAbsDifference(sum!), 1e-4, "sample \(s)")
        }
    }

    /// A tap is used exactly when some output position reads an image pixel through it (naive scan).
    func testUsedTapsAreTheTapsThatReadPixels() {
        for (h, w, k, s) in [(1, 1, 3, 1), (2, 2, 3, 2), (1, 3, 3, 1), (3, 3, 5, 2), (7, 6, 3, 1), (1, 1, 1, 1)] {
            let g = ConvGeometry(inChannels: 1, outChannels: 1, height: h, width: w, kernel: k, stride: s,
                                 padding: k / 2, groups: 1)
            var expected: [Int] = []
            for ky in 0..<k {
                for kx in 0..<k {
                    var reads = false
                    for oy in 0..<g.outHeight {
                        for ox in 0..<g.outWidth {
                            let iy = oy * s - k / 2 + ky, ix = ox * s - k / 2 + kx
                            if iy >= 0 && iy < h && ix >= 0 && ix < w { reads = true }
                        }
                    }
                    if reads { expected.append(ky * k + kx) }
                }
            }
            XCTAssertEqual(DynamicConv2d.usedTaps(g), expected, "\(h)×\(w) kernel \(k) stride \(s)")
        }
    }

    /// A network whose deep layers run on the banks, in one piece (`readsBanksOncePerBatch`),
    /// against the naive interpreter, and each sample of a batch against the sample alone.
    func testBankBoundNetworkMatchesNaiveInterpreter() throws {
        func dyn(_ name: String, _ inC: Int, _ outC: Int, kernel: Int, stride: Int) -> ConvSpec {
            ConvSpec(name: name, inChannels: inC, outChannels: outC, kernel: kernel, stride: stride, padding: kernel / 2,
                     routing: .softmax, kernels: 4, attention: AttentionSpec(hidden: inC / 4 + 1, temperature: 34))
        }
        let d = ModelDescription(
            family: "bank-bound", input: InputSpec(channels: 3, height: 4, width: 4),
            normalization: Normalization(mean: [0, 0, 0], std: [1, 1, 1]), classes: ["a", "b", "c"],
            layers: [
                .conv(ConvSpec(name: "conv1", inChannels: 3, outChannels: 96, kernel: 3, stride: 1, padding: 1)),
                .batchNorm(BatchNormSpec(name: "bn1", channels: 96)), .activation(.relu),
                .conv(dyn("a", 96, 96, kernel: 3, stride: 2)), .batchNorm(BatchNormSpec(name: "a.bn", channels: 96)),
                .activation(.relu),
                .residual(body: [.conv(dyn("b", 96, 96, kernel: 3, stride: 1)),
                                 .batchNorm(BatchNormSpec(name: "b.bn", channels: 96))], shortcut: []),
                .activation(.relu),
                .conv(dyn("c", 96, 64, kernel: 3, stride: 2)), .activation(.relu),
                .conv(dyn("d", 64, 32, kernel: 1, stride: 1)),
                .globalAvgPool, .linear(LinearSpec(name: "fc", inFeatures: 32, outFeatures: 3)),
            ])
        try d.validate()
        let p = NaiveModel.randomParameters(d, seed: 5)
        let m = try Model(description: d, parameters: p)
        XCTAssertTrue(m.readsBanksOncePerBatch)
        XCTAssertEqual(m.sliceSize(batch: 5), 5)
        let x = randomTensor([5, 3, 4, 4], seed: 6)
        let trace = m.forward(x)
        let ref = NaiveModel.forward(d, p, x)
        let scale = max(1, ref.logits.data.map { abs($0) }.max()!)
        XCTAssertLessThan(trace.logits.maxAbsDifference(ref.logits) / scale, 2e-4)
        for s in 0..<5 {
            let one = m.forward(Naive.sample(x, s))
            XCTAssertLessThan(Naive.sample(trace.logits, s).maxAbsDifference(one.logits), 1e-5)
        }
        // The families keep their depth-first slices.
        XCTAssertFalse(try Model(description: Families.dycnn(widths: [4, 8, 8]),
                                 parameters: NaiveModel.randomParameters(Families.dycnn(widths: [4, 8, 8]), seed: 1)).readsBanksOncePerBatch)
    }
}
