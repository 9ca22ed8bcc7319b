import XCTest
import DyConvEngine
@testable import DyConvUI

/// The training history when only some epochs kept a snapshot (`SnapshotRetention`): the
/// records' `history` fills in the others, so the panel looks as if every epoch had one.
final class TrainingHistoryTests: XCTestCase {
    /// The four epochs of `Fixture.epochs` as training records, each with the history before it.
    private func records() -> [TrainingRecord] {
        var out: [TrainingRecord] = []
        var history: [TrainingRecord.Epoch] = []
        for e in Fixture.epochs {
            var r = TrainingRecord(epoch: e.epoch, epochs: e.epochs, loss: e.loss,
                                   trainAccuracy: e.trainAccuracy, testAccuracy: e.testAccuracy, entropy: e.layerEntropy)
            history.append(r.asEpoch(temperature: e.temperature!))
            r.history = history
            out.append(r)
        }
        return out
    }

    /// The snapshots' own summaries (with the τ their layers store): `Fixture.epochs` at `indices`.
    private func s(_ indices: [Int]) -> [EpochSummary] { indices.map { Fixture.epochs[$0] } }

    /// Oracle: `Fixture.epochs`, the summaries of the four records written by hand.
    func testHistoryMergesTheRecordsOfDroppedEpochs() {
        let r = records()
        XCTAssertEqual(CheckpointSummary.history(snapshots: s([0, 2, 3]), records: [r[0], r[2], r[3]], final: nil), Fixture.epochs)
        XCTAssertEqual(CheckpointSummary.history(snapshots: s([0]), records: [r[0]], final: r[3]), Fixture.epochs,
                       "the final checkpoint's history fills in after the last snapshot")
        XCTAssertEqual(CheckpointSummary.history(snapshots: s([0, 1, 2, 3]), records: r, final: nil), Fixture.epochs)
        XCTAssertEqual(CheckpointSummary.history(snapshots: [], records: [], final: r[3]), Fixture.epochs,
                       "no snapshots (a checkpoint opened alone): its own record's history")
        XCTAssertEqual(CheckpointSummary.history(snapshots: [], records: [], final: nil), [])
        // Records without a history (older runs): the snapshots alone, as before.
        let bare = r.map { var x = $0; x.history = nil; return x }
        XCTAssertEqual(CheckpointSummary.history(snapshots: s([0, 3]), records: [bare[0], bare[3]], final: nil), [Fixture.epochs[0], Fixture.epochs[3]])
    }

    // MARK: - The heat map and its columns

    /// Draws the history panel alone into `rect` of a 120×40 grid (the rest left blank).
    private func panel(_ state: ViewState, _ rect: Rect) -> CellGrid {
        var grid = CellGrid(width: 120, height: 40)
        renderTrainingHistory(RenderContext(state), rect, into: &grid)
        return grid
    }

    private func state(_ c: CheckpointSummary, colorMode: ColorMode = .xterm256) -> ViewState {
        Fixture.state(colorMode: colorMode, checkpoints: [c, Fixture.condconv, Fixture.staticNet])
    }

    /// The y of the row whose label column starts with `label`.
    private func row(_ grid: CellGrid, _ rect: Rect, label: String) -> Int? {
        (rect.y..<rect.maxY).first { grid.row($0).unicodeScalars.dropFirst(rect.x).starts(with: (label + " ").unicodeScalars) }
    }

