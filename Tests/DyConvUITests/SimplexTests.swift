import XCTest
import DyConvEngine
@testable import DyConvUI

/// The simplex panel (issue #11 item 3): peaked attention never drawn where flat attention is,
/// exact K ≤ 3 placement, a regular tetrahedron that turns, CondConv's r marked off the
/// simplex, small multiples over every layer, nothing outside the panel, nothing trapping.
final class SimplexTests: XCTestCase {
    // MARK: Fixtures

    /// A checkpoint of `count` dynamic layers (names b0.conv, b1.conv, …) with K kernels.
    static func checkpoint(_ routing: Routing, kernels: Int = 4, count: Int = 6) -> CheckpointSummary {
        let layers = (0..<count).map { LayerSummary(name: "b\($0).conv", routing: routing, kernels: kernels, trainedTemperature: 1) }
        return CheckpointSummary(name: "test-\(routing.rawValue)-k\(kernels)", family: "dycnn", layers: layers,
                                 classes: Fixture.classNames)
    }

    /// A state whose current image has coefficients `c` at layer 0 (the selected layer).
    static func state(_ c: [Float], routing: Routing = .softmax, width: Int = 120, height: Int = 40,
                      view: SimplexView = SimplexView(), count: Int = 6, colorMode: ColorMode = .xterm256) -> ViewState {
        var s = Fixture.state(width: width, height: height, colorMode: colorMode,
                              checkpoints: [checkpoint(routing, kernels: c.count, count: count)])
        s.simplexView = view
        var r = Fixture.result(for: s)
        let t = r.trace.layers[0]
        r.trace.layers[0] = LayerTrace(name: t.name, routing: t.routing, kernels: c.count, temperature: t.temperature,
                                       logits: c, attention: c, applied: c, entropy: [normalizedEntropy(c)])
        _ = update(&s, .forwardCompleted(r))
        return s
    }

    /// The marks (● ◉ ◆) in the plot area of the selected-layer view, with their cells.
    static func marks(_ s: ViewState) -> [(x: Int, y: Int, glyph: Unicode.Scalar, style: Style)] {
        let grid = render(s)
        let box = SimplexPanelFrame(Layout(s).simplex).canvas
        var out: [(x: Int, y: Int, glyph: Unicode.Scalar, style: Style)] = []
        for y in box.y..<box.maxY {
            for x in box.x..<box.maxX where ["●", "◉", "◆"].contains(grid[x, y].scalar) {
                out.append((x, y, grid[x, y].scalar, grid[x, y].style))
            }
        }
        return out
    }

    /// The one current-image mark (● or ◉) of the plot.
    static func imageMark(_ s: ViewState, file: StaticString = #filePath, line: UInt = #line) throws
        -> (x: Int, y: Int, glyph: Unicode.Scalar, style: Style) {
        let m = marks(s).filter { $0.glyph != "◆" }
        XCTAssertEqual(m.count, 1, "one image mark", file: file, line: line)
        return try XCTUnwrap(m.first, file: file, line: line)
    }

    /// Fills the cloud with the fixture's π of images `range` under the state's configuration
    /// (as the background profile pass reports them).
    static func fillCloud(_ s: inout ViewState, images range: Range<Int>) {
        var t = s
        var layers = [[Float]](repeating: [], count: s.layerCount), entropies = layers
        for i in range {
            t.imageIndex = i
            for (l, lt) in Fixture.result(for: t).trace.layers.enumerated() {
                layers[l] += lt.attention; entropies[l] += lt.entropy
            }
        }
        _ = update(&s, .cloudPoints(CloudBatch(key: s.configKey, indices: Array(range), layers: layers, entropies: entropies,
                                               kernels: s.checkpoint.layers.map(\.kernels))))
    }

    // MARK: Peaked vs flat (the issue's "done when")

    /// Oracle: (.5, 0, .5, 0), (0, .5, 0, .5) and uniform are three distinct points of the
    /// 3-simplex (H/lnK 0.5, 0.5, 1); the old square drew all three at its centre. At the
    /// default view they must land in different cells, at 80×24 and 120×40.
    func testPeakedAndUniformLandApartAtTheDefaultView() throws {
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let a = try Self.imageMark(Self.state([0.5, 0, 0.5, 0], width: w, height: h))
            let b = try Self.imageMark(Self.state([0.25, 0.25, 0.25, 0.25], width: w, height: h))
            let c = try Self.imageMark(Self.state([0, 0.5, 0, 0.5], width: w, height: h))
            XCTAssertFalse(a.x == b.x && a.y == b.y, "(.5,0,.5,0) on uniform at \(w)×\(h)")
            XCTAssertFalse(c.x == b.x && c.y == b.y, "(0,.5,0,.5) on uniform at \(w)×\(h)")
            XCTAssertFalse(a.x == c.x && a.y == c.y, "(.5,0,.5,0) on (0,.5,0,.5) at \(w)×\(h)")
        }
    }

