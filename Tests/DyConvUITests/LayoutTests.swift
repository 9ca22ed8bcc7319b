import XCTest
import DyConvEngine
@testable import DyConvUI

/// The layout at the four sizes the issue names (80×24, 100×30, 120×40, 200×60), for the
/// dynamic, CondConv and static checkpoints, on the main screen, the dataset view (with a box
/// row per layer) and the help: no panel writes across its border (the clip counts every
/// dropped write), the separator is intact on every row, headings fit, and the panels grow
/// with the terminal.
final class LayoutTests: XCTestCase {
    static let sizes = [(80, 24), (100, 30), (120, 40), (200, 60)]
    /// CondConv and static checkpoints with a training record (no snapshots): their one-line
    /// summary "30 epochs · final τ 1.00 · test 94.8 %" was cut ("te…") in a 30-column column.
    static let condconv = CheckpointSummary(name: "dycnn-condconv", family: "dycnn", layers: Fixture.layers(.sigmoid),
                                            classes: Fixture.classNames,
                                            training: EpochSummary(epoch: 30, epochs: 30, temperature: 1, testAccuracy: 0.948))
    static let staticNet = CheckpointSummary(name: "dycnn-static", family: "dycnn", layers: [], classes: Fixture.classNames,
                                             training: EpochSummary(epoch: 30, epochs: 30, temperature: nil, testAccuracy: 0.951))
    static let kinds = ["dynamic", "condconv", "static"]

    enum Screen: String, CaseIterable { case main, dataset, help }

    /// A harness on checkpoint `kind` at a size, showing `screen`.
    static func harness(_ kind: String, _ w: Int, _ h: Int, _ screen: Screen) -> Harness {
        var s = Fixture.state(width: w, height: h, checkpoints: [Fixture.dynamic, condconv, staticNet])
        s.checkpointIndex = kinds.firstIndex(of: kind)!
        var harness = Harness(s)
        switch screen {
        case .main: break
        case .dataset: harness.type("d"); sendBoxes(&harness)
        case .help: harness.type("?")
        }
        return harness
    }

    /// A finished evaluation with an H/lnK box per layer (issue #12's box rows), the extremes
    /// included: a box over all of 0…1, one all at 1, a NaN median, and a layer without a box.
    static func sendBoxes(_ harness: inout Harness) {
        let n = harness.state.checkpoint.layers.count
        let kinds: [EntropyBox?] = [EntropyBox(p5: 0, q1: 0.2, median: 0.5, q3: 0.8, p95: 1),
                                    EntropyBox(p5: 1, q1: 1, median: 1, q3: 1, p95: 1),
                                    EntropyBox(p5: 0.3, q1: 0.4, median: .nan, q3: 0.6, p95: 0.7), nil]
        harness.send(.evaluationProgress(EvaluationProgress(
            key: harness.state.evaluationKey, done: 1000, total: 1000, correct: 870,
            entropySums: (0..<n).map { Double(500 + 10 * $0) }, massSums: [Double](repeating: 1500, count: n),
            milliseconds: 420, entropyBoxes: (0..<n).map { kinds[$0 % kinds.count] })))
    }

