import XCTest
import DyConvEngine
@testable import DyConvUI

/// Snapshot tests: the rendered screen as text, compared with `__Snapshots__/*.txt`
/// (`DYCONV_RECORD=1 swift test --filter DyConvUITests` re-records).
final class SnapshotTests: XCTestCase {
    func testStartScreen() {
        let h = Harness(Fixture.state())
        assertSnapshot(h.screen, named: "start")
        // What a user must see: index, true label, the attention rows, Σπ, the status line.
        let text = h.screen.text
        XCTAssertTrue(text.contains("Image #0"))
        XCTAssertTrue(text.contains("true  Dress"))
        XCTAssertTrue(text.contains("τ 1.00 (trained)"))
        XCTAssertTrue(text.contains("Σπ = 1.000"))
    }

    func testAfterStepping() {
        var h = Harness(Fixture.state())
        h.press(.right, .right)
        assertSnapshot(h.screen, named: "after-stepping")
        XCTAssertTrue(h.screen.text.contains("Image #2"))
    }

    func testAfterTemperatureChange() {
        var h = Harness(Fixture.state())
        let before = h.screen
        h.type("++")
        assertSnapshot(h.screen, named: "after-tau-change")
        XCTAssertTrue(h.screen.text.contains("τ 1.56 (trained 1.00)"))
        // The attention rows change with τ.
        let row = Layout(h.state).row(ofLayer: 0, layerCount: 6, selected: 0)!
        XCTAssertNotEqual(before.row(row), h.screen.row(row))
    }

    func testModeChange() {
        var h = Harness(Fixture.state())
        h.type("mm")
        assertSnapshot(h.screen, named: "mode-max")
        XCTAssertTrue(h.screen.text.contains("mode max"))
        XCTAssertTrue(h.screen.text.contains("◆"))
    }

    /// Oracle: the partner is `ShuffleAcrossPartners(count: 1000, seed: 0).partner(of: 0)`, the
    /// same derangement the session and `dyconv inspect --mode shuffle-across` use.
    func testShuffleAcrossNamesThePartner() throws {
        var h = Harness(Fixture.state())
        h.type("mmmm")
        XCTAssertEqual(h.state.mode, .shuffleAcross)
        let partner = try ShuffleAcrossPartners(count: h.state.dataset.count, seed: 0).partner(of: 0)
        assertSnapshot(h.screen, named: "mode-shuffle-across")
        let text = h.screen.text
        XCTAssertTrue(text.contains(" mixed with π of image #\(partner) "), "layer detail")
        // The attention heading names the partner when it has room (the right area is 80
        // columns at 120×40 beside the 37-column left column: the partner shows at 140).
        var wide = h.state
        wide.width = 140
        XCTAssertTrue(render(wide).text.contains("mode shuffle-across · π of image #\(partner)"), "attention heading")
        // CondConv says r, and the other modes name no partner.
        h.press(.tab)
        XCTAssertTrue(h.screen.text.contains("mixed with r of image #\(partner)"), "CondConv")
        XCTAssertFalse(h.screen.text.contains("π of image"))
        h.press(.tab, .tab)   // back to the dynamic checkpoint (static in between)
        h.type("m")
        XCTAssertEqual(h.state.mode, .attention)
        XCTAssertFalse(h.screen.text.contains("of image #"))
    }

    func testHelp() {
        var h = Harness(Fixture.state())
        h.type("?")
        assertSnapshot(h.screen, named: "help")
        for entry in keyTable { XCTAssertTrue(h.screen.text.contains(entry.action), entry.action) }
    }

    func testDatasetViewFinished() {
        var h = Harness(Fixture.state())
        h.type("d")
        XCTAssertEqual(h.effects.last, .evaluate)
        let key = h.state.evaluationKey
        h.send(.evaluationProgress(EvaluationProgress(key: key, done: 1000, total: 1000, correct: 873,
                                                      entropySums: [912, 850, 640, 512, 301, 150], milliseconds: 420)))
        let temps = SweepProgress.defaultTemperatures
        let points = temps.enumerated().map { i, t in
            SweepPoint(temperature: t, accuracy: [0.62, 0.75, 0.84, 0.873, 0.86, 0.80, 0.66, 0.52, 0.47][i],
                       meanEntropy: [0.08, 0.15, 0.31, 0.52, 0.74, 0.91, 0.97, 0.99, 0.995][i])
        }
        h.send(.sweepProgress(SweepProgress(key: h.state.sweepKey, temperatures: temps, points: points)))
        assertSnapshot(h.screen, named: "dataset-view")
        let text = h.screen.text
        XCTAssertTrue(text.contains("87.3%"))
        XCTAssertTrue(text.contains("(873 / 1000)"))
        XCTAssertTrue(text.contains("0.912"))   // layer1.0.conv mean entropy 912/1000
        XCTAssertTrue(text.contains("best 87.3% at τ 1"))
    }

    func testDatasetViewInProgress() {
        var h = Harness(Fixture.state())
        h.type("d")
        h.send(.evaluationProgress(EvaluationProgress(key: h.state.evaluationKey, done: 300, total: 1000, correct: 250,
                                                      entropySums: [270, 250, 200, 150, 90, 45])))
        assertSnapshot(h.screen, named: "dataset-view-progress")
        XCTAssertTrue(h.screen.text.contains("300/1000"))
        XCTAssertTrue(h.screen.text.contains("computing…"))
    }

