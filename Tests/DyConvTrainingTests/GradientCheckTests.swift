import XCTest
import DyConvEngine
@testable import DyConvTraining

/// A single-worker graph over random parameters, with a scalar loss for finite differences.
///
/// The loss is `Σ rᵢ·yᵢ` with fixed random `r` (or the cross-entropy of the logits), computed in
/// Double; the analytic gradient comes from one backward pass with `dy = r`.
final class GradientHarness {
    let description: ModelDescription
    let layout: ParameterLayout
    let parameters: FloatBuffer
    let buffers: FloatBuffer
    let gradients: FloatBuffer
    let graph: TrainingGraph
    let batch: Int
    var input: [Float]
    let projection: [Float]
    let labels: [Int32]
    let useCrossEntropy: Bool

    init(_ description: ModelDescription, batch: Int, seed: UInt64, training: Bool = true,
         temperature: Float = 1, crossEntropy: Bool = false, inputScale: Float = 1, fusion: Bool = true) {
        self.description = description
        layout = ParameterLayout(description)
        parameters = FloatBuffer(count: layout.parameterCount)
        buffers = FloatBuffer(count: layout.bufferCount)
        gradients = FloatBuffer(count: layout.parameterCount)
        var rng = SeededGenerator(seed: seed, stream: 0)
        func normal() -> Float {
            let u1 = max(Float(rng.next() >> 40) / Float(1 << 24), 1e-7)
            let u2 = Float(rng.next() >> 40) / Float(1 << 24)
            return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
        }
        for e in layout.parameters {
            for i in 0..<e.count {
                var v = normal() * 0.5
                if e.role == .normWeight { v = 1 + 0.3 * v }
                parameters.pointer[e.offset + i] = v
            }
        }
        for e in layout.buffers {
            for i in 0..<e.count {
                buffers.pointer[e.offset + i] = e.role == .runningVar ? 0.5 + abs(normal()) : 0.3 * normal()
            }
        }
        let shared = SharedGraphState(workers: 1)
        let storage = StoragePointers(parameters: parameters.pointer, buffers: buffers.pointer,
                                      gradients: gradients.pointer)
        graph = TrainingGraph(description: description, layout: layout, storage: storage, maxBatch: batch,
                              context: GraphContext(worker: 0, shared: shared), fusion: fusion)
        graph.context.training = training
        graph.context.temperature = temperature
        graph.context.totalBatch = batch
        self.batch = batch
        input = (0..<(batch * graph.inputSize)).map { _ in normal() * inputScale }
        projection = (0..<(batch * graph.outputSize)).map { _ in normal() }
        labels = (0..<batch).map { _ in Int32(rng.below(max(1, description.classes.count))) }
        useCrossEntropy = crossEntropy
    }

    /// The scalar loss at the current parameters and input.
    func loss() -> Double {
        let y = input.withUnsafeBufferPointer { graph.forward($0.baseAddress!, n: batch) }
        if useCrossEntropy {
            return labels.withUnsafeBufferPointer {
                CrossEntropy.evaluate(y, labels: $0.baseAddress!, n: batch, classes: graph.outputSize,
                                      scale: 1, grad: nil).loss
            }
        }
        var total = 0.0
        for i in 0..<(batch * graph.outputSize) { total += Double(y[i]) * Double(projection[i]) }
        return total
    }

    /// Analytic gradients: (parameters, input).
    func analytic() -> (parameters: [Float], input: [Float]) {
        gradients.zero()
        let y = input.withUnsafeBufferPointer { graph.forward($0.baseAddress!, n: batch) }
        var dy = projection
        if useCrossEntropy {
            labels.withUnsafeBufferPointer { l in
                dy.withUnsafeMutableBufferPointer { d in
                    _ = CrossEntropy.evaluate(y, labels: l.baseAddress!, n: batch, classes: graph.outputSize,
                                              scale: 1, grad: d.baseAddress!)
                }
            }
        }
        let dx = input.withUnsafeBufferPointer { x in
            dy.withUnsafeBufferPointer { d in
                graph.backwardWithInputGradient(x.baseAddress!, dLogits: d.baseAddress!, n: batch)
            }
        }
        return (gradients.array, Array(UnsafeBufferPointer(start: dx, count: batch * graph.inputSize)))
    }