    /// Oracle: the count of epochs. Every epoch gets exactly one column (one cell, or one half
    /// of a half-block cell), in epoch order, whenever the strip is at least half as wide as
    /// the epochs; narrower, a window of consecutive epochs that holds the focus.
    func testEveryEpochHasItsOwnColumn() {
        for n in [1, 4, 26, 31, 52] {
            for width in [26, 31, 40, 60] {
                for half in [false, true] {
                    let c = HistoryColumns(count: n, width: width, halfCells: half, focus: n / 3)
                    XCTAssertLessThanOrEqual(c.totalCells, width, "\(n) epochs in \(width)")
                    let places = (0..<n).compactMap { c.place(of: $0) }.map { $0.cell * 2 + ($0.half ?? 0) }
                    if n <= width || (half && n <= 2 * width) {
                        XCTAssertFalse(c.isWindow)
                        XCTAssertEqual(places.count, n, "\(n) epochs in \(width) cells, half \(half): every epoch placed")
                        XCTAssertEqual(places, places.sorted(), "epoch order")
                        XCTAssertEqual(Set(places).count, n, "no two epochs share a column")
                        // A wide column repeats its epoch in each of its cells.
                        let drawn = (0..<c.totalCells).flatMap { c.epochs(inCell: $0) }
                        XCTAssertEqual(drawn.enumerated().filter { $0.offset == 0 || drawn[$0.offset - 1] != $0.element }.map(\.element),
                                       Array(0..<n), "each epoch drawn, in order, none sampled away")
                        XCTAssertEqual(c.perCell, n <= width ? 1 : 2)
                    } else {
                        XCTAssertTrue(c.isWindow)
                        let shown = (0..<c.totalCells).flatMap { c.epochs(inCell: $0) }
                        XCTAssertEqual(shown, Array(shown.first!...shown.last!), "a window of consecutive epochs")
                        XCTAssertTrue(shown.contains(n / 3), "the focus is inside the window")
                    }
                }
            }
        }
    }

    /// Oracle: the fixture's formula 1 − l·e/600 on the map's scale (lo = 0.75 … 1). The 31
    /// epochs in a 30-wide panel (26 cells for the strip) are 16 half-block cells, cell c
    /// coloured with epoch 2c (foreground) and 2c + 1 (background); in a 60-wide panel one
    /// heat cell per epoch.
    func testMapCellsAreTheEpochsValues() {
        var c = HistoryFixture.longRun
        c.layers = Array(c.layers.prefix(2))        // two rows: one per layer
        let s = state(c)
        func color(layer l: Int, epoch e: Int) -> Color? {
            HeatScale.color((Double(HistoryFixture.entropy(layer: l, epoch: e)) - 0.95) / 0.05, mode: .xterm256)
        }
        // The lowest value of the two layers is 1 − 30/600 = 0.95: the scale's floor.
        let narrow = Rect(x: 0, y: 0, width: 30, height: 10)
        let g = panel(s, narrow)
        for l in 0..<2 {
            guard let y = row(g, narrow, label: "L\(l + 1)") else { return XCTFail("no row L\(l + 1)\n\(g.text)") }
            let cells = (0..<30).map { g[$0, y] }.filter { $0.scalar == "▌" }
            XCTAssertEqual(cells.count, 16, "31 epochs in half cells\n\(g.text)")
            for (i, cell) in cells.enumerated() {
                XCTAssertEqual(cell.style.foreground, color(layer: l, epoch: 2 * i), "L\(l + 1) epoch \(2 * i)")
                XCTAssertEqual(cell.style.background, 2 * i + 1 <= 30 ? color(layer: l, epoch: 2 * i + 1)! : .default,
                               "L\(l + 1) epoch \(2 * i + 1)")
            }
        }
        let wide = Rect(x: 0, y: 0, width: 60, height: 10)
        let w = panel(s, wide)
        guard let y = row(w, wide, label: "layer1.1.conv") else { return XCTFail(w.text) }
        let cells = (0..<60).map { w[$0, y] }.filter { $0.style.background != .default }
        XCTAssertEqual(cells.map(\.style.background), (0...30).map { color(layer: 1, epoch: $0)! }, "one cell per epoch")
    }

