import XCTest
import DyConvEngine
@testable import DyConvUI

/// Mouse input: SGR report decoding on byte sequences, and each click target, located by
/// its `Layout` rectangle and checked against where the label is drawn on screen.
final class MouseTests: XCTestCase {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The column of `label` in a screen row, or nil.
    private func column(of label: String, in row: String) -> Int? {
        let scalars = Array(row.unicodeScalars), l = Array(label.unicodeScalars)
        guard scalars.count >= l.count else { return nil }
        return (0...(scalars.count - l.count)).first { Array(scalars[$0..<($0 + l.count)]) == l }
    }

    /// Oracle: xterm's SGR encoding (ctlseqs, "SGR (1006)"): 1-based cells, button code
    /// 0/1/2 + 64 for the wheel, +32 motion, +4/8/16 modifiers, M press, m release.
    func testSGRDecoding() {
        XCTAssertEqual(SGRMouse.parse(bytes("\u{1B}[<0;10;5M")), MouseEvent(x: 9, y: 4, button: .left))
        XCTAssertEqual(SGRMouse.parse(bytes("\u{1B}[<1;1;1M")), MouseEvent(x: 0, y: 0, button: .middle))
        XCTAssertEqual(SGRMouse.parse(bytes("\u{1B}[<2;200;60M")), MouseEvent(x: 199, y: 59, button: .right))
        XCTAssertEqual(SGRMouse.parse(bytes("\u{1B}[<64;3;4M")), MouseEvent(x: 2, y: 3, button: .wheelUp))
        XCTAssertEqual(SGRMouse.parse(bytes("\u{1B}[<65;3;4M")), MouseEvent(x: 2, y: 3, button: .wheelDown))
        XCTAssertEqual(SGRMouse.parse(bytes("\u{1B}[<16;7;8M")), MouseEvent(x: 6, y: 7, button: .left), "Ctrl-click")
        XCTAssertNil(SGRMouse.parse(bytes("\u{1B}[<0;10;5m")), "release")
        XCTAssertNil(SGRMouse.parse(bytes("\u{1B}[<32;10;5M")), "motion")
        XCTAssertNil(SGRMouse.parse(bytes("\u{1B}[<3;10;5M")), "no button")
        XCTAssertNil(SGRMouse.parse(bytes("\u{1B}[<0;0;5M")), "column 0 does not exist")
        // Malformed or overlong: nil, never a trap.
        for bad in ["", "\u{1B}", "\u{1B}[<", "\u{1B}[<0;10M", "\u{1B}[<0;10;5;7M", "\u{1B}[<;;M", "\u{1B}[<a;1;1M",
                    "\u{1B}[M !!", "\u{1B}[<99999999999999999999;1;1M", "\u{1B}[<0;1;1" + String(repeating: "9", count: 40) + "M",
                    "[<0;1;1M", "\u{1B}[<0;1;1X"] {
            XCTAssertNil(SGRMouse.parse(bytes(bad)), bad)
        }
        XCTAssertEqual(SGRMouse.scan(bytes("\u{1B}[<0;1")), .incomplete)
        XCTAssertEqual(SGRMouse.scan(bytes("\u{1B}[<0;1;1M")), .complete)
        XCTAssertEqual(SGRMouse.scan(bytes("\u{1B}[A")), .notMouse, "an arrow key is given back")
        XCTAssertEqual(SGRMouse.scan(bytes("\u{1B}[M")), .legacy, "an X10 report is dropped, not read as keys")
        XCTAssertEqual(SGRMouse.scan(bytes("\u{1B}[")), .incomplete)
        XCTAssertEqual(SGRMouse.scan(bytes("\u{1B}[<" + String(repeating: "1", count: 30))), .notMouse, "overlong")
    }

    /// Oracle: the header draws "[1/3 Tab]" at `Layout.checkpointTab`; a click there does
    /// what Tab does (next checkpoint, a forward and profile pass).
    func testClickOnTabLabelSwitchesCheckpoint() throws {
        var h = Harness(Fixture.state())
        let tab = try XCTUnwrap(Layout(h.state).checkpointTab)
        XCTAssertEqual(column(of: "[1/3 Tab]", in: h.screen.row(0)), tab.x)
        XCTAssertEqual(tab.width, 9)
        XCTAssertEqual(h.send(.mouse(MouseEvent(x: tab.maxX - 1, y: tab.y))), [.forward, .prefill])
        XCTAssertEqual(h.state.checkpointIndex, 1)
        h.send(.mouse(MouseEvent(x: tab.x - 1, y: tab.y)))
        XCTAssertEqual(h.state.checkpointIndex, 1, "a click beside the label does nothing")
        // One checkpoint open: no label, no target.
        XCTAssertNil(Layout(Harness(Fixture.state(checkpoints: [Fixture.dynamic])).state).checkpointTab)
    }