    /// Central difference of the loss with respect to parameter `i` (or input element `i`).
    func numeric(parameter i: Int, eps: Float) -> Double {
        let p = parameters.pointer
        let saved = p[i]
        p[i] = saved + eps
        let up = loss()
        p[i] = saved - eps
        let down = loss()
        p[i] = saved
        return (up - down) / Double(2 * eps)
    }

    func numeric(input i: Int, eps: Float) -> Double {
        let saved = input[i]
        input[i] = saved + eps
        let up = loss()
        input[i] = saved - eps
        let down = loss()
        input[i] = saved
        return (up - down) / Double(2 * eps)
    }

    /// Compares analytic and numeric gradients of every tensor (up to `samples` elements each)
    /// and of the input. Fails the test with the worst mismatch.
    func check(samples: Int = 24, eps: Float = 1e-3, tolerance: Double = 2e-2, checkInput: Bool = true,
               file: StaticString = #filePath, line: UInt = #line) {
        let (gp, gx) = analytic()
        var rng = SeededGenerator(seed: 99, stream: 0)
        var checked = 0
        // An element passes when the central difference agrees at one of three step sizes:
        // Float rounding spoils tiny steps, ReLU/max kinks spoil large ones, while a wrong
        // gradient disagrees at all of them.
        func compare(_ name: String, analytic a: [Float], numeric: (Int, Float) -> Double, indices: [Int]) {
            let scale = max(a.map { Double(abs($0)) }.max() ?? 0, 1e-3)
            for i in indices {
                checked += 1
                var tried: [Double] = []
                var ok = false
                for step in [eps, eps * 10, eps / 10] {
                    let n = numeric(i, step)
                    tried.append(n)
                    if abs(Double(a[i]) - n) <= tolerance * max(abs(n), scale) { ok = true; break }
                }
                if !ok {
                    XCTFail("\(name)[\(i)]: analytic \(a[i]) vs numeric \(tried) (scale \(scale))", file: file, line: line)
                    return
                }
            }
        }
        func pick(_ count: Int) -> [Int] {
            if count <= samples { return Array(0..<count) }
            return (0..<samples).map { _ in rng.below(count) }
        }
        for e in layout.parameters {
            let slice = Array(gp[e.offset..<(e.offset + e.count)])
            let nonzero = slice.contains { $0 != 0 }
            XCTAssertTrue(nonzero || e.count == 0, "\(e.name): gradient is identically zero", file: file, line: line)
            compare(e.name, analytic: slice, numeric: { self.numeric(parameter: e.offset + $0, eps: $1) },
                    indices: pick(e.count))
        }
        if checkInput {
            compare("input", analytic: gx, numeric: { self.numeric(input: $0, eps: $1) }, indices: pick(gx.count))
        }
        XCTAssertGreaterThan(checked, 0, file: file, line: line)
    }
}

/// A description for tests: any input shape, identity normalisation.
func testDescription(_ layers: [LayerSpec], input: (Int, Int, Int), classes: Int = 3) -> ModelDescription {
    let d = ModelDescription(family: "test", input: InputSpec(channels: input.0, height: input.1, width: input.2),
                             normalization: Normalization(mean: [Float](repeating: 0, count: input.0),
                                                          std: [Float](repeating: 1, count: input.0)),
                             classes: (0..<classes).map { "c\($0)" }, layers: layers)
    return d
}

func dynamicConv(_ name: String, _ inC: Int, _ outC: Int, kernel: Int = 3, stride: Int = 1, padding: Int = 1,
                 groups: Int = 1, bias: Bool = false, routing: Routing = .softmax, kernels: Int = 3,
                 hidden: Int = 4, fc1Bias: Bool = false) -> LayerSpec {
    .conv(ConvSpec(name: name, inChannels: inC, outChannels: outC, kernel: kernel, stride: stride, padding: padding,
                   groups: groups, bias: bias, routing: routing, kernels: kernels,
                   attention: AttentionSpec(hidden: hidden, fc1Bias: fc1Bias, temperature: 1)))
}