    /// Oracle: `CellGrid.clippedWrites` counts every write a panel made outside its layout
    /// rectangle (dropped by the clip `render` sets around it); the separator cell must be "│"
    /// on every row of the main area (outside the help box); each panel's heading starts at
    /// its rectangle's left edge and is not cut with "…".
    func testNoTextCrossesAPanelBorder() {
        for (w, h) in LayoutTests.sizes {
            for kind in LayoutTests.kinds {
                for screen in Screen.allCases {
                    let harness = LayoutTests.harness(kind, w, h, screen)
                    let grid = harness.screen
                    let layout = Layout(harness.state)
                    let name = "\(kind) \(w)×\(h) \(screen.rawValue)"
                    XCTAssertTrue(layout.fits, name)
                    XCTAssertEqual(grid.clippedWrites, 0, "\(name): \(grid.clippedLog.joined(separator: "; "))")
                    let help = screen == .help ? helpBox(width: w, height: h) : nil
                    for y in layout.left.y..<layout.left.maxY where help?.contains(x: layout.separatorX, y: y) != true {
                        XCTAssertEqual(grid[layout.separatorX, y].scalar, "│", "\(name): separator, row \(y)")
                    }
                    guard screen != .help else { continue }
                    var headed = [("image", layout.image), ("history", layout.history)]
                    if screen == .main { headed += [("attention", layout.attention), ("simplex", layout.simplex)] }
                    if kind != "static" { headed.append(("layer detail", layout.layerTable)) }
                    for (panel, r) in headed where !r.isEmpty {
                        let heading = String(grid.row(r.y).unicodeScalars.dropFirst(r.x).prefix(r.width))
                        XCTAssertNotEqual(grid[r.x, r.y].scalar, " ", "\(name): \(panel) heading at its left edge")
                        XCTAssertFalse(heading.contains("…"), "\(name): \(panel) heading cut: \(heading)")
                    }
                    let text = grid.text
                    // At 80 columns the 30-column left column cannot hold the 38-character
                    // summary beside 47 columns of attention rows: the history panel must
                    // shorten it there (TrainingHistory.swift, not the layout).
                    if w >= 100 { XCTAssertFalse(text.contains("te…"), "\(name): training summary cut") }
                    XCTAssertFalse(text.contains("shuffle-im…"), "\(name): legend cut")
                    if screen == .dataset && kind != "static" {
                        XCTAssertTrue(text.contains("median") && text.contains("┃"), "\(name): box rows\n\(text)")
                    }
                }
            }
        }
    }

    /// Panels drawn by other files than the layout's, whose overflows in some aggregation
    /// modes the clip stops (reported, not yet fixed in their renderers): the simplex draws the
    /// applied-coefficient mark ◆ of CondConv in mode max one row below its plot at 100×30.
    static let panelsWithKnownOverflows: Set<String> = []

    /// Oracle: as above (`clippedLog` names the panel of every dropped write), in each of the
    /// five aggregation modes: the header, image, prediction, detail, separator, status line
    /// and attention rows never write outside their rectangles.
    func testNoOverflowInAnyMode() {
        for (w, h) in LayoutTests.sizes {
            for kind in ["dynamic", "condconv"] {
                var harness = LayoutTests.harness(kind, w, h, .main)
                for mode in 0..<5 {
                    if mode > 0 { harness.type("m") }
                    let grid = harness.screen
                    let offending = grid.clippedLog.filter { entry in
                        !LayoutTests.panelsWithKnownOverflows.contains { entry.hasPrefix($0 + " ") }
                    }
                    XCTAssertEqual(offending, [], "\(kind) \(w)×\(h) mode \(harness.state.mode.rawValue)")
                    XCTAssertLessThan(grid.clippedLog.count, CellGrid.clippedLogLimit, "the log holds every dropped write")
                }
            }
        }
    }

    /// Oracle: the issue's list — the z/π/applied table is on screen from 100×30 on (its
    /// column header " k … z … applied"), the image doubles (56 columns) at 200×60, and the
    /// right-hand plots get the extra width and height.
    func testPanelsScaleWithTheTerminal() {
        for (w, h) in LayoutTests.sizes.dropFirst() {
            for kind in ["dynamic", "condconv"] {
                let harness = LayoutTests.harness(kind, w, h, .main)
                let layout = Layout(harness.state)
                XCTAssertGreaterThanOrEqual(layout.layerTable.height, 4 + 4, "\(kind) \(w)×\(h): table rows")
                XCTAssertTrue(harness.screen.text.contains("applied"), "\(kind) \(w)×\(h): table shown")
                XCTAssertFalse(layout.history.isEmpty, "\(kind) \(w)×\(h): history shown")
            }
        }
        let small = Layout(LayoutTests.harness("dynamic", 80, 24, .main).state)
        let large = Layout(LayoutTests.harness("dynamic", 200, 60, .main).state)
        XCTAssertEqual(large.imagePixelWidth, 56, "the 28-pixel image doubles at 200×60")
        XCTAssertGreaterThan(large.simplex.width, 2 * small.simplex.width)
        XCTAssertGreaterThan(large.simplex.height, 2 * small.simplex.height)
        XCTAssertFalse(small.history.isEmpty, "80×24 keeps the training heading (and its < > arrows)")
        // The attention rows: 2 header rows, one per layer, the footer row.
        XCTAssertEqual(large.attention.height, Layout.attentionHeaderRows + 6 + Layout.attentionFooterRows)
    }