    /// Oracle as above, for every yaw step at the default pitch: the cells differ, or the marks
    /// do (glyph or style). Also the geometry: the edge midpoints stay ≥ 0.2 (unit circumradius)
    /// from uniform on screen — the analytic minimum |m|·sin(35.3° − 15°) = 0.577 · 0.347.
    func testEveryYawKeepsPeakedAndUniformApart() throws {
        for yaw in 0..<(360 / SimplexView.step) {
            let view = SimplexView(yaw: yaw, pitch: SimplexView().pitch)
            let a = try Self.imageMark(Self.state([0.5, 0, 0.5, 0], view: view))
            let b = try Self.imageMark(Self.state([0.25, 0.25, 0.25, 0.25], view: view))
            XCTAssertTrue(a.x != b.x || a.y != b.y || a.glyph != b.glyph || a.style != b.style, "yaw step \(yaw)")
            let p = SimplexProjection(kernels: 4, view: view)
            let u = try XCTUnwrap(p.place([0.25, 0.25, 0.25, 0.25] as [Float]))
            for e in [[0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5], [0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5], [0.5, 0, 0, 0.5], [0, 0.5, 0.5, 0]] as [[Float]] {
                let m = try XCTUnwrap(p.place(e))
                XCTAssertGreaterThan(((m.x - u.x) * (m.x - u.x) + (m.y - u.y) * (m.y - u.y)).squareRoot(), 0.199, "\(e) yaw \(yaw)")
            }
        }
    }

    /// Oracle: the point of the radial plot is the spoke of the largest πₖ at that πₖ; peaked
    /// (.5, 0, .5, 0, 0, 0) is at half the spoke, uniform at 1/6: different cells.
    func testRadialPlotKeepsPeakedAndUniformApart() throws {
        let a = try Self.imageMark(Self.state([0.5, 0, 0.5, 0, 0, 0]))
        let b = try Self.imageMark(Self.state([Float](repeating: 1.0 / 6, count: 6)))
        XCTAssertFalse(a.x == b.x && a.y == b.y)
        XCTAssertTrue(render(Self.state([0.5, 0, 0.5, 0, 0, 0])).text.contains("spoke k: πₖ 0→1"))
        XCTAssertTrue(render(Self.state([0.5, 0, 0.5, 0, 0, 0])).text.contains("ring: uniform 1/6"))
    }

    // MARK: Geometry

