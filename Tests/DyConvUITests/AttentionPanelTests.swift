import XCTest
import DyConvEngine
@testable import DyConvUI

/// The attention panel of issue #11: per-layer π heat rows and the depth profile (H/lnK of
/// the profiled images on one axis shared by every layer, the current image marked).
enum ProfileFixture {
    /// A cloud batch of `count` images for the state's network: π = softmax(z · s_l) (CondConv:
    /// sigmoid) of pseudo-random logits z whose scale s_l grows with depth, so the low layers
    /// are flat (H/lnK ≈ 1) and the top ones sparser — the paper's shape — and H/lnK is the
    /// engine's `normalizedEntropy` of that π.
    static func realistic(for s: ViewState, count: Int = 1000) -> CloudBatch {
        let layers = s.checkpoint.layers
        var values: [[Float]] = layers.map { _ in [] }
        var entropies: [[Float]] = layers.map { _ in [] }
        for i in 0..<count {
            for (l, layer) in layers.enumerated() {
                let scale = 0.1 + 0.45 * Double(l) / Double(max(layers.count - 1, 1))
                let z = (0..<layer.kernels).map { j in
                    scale * (sin(Double(i) * 1.37 + Double(j) * 2.11 + Double(l) * 0.71) * 1.6
                             + cos(Double(i * (j + 2)) * 0.193) * 0.9)
                }
                let pi: [Float]
                if layer.routing == .sigmoid {
                    pi = z.map { Float(1 / (1 + exp(-$0))) }
                } else {
                    let m = z.max() ?? 0
                    let e = z.map { exp($0 - m) }
                    let sum = e.reduce(0, +)
                    pi = e.map { Float($0 / sum) }
                }
                values[l] += pi
                entropies[l].append(normalizedEntropy(pi))
            }
        }
        return CloudBatch(key: s.configKey, indices: Array(0..<count), layers: values, entropies: entropies,
                          kernels: layers.map(\.kernels), done: count, total: count)
    }

    /// A batch with the given H/lnK per layer and image (π uniform: only the profile reads them).
    static func entropies(for s: ViewState, _ values: [[Float]]) -> CloudBatch {
        let layers = s.checkpoint.layers
        let count = values.first?.count ?? 0
        return CloudBatch(key: s.configKey, indices: Array(0..<count),
                          layers: layers.map { [Float](repeating: 1 / Float($0.kernels), count: count * $0.kernels) },
                          entropies: values, kernels: layers.map(\.kernels), done: count, total: count)
    }

    /// The fixture state (after its first forward pass) with a batch added.
    static func harness(width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256, checkpoint: Int = 0,
                        batch: (ViewState) -> CloudBatch? = { realistic(for: $0) }) -> Harness {
        var s = Fixture.state(width: width, height: height, colorMode: colorMode)
        s.checkpointIndex = checkpoint
        var h = Harness(s)
        if let b = batch(h.state) { h.send(.cloudPoints(b)) }
        return h
    }

    /// The forward result of the harness' state with layer `l`'s π replaced.
    static func result(for s: ViewState, attention: [Int: [Float]]) -> ForwardResult {
        var r = Fixture.result(for: s)
        let layers = r.trace.layers.enumerated().map { l, t in
            guard let pi = attention[l] else { return t }
            return LayerTrace(name: t.name, routing: t.routing, kernels: t.kernels, temperature: t.temperature, logits: t.logits,
                              attention: pi, applied: pi, entropy: [normalizedEntropy(pi)])
        }
        r.trace = ForwardTrace(layers: layers, logits: r.trace.logits, probabilities: r.trace.probabilities)
        return r
    }
}

final class AttentionPanelTests: XCTestCase {
    /// The columns of the layer rows (the renderer's own geometry).
    private func geometry(_ s: ViewState) -> AttentionPanelGeometry { AttentionPanelGeometry(RenderContext(s)) }

