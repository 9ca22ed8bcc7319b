@testable import DyConvFigures
import XCTest

// Category labels under bar charts: wrapped onto lines when their words fit the slot, numbered
// with a key when shortening would make them equal (the runs report's ablation showed five bars
// all labelled "dycnn 8/16/32 K=4…").

final class CategoryLabelTests: XCTestCase {
    /// Oracle: the labels themselves. Wrapped lines are each at most slot − 4 px wide (0.6 em per
    /// character), at most 3 per label, and joined with spaces give back the label.
    func testLongLabelsWrapOntoLinesThatFitTheSlot() throws {
        let labels = ["dycnn 16/32/64 K=4 softmax τ 30→1/5ep", "dycnn-condconv 16/32/64 K=4 sigmoid τ 30→1/5ep",
                      "dyresnet 8/16/32×3 K=4 softmax τ 30→1/5ep"]
        let slot = 200.0
        let c = CategoryLabels(labels, slot: slot, maxLines: 3, keyWhenAmbiguous: true)
        let lines = try XCTUnwrap(c.lines)
        XCTAssertNil(c.rotation)
        XCTAssertTrue(c.key.isEmpty)
        for (label, wrapped) in zip(labels, lines) {
            XCTAssertLessThanOrEqual(wrapped.count, 3)
            XCTAssertGreaterThan(wrapped.count, 1)
            XCTAssertEqual(wrapped.joined(separator: " "), label)
            for line in wrapped { XCTAssertLessThanOrEqual(SVGText.width(line, size: c.size), slot - 4) }
        }
        // Without maxLines the same labels are rotated and shortened, as before.
        let old = CategoryLabels(labels, slot: slot)
        XCTAssertNil(old.lines)
        XCTAssertEqual(old.rotation, -45)
    }

    /// Oracle: uniqueness. Five labels that the 110 px cut makes equal are numbered 1…5, the key
    /// holds them whole and in order, and the height grows by a row per key row; labels that stay
    /// distinct when cut are not numbered.
    func testLabelsThatShorteningMakesEqualAreNumberedWithAKey() {
        let labels = ["constant τ 1", "constant τ 30", "τ 5→1/5ep", "τ 30→1/10ep", "weightDecay=0.0001"]
            .map { "dycnn 8/16/32 K=4 softmax \($0)" }
        let slot = 60.0
        let cut = labels.map { SVGText.abbreviate($0, maxWidth: 110, size: FontSize.tick) }
        XCTAssertEqual(Set(cut).count, 1, "the premise: the cut makes them equal")
        let c = CategoryLabels(labels, slot: slot, maxLength: 110, maxLines: 3, keyWhenAmbiguous: true)
        XCTAssertEqual(c.texts, ["1", "2", "3", "4", "5"])
        XCTAssertEqual(c.key, labels)
        XCTAssertNil(c.rotation)
        let rows = Double(c.numberedKey.rows(width: c.keyWidth))
        XCTAssertEqual(c.height, c.size + 8 + CategoryLabels.keyGap + rows * NumberedKey.rowHeight, accuracy: 1e-9)
        var doc = SVGDocument(width: 400, height: 300, title: "t")
        c.draw(centres: (0..<5).map { 30 + 60 * Double($0) }, y: 100, into: &doc)
        let svg = doc.render()
        for label in labels { XCTAssertTrue(svg.contains(">\(SVGText.escape(label))<"), label) }
        let distinct = CategoryLabels(["alpha model one", "beta model two"], slot: 20, maxLength: 110, maxLines: 3,
                                      keyWhenAmbiguous: true)
        XCTAssertTrue(distinct.key.isEmpty)
        XCTAssertNotNil(distinct.rotation)
    }
}