    /// A dyresnet checkpoint (issue #12): 18 dynamic layers, three times dycnn's.
    static let dyresnet = CheckpointSummary(
        name: "dyresnet-dynamic", family: "dyresnet",
        layers: (1...3).flatMap { s in (0..<3).flatMap { b in ["conv1", "conv2"].map { "layer\(s).\(b).\($0)" } } }
            .map { LayerSummary(name: $0, routing: .softmax, kernels: 4, trainedTemperature: 1) },
        classes: Fixture.classNames)

    /// Oracle: as `testNoTextCrossesAPanelBorder` (the clip's count of dropped writes), for the
    /// 18 layers of a dyresnet checkpoint at every size, on the main screen, the dataset view
    /// and the help, in every aggregation mode; the layout still fits at 80×24, where the
    /// attention rows (mode attention) show the first stage and say "layers 1–6 of 18".
    func testEighteenLayersFitAtEverySize() {
        for (w, h) in LayoutTests.sizes {
            for screen in Screen.allCases {
                var harness = Harness(Fixture.state(width: w, height: h, checkpoints: [LayoutTests.dyresnet]))
                if screen == .dataset { harness.type("d"); LayoutTests.sendBoxes(&harness) }
                if screen == .help { harness.type("?") }
                for mode in 0..<(screen == .main ? 5 : 1) {
                    if mode > 0 { harness.type("m") }
                    let name = "dyresnet \(w)×\(h) \(screen.rawValue) mode \(harness.state.mode.rawValue)"
                    XCTAssertTrue(Layout(harness.state).fits, name)
                    let grid = harness.screen
                    XCTAssertEqual(grid.clippedWrites, 0, "\(name): \(grid.clippedLog.joined(separator: "; "))")
                    if screen == .dataset { XCTAssertTrue(grid.text.contains("median") && grid.text.contains("┃"), "\(name): box rows") }
                    if screen == .main {
                        // The rows are grouped by stage, and scroll where they do not all fit.
                        XCTAssertTrue(grid.text.contains("layer1 layers 1–6"), "\(name): stage heading")
                        if w == 80 && mode == 0 { XCTAssertTrue(grid.text.contains("layers 1–6 of 18"), "\(name): scroll position") }
                    }
                }
            }
        }
    }

    /// The twelve main screens as text: `layout-<kind>-<w>x<h>`.
    func testMainScreenSnapshots() {
        for (w, h) in LayoutTests.sizes {
            for kind in LayoutTests.kinds {
                assertSnapshot(LayoutTests.harness(kind, w, h, .main).screen, named: "layout-\(kind)-\(w)x\(h)")
            }
        }
    }

    /// Oracle: a write outside the clip is dropped and counted, one inside is drawn; clips
    /// nest (intersect) and the previous clip comes back.
    func testClipDropsAndCountsWrites() {
        var g = CellGrid(width: 10, height: 3)
        g.withClip(Rect(x: 2, y: 0, width: 4, height: 2), "p") { g in
            g.text(0, 0, "abcdefgh")
            g.withClip(Rect(x: 0, y: 1, width: 3, height: 1), "q") { $0.text(0, 1, "xyz") }
            g.fill(Rect(x: 0, y: 2, width: 10, height: 1), "#")
        }
        XCTAssertEqual(g.row(0), "  cdef    ")
        XCTAssertEqual(g.row(1), "  z       ")
        XCTAssertEqual(g.row(2), "          ")
        XCTAssertEqual(g.clippedWrites, 4 + 2 + 10)
        XCTAssertEqual(g.clip, g.bounds)
        g.text(0, 2, "ok")
        XCTAssertEqual(g.clippedWrites, 16)
        g.reset(width: 10, height: 3)
        XCTAssertEqual(g.clippedWrites, 0)
    }
}