    /// A sparse π (1, 0, 0, 0) lights one cell and a flat π (.25 × 4) gives four equal cells.
    /// Oracle: `HeatScale.color` of 1, 0 and 0.25 (colour) and `HeatScale.glyph` ("█", " ", "░")
    /// without colour, taken per kernel cell at the columns the panel reserves for it.
    func testSparseAndFlatHeatRowsDiffer() {
        for mode in [ColorMode.truecolor, .xterm256, .ansi8, .monochrome] {
            for (w, h) in [(80, 24), (120, 40), (200, 60)] {
                var s = Fixture.state(width: w, height: h, colorMode: mode)
                _ = update(&s, .forwardCompleted(ProfileFixture.result(for: s, attention: [1: [1, 0, 0, 0], 2: [0.25, 0.25, 0.25, 0.25]])))
                let grid = render(s)
                let layout = Layout(s), g = geometry(s)
                let cols = g.columns
                // The first cell of each kernel: its colour (background) or glyph.
                func cells(_ l: Int) -> [Cell] {
                    let y = layout.row(ofLayer: l, layerCount: 6, selected: 0)!
                    return (0..<4).map { grid[layout.attention.x + cols.cellsX + $0 * cols.cellWidth, y] }
                }
                let sparse = cells(1), flat = cells(2)
                let what = "\(mode) \(w)×\(h)"
                if let one = HeatScale.color(1, mode: mode), let zero = HeatScale.color(0, mode: mode),
                   let quarter = HeatScale.color(0.25, mode: mode) {
                    XCTAssertEqual(sparse.map(\.style.background), [one, zero, zero, zero], what)
                    XCTAssertEqual(flat.map(\.style.background), [quarter, quarter, quarter, quarter], what)
                } else {
                    XCTAssertEqual(sparse.map(\.scalar), ["█", " ", " ", " "], what)
                    XCTAssertEqual(flat.map(\.scalar), ["░", "░", "░", "░"], what)
                }
                XCTAssertNotEqual(sparse, flat, what)
                // Where the cells are wide, the values are printed (else the detail panel has them).
                let row = grid.row(layout.row(ofLayer: 1, layerCount: 6, selected: 0)!)
                XCTAssertEqual(row.contains("1.00") && row.contains("0.00"), cols.cellText, "\(what): \(row)")
            }
        }
    }

    /// Layer 0's H/lnK all ≈ 0.99 and layer 5's spread over 0.6–0.9: the axis starts at 0.50
    /// (the lowest layer's 1 % quantile is ≥ 0.5; the left ends are 0.50, 0.25 or 0), and layer
    /// 0's mass is drawn right of all of layer 5's. Oracle, by hand: layer 5's 1 % quantile is
    /// 0.6 + 0.3 · 0.01 ≈ 0.603 → axis 0.50–1.00; layer 0's points (0.985–0.995) fall in the
    /// cells from ⌊(0.985 − 0.5) / 0.5 · w⌋, layer 5's (0.6–0.9) up to ⌊(0.9 − 0.5) / 0.5 · w⌋.
    func testProfileDrawsLowLayersRightOfTopLayers() {
        for mode in [ColorMode.xterm256, .monochrome] {
            for (w, h) in [(80, 24), (120, 40), (200, 60)] {
                let n = 200
                let values: [[Float]] = (0..<6).map { l in
                    (0..<n).map { i in
                        let t = Float(i) / Float(n - 1)
                        switch l {
                        case 0: return 0.985 + 0.01 * t
                        case 5: return 0.6 + 0.3 * t
                        default: return 0.95
                        }
                    }
                }
                let harness = ProfileFixture.harness(width: w, height: h, colorMode: mode) { ProfileFixture.entropies(for: $0, values) }
                let s = harness.state
                let g = geometry(s), layout = Layout(s), grid = render(s)
                XCTAssertEqual(g.axis.lowerHundredths, 50)
                XCTAssertTrue(grid.row(layout.attention.y + 1).contains("0.50"))
                XCTAssertTrue(grid.row(layout.attention.y + 1).contains("1.00"))
                let pw = g.axis.width
                XCTAssertGreaterThanOrEqual(pw, AttentionColumns.minimumProfile, "\(w)×\(h)")
                func barColumns(_ l: Int) -> [Int] {
                    let y = layout.row(ofLayer: l, layerCount: 6, selected: 0)!
                    return (0..<pw).filter { CellGrid.verticalEighths.contains(grid[layout.attention.x + g.columns.profileX + $0, y].scalar) }
                }
                let top = barColumns(5), low = barColumns(0)
                XCTAssertFalse(top.isEmpty); XCTAssertFalse(low.isEmpty)
                let lowStart = Int((0.985 - 0.5) / 0.5 * Double(pw))
                let topEnd = Int((0.9 - 0.5) / 0.5 * Double(pw))
                XCTAssertGreaterThanOrEqual(low.min()!, lowStart - 1, "\(w)×\(h): \(low)")
                XCTAssertLessThanOrEqual(top.max()!, topEnd, "\(w)×\(h): \(top)")
                XCTAssertGreaterThan(low.min()!, top.max()!, "\(w)×\(h)")
                // Layer 5's points are spread evenly: its histogram covers most of 0.6–0.9.
                let topStart = Int((0.6 - 0.5) / 0.5 * Double(pw))
                XCTAssertGreaterThanOrEqual(top.count, (topEnd - topStart) * 3 / 4, "\(w)×\(h): \(top)")
            }
        }
    }

