import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// shuffle-image seeds each image's kernel permutation with (seed, layer, the image's dataset
/// index), not with its position in the batch, so an image's result is the same alone, in any
/// batch and in slices (issue 8, behaviour: the same bug class as shuffle-across).
final class ShuffleImageTests: XCTestCase {
    func model() throws -> (Model, Tensor) { try ShuffleFixtures.model() }
    func rows(_ x: Tensor, _ indices: [Int]) -> Tensor { ShuffleFixtures.rows(x, indices) }

    /// Oracle: the forward of the image alone (a batch of one carrying its dataset index).
    func testResultOfAnImageIsTheSameAloneInAnyBatchAndInSlices() throws {
        let (m, images) = try model()
        let datasetIndex = [40, 41, 42, 43, 44, 45]   // image i of `images` is dataset image 40 + i
        let options = ForwardOptions(temperature: 2, mode: .shuffleImage, seed: 7)
        let alone = (0..<6).map { m.forward(rows(images, [$0]), options: options, partners: nil, imageIndices: [datasetIndex[$0]]) }
        let whole = m.forward(images, options: options, partners: nil, imageIndices: datasetIndex)
        for order in [[3, 0], [5, 4, 3, 2, 1, 0], [2]] {
            let batch = m.forward(rows(images, order), options: options, partners: nil, imageIndices: order.map { datasetIndex[$0] })
            for (row, i) in order.enumerated() {
                XCTAssertLessThan(rows(batch.logits, [row]).maxAbsDifference(alone[i].logits), 1e-5, "image \(i) in \(order)")
                for (a, b) in zip(batch.layers, alone[i].layers) {
                    XCTAssertEqual(Array(a.applied(sample: row)), Array(b.applied), a.name)
                }
            }
        }
        for slice in [1, 2, 4] {
            let sliced = m.forward(images, options: options, slice: slice, imageIndices: datasetIndex)
            for i in 0..<6 {
                XCTAssertLessThan(rows(sliced.logits, [i]).maxAbsDifference(alone[i].logits), 1e-5, "image \(i), slice \(slice)")
            }
            XCTAssertLessThan(sliced.logits.maxAbsDifference(whole.logits), 1e-6, "slice \(slice)")
        }
        // The permutation follows the index: the same pixels under another index (or at another
        // position without indices) are shuffled differently, and the shuffle really acts.
        let plain = m.forward(rows(images, [0]), options: ForwardOptions(temperature: 2))
        XCTAssertGreaterThan(alone[0].logits.maxAbsDifference(plain.logits), 1e-4, "shuffled")
        let elsewhere = m.forward(rows(images, [0]), options: options, partners: nil, imageIndices: [datasetIndex[1]])
        XCTAssertNotEqual(elsewhere.layers.map(\.applied), alone[0].layers.map(\.applied), "another index, another permutation")
    }

    /// A tensor without a dataset: the index of a sample is its position (documented), so
    /// `forward(x)` equals `forward(x, imageIndices: 0..<N)`.
    func testTensorForwardUsesPositionsAsIndices() throws {
        let (m, images) = try model()
        let options = ForwardOptions(temperature: 2, mode: .shuffleImage, seed: 7)
        let implicit = m.forward(images, options: options)
        let explicit = m.forward(images, options: options, partners: nil, imageIndices: Array(0..<6))
        XCTAssertEqual(implicit.logits, explicit.logits)
    }

    /// Oracle: a batch's coefficients are, row by row, those of each image alone with its index.
    func testCoefficientsDependOnTheIndexNotThePosition() {
        let k = 5
        let pi = (0..<(3 * k)).map { Float($0 + 1) / 100 }
        let batch = aggregationCoefficients(pi, batch: 3, kernels: k, mode: .shuffleImage, seed: 1, layerIndex: 2,
                                            imageIndices: [9, 1000, 3])
        for (row, index) in [9, 1000, 3].enumerated() {
            let one = aggregationCoefficients(Array(pi[(row * k)..<((row + 1) * k)]), batch: 1, kernels: k, mode: .shuffleImage,
                                              seed: 1, layerIndex: 2, imageIndices: [index])
            XCTAssertEqual(Array(batch[(row * k)..<((row + 1) * k)]), one, "image \(index)")
            XCTAssertEqual(Set(one), Set(pi[(row * k)..<((row + 1) * k)]), "a permutation of the image's π")
        }
    }
}