final class GradientCheckTests: XCTestCase {
    func testStaticConvolutions() throws {
        let cases: [(ConvSpec, (Int, Int, Int))] = [
            (ConvSpec(name: "c", inChannels: 2, outChannels: 3, kernel: 3, stride: 1, padding: 1), (2, 5, 6)),
            (ConvSpec(name: "c", inChannels: 2, outChannels: 4, kernel: 3, stride: 2, padding: 1, bias: true), (2, 7, 6)),
            (ConvSpec(name: "c", inChannels: 4, outChannels: 6, kernel: 3, stride: 1, padding: 0, groups: 2, bias: true), (4, 5, 5)),
            (ConvSpec(name: "c", inChannels: 3, outChannels: 2, kernel: 1, stride: 1, padding: 0), (3, 4, 4)),
            (ConvSpec(name: "c", inChannels: 4, outChannels: 4, kernel: 3, stride: 2, padding: 1, groups: 4), (4, 6, 5)),
        ]
        for (spec, input) in cases {
            let d = testDescription([.conv(spec)], input: input)
            XCTAssertNoThrow(try d.validate())
            GradientHarness(d, batch: 3, seed: 1).check()
        }
    }

    func testStaticConvolutionImplicitPath() {
        // Ungrouped convolutions with ≥ 4 input channels and output planes of ≥ 100 positions.
        for (spec, input) in [(ConvSpec(name: "c", inChannels: 4, outChannels: 3, kernel: 3, padding: 1, bias: true), (4, 10, 11)),
                              (ConvSpec(name: "c", inChannels: 5, outChannels: 2, kernel: 1, padding: 0), (5, 10, 10)),
                              (ConvSpec(name: "c", inChannels: 4, outChannels: 3, kernel: 3, stride: 2, padding: 1), (4, 20, 21))] {
            let d = testDescription([.conv(spec)], input: input)
            let h = GradientHarness(d, batch: 2, seed: 21)
            XCTAssertTrue((h.graph.root.nodes[0] as! ConvNode).usesImplicitGEMM)
            h.check()
        }
    }

    func testStaticConvolutionChunksMatchPerSample() {
        // Many samples of a small map: the chunked path (several samples per GEMM) must agree
        // with finite differences too.
        let spec = ConvSpec(name: "c", inChannels: 2, outChannels: 3, kernel: 3, stride: 1, padding: 1, bias: true)
        let d = testDescription([.conv(spec)], input: (2, 3, 3))
        let h = GradientHarness(d, batch: 9, seed: 2)
        XCTAssertGreaterThan((h.graph.root.nodes[0] as! ConvNode).chunk, 1)
        h.check()
    }

    func testDynamicConvolutionSoftmax() {
        for inChannels in [3, 4] {   // im2col path below 4 input channels, implicit GEMM from 4
            let layers = [dynamicConv("d", inChannels, 4, bias: true, kernels: 3, hidden: 4, fc1Bias: true)]
            let h = GradientHarness(testDescription(layers, input: (inChannels, 5, 5)), batch: 3, seed: 30 + UInt64(inChannels), temperature: 0.7)
            XCTAssertEqual(h.graph.dynamicNodes[0].usesImplicitGEMM, inChannels >= 4)
            h.check()
        }
    }

    func testDynamicConvolutionStridedGroupedHighTemperature() {
        let layers = [dynamicConv("d", 4, 6, stride: 2, groups: 2, kernels: 4, hidden: 3)]
        GradientHarness(testDescription(layers, input: (4, 7, 6)), batch: 2, seed: 4, temperature: 3).check()
    }

