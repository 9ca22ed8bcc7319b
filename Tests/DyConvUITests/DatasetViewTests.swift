import XCTest
import DyConvEngine
@testable import DyConvUI

/// The dataset view (key `d`): mean Σr for CondConv, one sweep line per layer, the accuracy at
/// the current τ, what an ablation mode does, and every layer row and legend whole at 80×24.
final class DatasetViewTests: XCTestCase {
    static let sizes = [(80, 24), (100, 30), (120, 40), (200, 60)]
    static let entropySums: [Double] = [912, 850, 640, 512, 301, 150]
    static let massSums: [Double] = [1810, 1604, 1400, 1300, 1000, 2000]
    /// Per layer p5, q1, median, q3 and p95 of H/lnK: spread around each layer's mean
    /// (entropySums ÷ 1000), low layers near 1, the top layer near 0.
    static let boxes: [EntropyBox] = [[0.780, 0.880, 0.930, 0.965, 0.990], [0.700, 0.800, 0.860, 0.910, 0.960],
                                      [0.420, 0.560, 0.650, 0.730, 0.830], [0.300, 0.430, 0.520, 0.600, 0.700],
                                      [0.120, 0.220, 0.300, 0.380, 0.480], [0.030, 0.090, 0.140, 0.200, 0.290]]
        .map { EntropyBox(p5: $0[0], q1: $0[1], median: $0[2], q3: $0[3], p95: $0[4]) }

    /// A 6-layer sweep whose layer l has H/lnK (i + 1)/9 · (1 − l/10) at the i-th τ: six
    /// separate lines, low layers above.
    static func sweepPoints(count: Int = 9) -> [SweepPoint] {
        SweepProgress.defaultTemperatures.prefix(count).enumerated().map { i, t in
            let layers = (0..<6).map { l in Double(i + 1) / 9 * (1 - Double(l) / 10) }
            return SweepPoint(temperature: t, accuracy: [0.62, 0.75, 0.84, 0.873, 0.86, 0.80, 0.66, 0.52, 0.47][i],
                              meanEntropy: layers.reduce(0, +) / 6, layerEntropy: layers)
        }
    }

    /// The dataset view of checkpoint `checkpoint` at a size, with a finished (or running)
    /// evaluation and sweep.
    static func view(checkpoint: Int = 0, width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256,
                     mode: AggregationMode = .attention, running: Bool = false, charset: Charset = .unicode,
                     boxes: [EntropyBox?] = boxes) -> Harness {
        var s = Fixture.state(width: width, height: height, colorMode: colorMode)
        s.checkpointIndex = checkpoint
        s.charset = charset
        var h = Harness(s)
        if mode != .attention { while h.state.mode != mode { h.type("m") } }
        h.type("d")
        let done = running ? 300 : 1000
        h.send(.evaluationProgress(EvaluationProgress(key: h.state.evaluationKey, done: done, total: 1000,
                                                      correct: running ? 250 : 873,
                                                      entropySums: entropySums.map { $0 * Double(done) / 1000 },
                                                      massSums: checkpoint == 1 ? massSums.map { $0 * Double(done) / 1000 } : [],
                                                      milliseconds: 420, entropyBoxes: boxes)))
        h.send(.sweepProgress(SweepProgress(key: h.state.sweepKey, temperatures: SweepProgress.defaultTemperatures,
                                            points: sweepPoints(count: running ? 6 : 9))))
        return h
    }

    /// The right area's rows as text.
    static func rightLines(_ h: Harness) -> [String] {
        let r = Layout(h.state).right, g = h.screen
        return (r.y..<r.maxY).map { String(String.UnicodeScalarView(g.row($0).unicodeScalars.dropFirst(r.x).prefix(r.width))) }
    }