    /// Oracle: the equilateral triangle's corners (0, −1), (√3/2, 1/2), (−√3/2, 1/2); one-hot π
    /// is its corner, uniform its centre, and any π is recovered from its point (barycentric
    /// coordinates by Cramer's rule), i.e. the placement is exact and one-to-one.
    func testTriangleIsExactlyBarycentric() throws {
        let p = SimplexProjection(kernels: 3)
        let corners = [(0.0, -1.0), (3.0.squareRoot() / 2, 0.5), (-(3.0.squareRoot()) / 2, 0.5)]
        for i in 0..<3 {
            var e: [Float] = [0, 0, 0]; e[i] = 1
            let q = try XCTUnwrap(p.place(e))
            XCTAssertEqual(q.x, corners[i].0, accuracy: 1e-12); XCTAssertEqual(q.y, corners[i].1, accuracy: 1e-12)
        }
        let c = try XCTUnwrap(p.place([1, 1, 1] as [Float]))
        XCTAssertEqual(c.x, 0, accuracy: 1e-12); XCTAssertEqual(c.y, 0, accuracy: 1e-12)
        for pi in [[0.2, 0.3, 0.5], [0.7, 0.1, 0.2], [0.05, 0.9, 0.05]] as [[Float]] {
            let q = try XCTUnwrap(p.place(pi))
            let (ax, ay) = corners[0], (bx, by) = corners[1], (cx, cy) = corners[2]
            let det = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
            let l2 = ((q.x - ax) * (cy - ay) - (cx - ax) * (q.y - ay)) / det
            let l3 = ((bx - ax) * (q.y - ay) - (q.x - ax) * (by - ay)) / det
            XCTAssertEqual(l2, Double(pi[1]), accuracy: 1e-6); XCTAssertEqual(l3, Double(pi[2]), accuracy: 1e-6)
            XCTAssertEqual(1 - l2 - l3, Double(pi[0]), accuracy: 1e-6)
        }
        // The segment (K = 2) likewise: vertex 1 at the top, 2 at the bottom, π₂ along it.
        let s = SimplexProjection(kernels: 2)
        let q = try XCTUnwrap(s.place([0.25, 0.75] as [Float]))
        XCTAssertEqual(q.x, 0, accuracy: 1e-12); XCTAssertEqual(q.y, -1 + 2 * 0.75, accuracy: 1e-12)
        // On screen: the one-hot marks sit at the triangle's corners — 1 above uniform, 2 right, 3 left.
        let top = try Self.imageMark(Self.state([1, 0, 0])), mid = try Self.imageMark(Self.state([1, 1, 1].map { Float($0) / 3 }))
        let right = try Self.imageMark(Self.state([0, 1, 0])), left = try Self.imageMark(Self.state([0, 0, 1]))
        XCTAssertLessThan(top.y, mid.y); XCTAssertEqual(top.x, mid.x)
        XCTAssertGreaterThan(right.x, mid.x); XCTAssertLessThan(left.x, mid.x)
        XCTAssertEqual(right.y, left.y); XCTAssertGreaterThan(right.y, mid.y)
    }

    /// Oracle: a regular tetrahedron of circumradius 1 has every edge √(8/3) long; rotation by
    /// any yaw/pitch step keeps all six lengths (and |v| = 1), and the projection on screen is
    /// the rotated (x, −y) with depth z.
    func testTetrahedronIsRegularInEveryView() {
        let edge = (8.0 / 3).squareRoot()
        for yaw in 0..<24 {
            for pitch in -6...6 {
                let p = SimplexProjection(kernels: 4, view: SimplexView(yaw: yaw, pitch: pitch))
                let v = p.rotatedVertices
                XCTAssertEqual(v.count, 4)
                for i in 0..<4 {
                    XCTAssertEqual(v[i].distance(to: Point3(0, 0, 0)), 1, accuracy: 1e-12)
                    XCTAssertEqual(p.vertices[i].x, v[i].x); XCTAssertEqual(p.vertices[i].y, -v[i].y)
                    XCTAssertEqual(p.vertices[i].depth, v[i].z)
                    for j in (i + 1)..<4 { XCTAssertEqual(v[i].distance(to: v[j]), edge, accuracy: 1e-12) }
                }
                // A convex solid in orthographic view: at most 3 of its 6 edges are hidden, at least 3 seen.
                let hidden = p.edges.filter { !p.isFrontEdge($0.0, $0.1) }.count
                XCTAssertLessThanOrEqual(hidden, 3, "yaw \(yaw) pitch \(pitch)")
            }
        }
        // The fitting box holds every vertex at every yaw of a pitch, and is reached (tight).
        for pitch in -6...6 {
            let b = SimplexProjection(kernels: 4, view: SimplexView(yaw: 0, pitch: pitch)).bounds
            var lo = Double.infinity, hi = -Double.infinity
            for yaw in 0..<24 {
                for v in SimplexProjection(kernels: 4, view: SimplexView(yaw: yaw, pitch: pitch)).vertices {
                    XCTAssertTrue(v.x >= b.minX - 1e-9 && v.x <= b.maxX + 1e-9 && v.y >= b.minY - 1e-9 && v.y <= b.maxY + 1e-9)
                    lo = min(lo, v.y); hi = max(hi, v.y)
                }
            }
            XCTAssertEqual(lo, b.minY, accuracy: 0.05); XCTAssertEqual(hi, b.maxY, accuracy: 0.05)
        }
        // Seen from straight above (pitch 90°) vertex 1 is in front and the base behind it: no edge
        // hidden; from below (−90°) vertex 1 is behind the base, its three edges hidden.
        let below = SimplexProjection(kernels: 4, view: SimplexView(yaw: 0, pitch: -6))
        XCTAssertEqual(below.edges.filter { !below.isFrontEdge($0.0, $0.1) }.map { [$0.0, $0.1] }, [[0, 1], [0, 2], [0, 3]])
        let above = SimplexProjection(kernels: 4, view: SimplexView(yaw: 0, pitch: 6))
        XCTAssertTrue(above.edges.allSatisfy { above.isFrontEdge($0.0, $0.1) })
        // The default view (30°, 15°): the one hidden edge is 3–4, behind vertices 1 and 2.
        let d = SimplexProjection(kernels: 4, view: SimplexView())
        XCTAssertFalse(d.isFrontEdge(2, 3))
        XCTAssertEqual(d.edges.filter { !d.isFrontEdge($0.0, $0.1) }.count, 1)
    }