    func testDynamicConvolutionPathsAgree() {
        // Implicit-GEMM path (stride-1 same: 1×1, 3×3, 5×5) and im2col path (valid padding).
        // Implicit GEMM (≥ 4 input channels, ungrouped) for any kernel, stride and padding;
        // im2col for grouped convolutions and fewer channels.
        let cases: [(LayerSpec, (Int, Int, Int), implicit: Bool)] = [
            (dynamicConv("d", 4, 5, kernel: 1, padding: 0, bias: true, kernels: 2, hidden: 3), (4, 4, 3), true),
            (dynamicConv("d", 4, 3, kernel: 5, padding: 2, kernels: 3, hidden: 3), (4, 6, 5), true),
            (dynamicConv("d", 4, 3, kernel: 3, padding: 0, bias: true, kernels: 3, hidden: 3), (4, 5, 6), true),
            (dynamicConv("d", 4, 3, kernel: 3, stride: 2, padding: 1, kernels: 3, hidden: 3), (4, 7, 6), true),
            (dynamicConv("d", 5, 3, kernel: 3, stride: 3, padding: 1, kernels: 2, hidden: 3), (5, 8, 7), true),
            (dynamicConv("d", 4, 6, kernel: 1, stride: 2, padding: 0, kernels: 2, hidden: 3), (4, 5, 6), true),
            (dynamicConv("d", 4, 3, kernel: 2, stride: 2, padding: 0, bias: true, kernels: 2, hidden: 3), (4, 6, 7), true),
            (dynamicConv("d", 4, 4, kernel: 3, stride: 2, padding: 1, groups: 2, kernels: 2, hidden: 3), (4, 6, 6), false),
            (dynamicConv("d", 3, 3, kernel: 3, stride: 2, padding: 1, kernels: 2, hidden: 3), (3, 6, 6), false),
        ]
        for (layer, input, implicit) in cases {
            let d = testDescription([layer], input: input)
            XCTAssertNoThrow(try d.validate())
            let h = GradientHarness(d, batch: 3, seed: 18, temperature: 0.9)
            XCTAssertEqual(h.graph.dynamicNodes[0].usesImplicitGEMM, implicit)
            h.check()
        }
    }

    func testCondConvSigmoidRouting() {
        let layers = [dynamicConv("d", 4, 3, bias: true, routing: .sigmoid, kernels: 3, hidden: 4)]
        GradientHarness(testDescription(layers, input: (4, 4, 5)), batch: 3, seed: 5, temperature: 1.5).check()
    }

    func testBatchNormTrainingMode() {
        let layers: [LayerSpec] = [.batchNorm(BatchNormSpec(name: "bn", channels: 3))]
        GradientHarness(testDescription(layers, input: (3, 4, 4)), batch: 4, seed: 6).check()
    }

    func testBatchNormFusedWithReLU() {
        // BatchNorm followed by ReLU is executed as one fused node.
        let layers: [LayerSpec] = [.batchNorm(BatchNormSpec(name: "bn", channels: 3)), .activation(.relu)]
        let h = GradientHarness(testDescription(layers, input: (3, 3, 4)), batch: 4, seed: 17)
        XCTAssertEqual(h.graph.root.nodes.count, 1)
        XCTAssertTrue((h.graph.root.nodes[0] as? BatchNormNode)?.fusedReLU == true)
        h.check(samples: 40)
    }

    func testBatchNormEvaluationMode() {
        // Evaluation mode is affine; its forward must use the running statistics.
        let layers: [LayerSpec] = [.batchNorm(BatchNormSpec(name: "bn", channels: 2))]
        let h = GradientHarness(testDescription(layers, input: (2, 2, 2)), batch: 2, seed: 7, training: false)
        let y = h.input.withUnsafeBufferPointer { h.graph.forward($0.baseAddress!, n: 2) }
        let l = h.layout
        let p = h.parameters.pointer, b = h.buffers.pointer
        for s in 0..<2 {
            for c in 0..<2 {
                let gamma = p[l.parameter("bn.weight")!.offset + c], beta = p[l.parameter("bn.bias")!.offset + c]
                let mean = b[l.buffer("bn.running_mean")!.offset + c], v = b[l.buffer("bn.running_var")!.offset + c]
                for i in 0..<4 {
                    let x = h.input[(s * 2 + c) * 4 + i]
                    XCTAssertEqual(y[(s * 2 + c) * 4 + i], gamma * (x - mean) / (v + 1e-5).squareRoot() + beta, accuracy: 1e-5)
                }
            }
        }
    }