    /// Oracle: the training heading draws "< >" at `Layout.epochArrows`; "<" steps back as
    /// the < key does (from the final checkpoint to the last snapshot), ">" forward; at the
    /// final checkpoint ">" stops (epochs do not wrap).
    func testClickOnEpochArrows() throws {
        for (w, hgt) in [(80, 24), (120, 40)] {
            var h = Harness(Fixture.state(width: w, height: hgt))
            let arrows = try XCTUnwrap(Layout(h.state).epochArrows)
            XCTAssertEqual(column(of: "< >", in: h.screen.row(arrows.y)), arrows.x, "\(w)×\(hgt)")
            XCTAssertEqual(h.send(.mouse(MouseEvent(x: arrows.x, y: arrows.y))), [.forward, .prefill])
            XCTAssertEqual(h.state.epochIndex, 3)
            h.send(.mouse(MouseEvent(x: arrows.x, y: arrows.y)))
            XCTAssertEqual(h.state.epochIndex, 2)
            h.send(.mouse(MouseEvent(x: arrows.maxX - 1, y: arrows.y)))
            h.send(.mouse(MouseEvent(x: arrows.maxX - 1, y: arrows.y)))
            XCTAssertNil(h.state.epochIndex)
            XCTAssertEqual(h.send(.mouse(MouseEvent(x: arrows.maxX - 1, y: arrows.y))), [])
            XCTAssertEqual(h.state.message, "already at the final checkpoint")
        }
        // CondConv has no snapshots: no arrows.
        var h = Harness(Fixture.state())
        h.press(.tab)
        XCTAssertNil(Layout(h.state).epochArrows)
    }

    /// Oracle: the status line draws "? help" at `Layout.helpLabel`; a click opens the help,
    /// and any click (any button) closes it without doing anything else.
    func testClickOnHelpAndAnyClickCloses() throws {
        for (w, hgt) in LayoutTests.sizes {
            var h = Harness(Fixture.state(width: w, height: hgt))
            let help = try XCTUnwrap(Layout(h.state).helpLabel)
            XCTAssertEqual(column(of: "? help", in: h.screen.row(help.y)), help.x, "\(w)×\(hgt)")
            h.send(.mouse(MouseEvent(x: help.x + 2, y: help.y)))
            XCTAssertTrue(h.state.showHelp)
            let tab = try XCTUnwrap(Layout(h.state).checkpointTab)
            h.send(.mouse(MouseEvent(x: tab.x, y: tab.y, button: .right)))
            XCTAssertFalse(h.state.showHelp)
            XCTAssertEqual(h.state.checkpointIndex, 0, "the closing click does nothing else")
        }
    }

    /// Oracle: the wheel steps images like ← → (wrapping at 0) over the left column, and the
    /// layer selection over the attention rows (stopping at the ends); elsewhere nothing.
    func testWheel() {
        var h = Harness(Fixture.state())
        let layout = Layout(h.state)
        XCTAssertEqual(h.send(.mouse(MouseEvent(x: layout.image.x + 3, y: layout.image.y + 3, button: .wheelUp))), [.forward])
        XCTAssertEqual(h.state.imageIndex, 999)
        h.send(.mouse(MouseEvent(x: layout.prediction.x, y: layout.prediction.y, button: .wheelDown)))
        XCTAssertEqual(h.state.imageIndex, 0)
        let row = layout.row(ofLayer: 0, layerCount: 6, selected: 0)!
        h.send(.mouse(MouseEvent(x: layout.attention.x + 4, y: row, button: .wheelDown)))
        XCTAssertEqual(h.state.selectedLayer, 1)
        h.send(.mouse(MouseEvent(x: layout.attention.x + 4, y: row, button: .wheelUp)))
        h.send(.mouse(MouseEvent(x: layout.attention.x + 4, y: row, button: .wheelUp)))
        XCTAssertEqual(h.state.selectedLayer, 0)
        XCTAssertEqual(h.send(.mouse(MouseEvent(x: layout.simplex.x + 5, y: layout.simplex.y + 5, button: .wheelDown))), [])
        XCTAssertEqual(h.state.imageIndex, 0)
    }

    /// Oracle: a left click on a layer row selects that layer (Layout.row(ofLayer:)); a
    /// middle or right click there does not.
    func testClickOnLayerRow() {
        var h = Harness(Fixture.state(width: 80, height: 24))
        let layout = Layout(h.state)
        let y = layout.row(ofLayer: 3, layerCount: 6, selected: 0)!
        h.send(.mouse(MouseEvent(x: layout.attention.x + 2, y: y, button: .middle)))
        XCTAssertEqual(h.state.selectedLayer, 0)
        h.send(.mouse(MouseEvent(x: layout.attention.x + 2, y: y)))
        XCTAssertEqual(h.state.selectedLayer, 3)
    }
}
