import XCTest
@testable import DyConvEngine

/// τ is bounded where it enters (the file, the caller's options), and the routing, entropy,
/// prediction and top-k are defined for every value the arithmetic can produce: ±∞ logits,
/// NaN from extreme-but-finite weights (issue 8, item 5). Nothing traps.
final class NonFiniteTests: CheckpointTestCase {
    func small(temperature: Float) -> ModelDescription {
        var d = CheckpointTestSupport.smallDescription()
        guard case .conv(var c) = d.layers[3] else { fatalError("layer 3 is block.conv") }
        c.attention!.temperature = temperature
        d.layers[3] = .conv(c)
        return d
    }

    /// Oracle: a validation error naming the layer, for every τ outside `Limits.temperature`.
    func testTrainedTemperatureOutsideTheRangeIsRefused() throws {
        for tau: Float in [Float(bitPattern: 1), Float("1e-39")!, 0, -1, .nan, .infinity, 5e-5, 2e5] {
            XCTAssertThrowsError(try small(temperature: tau).validate(), "τ \(tau)") {
                XCTAssertTrue("\($0)".contains("block.conv") && "\($0)".contains("temperature"), "\($0)")
            }
        }
        for tau in [Limits.temperature.lowerBound, 1, Limits.temperature.upperBound] {
            XCTAssertNoThrow(try small(temperature: tau).validate())
        }
        // From a file: one invalidArchitecture line.
        let valid = path("valid.safetensors")
        try CheckpointTestSupport.checkpoint().write(path: valid)
        var file = try SafetensorsFile.read(path: valid)
        file.metadata["dyconv.architecture"] = small(temperature: Float(bitPattern: 1)).jsonString()   // 1.4e-45
        let bad = path("tau.safetensors")
        try file.write(path: bad)
        assertError(.invalidArchitecture, file: bad, contains: ["block.conv", "temperature"]) { _ = try Checkpoint.read(path: bad) }
    }

    func testForwardOptionsValidationNamesTheBadValueAndLayer() throws {
        let d = CheckpointTestSupport.smallDescription()
        let m = try Model(description: d, parameters: NaiveModel.randomParameters(d, seed: 1))
        XCTAssertNoThrow(try ForwardOptions(temperature: 30, layerTemperatures: ["res.conv": 1e-4]).validate(for: m))
        func message(_ o: ForwardOptions) -> String {
            do { try o.validate(for: m); return "" } catch { return error.message }
        }
        XCTAssertTrue(message(ForwardOptions(temperature: Float("1e-39")!)).contains("τ 1e-39 is out of range"))
        XCTAssertTrue(message(ForwardOptions(temperature: .nan)).contains("out of range"))
        XCTAssertTrue(message(ForwardOptions(layerTemperatures: ["block.conv": Float("1e-40")!])).contains("layer 'block.conv'"))
        XCTAssertTrue(message(ForwardOptions(layerTemperatures: ["nope": 1])).contains("'nope'"))
        XCTAssertTrue(message(ForwardOptions(layerTemperatures: ["nope": 1])).contains("'block.conv'"))
    }

    /// Oracle: the limit of softmax(z/τ) — uniform over the +∞ entries (one-hot for one).
    func testSoftmaxAndSigmoidOfInfiniteAndHugeLogits() {
        let inf = Float.infinity
        let cases: [(row: [Float], tau: Float, expected: [Float])] = [
            ([inf, 1, inf, -inf], 1, [0.5, 0, 0.5, 0]),
            ([3e38, -3e38, 0, 1], 1e-4, [1, 0, 0, 0]),           // 3e38/1e-4 overflows to +∞
            ([-inf, -inf, -inf, -inf], 1, [0.25, 0.25, 0.25, 0.25]),
            ([0, 0, 0, 0], 1e-4, [0.25, 0.25, 0.25, 0.25]),
        ]
        for c in cases {
            var row = c.row
            softmaxRows(&row, rows: 1, cols: 4, temperature: c.tau)
            XCTAssertEqual(row, c.expected, "\(c.row) τ \(c.tau)")
        }
        // τ below the range (callers validate it) is clamped: saturated, but never NaN.
        var tiny: [Float] = [0, 2, 3, 4]
        softmaxRows(&tiny, rows: 1, cols: 4, temperature: Float(bitPattern: 1))
        XCTAssertFalse(tiny.contains { $0.isNaN })
        XCTAssertEqual(tiny.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(tiny[0], 0)
        var gates: [Float] = [inf, -inf, 3e38, -3e38, 0]
        sigmoid(&gates, count: 5, temperature: 1e-4)
        XCTAssertEqual(gates, [1, 0, 1, 0, 0.5])
        var nan: [Float] = [.nan, 1, inf, 0]
        softmaxRows(&nan, rows: 1, cols: 4)
        XCTAssertTrue(nan.allSatisfy(\.isNaN), "a NaN logit gives a NaN row, not a made-up π")
    }

    func testEntropyOfDegenerateRows() {
        XCTAssertEqual(normalizedEntropy([0, 1, 0, 0] as [Float]), 0)
        XCTAssertEqual(normalizedEntropy([Float.infinity, 0, .infinity, 0]), 0.5, accuracy: 1e-6)
        XCTAssertEqual(normalizedEntropy([0, 0, 0] as [Float]), 1)
        XCTAssertEqual(normalizedEntropy([0.3] as [Float]), 1)
        XCTAssertTrue(normalizedEntropy([Float.nan, 1]).isNaN)
    }

    /// Oracle: argmax and top-k with NaN ranked below every number, exactly as written.
    func testPredictionAndTopKWithNaN() {
        let p = Tensor(shape: [1, 4], data: [.nan, 0.2, 0.7, .nan])
        let t = ForwardTrace(layers: [], logits: p, probabilities: p)
        XCTAssertEqual(t.prediction(sample: 0), 2)
        XCTAssertEqual(t.topK(sample: 0, k: 4).map(\.index), [2, 1, 0, 3])
        XCTAssertEqual(t.topK(sample: 0, k: -1).count, 0)
    }

    /// A BatchNorm running mean of −3e38 (finite, so the file is valid) drives activations to
    /// ±∞ and NaN: the forward pass, argmax and top-k run through without a trap.
    func testExtremeButFiniteWeightsDoNotTrap() throws {
        let d = CheckpointTestSupport.smallDescription()
        var p = NaiveModel.randomParameters(d, seed: 1)
        p["stem.bn.running_mean"] = Tensor(shape: [8], repeating: -3e38)
        p["stem.bn.running_var"] = Tensor(shape: [8], repeating: 0)
        let m = try Model(description: d, parameters: p)
        let x = randomTensor([3, 3, 8, 8], seed: 2)
        for tau: Float? in [nil, Limits.temperature.lowerBound, Limits.temperature.upperBound] {
            for mode in AggregationMode.allCases where mode != .shuffleAcross {
                let t = m.forward(x, options: ForwardOptions(temperature: tau, mode: mode))
                for s in 0..<3 {
                    XCTAssertTrue((0..<5).contains(t.prediction(sample: s)))
                    XCTAssertEqual(t.topK(sample: s, k: 5).count, 5)
                }
                for l in t.layers { XCTAssertEqual(l.entropy.count, 3) }
            }
        }
    }
}