    func testBatchNormRunningStatisticsFollowPyTorch() {
        let layers: [LayerSpec] = [.batchNorm(BatchNormSpec(name: "bn", channels: 1))]
        let h = GradientHarness(testDescription(layers, input: (1, 1, 2)), batch: 2, seed: 8)
        h.input = [1, 2, 3, 6]
        let rm = h.buffers.pointer + h.layout.buffer("bn.running_mean")!.offset
        let rv = h.buffers.pointer + h.layout.buffer("bn.running_var")!.offset
        rm[0] = 0; rv[0] = 1
        h.graph.context.updateRunningStatistics = true
        _ = h.loss()
        // mean 3, unbiased var ((4 + 1 + 0 + 9) / 3) = 14/3.
        XCTAssertEqual(rm[0], 0.3, accuracy: 1e-6)
        XCTAssertEqual(rv[0], 0.9 + 0.1 * 14 / 3, accuracy: 1e-5)
    }

    func testActivations() {
        for kind in [ActivationKind.relu, .relu6, .hardswish] {
            let d = testDescription([.activation(kind)], input: (2, 3, 3))
            let h = GradientHarness(d, batch: 2, seed: 9, inputScale: 4)
            // Keep inputs away from the kinks, where finite differences are meaningless.
            for i in h.input.indices {
                for kink: Float in [-3, 0, 3, 6] where abs(h.input[i] - kink) < 0.05 { h.input[i] = kink + 0.1 }
            }
            h.check(samples: 36)
        }
    }

    func testPooling() {
        for layer: LayerSpec in [.maxPool(PoolSpec(kernel: 2, stride: 2)), .maxPool(PoolSpec(kernel: 3, stride: 2, padding: 1)),
                                 .avgPool(PoolSpec(kernel: 3, stride: 2, padding: 1)), .avgPool(PoolSpec(kernel: 2, stride: 1)),
                                 .globalAvgPool] {
            let d = testDescription([layer], input: (2, 5, 6))
            GradientHarness(d, batch: 2, seed: 10).check(samples: 60)
        }
    }

    func testLinearAndCrossEntropy() {
        let d = testDescription([.linear(LinearSpec(name: "fc", inFeatures: 12, outFeatures: 4))], input: (3, 2, 2), classes: 4)
        GradientHarness(d, batch: 3, seed: 11).check()
        GradientHarness(d, batch: 3, seed: 12, crossEntropy: true).check()
        let noBias = testDescription([.linear(LinearSpec(name: "fc", inFeatures: 12, outFeatures: 4, bias: false))], input: (3, 2, 2), classes: 4)
        GradientHarness(noBias, batch: 2, seed: 13, crossEntropy: true).check()
    }

    func testResidualBlocks() {
        let identity: LayerSpec = .residual(body: [dynamicConv("b.conv", 3, 3, kernels: 2, hidden: 2),
                                                   .batchNorm(BatchNormSpec(name: "b.bn", channels: 3))], shortcut: [])
        let projected: LayerSpec = .residual(
            body: [.conv(ConvSpec(name: "p.conv", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1))],
            shortcut: [.conv(ConvSpec(name: "p.down", inChannels: 3, outChannels: 4, kernel: 1, stride: 2, padding: 0)),
                       .batchNorm(BatchNormSpec(name: "p.bn", channels: 4))])
        let d = testDescription([identity, projected], input: (3, 5, 5))
        XCTAssertNoThrow(try d.validate())
        GradientHarness(d, batch: 3, seed: 14).check()
    }

