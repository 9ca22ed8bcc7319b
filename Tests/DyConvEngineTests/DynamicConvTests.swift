import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// DynamicConv2d: linearity, the simplex, temperature limits, aggregation modes.
final class DynamicConvTests: XCTestCase {
    /// A one-conv model (plus GAP + linear so it is a classifier).
    func model(routing: Routing = .softmax, inC: Int = 4, outC: Int = 6, groups: Int = 1, bias: Bool = true,
               fc1Bias: Bool = true, stride: Int = 1, k: Int = 4, temperature: Float = 1, seed: UInt64 = 1) -> (ModelDescription, [String: Tensor]) {
        let conv = ConvSpec(name: "dyn", inChannels: inC, outChannels: outC, kernel: 3, stride: stride, padding: 1,
                            groups: groups, bias: bias, routing: routing, kernels: k,
                            attention: AttentionSpec(hidden: 3, fc1Bias: fc1Bias, temperature: temperature))
        let d = Self.oneConvModel(conv, height: 7, width: 6)
        return (d, NaiveModel.randomParameters(d, seed: seed))
    }

    /// A classifier of one convolution `conv` (plus GAP + linear) on `height × width` inputs.
    static func oneConvModel(_ conv: ConvSpec, height: Int, width: Int) -> ModelDescription {
        let inC = conv.inChannels
        return ModelDescription(family: "test", input: InputSpec(channels: inC, height: height, width: width),
                                normalization: Normalization(mean: Array(repeating: 0, count: inC),
                                                             std: Array(repeating: 1, count: inC)),
                                classes: ["a", "b"],
                                layers: [.conv(conv), .globalAvgPool,
                                         .linear(LinearSpec(name: "fc", inFeatures: conv.outChannels, outFeatures: 2))])
    }

    func layer(_ d: ModelDescription, _ p: [String: Tensor]) -> DynamicConv2d { Self.layer(d, p) }

    /// The layer "dyn" of a one-convolution model with parameters `p`.
    static func layer(_ d: ModelDescription, _ p: [String: Tensor]) -> DynamicConv2d {
        guard case .conv(let c) = d.layers[0] else { fatalError() }
        return DynamicConv2d(spec: c, weight: p["dyn.weight"]!.data, bias: p["dyn.bias"]?.data,
                             fc1Weight: p["dyn.attention.fc1.weight"]!.data, fc1Bias: p["dyn.attention.fc1.bias"]?.data,
                             fc2Weight: p["dyn.attention.fc2.weight"]!.data, fc2Bias: p["dyn.attention.fc2.bias"]!.data)
    }

    /// y = conv(x, Σπ_k W_k) + Σπ_k b_k equals Σ_k π_k (conv(x, W_k) + b_k), per sample of a batch,
    /// for plain, grouped and depthwise convolutions and both routings.
    func testDynamicConvEqualsAttentionWeightedSumOfKConvolutions() {
        // inC ≥ 8 ungrouped runs as implicit GEMM (checked below), the others through im2col.
        for (routing, groups, inC, outC, stride) in [(Routing.softmax, 1, 4, 6, 1), (.softmax, 2, 4, 6, 2),
                                                      (.softmax, 4, 4, 4, 1), (.softmax, 4, 4, 8, 2), (.sigmoid, 1, 4, 6, 1),
                                                      (.softmax, 1, 8, 6, 1), (.softmax, 1, 12, 5, 2), (.sigmoid, 1, 8, 6, 2)] {
            let (d, p) = model(routing: routing, inC: inC, outC: outC, groups: groups, stride: stride)
            let x = randomTensor([3, inC, 7, 6], seed: 42)
            var l = layer(d, p)
            l.prepareImplicitGemm()
            switch l.convPath(l.geometry(height: 7, width: 6)) {
            case .same: XCTAssertTrue(groups == 1 && inC >= 8 && stride == 1, "path of \(inC) channels")
            case .implicit: XCTAssertTrue(groups == 1 && inC >= 8 && stride == 2, "path of \(inC) channels")
            case .columns: XCTAssertFalse(groups == 1 && inC >= 8, "path of \(inC) channels")
            }
            let (_, pi) = l.attention(x, temperature: 1)
            let y = l.convolve(x, coefficients: pi)
            for s in 0..<3 {
                let piRef = Naive.attention(x, sample: s, prefix: "dyn", params: p, routing: routing, temperature: 1)
                for j in 0..<4 { XCTAssertEqual(pi[s * 4 + j], piRef[j], accuracy: 1e-5) }
                var sum: Tensor? = nil
                for k in 0..<4 {
                    let yk = Naive.conv(Naive.sample(x, s), Naive.kernel(p["dyn.weight"]!, k),
                                        bias: Naive.kernel(p["dyn.bias"]!, k).data, stride: stride, padding: 1, groups: groups)
                    if sum == nil { sum = Tensor.zeros(yk.shape) }
                    for i in 0..<yk.count { sum!.data[i] += piRef[k] * yk.data[i] }
                }
                XCTAssertLessThan(Naive.sample(y, s).maxAbsDifference(sum!), 1e-4, "\(routing) groups \(groups) sample \(s)")
            }
        }
    }