    /// Oracle: 24 steps of 15° are a full turn: the view state, the geometry and the screen
    /// are back where they started (r forwards and R backwards).
    func testTwentyFourYawStepsReturnToTheStart() {
        for key in ["r", "R"] as [Unicode.Scalar] {
            var s = Self.state([0.5, 0.2, 0.2, 0.1])
            let start = s.simplexView, before = render(s)
            var seen = Set<[Unicode.Scalar]>()
            for _ in 0..<24 {
                _ = update(&s, .key(.char(key)))
                let g = render(s)
                seen.insert((0..<g.height).flatMap { y in (0..<g.width).map { g[$0, y].scalar } })
            }
            XCTAssertEqual(s.simplexView, start)
            XCTAssertEqual(render(s), before)
            XCTAssertGreaterThan(seen.count, 12, "the view changes as it turns")
        }
        let full = rotate(tetrahedronVertices[1], yaw: 24 * Double(SimplexView.step) * .pi / 180, pitch: 0)
        XCTAssertEqual(full.distance(to: tetrahedronVertices[1]), 0, accuracy: 1e-12)
    }

    // MARK: CondConv

    /// Oracle: r = (.5, .5, .5, .5) has Σr = 2 — not a point of the simplex — while r/Σr is
    /// uniform π. It is drawn at r/Σr but with ◉ where uniform π (Σπ = 1) gets ●, the panel says
    /// "off the simplex" with Σr = 2.000, and on the Σr gauge its mark is at 2, right of the
    /// simplex tick │ at 1. An r with Σr = 1 is drawn as ● and "on the simplex".
    func testCondConvOffTheSimplexIsMarked() throws {
        let r = Self.state([0.5, 0.5, 0.5, 0.5], routing: .sigmoid)
        let u = Self.state([0.25, 0.25, 0.25, 0.25], routing: .softmax)
        let mr = try Self.imageMark(r), mu = try Self.imageMark(u)
        XCTAssertEqual(mr.glyph, "◉")
        XCTAssertEqual(mu.glyph, "●")
        XCTAssertEqual(mr.x, mu.x); XCTAssertEqual(mr.y, mu.y)
        let text = render(r).text
        XCTAssertTrue(text.contains("Σr = 2.000 (off the simplex)"), text)
        XCTAssertTrue(text.contains("off the simplex: Σr 2.00"), text)
        // The gauge row: │ at Σr = 1, ◉ at Σr = 2 of [0, 4].
        let grid = render(r)
        let legend = SimplexPanelFrame(Layout(r).simplex).legend
        var found = false
        for y in legend.y..<legend.maxY {
            let xs = (legend.x..<legend.maxX)
            guard let tick = xs.first(where: { grid[$0, y].scalar == "│" }),
                  let mark = xs.first(where: { grid[$0, y].scalar == "◉" }) else { continue }
            found = true
            let zero = try XCTUnwrap(xs.first(where: { grid[$0, y].scalar == "0" }))
            XCTAssertGreaterThan(mark, tick)
            // Linear scale from 0: the mark is (about) twice as far from 0 as the tick.
            XCTAssertEqual(Double(mark - zero - 1), 2 * Double(tick - zero - 1), accuracy: 1.5)
        }
        XCTAssertTrue(found, "Σr gauge with │ and ◉")
        let on = Self.state([0.25, 0.25, 0.25, 0.25], routing: .sigmoid)
        XCTAssertEqual(try Self.imageMark(on).glyph, "●")
        XCTAssertTrue(render(on).text.contains("on the simplex"))
    }

    // MARK: Small multiples