    /// The axis is shared by ALL layers, not only those on screen: with 51 MobileNetV2 layers
    /// at 80×24 and the top layer (far out of view) spread down to 0.30, the axis starts at
    /// 0.30 or one tick step below (oracle: that layer's 1 % quantile, 0.3 + 0.2 · 0.01, rounded
    /// down to 0.05, then to the tick step), where the visible layers alone would give 0.95.
    func testAxisIsSharedAcrossScrolledOutLayers() {
        let m = ColorFixture.mobilenet
        var s = ColorFixture.state(m, width: 80, height: 24)
        let count = m.summary.layers.count
        let n = 100
        let values: [[Float]] = (0..<count).map { l in
            (0..<n).map { i in l == count - 1 ? 0.3 + 0.2 * Float(i) / Float(n - 1) : 0.99 }
        }
        s.selectedLayer = 0
        _ = update(&s, .cloudPoints(ProfileFixture.entropies(for: s, values)))
        let layout = Layout(s)
        XCTAssertNil(layout.row(ofLayer: count - 1, layerCount: count, selected: 0), "top layer scrolled out")
        let axis = geometry(s).axis
        XCTAssertLessThanOrEqual(axis.lowerHundredths, 30)
        XCTAssertGreaterThan(axis.lowerHundredths, 30 - axis.step)
        XCTAssertTrue(render(s).row(layout.attention.y + 1).contains(ProfileAxis.label(axis.lowerHundredths)))
    }

