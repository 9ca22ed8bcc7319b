import XCTest
@testable import DyConvEngine

/// The kernel signatures the engine shares with the trainer (pointer + counts, out of place,
/// optional outputs), each against a naive loop.
final class SharedKernelTests: XCTestCase {
    /// Max pooling of a batch passed as N·C channels, with arg-max: values and indices against
    /// a naive scan that keeps the first maximum of each window.
    func testMaxPoolArgmaxMatchesNaiveLoop() {
        var x = randomTensor([2, 3, 7, 6], seed: 21)
        x.data[5] = x.data[4]   // a tie: the first position wins
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1)] {
            let spec = PoolSpec(kernel: k, stride: s, padding: p)
            let ho = (7 + 2 * p - k) / s + 1, wo = (6 + 2 * p - k) / s + 1
            var y = [Float](repeating: 0, count: 6 * ho * wo)
            var arg = [Int32](repeating: -1, count: 6 * ho * wo)
            x.data.withUnsafeBufferPointer { xp in
                maxPoolSample(xp.baseAddress!, channels: 6, height: 7, width: 6, pool: spec, y: &y, argmax: &arg)
            }
            for plane in 0..<6 {
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var best = -Float.infinity, index = -1
                        for ih in (oh * s - p)..<(oh * s - p + k) where ih >= 0 && ih < 7 {
                            for iw in (ow * s - p)..<(ow * s - p + k) where iw >= 0 && iw < 6 {
                                let v = x.data[plane * 42 + ih * 6 + iw]
                                if index < 0 || v > best { best = v; index = ih * 6 + iw }
                            }
                        }
                        let o = (plane * ho + oh) * wo + ow
                        XCTAssertEqual(y[o], best, "k\(k) s\(s) p\(p) output \(o)")
                        XCTAssertEqual(Int(arg[o]), index, "k\(k) s\(s) p\(p) output \(o)")
                    }
                }
            }
            // Without arg-max: the same values.
            var plain = [Float](repeating: 0, count: y.count)
            x.data.withUnsafeBufferPointer { xp in
                maxPoolSample(xp.baseAddress!, channels: 6, height: 7, width: 6, pool: spec, y: &plain)
            }
            XCTAssertEqual(plain, y)
        }
    }

    /// Out-of-place activations: the formula per value, and the same result as in place.
    func testActivationsOutOfPlaceMatchFormula() {
        let v: [Float] = (0..<37).map { Float($0) * 0.37 - 7 }   // more than a SIMD width, with a tail
        for kind in [ActivationKind.relu, .relu6, .hardswish] {
            var y = [Float](repeating: .nan, count: v.count)
            v.withUnsafeBufferPointer { Activation.apply(kind, $0.baseAddress!, &y, count: v.count) }
            var inPlace = v
            inPlace.withUnsafeMutableBufferPointer { Activation.apply(kind, $0.baseAddress!, count: $0.count) }
            XCTAssertEqual(y, inPlace, "\(kind)")
            for (i, x) in v.enumerated() {
                let expected: Float
                switch kind {
                case .relu: expected = x > 0 ? x : 0
                case .relu6: expected = x < 0 ? 0 : (x > 6 ? 6 : x)
                case .hardswish: expected = x <= -3 ? 0 : (x >= 3 ? x : x * (x + 3) / 6)
                }
                XCTAssertEqual(y[i], expected, accuracy: 1e-5, "\(kind)(\(x))")
            }
        }
    }

    /// The attention branch on pooled features against a naive loop in Double, both routings.
    func testAttentionBranchMatchesNaiveLoop() {
        let (n, c, hidden, k) = (3, 5, 4, 3)
        let g = randomTensor([n, c], seed: 31).data
        let fc1 = randomTensor([hidden, c], seed: 32).data, b1 = randomTensor([hidden], seed: 33).data
        let fc2 = randomTensor([k, hidden], seed: 34).data, b2 = randomTensor([k], seed: 35).data
        let tau: Float = 0.7
        for routing in [Routing.softmax, .sigmoid] {
            var h = [Float](repeating: 0, count: n * hidden), z = [Float](repeating: 0, count: n * k)
            var pi = z
            attentionBranch(pooled: g, batch: n, channels: c, hidden: hidden, kernels: k, fc1: fc1, fc1Bias: b1,
                            fc2: fc2, fc2Bias: b2, routing: routing, temperature: tau,
                            hiddenActivations: &h, logits: &z, attention: &pi)
            for s in 0..<n {
                var hr = [Double](repeating: 0, count: hidden), zr = [Double](repeating: 0, count: k)
                for j in 0..<hidden {
                    var a = Double(b1[j])
                    for i in 0..<c { a += Double(g[s * c + i]) * Double(fc1[j * c + i]) }
                    hr[j] = max(a, 0)
                    XCTAssertEqual(Double(h[s * hidden + j]), hr[j], accuracy: 1e-5)
                }
                for j in 0..<k {
                    var a = Double(b2[j])
                    for i in 0..<hidden { a += hr[i] * Double(fc2[j * hidden + i]) }
                    zr[j] = a
                    XCTAssertEqual(Double(z[s * k + j]), a, accuracy: 1e-5)
                }
                let e = zr.map { exp($0 / Double(tau)) }
                for j in 0..<k {
                    let expected = routing == .softmax ? e[j] / e.reduce(0, +) : 1 / (1 + exp(-zr[j] / Double(tau)))
                    XCTAssertEqual(Double(pi[s * k + j]), expected, accuracy: 1e-5, "\(routing) sample \(s)")
                }
            }
        }
    }

    /// An empty product (K = 0) leaves beta·C, as BLAS defines it.
    func testSgemmWithEmptyProductScalesC() {
        let a: [Float] = [1], b: [Float] = [1]
        for beta: Float in [0, 0.5, 1] {
            var c: [Float] = [2, -4, 6, 8]
            sgemm(m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, beta: beta, c: &c, ldc: 2)
            XCTAssertEqual(c, [2, -4, 6, 8].map { $0 * beta }, "beta \(beta)")
        }
    }

    /// Inference BatchNorm as scale and shift: γ·(x − mean)/√(var + ε) + β for a sample x, and
    /// a negative running variance counted as 0.
    func testBatchNormInferenceMatchesFormula() {
        let (gamma, beta, mean, eps): (Float, Float, Float, Float) = (1.5, -0.25, 0.75, 1e-5)
        for variance: Float in [0.5, 0, -2] {
            let (scale, shift) = batchNormInference(gamma: gamma, beta: beta, mean: mean, variance: variance, eps: eps)
            let x: Float = 2.5
            let expected = Double(gamma) * Double(x - mean) / (Double(max(variance, 0)) + Double(eps)).squareRoot()
                + Double(beta)
            XCTAssertEqual(Double(x * scale + shift), expected, accuracy: 1e-3 * max(1, abs(expected)), "var \(variance)")
        }
    }
}