    func testTooSmallTerminal() {
        let h = Harness(Fixture.state(width: 60, height: 20))
        assertSnapshot(h.screen, named: "too-small")
        XCTAssertTrue(h.screen.text.contains("Terminal too small"))
        XCTAssertTrue(h.screen.text.contains("needs at least 80 × 24"))
    }

    func testMonochrome() {
        let h = Harness(Fixture.state(colorMode: .monochrome))
        assertSnapshot(h.screen, named: "monochrome")
        assertSnapshot(attributeMap(h.screen), named: "monochrome-attributes")
        // No colour anywhere; the image uses the density ramp, the selection is reversed.
        XCTAssertTrue(h.screen.cells.allSatisfy { $0.style.foreground.isDefault && $0.style.background.isDefault })
        XCTAssertFalse(h.screen.text.contains("▀"))
        XCTAssertTrue(h.screen.text.contains("@"))
        let row = Layout(h.state).row(ofLayer: 0, layerCount: 6, selected: 0)!
        XCTAssertTrue(h.screen[Layout(h.state).attention.x + 4, row].style.attributes.contains(.reverse))
    }

    func testMinimumSize() {
        let h = Harness(Fixture.state(width: 80, height: 24))
        assertSnapshot(h.screen, named: "minimum-80x24")
        XCTAssertFalse(h.screen.text.contains("too small"))
    }

    func testCondConvSigmoid() {
        var h = Harness(Fixture.state())
        h.press(.tab)
        assertSnapshot(h.screen, named: "condconv")
        XCTAssertTrue(h.screen.text.contains("Σr ="))
        XCTAssertTrue(h.screen.text.contains("off the simplex"))
    }

    func testStaticNetwork() {
        var h = Harness(Fixture.state())
        h.press(.tab, .tab)
        assertSnapshot(h.screen, named: "static")
        XCTAssertTrue(h.screen.text.contains("static network"))
    }

    func testTrainingEpoch() {
        var h = Harness(Fixture.state())
        h.type("<<<<")
        assertSnapshot(h.screen, named: "epoch-1")
        XCTAssertTrue(h.screen.text.contains("epoch 1/4"))
        XCTAssertTrue(h.screen.text.contains("τ 30.0 (epoch 1's)"))
    }

    func testLargeTerminalHasNoGaps() {
        // Wider and taller terminals keep every panel and stay within the grid.
        let h = Harness(Fixture.state(width: 200, height: 60))
        let text = h.screen.text
        XCTAssertTrue(text.contains("Simplex · layer1.0.conv"))
        XCTAssertTrue(text.contains("Training"))
        XCTAssertEqual(h.screen.textLines().count, 60)
    }

    /// Issue #8: with LANG=C the bars, braille, π and rules vanished and columns slid. In the
    /// ASCII charset every cell is ASCII, and a cell is blank exactly where the Unicode
    /// rendering's is (oracle: the Unicode grid of the same state), so columns line up.
    func testASCIICharset() {
        for (name, keys) in [("ascii", ""), ("ascii-condconv", "\t"), ("ascii-help", "?")] {
            var unicode = Harness(Fixture.state())
            var ascii = Harness({ var s = Fixture.state(); s.charset = .ascii; return s }())
            for c in keys.unicodeScalars {
                let key: Key = c == "\t" ? .tab : .char(c)
                unicode.press(key); ascii.press(key)
            }
            let a = ascii.screen, u = unicode.screen
            assertSnapshot(a, named: name)
            XCTAssertTrue(a.cells.allSatisfy { $0.scalar.isASCII }, name)
            // The image is the one place drawn differently (density ramp instead of half blocks).
            let image = Layout(ascii.state).image
            for y in 0..<u.height {
                for x in 0..<u.width where !(image.contains(x: x, y: y) && y > image.y) {
                    let (uc, ac) = (u[x, y].scalar, a[x, y].scalar)
                    if (uc == " ") != (ac == " ") { XCTFail("\(name) (\(x), \(y)): '\(uc)' became '\(ac)'") }
                    if ac == "?" && uc != "?" { XCTFail("\(name) (\(x), \(y)): '\(uc)' has no ASCII stand-in") }
                }
            }
        }
        var d = Harness({ var s = Fixture.state(); s.charset = .ascii; return s }())
        d.type("d")
        d.send(.evaluationProgress(EvaluationProgress(key: d.state.evaluationKey, done: 1000, total: 1000, correct: 873,
                                                      entropySums: [912, 850, 640, 512, 301, 150], milliseconds: 420)))
        let temps = SweepProgress.defaultTemperatures
        d.send(.sweepProgress(SweepProgress(key: d.state.sweepKey, temperatures: temps,
                                            points: temps.map { SweepPoint(temperature: $0, accuracy: 0.8, meanEntropy: 0.5) })))
        assertSnapshot(d.screen, named: "ascii-dataset-view")
        XCTAssertTrue(d.screen.cells.allSatisfy { $0.scalar.isASCII })
        XCTAssertTrue(d.screen.text.contains("t 1.00 (trained)"))
        // No half blocks: the image uses the density ramp even with 256 colours.
        XCTAssertTrue(d.screen.text.contains("@"))
    }
}