    /// The kernel mix Σ_k a_k W_k for every K from 1 to 9 (passes of up to four banks).
    func testKernelMixMatchesNaiveSum() {
        for k in 1...9 {
            let count = 37
            let w = randomTensor([k, count], seed: UInt64(k)).data
            let a = randomTensor([k], seed: UInt64(50 + k)).data
            var mixed = [Float](repeating: .nan, count: count)
            w.withUnsafeBufferPointer { wp in
                a.withUnsafeBufferPointer { ap in
                    Vec.mix(ap.baseAddress!, kernels: k, bank: wp.baseAddress!, count: count, into: &mixed)
                }
            }
            // The same mix in two slices of every bank (as a single sample mixes on two cores).
            var sliced = [Float](repeating: .nan, count: count)
            w.withUnsafeBufferPointer { wp in
                a.withUnsafeBufferPointer { ap in
                    sliced.withUnsafeMutableBufferPointer { sp in
                        for r in [0..<20, 20..<count] {
                            Vec.mix(ap.baseAddress!, kernels: k, bank: wp.baseAddress! + r.lowerBound, count: r.count,
                                    bankStride: count, into: sp.baseAddress! + r.lowerBound)
                        }
                    }
                }
            }
            for i in 0..<count {
                let ref = (0..<k).reduce(Float(0)) { $0 + a[$1] * w[$1 * count + i] }
                XCTAssertEqual(mixed[i], ref, accuracy: 1e-5, "K = \(k), i = \(i)")
                XCTAssertEqual(sliced[i], ref, accuracy: 1e-5, "K = \(k), i = \(i), sliced")
            }
        }
    }

    func testAttentionLiesOnTheSimplex() {
        let (d, p) = model(seed: 3)
        let x = randomTensor([5, 4, 7, 6], seed: 8, scale: 3)
        for tau: Float in [0.1, 0.5, 1, 4, 30] {
            let (_, pi) = layer(d, p).attention(x, temperature: tau)
            for s in 0..<5 {
                let row = pi[(s * 4)..<(s * 4 + 4)]
                XCTAssertTrue(row.allSatisfy { $0 >= 0 })
                XCTAssertEqual(Double(row.reduce(0, +)), 1, accuracy: 1e-6)
            }
        }
    }

    func testTemperatureLimits() {
        let (d, p) = model(seed: 4)
        let x = randomTensor([3, 4, 7, 6], seed: 9, scale: 2)
        let l = layer(d, p)
        let (z, flat) = l.attention(x, temperature: 1e5)
        for v in flat { XCTAssertEqual(v, 0.25, accuracy: 1e-3) }
        let (_, sharp) = l.attention(x, temperature: 1e-4)
        for s in 0..<3 {
            let row = Array(z[(s * 4)..<(s * 4 + 4)])
            let arg = row.indices.max { row[$0] < row[$1] }!
            XCTAssertEqual(sharp[s * 4 + arg], 1, accuracy: 1e-4)
            XCTAssertEqual(normalizedEntropy(sharp[(s * 4)..<(s * 4 + 4)]), 0, accuracy: 1e-3)
            XCTAssertEqual(normalizedEntropy(flat[(s * 4)..<(s * 4 + 4)]), 1, accuracy: 1e-3)
        }
    }

    func testAggregationModes() {
        var rng = SeededGenerator(seed: 5)
        let n = 6, k = 4
        var pi = [Float](repeating: 0, count: n * k)
        for s in 0..<n {
            let raw = (0..<k).map { _ in rng.nextUnitFloat() + 0.01 }
            let sum = raw.reduce(0, +)
            for j in 0..<k { pi[s * k + j] = raw[j] / sum }
        }
        let avg = aggregationCoefficients(pi, batch: n, kernels: k, mode: .average, seed: 1, layerIndex: 0)
        XCTAssertTrue(avg.allSatisfy { abs($0 - 0.25) < 1e-6 })

        let mx = aggregationCoefficients(pi, batch: n, kernels: k, mode: .max, seed: 1, layerIndex: 0)
        for s in 0..<n {
            let row = Array(pi[(s * k)..<(s * k + k)])
            let arg = row.indices.max { row[$0] < row[$1] }!
            for j in 0..<k { XCTAssertEqual(mx[s * k + j], j == arg ? 1 : 0, accuracy: 1e-6) }
        }

        let shuffled = aggregationCoefficients(pi, batch: n, kernels: k, mode: .shuffleImage, seed: 1, layerIndex: 2)
        XCTAssertEqual(shuffled, aggregationCoefficients(pi, batch: n, kernels: k, mode: .shuffleImage, seed: 1, layerIndex: 2))
        XCTAssertNotEqual(shuffled, aggregationCoefficients(pi, batch: n, kernels: k, mode: .shuffleImage, seed: 2, layerIndex: 2))
        for s in 0..<n {
            let a = Array(shuffled[(s * k)..<(s * k + k)]), b = Array(pi[(s * k)..<(s * k + k)])
            XCTAssertEqual(a.sorted(), b.sorted(), "a permutation of the sample's own π")
            for j in 0..<k { XCTAssertNotEqual(a[j], b[j], "no kernel keeps its own π") }
        }

        // shuffle-across applies the partner's π as given (the model computes it in a clean pass).
        let partner = Array(pi.reversed())
        XCTAssertEqual(aggregationCoefficients(pi, batch: n, kernels: k, mode: .shuffleAcross, seed: 1, layerIndex: 0,
                                               partner: partner), partner)
    }