    /// Oracle: `smallMultipleLayers` keeps the first, the last and the selected layer, in depth
    /// order, as many as there are slots; on screen, for 51 layers, the first and last layer's
    /// tiles and "n of 51 layers" (all of them where they fit).
    func testSmallMultiplesShowFirstAndLastOf51Layers() {
        for slots in 3...20 {
            for sel in [0, 7, 25, 49, 50] {
                let l = smallMultipleLayers(total: 51, slots: slots, selected: sel)
                XCTAssertEqual(l.count, slots); XCTAssertEqual(l, l.sorted()); XCTAssertEqual(Set(l).count, l.count)
                XCTAssertEqual(l.first, 0); XCTAssertEqual(l.last, 50); XCTAssertTrue(l.contains(sel), "\(slots) \(sel)")
            }
        }
        XCTAssertEqual(smallMultipleLayers(total: 6, slots: 9, selected: 2), [0, 1, 2, 3, 4, 5])
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60)] {
            var s = Self.state([0.4, 0.3, 0.2, 0.1], width: w, height: h, count: 51)
            s.selectedLayer = 23
            _ = update(&s, .key(.char("s")))
            XCTAssertTrue(s.simplexView.smallMultiples)
            let r = Layout(s).simplex
            let grid = render(s)
            let panel = (r.y..<r.maxY).map { y in String(String.UnicodeScalarView((r.x..<r.maxX).map { grid[$0, y].scalar })) }
            let text = panel.joined(separator: "\n")
            XCTAssertTrue(text.contains("b0 ") && text.contains("b50 ") && text.contains("b23 "), "\(w)×\(h)\n\(text)")
            let tiles = TileGrid(width: r.width, height: r.height - 2, count: 51)
            XCTAssertTrue(text.contains(tiles.slots < 51 ? "\(tiles.slots) of 51 layers" : "51 layers"), "\(w)×\(h)\n\(text)")
            // The selected layer's title is highlighted.
            let y = (r.y..<r.maxY).first { y in panel[y - r.y].contains("b23") }
            if let y, let x = (r.x..<r.maxX).first(where: { grid[$0, y].scalar == "b" && grid[$0 + 1, y].scalar == "2" && grid[$0 + 2, y].scalar == "3" }) {
                XCTAssertEqual(grid[x, y].style, Theme(s.colorMode).selected)
            } else {
                XCTFail("b23 tile")
            }
        }
    }

    /// Oracle: the names with the components every layer shares cut off, by hand.
    func testTileNames() {
        XCTAssertEqual(tileNames(["layer1.0.conv", "layer2.1.conv"]), ["layer1.0", "layer2.1"])
        XCTAssertEqual(tileNames(["features.1.conv.0.0", "features.9.conv.2"]), ["1.conv.0.0", "9.conv.2"])
        XCTAssertEqual(tileNames(["layer1.0.conv1", "layer1.0.conv2"]), ["conv1", "conv2"])
        XCTAssertEqual(tileNames(["conv", "x.conv"]), ["conv", "x.conv"])
        XCTAssertEqual(tileNames(["layer2.layers.0.conv1"]), ["layer2.0.conv1"])
    }

    func testSmallMultiplesSnapshots() {
        var h = Harness(Fixture.state())
        h.type("s")
        assertSnapshot(h.screen, named: "simplex-small-multiples")
        var c = Harness(Fixture.state(width: 80, height: 24))
        c.press(.tab)
        c.type("s")
        assertSnapshot(c.screen, named: "simplex-small-multiples-condconv-80x24")
        assertSnapshot(render(Self.state([0.6, 0.3, 0.1])), named: "simplex-k3")
        // A cloud of 300 images, then τ ÷ 1.25³ with the first 150 recomputed: fresh points in
        // their H/lnK colour, the rest stale (grey, "150 stale").
        var d = Harness(Fixture.state())
        Self.fillCloud(&d.state, images: 0..<300)
        d.type("---")
        Self.fillCloud(&d.state, images: 0..<150)
        XCTAssertEqual(d.state.cloud.freshCount, 150)
        assertSnapshot(d.screen, named: "simplex-cloud-stale")
        XCTAssertTrue(d.screen.text.contains("300 images, 150 stale"))
        d.type("s")
        assertSnapshot(d.screen, named: "simplex-cloud-small-multiples")
        // A layer with its own τ is starred in its tile and in the heading.
        var own = d
        own.press(.down)
        own.type("{")
        XCTAssertTrue(own.screen.text.contains("layer1.1*"), own.screen.text)
        XCTAssertTrue(own.screen.text.contains("τ 0.512*"), own.screen.text)
        var m = d
        m.state.colorMode = .monochrome
        m.state.charset = .ascii
        assertSnapshot(m.screen, named: "simplex-cloud-small-multiples-ascii")
    }

    // MARK: Robustness

    /// Oracle: every cell the panel draws lies inside `Layout.simplex` (render the panel alone
    /// onto a blank grid), at the four sizes of the issue, for K = 2, 3, 4, 6, both routings,
    /// both views, every colour mode and the ASCII charset.
    func testNothingLeavesThePanel() {
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60)] {
            for c in [[0.7, 0.3], [0.2, 0.5, 0.3], [0.5, 0, 0.5, 0], [0.3, 0.1, 0.1, 0.2, 0.2, 0.1]] as [[Float]] {
                for routing in [Routing.softmax, .sigmoid] {
                    for multiples in [false, true] {
                        var s = Self.state(c, routing: routing, width: w, height: h)
                        s.simplexView.smallMultiples = multiples
                        s.mode = .attention
                        var grid = CellGrid(width: w, height: h)
                        renderSimplexPanel(RenderContext(s), into: &grid)
                        let r = Layout(s).simplex
                        for y in 0..<h {
                            for x in 0..<w where grid[x, y] != .blank {
                                XCTAssertTrue(r.contains(x: x, y: y), "\(w)×\(h) K=\(c.count) \(routing) \(multiples): (\(x), \(y)) outside \(r)")
                            }
                        }
                    }
                }
            }
        }
        // Every glyph has an ASCII stand-in.
        for colorMode in ColorMode.allCases {
            for multiples in [false, true] {
                var s = Self.state([0.5, 0.5, 0.5, 0.5, 0.2], routing: .sigmoid, colorMode: colorMode)
                s.simplexView.smallMultiples = multiples
                s.charset = .ascii
                let grid = render(s), r = Layout(s).simplex
                let panel = (r.y..<r.maxY).flatMap { y in (r.x..<r.maxX).map { grid[$0, y].scalar } }
                XCTAssertFalse(panel.contains("?"), "a glyph without an ASCII stand-in: \(grid.text)")
                XCTAssertTrue(panel.allSatisfy(\.isASCII))
            }
        }
    }

    /// Oracle: "render returns" (a trap kills the process) and the sum shows as nan. NaN, ±inf,
    /// a zero sum and negative values as π or r, in the plot, the legend, the gauge and the
    /// tiles, at every yaw and the pitch limits, and as cloud points; `place` leaves them out.
    func testNonFiniteNeverTraps() {
        let poison: [[Float]] = [[.nan, 0.5, 0.5, 0], [.infinity, -.infinity, 0, 1], [0, 0, 0, 0], [-1, 2, 0, 0],
                                 [3e38, 3e38, 3e38, 3e38], [.nan, .nan, .nan]]
        for c in poison {
            for routing in [Routing.softmax, .sigmoid] {
                for (w, h) in [(80, 24), (120, 40)] {
                    var s = Self.state(c, routing: routing, width: w, height: h)
                    let k = c.count
                    let batch = CloudBatch(key: s.configKey, indices: [5, 6],
                                           layers: s.checkpoint.layers.map { _ in (0..<(2 * k)).map { c[$0 % k] } },
                                           entropies: s.checkpoint.layers.map { _ in [.nan, .infinity] },
                                           kernels: s.checkpoint.layers.map(\.kernels))
                    _ = update(&s, .cloudPoints(batch))
                    for view in [SimplexView(), SimplexView(yaw: 7, pitch: 6), SimplexView(yaw: 23, pitch: -6)] {
                        for multiples in [false, true] {
                            s.simplexView = view
                            s.simplexView.smallMultiples = multiples
                            _ = render(s)
                        }
                    }
                }
            }
        }
        XCTAssertTrue(render(Self.state([.nan, 0.5, 0.5, 0])).text.contains("Σπ = nan"))
        let p = SimplexProjection(kernels: 4, view: SimplexView())
        XCTAssertNil(p.place([.nan, 0.5, 0.5, 0] as [Float]))
        XCTAssertNil(p.place([.infinity, 0, 0, 0] as [Float]))
        XCTAssertNil(p.place([0, 0, 0, 0] as [Float]))
        XCTAssertNil(p.place([0.5, 0.5] as [Float]), "wrong K")
        XCTAssertNil(SimplexProjection(kernels: 6).spokePoints([.nan, 0, 0, 0, 0, 1] as [Float]))
    }
}