    /// The current image's mark lands in the cell of its H/lnK on the axis: the bar of that
    /// cell drawn in the marker's colour (the bar is never hidden), or ● on an empty cell.
    /// Oracle: the fixture's π of each layer, its `normalizedEntropy`, and the cell
    /// ⌊(H − lo) / (1 − lo) · w⌋ computed here from the axis' ends.
    func testCurrentImageMarkerColumn() {
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let harness = ProfileFixture.harness(width: w, height: h)
            let s = harness.state
            let g = geometry(s), layout = Layout(s), grid = render(s)
            let lo = g.axis.lower, pw = g.axis.width
            let trace = s.currentResult!.trace
            for l in 0..<6 {
                let hl = Double(normalizedEntropy(trace.layers[l].attention))
                let y = layout.row(ofLayer: l, layerCount: 6, selected: 0)!
                let x0 = layout.attention.x + g.columns.profileX
                let point = Theme(s.colorMode).point.foreground
                let markers = (0..<pw).filter {
                    let c = grid[x0 + $0, y]
                    return c.scalar == "●" || c.scalar == "◂" || (CellGrid.verticalEighths.contains(c.scalar) && c.style.foreground == point)
                }
                let expected = hl < lo ? 0 : min(Int(((hl - lo) / (1 - lo) * Double(pw)).rounded(.down)), pw - 1)
                XCTAssertEqual(markers, [expected], "layer \(l) H/lnK \(hl) on \(lo)–1 at \(w)×\(h): \(grid.row(y))")
                if hl < lo { XCTAssertEqual(grid[x0 + expected, y].scalar, "◂") }
                // The number is printed too.
                XCTAssertTrue(grid.row(y).contains(Format.unit(Float(hl))), grid.row(y))
            }
        }
    }

    /// The panel draws only inside `Layout.attention`. Oracle: the panel rendered alone onto a
    /// blank grid leaves every cell outside the rectangle blank — at every size, colour mode,
    /// checkpoint (dynamic, CondConv, static, 51-layer MobileNetV2) and profile state.
    func testPanelStaysInsideItsRectangle() {
        var states: [ViewState] = []
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60), (81, 25)] {
            for mode in ColorMode.allCases {
                for checkpoint in 0..<3 {
                    states.append(ProfileFixture.harness(width: w, height: h, colorMode: mode, checkpoint: checkpoint).state)
                    states.append(ProfileFixture.harness(width: w, height: h, colorMode: mode, checkpoint: checkpoint) { _ in nil }.state)
                    var stale = ProfileFixture.harness(width: w, height: h, colorMode: mode, checkpoint: checkpoint)
                    stale.type("mm")
                    states.append(stale.state)
                }
                var m = ColorFixture.state(ColorFixture.mobilenet, width: w, height: h, colorMode: mode)
                for selected in [0, 25, 50] {
                    m.selectedLayer = selected
                    states.append(m)
                }
            }
        }
        for s in states {
            var grid = CellGrid(width: s.width, height: s.height)
            let ctx = RenderContext(s)
            renderAttentionPanel(ctx, into: &grid)
            let r = ctx.layout.attention
            for y in 0..<grid.height {
                for x in 0..<grid.width where !r.contains(x: x, y: y) && grid[x, y] != .blank {
                    XCTFail("\(s.width)×\(s.height) \(s.colorMode) \(s.checkpoint.name): (\(x), \(y)) '\(grid[x, y].scalar)' outside \(r)")
                    return
                }
            }
        }
    }

    /// NaN and ±inf entropies and π (a τ of 1e-40) never trap: the profile leaves them out,
    /// the value prints "nan". Oracle: render returns, and the text shown.
    func testNonFiniteEntropiesDoNotTrap() {
        let poison: [Float] = [.nan, .infinity, -.infinity, 3e38, -3e38, .leastNonzeroMagnitude]
        for mode in ColorMode.allCases {
            for (w, h) in [(80, 24), (120, 40), (200, 60)] {
                var harness = ProfileFixture.harness(width: w, height: h, colorMode: mode) { s in
                    // Layer 0 only NaN, the others a mix of poison and finite values.
                    ProfileFixture.entropies(for: s, (0..<6).map { l in (0..<12).map { l == 0 ? .nan : (($0 % 2 == 0) ? poison[$0 % poison.count] : 0.9) } })
                }
                harness.send(.forwardCompleted(NonFiniteTests.poisoned(for: harness.state)))
                let s = harness.state
                let grid = render(s)
                let layout = Layout(s), g = geometry(s)
                let y = layout.row(ofLayer: 0, layerCount: 6, selected: 0)!
                XCTAssertTrue(grid.row(y).contains("nan"), grid.row(y))
                // Layer 0 has no finite point: no bar on its row.
                let x0 = layout.attention.x + g.columns.profileX
                XCTAssertFalse((0..<g.axis.width).contains { CellGrid.verticalEighths.contains(grid[x0 + $0, y].scalar) })
            }
        }
        // The axis itself from profiles with nothing finite, or extreme values.
        XCTAssertEqual(ProfileAxis(profiles: [], width: 100).lowerHundredths, 50)
        let odd = LayerProfile(sortedEntropy: [-3e38, 3e38], meanAttention: [], meanMass: .nan)
        XCTAssertEqual(ProfileAxis(profiles: [odd], width: 20).lowerHundredths, 0)
        XCTAssertEqual(ProfileAxis(profiles: [odd], width: 20).column(of: .infinity), nil)
        XCTAssertEqual(ProfileAxis(profiles: [odd], width: 20).column(of: 1e300), 19)
        XCTAssertEqual(ProfileAxis(profiles: [odd], width: 0).column(of: 0.5), nil)
    }

    /// The heading says what the profile is over: "profiling…" before any point, the number of
    /// images, and "recomputing a/b" while the points of an earlier τ are replaced (they stay
    /// drawn). Oracle: the cloud's own counts.
    func testHeadingTellsTheProfileState() {
        // Before any forward pass or batch: no points.
        var s = Fixture.state()
        var text = render(s).row(Layout(s).attention.y)
        XCTAssertTrue(text.contains("profiling…"), text)
        XCTAssertTrue(render(s).text.contains("profiling…"))
        // The whole profile.
        var h = ProfileFixture.harness()
        text = h.screen.row(Layout(h.state).attention.y)
        XCTAssertTrue(text.contains("H/lnK over 1000 images"), text)
        XCTAssertTrue(text.contains("● this image"), text)
        // τ changed: the current image is fresh, the other 999 points are the old τ's.
        h.type("+")
        XCTAssertEqual(h.state.cloud.freshCount, 1)
        text = h.screen.row(Layout(h.state).attention.y)
        XCTAssertTrue(text.contains("recomputing 1/1000"), text)
        h.send(.cloudPoints(ProfileFixture.realistic(for: h.state, count: 340)))
        XCTAssertTrue(h.screen.row(Layout(h.state).attention.y).contains("recomputing 340/1000"))
        // The stale points are still drawn: every layer row has its histogram.
        let layout = Layout(h.state)
        for l in 0..<6 {
            let row = h.screen.row(layout.row(ofLayer: l, layerCount: 6, selected: 0)!)
            XCTAssertTrue(row.unicodeScalars.contains { CellGrid.verticalEighths.contains($0) }, row)
        }
        // At 80×24 the heading keeps the count in its short form.
        s = ProfileFixture.harness(width: 80, height: 24).state
        text = render(s).row(Layout(s).attention.y)
        XCTAssertTrue(text.contains("1000"), text)
        // Mode and the shuffle-across partner stay in the heading.
        var m = ProfileFixture.harness()
        m.type("mmmm")
        let partner = m.state.currentResult!.partnerIndex!
        let heading = m.screen.row(Layout(m.state).attention.y)
        XCTAssertTrue(heading.contains("mode shuffle-across · ") && heading.contains("π of image #\(partner)"), heading)
        XCTAssertTrue(heading.contains("H/lnK over 1000 images"), heading)
    }

    /// The median over the profiled images is printed where there is room. Oracle: the nearest-rank
    /// median of the fixture's H/lnK of layer 5, computed here.
    func testMedianIsPrinted() {
        let h = ProfileFixture.harness(width: 200, height: 60)
        let g = geometry(h.state)
        XCTAssertGreaterThan(g.columns.medianWidth, 0)
        let batch = ProfileFixture.realistic(for: h.state)
        let sorted = batch.entropies[5].sorted()
        let median = sorted[Int((0.5 * Double(sorted.count - 1)).rounded())]
        let y = Layout(h.state).row(ofLayer: 5, layerCount: 6, selected: 0)!
        XCTAssertTrue(h.screen.row(y).hasSuffix(Format.unit(median) + String(repeating: " ", count: h.state.width - Layout(h.state).attention.maxX)),
                      h.screen.row(y))
    }

    /// The panel with a full profile, as a user sees it at the four sizes, in CondConv and
    /// without colour: the spec of the layout (LOOK at them).
    func testProfileSnapshots() {
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60)] {
            assertSnapshot(ProfileFixture.harness(width: w, height: h).screen, named: "profile-\(w)x\(h)")
        }
        assertSnapshot(ProfileFixture.harness(checkpoint: 1).screen, named: "profile-condconv-120x40")
        let mono = ProfileFixture.harness(colorMode: .monochrome)
        assertSnapshot(mono.screen, named: "profile-monochrome-120x40")
        assertSnapshot(attributeMap(mono.screen), named: "profile-monochrome-attributes-120x40")
    }
}
