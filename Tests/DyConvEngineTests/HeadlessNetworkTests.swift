import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// Networks without classes (issue 8, item 2): `classes: []` (headless, allowed by
/// docs/CHECKPOINT.md §4.1) and networks that end in an image run and trace like classifiers,
/// but report their raw output and no class probabilities.
final class HeadlessNetworkTests: XCTestCase {
    /// Oracle: the naive interpreter's output; the engine's probabilities are `[N, 0]`.
    func testHeadlessVectorNetworkRunsAndTraces() throws {
        var d = CheckpointTestSupport.smallDescription()
        d.classes = []
        XCTAssertEqual(try d.validate(), [5])
        XCTAssertFalse(d.isClassifier)
        let p = NaiveModel.randomParameters(d, seed: 2)
        let m = try Model(description: d, parameters: p)
        XCTAssertFalse(m.isClassifier)
        let x = randomTensor([7, 3, 8, 8], seed: 3)
        let trace = m.forward(x)
        XCTAssertEqual(trace.logits.shape, [7, 5])
        XCTAssertEqual(trace.outputShape, [5])
        XCTAssertEqual(trace.probabilities.shape, [7, 0])
        XCTAssertFalse(trace.isClassifier)
        XCTAssertEqual(trace.classCount, 0)
        XCTAssertEqual(trace.prediction(sample: 6), 0)
        XCTAssertTrue(trace.topK(sample: 6, k: 3).isEmpty)
        XCTAssertEqual(trace.layers.map(\.name), m.dynamicLayerNames)
        XCTAssertLessThan(trace.logits.maxAbsDifference(NaiveModel.forward(d, p, x).logits), 1e-4)
        // Depth-first slices join into the same trace (probabilities of width 0 included).
        let sliced = m.forward(x, options: ForwardOptions(), slice: 2)
        XCTAssertLessThan(sliced.logits.maxAbsDifference(trace.logits), 1e-6)
        XCTAssertEqual(sliced.probabilities.shape, [7, 0])
        XCTAssertEqual(sliced.outputShape, [5])
    }

    /// A network whose last layer is a dynamic conv + BatchNorm + ReLU: its output is an image.
    func imageNetwork(classes: [String]) -> ModelDescription {
        ModelDescription(family: "image-out", input: InputSpec(channels: 3, height: 6, width: 5),
                         normalization: Normalization(mean: [0, 0, 0], std: [1, 1, 1]), classes: classes,
                         layers: [
                            .conv(ConvSpec(name: "a", inChannels: 3, outChannels: 4, kernel: 3, padding: 1, bias: true,
                                           routing: .softmax, kernels: 3, attention: AttentionSpec(hidden: 2))),
                            .batchNorm(BatchNormSpec(name: "bn", channels: 4)),
                            .activation(.relu),
                            .conv(ConvSpec(name: "b", inChannels: 4, outChannels: 2, kernel: 3, stride: 2, padding: 1,
                                           routing: .sigmoid, kernels: 2, attention: AttentionSpec(hidden: 2))),
                         ])
    }

    func testNetworkEndingInAnImageRunsAndTraces() throws {
        let d = imageNetwork(classes: [])
        XCTAssertEqual(try d.validate(), [2, 3, 3])
        XCTAssertEqual(d.outputShape, [2, 3, 3])
        XCTAssertFalse(d.isClassifier)
        let p = NaiveModel.randomParameters(d, seed: 4)
        let m = try Model(description: d, parameters: p)
        let x = randomTensor([5, 3, 6, 5], seed: 5)
        let trace = m.forward(x)
        XCTAssertEqual(trace.logits.shape, [5, 18])
        XCTAssertEqual(trace.outputShape, [2, 3, 3])
        XCTAssertEqual(trace.probabilities.shape, [5, 0])
        XCTAssertEqual(trace.layers.map(\.name), ["a", "b"])
        let ref = NaiveModel.forward(d, p, x).logits
        XCTAssertLessThan(trace.logits.maxAbsDifference(ref.reshaped([5, 18])), 1e-4)
        let sliced = m.forward(x, options: ForwardOptions(), slice: 1)
        XCTAssertLessThan(sliced.logits.maxAbsDifference(trace.logits), 1e-6)
        XCTAssertEqual(sliced.outputShape, [2, 3, 3])
    }

    /// Class names for an image output name nothing: the network is headless all the same
    /// (no probabilities whose argmax would index the names).
    func testClassNamesOnAnImageOutputAreIgnored() throws {
        let d = imageNetwork(classes: ["a", "b"])
        XCTAssertEqual(try d.validate(), [2, 3, 3])
        XCTAssertFalse(d.isClassifier)
        let m = try Model(description: d, parameters: NaiveModel.randomParameters(d, seed: 4))
        let t = m.forward(randomTensor([2, 3, 6, 5], seed: 5))
        XCTAssertFalse(t.isClassifier)
        XCTAssertEqual(t.probabilities.shape, [2, 0])
    }
}
