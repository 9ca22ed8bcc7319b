import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// shuffle-across gives each image a fixed partner (a seeded derangement of the dataset's
/// indices) whose clean-pass π it applies at every dynamic layer, so an image's result never
/// depends on the batch it runs in, and a batch of one is shuffled too (issue 8, behaviour).
final class ShuffleAcrossTests: XCTestCase {
    /// Oracle: the definition of a derangement made of one cycle (follow partners from 0: every
    /// index is reached exactly once before coming back).
    func testPartnersAreASeededSingleCycleDerangement() throws {
        for n in [2, 3, 7, 100, 10_000] {
            let p = try ShuffleAcrossPartners(count: n, seed: 3)
            XCTAssertEqual(p.count, n)
            for i in 0..<n { XCTAssertNotEqual(p.partner(of: i), i, "partner ≠ self") }
            var seen = Set<Int>(), i = 0
            repeat { XCTAssertTrue(seen.insert(i).inserted); i = p.partner(of: i) } while i != 0
            XCTAssertEqual(seen.count, n, "one cycle through all \(n) images")
            XCTAssertEqual(try ShuffleAcrossPartners(count: n, seed: 3), p, "reproducible")
        }
        XCTAssertNotEqual(try ShuffleAcrossPartners(count: 100, seed: 3), try ShuffleAcrossPartners(count: 100, seed: 4))
        for n in [0, 1] {
            XCTAssertThrowsError(try ShuffleAcrossPartners(count: n, seed: 0)) {
                XCTAssertTrue("\($0)".contains("has \(n) image"), "\($0)"); XCTAssertFalse("\($0)".contains("\n"))
            }
        }
    }

    func model() throws -> (Model, Tensor) { try ShuffleFixtures.model() }
    func rows(_ x: Tensor, _ indices: [Int]) -> Tensor { ShuffleFixtures.rows(x, indices) }

    /// Oracle: the same image with the same partner alone, in another batch, and in slices.
    func testResultOfAnImageDoesNotDependOnItsBatch() throws {
        let (m, images) = try model()
        let partners = try ShuffleAcrossPartners(count: 6, seed: 1)
        let options = ForwardOptions(temperature: 2, mode: .shuffleAcross)
        let all = Array(0..<6)
        let whole = m.forward(images, options: options, partners: rows(images, all.map(partners.partner)))
        let other = [4, 1]
        let pair = m.forward(rows(images, other), options: options, partners: rows(images, other.map(partners.partner)))
        for i in all {
            let one = m.forward(rows(images, [i]), options: options, partners: rows(images, [partners.partner(of: i)]))
            XCTAssertLessThan(rows(whole.logits, [i]).maxAbsDifference(one.logits), 1e-5, "image \(i)")
            if let row = other.firstIndex(of: i) {
                XCTAssertLessThan(rows(pair.logits, [row]).maxAbsDifference(one.logits), 1e-5, "image \(i) in [4, 1]")
            }
        }
    }

    /// Oracle: a clean attention pass of the partner; the applied π of every layer is the
    /// partner's π there, and a batch of one is changed (it used to be left as it was).
    func testBatchOfOneAppliesThePartnersCleanPi() throws {
        let (m, images) = try model()
        let x = rows(images, [0]), partner = rows(images, [3])
        let options = ForwardOptions(temperature: 2, mode: .shuffleAcross)
        let shuffled = m.forward(x, options: options, partners: partner)
        let clean = m.forward(partner, options: ForwardOptions(temperature: 2))
        let own = m.forward(x, options: ForwardOptions(temperature: 2))
        XCTAssertEqual(shuffled.layers.count, clean.layers.count)
        for (a, b) in zip(shuffled.layers, clean.layers) {
            for (u, v) in zip(a.applied, b.attention) { XCTAssertEqual(u, v, accuracy: 1e-6, a.name) }
        }
        // The first layer sees the image itself, so its own π is the unshuffled one.
        for (u, v) in zip(shuffled.layers[0].attention, own.layers[0].attention) { XCTAssertEqual(u, v, accuracy: 1e-6) }
        XCTAssertGreaterThan(shuffled.logits.maxAbsDifference(own.logits), 1e-4, "a batch of one is shuffled")
    }
}