    /// The model applies the mode: `average` equals the model with all fc2 logits equal.
    func testModelAppliesModesAndTemperatureOverride() throws {
        let (d, p) = model(seed: 6)
        let m = try Model(description: d, parameters: p)
        let x = randomTensor([3, 4, 7, 6], seed: 10)
        var flat = p
        flat["dyn.attention.fc2.weight"] = .zeros([4, 3])
        flat["dyn.attention.fc2.bias"] = .zeros([4])
        let uniform = try Model(description: d, parameters: flat).forward(x)
        let avg = m.forward(x, options: ForwardOptions(mode: .average))
        XCTAssertLessThan(avg.logits.maxAbsDifference(uniform.logits), 1e-5)
        XCTAssertEqual(avg.layers[0].applied.count, 12)
        for a in avg.layers[0].applied { XCTAssertEqual(a, 0.25, accuracy: 1e-6) }

        let t1 = m.forward(x), t30 = m.forward(x, options: ForwardOptions(temperature: 30))
        XCTAssertEqual(t30.layers[0].temperature, 30)
        XCTAssertGreaterThan(t30.layers[0].entropy.min()!, t1.layers[0].entropy.max()! - 1e-6)
        let perLayer = m.forward(x, options: ForwardOptions(temperature: 2, layerTemperatures: ["dyn": 30]))
        XCTAssertEqual(perLayer.layers[0].attention, t30.layers[0].attention)
    }
}

/// The aggregation rule for CondConv (sigmoid gates r, Σr free): `average` and `max` keep each
/// image's total gate Σr, so average is Σr/K (not 1/K) and max puts Σr on the largest gate (not 1).
final class CondConvAggregationTests: XCTestCase {
    /// Oracle: the rule written out per row, on gates that do not sum to 1.
    func testAverageAndMaxKeepTheTotalGate() {
        let r: [Float] = [0.9, 0.8, 0.1, 0.6,    // Σr = 2.4, largest at 0
                          0.05, 0.2, 0.7, 0.7]   // Σr = 1.65, tie: the first of the largest (2)
        let avg = aggregationCoefficients(r, batch: 2, kernels: 4, mode: .average, seed: 0, layerIndex: 0)
        let mx = aggregationCoefficients(r, batch: 2, kernels: 4, mode: .max, seed: 0, layerIndex: 0)
        for (a, e) in zip(avg, [Float](repeating: 0.6, count: 4) + [Float](repeating: 0.4125, count: 4)) {
            XCTAssertEqual(a, e, accuracy: 1e-6)
        }
        for (a, e) in zip(mx, [2.4, 0, 0, 0, 0, 0, 1.65, 0] as [Float]) { XCTAssertEqual(a, e, accuracy: 1e-6) }
    }

    func testCoefficientsAreLabelledRForCondConv() {
        XCTAssertEqual(Routing.sigmoid.coefficientSymbol(), "r")
        XCTAssertEqual(Routing.softmax.coefficientSymbol(), "π")
        XCTAssertEqual(Routing.softmax.coefficientSymbol(ascii: true), "pi")
    }

    /// The same rule through a CondConv model: `average` equals a model whose every image has
    /// the same gates Σr/K, i.e. the mixed kernel is (Σr/K)·Σ_k W_k.
    func testCondConvModelAppliesTheRule() throws {
        let d = Families.dycnn(widths: [4, 8, 8], routing: .sigmoid)
        let m = try Model(description: d, parameters: NaiveModel.randomParameters(d, seed: 2))
        let x = randomTensor([3, 1, 28, 28], seed: 3)
        for mode in [AggregationMode.average, .max] {
            let t = m.forward(x, options: ForwardOptions(mode: mode))
            for l in t.layers {
                for s in 0..<3 {
                    let r = Array(l.attention(sample: s)), a = Array(l.applied(sample: s))
                    let total = r.reduce(0, +)
                    XCTAssertNotEqual(total, 1, accuracy: 1e-3, "CondConv gates need not sum to 1")
                    XCTAssertEqual(a.reduce(0, +), total, accuracy: 1e-5, "\(mode) keeps Σr")
                    if mode == .average { for v in a { XCTAssertEqual(v, total / Float(l.kernels), accuracy: 1e-6) } }
                    else { XCTAssertEqual(a.filter { $0 != 0 }.count, 1) }
                }
            }
        }
    }
}