    /// Oracle: the history index of the shown epoch. Each `<` moves the marker by exactly the
    /// epochs between the two snapshots — one column between consecutive epochs 0…5 — in whole
    /// cells (▲) and in half cells (▌/▐); the final checkpoint's column is epoch 30's.
    func testMarkerMovesOneColumnPerSnapshotStep() {
        for (width, half) in [(60, false), (30, true)] {
            var h = Harness(state(HistoryFixture.longRun))
            let rect = Rect(x: 0, y: 0, width: width, height: 14)
            func marker() -> Int? {
                let g = panel(h.state, rect)
                guard let acc = row(g, rect, label: "acc") else { return nil }
                let y = acc + 1
                for x in rect.x..<rect.maxX where g[x, y].style == Theme(.xterm256).point {
                    switch g[x, y].scalar {
                    case "▲": return x
                    case "▌": return 2 * x
                    case "▐": return 2 * x + 1
                    default: continue
                    }
                }
                return nil
            }
            guard let final = marker() else { return XCTFail("no marker at final") }
            var previous = final
            var epoch = 30
            for expected in HistoryFixture.snapshotEpochs.reversed() {
                h.type("<")
                XCTAssertEqual(h.state.epoch?.epoch, expected)
                guard let m = marker() else { return XCTFail("no marker at epoch \(expected)") }
                XCTAssertEqual(previous - m, epoch - expected, "width \(width): \(epoch) → \(expected)")
                previous = m; epoch = expected
            }
            XCTAssertEqual(final - previous, 30, "epoch 0 to final spans the 31 columns (half cells: \(half))")
            // And forward again with `>`, one snapshot per key press.
            for expected in HistoryFixture.snapshotEpochs.dropFirst() {
                h.type(">")
                XCTAssertEqual(h.state.epoch?.epoch, expected)
                guard let m = marker() else { return XCTFail("no marker at epoch \(expected)") }
                XCTAssertEqual(m - previous, expected - epoch, "width \(width): \(epoch) → \(expected)")
                previous = m; epoch = expected
            }
        }
    }

    /// Oracle: the snapshot list. Epochs with a snapshot carry a dot in the marker row, epochs
    /// without one (6–9, 11–14, …) none: they are drawn from the history but `<` `>` skip them.
    func testEpochsWithoutSnapshotAreMarkedNotSteppable() {
        var s = state(HistoryFixture.longRun)
        s.epochIndex = 0                              // epoch 0 shown (▲), epoch 30 final (◇)
        let rect = Rect(x: 0, y: 0, width: 60, height: 14)
        let g = panel(s, rect)
        guard let acc = row(g, rect, label: "acc") else { return XCTFail(g.text) }
        // The strip starts where the accuracy sparkline does (after the layer-name labels).
        let accRow = Array(g.row(acc).unicodeScalars)
        guard let x0 = (3..<accRow.count).first(where: { accRow[$0] != " " }) else { return XCTFail(g.text) }
        let marks = (0...30).map { Character(g[x0 + $0, acc + 1].scalar) }
        let expected = (0...30).map { e -> Character in e == 0 ? "▲" : e == 30 ? "◇" : HistoryFixture.snapshotEpochs.contains(e) ? "·" : " " }
        XCTAssertEqual(String(marks), String(expected), g.text)
    }