    /// Oracle: the Σr sums given to `EvaluationProgress` ÷ images (1810 / 1000 = 1.81, …), at
    /// every size, with the simplex note; a softmax network shows no Σr.
    func testCondConvShowsMeanMassPerLayer() {
        for (w, h) in DatasetViewTests.sizes {
            let v = DatasetViewTests.view(checkpoint: 1, width: w, height: h)
            let text = DatasetViewTests.rightLines(v).joined(separator: "\n")
            for m in ["1.81", "1.60", "1.40", "1.30", "1.00", "2.00"] {
                XCTAssertTrue(text.contains("Σr \(m)"), "\(w)×\(h): Σr \(m)\n\(text)")
            }
            XCTAssertTrue(text.contains("Σr = 1 would be the simplex"), "\(w)×\(h)\n\(text)")
        }
        XCTAssertFalse(DatasetViewTests.rightLines(DatasetViewTests.view()).joined().contains("Σr"))
    }

    /// Oracle: the number of layers. Each layer's line is drawn in its own colour of the heat
    /// scale (truecolor) and its points carry its number 1…6; the legend names them.
    func testSweepDrawsOneSeriesPerLayer() {
        let v = DatasetViewTests.view(colorMode: .truecolor)
        let r = Layout(v.state).right, g = v.screen, theme = Theme(.truecolor)
        var colours = Set<Color>()
        var marks = Set<Character>()
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX {
                let c = g[x, y]
                if (0x2800...0x28FF).contains(c.scalar.value) || ("1"..."6").contains(Character(c.scalar)) {
                    colours.insert(c.style.foreground)
                }
                if ("1"..."6").contains(Character(c.scalar)), c.style.foreground != theme.axis.foreground { marks.insert(Character(c.scalar)) }
            }
        }
        for l in 0..<6 {
            let colour = SweepSeries.depthStyle(l, of: 6, theme: theme).foreground
            XCTAssertTrue(colours.contains(colour), "layer \(l + 1)'s line colour")
        }
        XCTAssertEqual(Set((0..<6).map { SweepSeries.depthStyle($0, of: 6, theme: theme).foreground }).count, 6, "six different colours")
        XCTAssertEqual(marks, Set("123456"), "each layer's points numbered")
        XCTAssertTrue(DatasetViewTests.rightLines(v).joined().contains("H/lnK of layer 1 2 3 4 5 6 (low→top)"))
        XCTAssertEqual(SweepSeries(points: DatasetViewTests.sweepPoints(), layerCount: 6).entropy.count, 6)
        // A sweep without per-layer entropy (older session): the mean line, named so.
        XCTAssertEqual(SweepSeries(points: [SweepPoint(temperature: 1, accuracy: 0.5, meanEntropy: 0.5)], layerCount: 6).entropy.count, 1)
    }

    /// Oracle: the layer list. At 80×24 (and every size), in every mode and for CondConv, each
    /// layer's row is on screen; with 20 layers the window holds the selected layer.
    func testEveryLayerRowIsVisible() {
        for (w, h) in DatasetViewTests.sizes {
            for (checkpoint, mode) in [(0, AggregationMode.attention), (0, .shuffleAcross), (1, .attention), (1, .shuffleAcross)] {
                let v = DatasetViewTests.view(checkpoint: checkpoint, width: w, height: h, mode: mode)
                let text = DatasetViewTests.rightLines(v).joined(separator: "\n")
                for name in Fixture.layerNames { XCTAssertTrue(text.contains(name), "\(w)×\(h) \(mode): \(name)\n\(text)") }
            }
        }
        // Twenty layers in four stages: the selected one is in view, and the heading says where.
        let names = (1...4).flatMap { s in (0..<5).map { "layer\(s).\($0).conv" } }
        let big = CheckpointSummary(name: "big", family: "dycnn",
                                    layers: names.map { LayerSummary(name: $0, routing: .softmax, kernels: 4, trainedTemperature: 1) },
                                    classes: Fixture.classNames)
        var s = Fixture.state(width: 80, height: 24, checkpoints: [big])
        s.showDataset = true
        for selected in [0, 9, 19] {
            s.selectedLayer = selected
            let r = Layout(s).right, g = render(s)
            let text = (r.y..<r.maxY).map { g.row($0) }.joined(separator: "\n")
            XCTAssertTrue(text.contains("▶ \(Layout(s).layerList.displayName(selected, names[selected]))"), "layer \(selected + 1)\n\(text)")
            XCTAssertTrue(text.contains("of 20"), text)
        }
    }

    /// Oracle: the text each line is built from. While the evaluation and the sweep run, at
    /// every size, the headings and the counts are whole: the progress bars sit only in free cells.
    func testProgressBarsNeverCoverText() {
        for (w, h) in DatasetViewTests.sizes {
            let lines = DatasetViewTests.rightLines(DatasetViewTests.view(width: w, height: h, running: true))
            XCTAssertTrue(lines[0].hasPrefix("Dataset · sample · all 1000 images"), lines[0])
            guard let acc = lines.first(where: { $0.hasPrefix("accuracy") }) else { return XCTFail("\(w)×\(h): no accuracy line") }
            XCTAssertTrue(acc.contains("83.3% (250 / 300)") && acc.contains("300/1000"), "\(w)×\(h): \(acc)")
            guard let chart = lines.first(where: { $0.hasPrefix("Accuracy and H/lnK") }) else { return XCTFail("\(w)×\(h): chart heading") }
            XCTAssertTrue(chart.hasPrefix("Accuracy and H/lnK per layer against τ "), "\(w)×\(h): \(chart)")
        }
    }

    /// Oracle: the legend's items. At every size, in CondConv and shuffle-across, every legend
    /// item and note is whole: nothing in the view ends in "…".
    func testLegendsAreNeverCut() {
        for (w, h) in DatasetViewTests.sizes {
            for (checkpoint, mode) in [(0, AggregationMode.shuffleAcross), (1, .attention), (0, .shuffleImage)] {
                let lines = DatasetViewTests.rightLines(DatasetViewTests.view(checkpoint: checkpoint, width: w, height: h, mode: mode))
                let text = lines.joined(separator: "\n")
                XCTAssertFalse(text.contains("…"), "\(w)×\(h) \(mode)\n\(text)")
                for item in ["● accuracy", "▲ current τ", "H/lnK of layer 1 2 3 4 5 6 (low→top)", "best 87.3% at τ 1"] {
                    XCTAssertTrue(text.contains(item), "\(w)×\(h) \(mode): \(item)\n\(text)")
                }
            }
        }
    }

    /// Oracle: the mode's definition (`ShuffleAcrossPartners(seed: 0)`). Shuffle-across says
    /// that each image borrows the π of its partner, and that the partners are fixed by seed 0.
    func testShuffleAcrossSaysWhoseAttentionIsBorrowed() {
        for (w, h) in DatasetViewTests.sizes {
            let lines = DatasetViewTests.rightLines(DatasetViewTests.view(width: w, height: h, mode: .shuffleAcross))
            let flowed = lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            XCTAssertTrue(flowed.contains("mode shuffle-across: each image borrows the π of its partner image (partners fixed by seed 0)"),
                          "\(w)×\(h)\n\(lines.joined(separator: "\n"))")
        }
    }

    /// Oracle: the dataset summary — its name, and all of its images or the first N of them.
    func testSaysWhichSetAndHowManyImages() {
        var s = Fixture.state()
        s.showDataset = true
        XCTAssertTrue(render(s).text.contains("Dataset · sample · all 1000 images"))
        s.dataset = DatasetSummary(name: "fashion-mnist test", labels: Fixture.dataset.labels!, classNames: Fixture.classNames,
                                   evaluationLimit: 500)
        XCTAssertTrue(render(s).text.contains("Dataset · fashion-mnist test · first 500 of 1000 images"))
    }

    /// Oracle: the sweep point at τ = 1 (87.3 %) and, at τ = 1.25 (not a sweep value), the
    /// evaluation's 850 / 1000; the best stays the sweep's.
    func testAccuracyAtTheCurrentTemperature() {
        var v = DatasetViewTests.view()
        XCTAssertTrue(DatasetViewTests.rightLines(v).joined().contains("best 87.3% at τ 1 · current τ 1: 87.3%"))
        v.type("+")                                     // τ × 1.25
        XCTAssertEqual(v.state.effectiveTemperature, 1.25)
        v.send(.evaluationProgress(EvaluationProgress(key: v.state.evaluationKey, done: 1000, total: 1000, correct: 850,
                                                      entropySums: DatasetViewTests.entropySums)))
        let text = DatasetViewTests.rightLines(v).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        XCTAssertTrue(text.contains("best 87.3% at τ 1"), text)
        XCTAssertTrue(text.contains("current τ 1.25: 85.0% (from the evaluation)"), text)
        // At 80×24 the note keeps both figures, in its short form when the plot needs the row.
        var small = DatasetViewTests.view(width: 80, height: 24)
        small.type("+")
        small.send(.evaluationProgress(EvaluationProgress(key: small.state.evaluationKey, done: 1000, total: 1000, correct: 850,
                                                          entropySums: DatasetViewTests.entropySums)))
        let lines = DatasetViewTests.rightLines(small).joined(separator: "\n")
        XCTAssertTrue(lines.contains("best 87.3% at τ 1"), lines)
        XCTAssertTrue(lines.contains("85.0% (evaluation)") || lines.contains("85.0% (from the evaluation)"), lines)
    }

    /// Oracle: the layout's right rect. At every size, colour mode and mode, with NaN and ∞
    /// in every figure, the view draws only inside its rect and does not trap.
    func testNothingOutsideTheRectAndNoTrapOnNaN() {
        for (w, h) in DatasetViewTests.sizes + [(80, 30), (150, 24)] {
            for checkpoint in 0..<3 {
                for mode in ColorMode.allCases {
                    var s = Fixture.state(width: w, height: h, colorMode: mode)
                    s.checkpointIndex = checkpoint
                    s.showDataset = true
                    let key = s.evaluationKey
                    s.evaluations[key] = EvaluationProgress(key: key, done: 10, total: 20, correct: 5,
                                                            entropySums: [.nan, .infinity, -.infinity, 1, 2, 3],
                                                            massSums: [.nan, .infinity, 3, 4, 5, 6],
                                                            entropyBoxes: [EntropyBox(p5: .nan, q1: .infinity, median: -.infinity, q3: 2, p95: -1),
                                                                           nil, EntropyBox(p5: 1, q1: 1, median: 1, q3: 1, p95: 1),
                                                                           EntropyBox(p5: 0, q1: 0, median: 0, q3: 0, p95: 0)])
                    let bad = SweepProgress.defaultTemperatures.map {
                        SweepPoint(temperature: $0, accuracy: .nan, meanEntropy: .infinity, layerEntropy: [.nan, .infinity, -1, 2, 0.5, 0.5])
                    }
                    s.sweeps[s.sweepKey] = SweepProgress(key: s.sweepKey, temperatures: SweepProgress.defaultTemperatures, points: bad)
                    let ctx = RenderContext(s)
                    var grid = CellGrid(width: w, height: h)
                    renderDatasetView(ctx, into: &grid)
                    let r = ctx.layout.right
                    for y in 0..<h {
                        for x in 0..<w where !(x >= r.x && x < r.maxX && y >= r.y && y < r.maxY) {
                            if grid[x, y] != .blank { return XCTFail("\(w)×\(h) \(mode): (\(x), \(y)) drawn\n\(grid.text)") }
                        }
                    }
                }
            }
        }
    }

    /// Oracle: the recorded text, inspected — CondConv and shuffle-across at 80×24, the sweep
    /// running; the box rows at 200×60, in ASCII at 80×24 and 120×40, and for 18 layers.
    func testSnapshots() {
        assertSnapshot(DatasetViewTests.view(checkpoint: 1, width: 80, height: 24).screen, named: "dataset-condconv-80x24")
        assertSnapshot(DatasetViewTests.view(width: 80, height: 24, mode: .shuffleAcross, running: true).screen,
                       named: "dataset-shuffle-across-80x24")
        assertSnapshot(DatasetViewTests.view(width: 200, height: 60).screen, named: "dataset-boxes-200x60")
        assertSnapshot(DatasetViewTests.view(width: 80, height: 24, charset: .ascii).screen, named: "dataset-boxes-ascii-80x24")
        assertSnapshot(DatasetViewTests.view(checkpoint: 1, width: 120, height: 40, colorMode: .monochrome, charset: .ascii).screen,
                       named: "dataset-boxes-condconv-ascii-120x40")
        // 18 layers grouped by stage (a window of them at 80×24), boxes at the extremes.
        for (w, h) in [(80, 24), (100, 30)] {
            var deep = Harness(Fixture.state(width: w, height: h, checkpoints: [LayoutTests.dyresnet]))
            deep.type("d")
            LayoutTests.sendBoxes(&deep)
            assertSnapshot(deep.screen, named: "dataset-boxes-dyresnet-\(w)x\(h)")
        }
    }

    /// The layer rows of a view: (layer index, the row's text from the bar's first cell, the
    /// bar's first column and width), the bar located by the axis row's "0.00" … "1.00".
    static func boxRows(_ v: Harness) -> (rows: [(Int, String)], barX: Int, barWidth: Int, y: [Int])? {
        let lines = rightLines(v)
        guard let axis = lines.firstIndex(where: { $0.contains("0.00") && $0.contains("1.00") }) else { return nil }
        let text = lines[axis]
        guard let start = text.range(of: "0.00"), let end = text.range(of: "1.00") else { return nil }
        let barX = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: start.lowerBound)
        let barWidth = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: end.upperBound) - barX
        var rows: [(Int, String)] = [], ys: [Int] = []
        for (i, line) in lines.enumerated().dropFirst(axis + 1) {
            guard let l = Fixture.layerNames.firstIndex(where: { line.contains($0) }) else { break }
            rows.append((l, String(String.UnicodeScalarView(line.unicodeScalars.dropFirst(barX)))))
            ys.append(Layout(v.state).right.y + i)
        }
        return (rows, barX, barWidth, ys)
    }

    /// Oracle: each layer's box as given (`boxes`), placed by hand on the 0…1 axis of the
    /// row — the value v is in cell ⌊v·width⌋ — at every size: the median `┃` in its cell, the
    /// box `▆` from q1's to q3's cell, whiskers `─` out to p5 and p95, the track `·` beyond,
    /// then the median as a number (and the mean where it is shown); the heading says what the
    /// glyphs are and over how many images. ASCII: `#`, `+`, `-` in the same cells.
    func testBoxRowsDrawTheQuantiles() throws {
        for (w, h) in DatasetViewTests.sizes {
            for charset in Charset.allCases {
                let v = DatasetViewTests.view(width: w, height: h, charset: charset)
                let text = DatasetViewTests.rightLines(v).joined(separator: "\n")
                let found = try XCTUnwrap(DatasetViewTests.boxRows(v), "\(w)×\(h)\n\(text)")
                XCTAssertEqual(found.rows.map(\.0), Array(0..<6), "\(w)×\(h): every layer\n\(text)")
                XCTAssertTrue(text.contains("H/lnK") && (text.contains("median") || charset == .ascii), "\(w)×\(h)\n\(text)")
                XCTAssertTrue(text.contains(charset == .ascii ? "p5 - q1 + median # q3 + - p95" : "p5 ─ q1 ▆ median ┃ q3 ▆ ─ p95")
                              || text.contains(charset == .ascii ? "- p5-p95 + q1-q3 # median" : "─ p5–p95 ▆ q1–q3 ┃ median"),
                              "\(w)×\(h) heading\n\(text)")
                XCTAssertTrue(text.contains("over 1000 images") || text.contains("of 1000 images:"), "\(w)×\(h)\n\(text)")
                let width = found.barWidth
                for (l, row) in found.rows {
                    let b = DatasetViewTests.boxes[l]
                    let cells = Array(row.unicodeScalars.prefix(width)).map { charset == .ascii ? $0 : Charset.ascii($0) }
                    func cell(_ x: Double) -> Int { min(Int(x * Double(width)), width - 1) }
                    for (i, c) in cells.enumerated() {
                        let want: Unicode.Scalar = i == cell(b.median) ? "#" : (cell(b.q1)...cell(b.q3)).contains(i) ? "+"
                            : (cell(b.p5)...cell(b.p95)).contains(i) ? "-" : "."
                        XCTAssertEqual(c, want, "\(w)×\(h) \(charset) layer \(l) cell \(i) of \(width): \(row)")
                    }
                    let numbers = row.unicodeScalars.dropFirst(width).split(separator: " ").map { String(String.UnicodeScalarView($0)) }
                    XCTAssertEqual(numbers.first, Format.fixed(b.median, 3), "\(w)×\(h) layer \(l): \(row)")
                    if numbers.count > 1 {
                        XCTAssertEqual(numbers[1], Format.fixed(DatasetViewTests.entropySums[l] / 1000, 3), "\(w)×\(h) layer \(l): mean")
                    }
                }
                // From 120 columns the mean is shown beside the median, with both columns named.
                if w >= 120 { XCTAssertTrue(text.contains("median mean"), "\(w)×\(h)\n\(text)") }
            }
        }
    }

    /// Oracle: the theme's roles. The median is drawn in the title style and the box in the
    /// entropy-bar style in every colour mode; without colour (monochrome) they still differ
    /// (bold title), so the median stands out of the box.
    func testBoxRowStyles() throws {
        for mode in ColorMode.allCases {
            let v = DatasetViewTests.view(colorMode: mode)
            let theme = Theme(mode)
            let found = try XCTUnwrap(DatasetViewTests.boxRows(v))
            let g = v.screen, x0 = Layout(v.state).right.x + found.barX
            var median = 0, box = 0
            for y in found.y {
                for x in x0..<(x0 + found.barWidth) {
                    let c = g[x, y]
                    if c.scalar == "┃" { XCTAssertEqual(c.style, theme.title, "\(mode)"); median += 1 }
                    if c.scalar == "▆" { XCTAssertEqual(c.style, theme.entropyBar, "\(mode)"); box += 1 }
                }
            }
            XCTAssertEqual(median, 6, "\(mode): one median per layer")
            XCTAssertGreaterThan(box, 6, "\(mode)")
            XCTAssertNotEqual(theme.title, theme.entropyBar, "\(mode)")
        }
    }

    /// Oracle: the fallback's definition. An evaluation that reports no boxes (an older
    /// session) draws each layer's mean as a bar under the "Mean … H/lnK" heading; a layer
    /// without a box (no finite H/lnK) keeps an empty track and "nan" beside the others' boxes.
    func testWithoutBoxesTheMeansAreDrawn() {
        let plain = DatasetViewTests.rightLines(DatasetViewTests.view(boxes: [])).joined(separator: "\n")
        XCTAssertTrue(plain.contains("Mean normalized entropy H/lnK per layer"), plain)
        XCTAssertFalse(plain.contains("┃") || plain.contains("▆"), plain)
        XCTAssertTrue(plain.contains("0.912"), plain)
        var partial: [EntropyBox?] = DatasetViewTests.boxes
        partial[2] = nil
        let text = DatasetViewTests.rightLines(DatasetViewTests.view(boxes: partial)).joined(separator: "\n")
        let row = text.split(separator: "\n").first { $0.contains(Fixture.layerNames[2]) }.map(String.init) ?? ""
        XCTAssertTrue(row.contains("nan") && !row.contains("┃"), row)
        let rows = text.split(separator: "\n").filter { line in Fixture.layerNames.contains { line.contains($0) } }
        XCTAssertEqual(rows.count, 6, text)
        XCTAssertEqual(rows.filter { $0.contains("┃") }.count, 5, text)
    }
}