    func testWholeSmallModelWithCrossEntropy() {
        let layers: [LayerSpec] = [
            .conv(ConvSpec(name: "stem.conv", inChannels: 1, outChannels: 4, kernel: 3, padding: 1)),
            .batchNorm(BatchNormSpec(name: "stem.bn", channels: 4)),
            .activation(.relu),
            dynamicConv("layer1.0.conv", 4, 6, stride: 2, kernels: 3, hidden: 4),
            .batchNorm(BatchNormSpec(name: "layer1.0.bn", channels: 6)),
            .activation(.relu),
            .maxPool(PoolSpec(kernel: 2, stride: 2)),
            dynamicConv("layer2.0.conv", 6, 6, routing: .sigmoid, kernels: 2, hidden: 4),
            .batchNorm(BatchNormSpec(name: "layer2.0.bn", channels: 6)),
            .activation(.relu),
            .globalAvgPool,
            .linear(LinearSpec(name: "fc", inFeatures: 6, outFeatures: 3)),
        ]
        let d = testDescription(layers, input: (1, 8, 8))
        XCTAssertNoThrow(try d.validate())
        GradientHarness(d, batch: 4, seed: 15, temperature: 2, crossEntropy: true).check(samples: 12)
    }

    /// Fusing statistics and pooling across adjacent conv/BatchNorm nodes changes nothing.
    func testFusionIsBitIdentical() {
        let layers: [LayerSpec] = [
            .conv(ConvSpec(name: "stem.conv", inChannels: 1, outChannels: 4, kernel: 3, padding: 1, bias: true)),
            .batchNorm(BatchNormSpec(name: "stem.bn", channels: 4)), .activation(.relu),
            dynamicConv("a.conv", 4, 6, kernels: 3, hidden: 4),
            .batchNorm(BatchNormSpec(name: "a.bn", channels: 6)), .activation(.relu),
            dynamicConv("b.conv", 6, 6, stride: 2, bias: true, kernels: 2, hidden: 4),
            .batchNorm(BatchNormSpec(name: "b.bn", channels: 6)),
            .globalAvgPool,
            .linear(LinearSpec(name: "fc", inFeatures: 6, outFeatures: 3)),
        ]
        let d = testDescription(layers, input: (1, 6, 6))
        for training in [true, false] {
            let fused = GradientHarness(d, batch: 5, seed: 19, training: training, crossEntropy: true)
            let plain = GradientHarness(d, batch: 5, seed: 19, training: training, crossEntropy: true, fusion: false)
            XCTAssertTrue(fused.graph.dynamicNodes.allSatisfy { $0.meansProducer != nil })
            XCTAssertTrue(plain.graph.dynamicNodes.allSatisfy { $0.meansProducer == nil })
            XCTAssertEqual(fused.loss(), plain.loss())
            if training {
                let a = fused.analytic(), b = plain.analytic()
                XCTAssertEqual(a.parameters, b.parameters)
                XCTAssertEqual(a.input, b.input)
            }
        }
    }

    /// A deliberately wrong gradient must be caught: the check is able to fail.
    func testHarnessDetectsWrongGradient() {
        let d = testDescription([dynamicConv("d", 2, 3, kernels: 3, hidden: 4)], input: (2, 4, 4))
        let h = GradientHarness(d, batch: 2, seed: 16)
        // Break the backward: a 5% error in one kernel gradient element must fail the comparison
        // at every step size.
        let (gp, _) = h.analytic()
        let i = h.layout.parameter("d.weight")!.offset + 5
        let wrong = Double(gp[i]) * 1.05
        for step: Float in [1e-3, 1e-2, 1e-4] {
            let numeric = h.numeric(parameter: i, eps: step)
            XCTAssertGreaterThan(abs(wrong - numeric), 2e-2 * max(abs(numeric), 1e-3), "step \(step)")
        }
        // And the correct one passes.
        XCTAssertEqual(Double(gp[i]), h.numeric(parameter: i, eps: 1e-3), accuracy: 2e-2 * max(abs(Double(gp[i])), 1e-3))
    }
}