    /// Oracle: the record's own epoch. A snapshot opened on its own (epoch 5 of 30, no
    /// snapshot folder) is "epoch 5/30", never "final" — with its record's history (the map
    /// from epoch 1 to 5) and without one (older records); a finished run's checkpoint is "final".
    func testSnapshotOpenedAloneShowsItsOwnEpoch() {
        var history: [TrainingRecord.Epoch] = []
        for e in 1...5 {
            let s = HistoryFixture.summary(e)
            history.append(TrainingRecord.Epoch(epoch: e, temperature: s.temperature!, testAccuracy: s.testAccuracy, entropy: s.layerEntropy))
        }
        let record = TrainingRecord(epoch: 5, epochs: 30, testAccuracy: HistoryFixture.summary(5).testAccuracy,
                                    entropy: HistoryFixture.summary(5).layerEntropy, history: history)
        var alone = Fixture.dynamic
        alone.epochs = []
        alone.training = EpochSummary(record, temperature: 15)
        alone.history = CheckpointSummary.history(snapshots: [], records: [], final: record)
        XCTAssertEqual(alone.history.map(\.epoch), [1, 2, 3, 4, 5])
        var bare = alone
        bare.history = []
        for c in [alone, bare] {
            for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60)] {
                var s = state(c)
                s.width = w; s.height = h
                let r = Layout(s).detail
                guard !r.isEmpty else { continue }
                let text = render(s).textLines()[r.y..<r.maxY].map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(r.maxX))) }
                    .joined(separator: "\n")
                XCTAssertTrue(text.contains("Training · epoch 5/30"), "\(w)×\(h)\n\(text)")
                XCTAssertFalse(text.contains("final"), "\(w)×\(h)\n\(text)")
            }
        }
        let g = panel(state(alone), Rect(x: 0, y: 0, width: 30, height: 14))
        XCTAssertTrue(g.text.contains("ep 5"))
        XCTAssertTrue(panel(state(Fixture.dynamic), Rect(x: 0, y: 0, width: 30, height: 14)).text.contains("Training · final"))
    }

    /// Oracle: what a static network has — accuracy, no attention. No map rows, no τ row,
    /// no legend scale; the accuracy row is drawn.
    func testStaticNetworkShowsAccuracyOnly() {
        var c = Fixture.staticNet
        c.history = (1...4).map { EpochSummary(epoch: $0, epochs: 4, temperature: 1, testAccuracy: 0.8 + Float($0) / 100, layerEntropy: [:]) }
        c.epochs = c.history
        c.training = c.history.last
        let rect = Rect(x: 0, y: 0, width: 30, height: 12)
        let g = panel(state(c), rect)
        XCTAssertNotNil(row(g, rect, label: "acc"), g.text)
        XCTAssertNil(row(g, rect, label: "τ"), g.text)
        XCTAssertNil(row(g, rect, label: "L1"), g.text)
        XCTAssertFalse(g.text.contains("H/lnK"), g.text)
        XCTAssertFalse(g.text.contains("τ "), "no τ in the info line either\n\(g.text)")
    }

    /// Oracle: the rect. At every size (1–40 rows, 1–60 columns), colour mode and with
    /// non-finite values, nothing is drawn outside the panel's rect and nothing traps.
    func testNothingDrawnOutsideTheRect() {
        var c = HistoryFixture.longRun
        c.history[3].layerEntropy?["layer2.0.conv"] = .nan
        c.history[4].layerEntropy?["layer3.1.conv"] = .infinity
        c.history[5].testAccuracy = .nan
        c.history[6].temperature = .infinity
        c.history[7].temperature = 0
        c.history[8].loss = .nan
        for mode in ColorMode.allCases {
            for h in [1, 2, 3, 5, 8, 13, 40] {
                for w in [1, 3, 10, 26, 30, 45, 60] {
                    let rect = Rect(x: 5, y: 0, width: w, height: h)
                    for epoch in [nil, 0, 4] as [Int?] {
                        var s = state(c, colorMode: mode)
                        s.epochIndex = epoch
                        let g = panel(s, rect)
                        for y in 0..<40 {
                            for x in 0..<120 where !(x >= rect.x && x < rect.maxX && y >= rect.y && y < rect.maxY) {
                                if g[x, y] != .blank { return XCTFail("\(mode) \(w)×\(h): cell (\(x), \(y)) drawn\n\(g.text)") }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Oracle: the number of layers. With many layers (20, ResNet-18-like) and few rows, the
    /// map groups them by stage; with fewer rows than stages it keeps an evenly spaced subset
    /// that starts at the lowest and ends at the top layer.
    func testManyLayersGroupByStageOrSample() {
        let names = (1...4).flatMap { s in (0..<5).map { "layer\(s).\($0).conv" } }
        XCTAssertEqual(HistoryRows(layerNames: names, maxRows: 20).rows.count, 20)
        let stages = HistoryRows(layerNames: names, maxRows: 6)
        XCTAssertEqual(stages.grouping, .stages)
        XCTAssertEqual(stages.rows.map(\.label), ["layer1", "layer2", "layer3", "layer4"])
        XCTAssertEqual(stages.rows.flatMap(\.layers), Array(0..<20))
        let sampled = HistoryRows(layerNames: names, maxRows: 3)
        XCTAssertEqual(sampled.grouping, .sampled)
        XCTAssertEqual(sampled.rows.map(\.layers), [[0], [10], [19]])
        XCTAssertEqual(HistoryRows(layerNames: names, maxRows: 1).rows.map(\.layers), [[19]], "one row: the top layer")
        XCTAssertEqual(HistoryRows(layerNames: names, maxRows: 0).rows, [])
    }

    /// Oracle: `Fixture.dynamic`, whose four epochs all have a snapshot. With epoch 2's
    /// snapshot dropped, the map, τ and accuracy rows are the same at the final checkpoint and
    /// with each remaining snapshot selected; only the marker row loses epoch 2's dot.
    func testPanelWithDroppedEpochsDrawsTheSameHistory() {
        let r = records()
        var sparse = Fixture.dynamic
        sparse.epochs = [Fixture.epochs[0], Fixture.epochs[2], Fixture.epochs[3]]
        sparse.history = CheckpointSummary.history(snapshots: s([0, 2, 3]), records: [r[0], r[2], r[3]], final: nil)
        var full = Harness(Fixture.state())
        var kept = Harness(Fixture.state(checkpoints: [sparse, Fixture.condconv, Fixture.staticNet]))
        let rect = Layout(full.state).detail
        func lines(_ h: Harness) -> [String] {
            render(h.state).textLines()[rect.y..<rect.maxY].map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(rect.maxX))) }
        }
        func compare(_ what: String) {
            let a = lines(kept), b = lines(full)
            guard let acc = b.firstIndex(where: { $0.hasPrefix("acc ") }) else { return XCTFail("no acc row\n\(b.joined(separator: "\n"))") }
            XCTAssertEqual(Array(a[..<(acc + 1)]), Array(b[..<(acc + 1)]), what)
            XCTAssertEqual(Array(a[(acc + 2)...]), Array(b[(acc + 2)...]), what)
            // Marker row: one column differs, epoch 2's dot.
            let km = Array(a[acc + 1].unicodeScalars), fm = Array(b[acc + 1].unicodeScalars)
            XCTAssertEqual(km.count, fm.count)
            let differ = (0..<min(km.count, fm.count)).filter { km[$0] != fm[$0] }
            XCTAssertEqual(differ.count, 1, "\(what)\n\(a[acc + 1])\n\(b[acc + 1])")
            if let i = differ.first { XCTAssertEqual([km[i], fm[i]], [" ", "·"], what) }
        }
        compare("final")
        XCTAssertTrue(kept.screen.text.contains("3 snapshots < >"))
        for _ in 0..<2 {
            kept.type("<"); full.type("<")
            compare("epoch \(kept.state.epoch?.epoch ?? -1)")
        }
        XCTAssertEqual(kept.state.epoch?.epoch, 3)
        kept.type("<"); full.type("<<")
        XCTAssertEqual(kept.state.epoch?.epoch, 1)
        compare("epoch 1")
    }
}

/// The panel alone, as text, for the 31-epoch run: the spec of the picture.
final class TrainingHistorySnapshotTests: XCTestCase {
    /// Oracle: the recorded text, inspected by eye — 256 colours: 16 half-block cells for 31
    /// epochs, the marker in the right half of cell 1 (epoch 3); monochrome: a window of
    /// whole columns with `›`; a 50-wide panel (200×60 with a large image): one column each,
    /// layer names, legend on two rows.
    func testLongRunPanels() {
        for (name, mode, width, height) in [("history-31-half-256", ColorMode.xterm256, 30, 14),
                                            ("history-31-window-mono", .monochrome, 30, 14),
                                            ("history-31-wide-256", .xterm256, 50, 16)] {
            var s = Fixture.state(colorMode: mode, checkpoints: [HistoryFixture.longRun])
            s.epochIndex = 3
            var grid = CellGrid(width: width, height: height)
            renderTrainingHistory(RenderContext(s), Rect(x: 0, y: 0, width: width, height: height), into: &grid)
            assertSnapshot(grid, named: name)
        }
    }
}
