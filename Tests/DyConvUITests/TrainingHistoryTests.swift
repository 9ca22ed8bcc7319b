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
                                   trainAccuracy: e.trainAccuracy, testAccuracy: e.testAccuracy)
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
        XCTAssertEqual(CheckpointSummary.history(snapshots: [], records: [], final: r[3]), [], "no snapshots, no history panel")
        // Records without a history (older runs): the snapshots alone, as before.
        let bare = r.map { var x = $0; x.history = nil; return x }
        XCTAssertEqual(CheckpointSummary.history(snapshots: s([0, 3]), records: [bare[0], bare[3]], final: nil), [Fixture.epochs[0], Fixture.epochs[3]])
    }

    /// The "final" marker's label stays inside the training panel at every size: to the right of
    /// the marker when there is room, else to its left (it used to run across the panel edge).
    func testFinalMarkerStaysInsideThePanel() {
        // A 31-epoch run like the bundled checkpoint's: the sparklines fill the panel's width.
        var long = Fixture.dynamic
        long.history = (1...31).map {
            EpochSummary(epoch: $0, epochs: 31, temperature: max(30 - Float($0 - 1) * 3, 1), testAccuracy: 0.8 + Float($0) / 200)
        }
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60)] {
            var state = Fixture.state(checkpoints: [long])
            state.width = w; state.height = h
            let grid = render(state)
            let r = Layout(state).history
            // Below 120×40 the layout gives the history its heading and summary only (the
            // image and the z/π/applied table come first): no sparklines, no marker row.
            guard r.height >= 5 else { continue }
            let rows = (r.y..<r.maxY).map { grid.row($0) }.filter { $0.contains("final") && $0.contains("▲") }
            XCTAssertFalse(rows.isEmpty, "\(w)×\(h): no final marker")
            for row in rows {
                let cells = Array(row.unicodeScalars)
                let inside = String(String.UnicodeScalarView(cells[r.x..<min(r.maxX, cells.count)]))
                XCTAssertTrue(inside.contains("▲") && (inside.contains("▲ final") || inside.contains("final ▲")),
                              "\(w)×\(h): '\(row)'")
            }
        }
    }

    /// Oracle: the screens of `Fixture.dynamic`, whose four epochs all have a snapshot. With
    /// epoch 2's snapshot dropped, every line but the header's snapshot count is the same, at
    /// the final checkpoint and with each remaining snapshot selected.
    func testPanelWithDroppedEpochsLooksTheSame() {
        let r = records()
        var sparse = Fixture.dynamic
        sparse.epochs = [Fixture.epochs[0], Fixture.epochs[2], Fixture.epochs[3]]
        sparse.history = CheckpointSummary.history(snapshots: s([0, 2, 3]), records: [r[0], r[2], r[3]], final: nil)
        var full = Harness(Fixture.state())
        var kept = Harness(Fixture.state(checkpoints: [sparse, Fixture.condconv, Fixture.staticNet]))
        func body(_ h: Harness) -> [String] { Array(h.screen.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().map(String.init)) }
        XCTAssertEqual(body(kept), body(full), "final")
        XCTAssertTrue(kept.screen.text.contains("3 snapshots < >"))
        // Step back to epoch 4, then 3 (kept) — the full run passes the same epochs.
        for _ in 0..<2 {
            kept.type("<"); full.type("<")
            XCTAssertEqual(body(kept), body(full), "epoch \(kept.state.epoch?.epoch ?? -1)")
        }
        XCTAssertEqual(kept.state.epoch?.epoch, 3)
        // One step takes the sparse run to epoch 1 (2 has no snapshot); the full run needs two.
        kept.type("<"); full.type("<<")
        XCTAssertEqual(kept.state.epoch?.epoch, 1)
        XCTAssertEqual(body(kept), body(full), "epoch 1")
    }
}
