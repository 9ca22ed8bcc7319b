import XCTest
import DyConvEngine
@testable import DyConvUI

/// Colour models with many dynamic layers: a small DY-ResNet-18 (torchvision layout, reduced
/// widths, 19 dynamic layers) on 224×224 RGB images and a DY-MobileNetV2 ×0.35 on 32×32 (51), with seeded random
/// parameters and the engine's real forward pass (not the fixture's formula).
enum ColorFixture {
    /// ImageNet-style names: synonyms after ", ", some long, so truncation shows.
    static func classNames(_ n: Int) -> [String] {
        (0..<n).map { i in
            i % 3 == 0 ? "great grey owl \(i), great gray owl, Strix nebulosa" : "class number \(i) of the set"
        }
    }

    struct Net {
        let summary: CheckpointSummary
        let model: Model
        let size: Int
    }

    /// DY-ResNet-18, widths 8/16/32/64, 1000 classes, 224×224 input: 19 dynamic convolutions.
    static let resnet18: Net = {
        let d = Families.resnet18(classCount: 1000, inputSize: 224, widths: [8, 16, 32, 64])
        var s = CheckpointSummary(name: "dy-resnet18", description: d)
        s.classes = classNames(1000)
        return Net(summary: s, model: Model.seededRandom(d, seed: 7), size: 224)
    }()

    /// DY-MobileNetV2 ×0.35, 100 classes, 32×32 input: 51 dynamic convolutions.
    static let mobilenet: Net = {
        let d = Families.mobilenetV2(widthMultiplier: 0.35, classCount: 100, inputSize: 32)
        var s = CheckpointSummary(name: "dy-mobilenetv2", description: d)
        s.classes = classNames(100)
        return Net(summary: s, model: Model.seededRandom(d, seed: 3), size: 32)
    }()

    /// A colour test image: red → green gradient across, blue down, a bright disc in the middle.
    static func image(size n: Int, index: Int = 0) -> PixelImage {
        var px = [UInt8](repeating: 0, count: 3 * n * n)
        let plane = n * n
        for y in 0..<n {
            for x in 0..<n {
                let dx = Double(x) - Double(n) / 2, dy = Double(y) - Double(n) / 2
                let disc = (dx * dx + dy * dy).squareRoot() < Double(n) / (5 + Double(index % 3)) ? 120.0 : 0
                let i = y * n + x
                px[i] = UInt8(min(255, Double(255 * x / max(n - 1, 1)) * 0.6 + disc))
                px[plane + i] = UInt8(min(255, Double(255 * (n - 1 - x) / max(n - 1, 1)) * 0.6 + disc))
                px[2 * plane + i] = UInt8(min(255, Double(255 * y / max(n - 1, 1)) * 0.8 + disc / 2))
            }
        }
        return PixelImage(channels: 3, width: n, height: n, pixels: px)
    }

    /// The real forward pass of the state's image through `m` (ImageNet normalization).
    static func result(_ m: Net, for s: ViewState) -> ForwardResult {
        let image = image(size: m.size, index: s.imageIndex)
        let norm = m.model.description.normalization
        let plane = m.size * m.size
        var data = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            for p in 0..<plane { data[c * plane + p] = (Float(image.pixels[c * plane + p]) / 255 - norm.mean[c]) / norm.std[c] }
        }
        let trace = m.model.forward(Tensor(shape: [1, 3, m.size, m.size], data: data), options: s.configKey.forwardOptions())
        return ForwardResult(key: s.configKey, imageIndex: s.imageIndex, image: image, trace: trace, milliseconds: 12.5)
    }

    /// A state on model `m` after its first forward pass; labelled (label 1) unless told.
    static func state(_ m: Net, width: Int, height: Int, colorMode: ColorMode = .truecolor,
                      labelled: Bool = true) -> ViewState {
        let classes = m.summary.classes
        let dataset = labelled
            ? DatasetSummary(name: "imagenette", labels: (0..<20).map { $0 % 10 + 1 }, classNames: classes)
            : DatasetSummary(name: "photos", count: 20, labels: nil, classNames: classes)
        var s = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: [m.summary], dataset: dataset)
        _ = update(&s, .forwardCompleted(result(m, for: s)))
        return s
    }
}

final class ColorModelTests: XCTestCase {
    static let sizes = [(80, 24), (120, 40), (200, 60)]

    func testLayerCountsOfTheFixtures() {
        // Oracle: torchvision's layouts. ResNet-18: 8 blocks × 2 convs + 3 downsample 1×1 = 19;
        // MobileNetV2: 17 blocks × 3 convs, minus the first block's missing expansion, plus
        // the last 1×1 convolution (features.18) = 51.
        XCTAssertEqual(ColorFixture.resnet18.summary.layers.count, 19)
        XCTAssertEqual(ColorFixture.mobilenet.summary.layers.count, 51)
    }

    func testSnapshotsOfColourModels() {
        for (name, m) in [("resnet18", ColorFixture.resnet18), ("mobilenetv2", ColorFixture.mobilenet)] {
            for (w, h) in Self.sizes {
                var s = ColorFixture.state(m, width: w, height: h)
                s.selectedLayer = m.summary.layers.count / 2
                assertSnapshot(render(s), named: "color-\(name)-\(w)x\(h)")
            }
        }
        // The dataset view of the many layers: a window of the per-layer entropies around the
        // selected layer, grouped by stage.
        let m = ColorFixture.mobilenet
        var s = ColorFixture.state(m, width: 120, height: 40)
        s.selectedLayer = 30
        _ = update(&s, .key(.char("d")))
        let n = m.summary.layers.count
        let sums: [Double] = (0..<n).map { l -> Double in 10 + 10 * Double(l % 7) / 7 }
        _ = update(&s, .evaluationProgress(EvaluationProgress(key: s.evaluationKey, done: 20, total: 20, correct: 3,
                                                              entropySums: sums)))
        assertSnapshot(render(s), named: "color-dataset-mobilenetv2-120x40")
    }

    func testLargeImagesAreScaledToFit() {
        for (w, h) in Self.sizes {
            let s = ColorFixture.state(ColorFixture.resnet18, width: w, height: h)
            let layout = Layout(s)
            // A 224×224 image is never drawn 224 cells wide: it fits the left column, square.
            XCTAssertLessThanOrEqual(layout.imagePixelWidth, layout.left.width - 2, "\(w)×\(h)")
            XCTAssertEqual(layout.imagePixelWidth, layout.imagePixelHeight, "aspect kept at \(w)×\(h)")
            XCTAssertEqual(layout.image.height, 1 + (layout.imagePixelHeight + 1) / 2)
            let grid = render(s)
            var halfBlocks = 0
            for y in 0..<h { for x in 0..<w where grid[x, y].scalar == "▀" { halfBlocks += 1 } }
            XCTAssertEqual(halfBlocks, layout.imagePixelWidth * ((layout.imagePixelHeight + 1) / 2), "\(w)×\(h)")
        }
        // At 80×24 the attention panel keeps the width it has with the 28×28 models.
        XCTAssertEqual(Layout(ColorFixture.state(ColorFixture.resnet18, width: 80, height: 24)).right,
                       Layout(Fixture.state(width: 80, height: 24)).right)
    }

    /// Oracle: the fitted size by hand, and the resampled pixels against a naive box mean
    /// (shrinking by whole factors) and a naive nearest (growing).
    func testFittingAndResampling() {
        XCTAssertTrue(PixelImage.fittedSize(width: 224, height: 224, boxWidth: 28, boxHeight: 26) == (26, 26))
        XCTAssertTrue(PixelImage.fittedSize(width: 320, height: 160, boxWidth: 40, boxHeight: 40) == (40, 20))
        XCTAssertTrue(PixelImage.fittedSize(width: 28, height: 28, boxWidth: 30, boxHeight: 28) == (28, 28))
        XCTAssertTrue(PixelImage.fittedSize(width: 16, height: 8, boxWidth: 50, boxHeight: 50) == (48, 24))
        XCTAssertTrue(PixelImage.fittedSize(width: 0, height: 8, boxWidth: 50, boxHeight: 50) == (0, 0))

        let src = ColorFixture.image(size: 224)
        let small = src.resampled(width: 56, height: 56)
        for c in 0..<3 {
            for (oy, ox) in [(0, 0), (10, 33), (55, 55), (28, 1)] {
                var sum = 0
                for y in (4 * oy)..<(4 * oy + 4) { for x in (4 * ox)..<(4 * ox + 4) { sum += Int(src.pixels[c * 224 * 224 + y * 224 + x]) } }
                XCTAssertEqual(Int(small.pixels[c * 56 * 56 + oy * 56 + ox]), (sum + 8) / 16, "channel \(c) at \(ox),\(oy)")
            }
        }
        let tiny = ColorFixture.image(size: 8)
        let big = tiny.resampled(width: 24, height: 24)
        for c in 0..<3 {
            for y in 0..<24 { for x in 0..<24 {
                XCTAssertEqual(big.pixels[c * 576 + y * 24 + x], tiny.pixels[c * 64 + (y / 3) * 8 + x / 3])
            } }
        }
        // Other channel counts become grey (the mean).
        let two = PixelImage(planar: [10, 20, 30, 40], channels: 2, width: 2, height: 1)
        XCTAssertEqual(two.channels, 1)
        XCTAssertEqual(two.pixels, [20, 30])
    }

    /// Oracle: a naive search of the 240 cube and grey-ramp entries, with the palette written
    /// out here from xterm's definition (cube levels 0, 95, 135, …; greys 8 + 10 i).
    func testNearest256MatchesNaiveSearch() {
        let levels = [0, 95, 135, 175, 215, 255]
        var palette: [(index: Int, rgb: (Int, Int, Int))] = []
        for r in 0..<6 { for g in 0..<6 { for b in 0..<6 { palette.append((16 + 36 * r + 6 * g + b, (levels[r], levels[g], levels[b]))) } } }
        for i in 0..<24 { palette.append((232 + i, (8 + 10 * i, 8 + 10 * i, 8 + 10 * i))) }
        func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
            (a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1) + (a.2 - b.2) * (a.2 - b.2)
        }
        var samples: [(Int, Int, Int)] = []
        for r in stride(from: 0, through: 255, by: 15) { for g in stride(from: 0, through: 255, by: 15) { for b in stride(from: 0, through: 255, by: 15) { samples.append((r, g, b)) } } }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 { samples.append((Int.random(in: 0...255, using: &rng), Int.random(in: 0...255, using: &rng), Int.random(in: 0...255, using: &rng))) }
        for v in 0...255 { samples.append((v, v, v)); samples.append((v, v / 2, 255 - v)) }
        for p in samples {
            let chosen = Color.nearest256(UInt8(p.0), UInt8(p.1), UInt8(p.2)).paletteIndex
            let best = palette.map { distance(p, $0.rgb) }.min()!
            guard let entry = palette.first(where: { $0.index == chosen }) else {
                XCTFail("\(p) → \(chosen), not a cube or ramp entry"); continue
            }
            XCTAssertEqual(distance(p, entry.rgb), best, "\(p) → \(chosen)")
        }
        // The palette the terminal converts for direct colour agrees with the same table.
        for e in palette {
            let (r, g, b) = Color.paletteRGB(e.index)
            XCTAssertTrue((Int(r), Int(g), Int(b)) == e.rgb, "palette \(e.index)")
        }
    }

    /// The same image in each colour depth: 24-bit cells carry the resampled pixels' own RGB
    /// (oracle: `resampled` and `rgb`), 256-colour cells their nearest palette entry, the
    /// 8-colour and monochrome renderings density glyphs without colour.
    func testColourDepthsRenderTheSameImageDifferently() {
        let m = ColorFixture.resnet18
        var grids: [ColorMode: CellGrid] = [:]
        for mode in ColorMode.allCases { grids[mode] = render(ColorFixture.state(m, width: 120, height: 40, colorMode: mode)) }
        let s = ColorFixture.state(m, width: 120, height: 40)
        let layout = Layout(s)
        let shown = s.current!.image.resampled(width: layout.imagePixelWidth, height: layout.imagePixelHeight)
        let x0 = layout.image.x + (layout.image.width - layout.imagePixelWidth) / 2, y0 = layout.image.y + 1
        var differing = 0
        for row in 0..<(layout.imagePixelHeight / 2) {
            for col in 0..<layout.imagePixelWidth {
                let t = grids[.truecolor]![x0 + col, y0 + row], p = grids[.xterm256]![x0 + col, y0 + row]
                XCTAssertEqual(t.scalar, "▀"); XCTAssertEqual(p.scalar, "▀")
                let (r, g, b) = shown.rgb(col, 2 * row), (r2, g2, b2) = shown.rgb(col, 2 * row + 1)
                XCTAssertEqual(t.style.foreground, .rgb(r, g, b))
                XCTAssertEqual(t.style.background, .rgb(r2, g2, b2))
                XCTAssertEqual(p.style.foreground, Color.nearest256(r, g, b))
                XCTAssertEqual(p.style.background, Color.nearest256(r2, g2, b2))
                XCTAssertFalse(p.style.foreground.isRGB)
                if t.style.foreground.rgbValue != p.style.foreground.rgbValue { differing += 1 }
                for mode in [ColorMode.ansi8, .monochrome] {
                    let d = grids[mode]![x0 + col, y0 + row]
                    XCTAssertTrue(densityRamp.contains(d.scalar), "\(mode)")
                    XCTAssertTrue(d.style.foreground.isDefault && d.style.background.isDefault, "\(mode)")
                }
            }
        }
        // The cube is coarse: most pixels of a smooth gradient are not exactly on it.
        XCTAssertGreaterThan(differing, layout.imagePixelWidth)
        // Away from the image, the 24-bit and 256-colour screens are the same.
        XCTAssertEqual(grids[.truecolor]!.text, grids[.xterm256]!.text)
        // A grey image in 256 colours keeps the grey ramp (the 28×28 models' rendering).
        let grey = render(Harness(Fixture.state()).state)
        let cell = grey[Layout(Fixture.state()).image.x + 5, Layout(Fixture.state()).image.y + 3]
        XCTAssertEqual(cell.style.foreground.paletteIndex >= 232 || [16, 231].contains(cell.style.foreground.paletteIndex), true)
    }

    func testUnlabelledImagesShowNoTruth() {
        for (w, h) in Self.sizes {
            var s = ColorFixture.state(ColorFixture.mobilenet, width: w, height: h, labelled: false)
            let text = render(s).text
            for word in ["true", "right", "wrong", "✓", "✗"] { XCTAssertFalse(text.contains(word), "\(word) at \(w)×\(h)") }
            XCTAssertTrue(text.contains("unlabelled"))
            XCTAssertTrue(text.contains("pred  "))
            if w == 120 { assertSnapshot(render(s), named: "color-unlabelled-120x40") }
            // Same-class and misclassified searches have nothing to go on.
            XCTAssertEqual(update(&s, .key(.char("c"))), [])
            XCTAssertEqual(s.message, "the images are unlabelled: no class to follow")
            XCTAssertEqual(update(&s, .key(.char("x"))), [])
            XCTAssertNotNil(s.message)
        }
        // The labelled one says which class is true.
        XCTAssertTrue(render(ColorFixture.state(ColorFixture.mobilenet, width: 120, height: 40)).text.contains("true  "))
    }

    /// The dataset view scores nothing for unlabelled images (the evaluation counts 0 correct):
    /// it says so instead of showing 0 % accuracy; the labelled twin shows the percentage.
    func testUnlabelledDatasetViewShowsNoAccuracy() {
        let m = ColorFixture.mobilenet
        let sums = [Double](repeating: 10, count: m.summary.layers.count)
        for labelled in [false, true] {
            var s = ColorFixture.state(m, width: 120, height: 40, labelled: labelled)
            _ = update(&s, .key(.char("d")))
            _ = update(&s, .evaluationProgress(EvaluationProgress(key: s.evaluationKey, done: 20, total: 20,
                                                                  correct: labelled ? 5 : 0, entropySums: sums)))
            let text = render(s).text
            XCTAssertEqual(text.contains("no labels, attention only (20 images)"), !labelled)
            XCTAssertEqual(text.contains("25.0%"), labelled, "labelled: \(labelled)")
            if !labelled { XCTAssertFalse(text.contains(" 0.0%")) }
        }
    }

    /// How the images were prepared is said in the header (when there is room) and in the
    /// dataset view; without a note, neither changes.
    func testPreparationNoteIsShown() {
        let note = "resized to 256, centre crop 224"
        var s = ColorFixture.state(ColorFixture.resnet18, width: 200, height: 60)
        XCTAssertFalse(render(s).text.contains(note))
        s.dataset.note = note
        XCTAssertTrue(render(s).row(0).contains("imagenette: 20 images · \(note)"))
        s.width = 80; s.height = 24
        XCTAssertFalse(render(s).row(0).contains(note), "no room at 80 columns")
        _ = update(&s, .key(.char("d")))
        XCTAssertTrue(render(s).text.contains("images: " + note))
    }

    /// Oracle: the engine's `topK` of the forward pass, names cut to their first synonym.
    func testTopFiveWithManyClassNames() {
        let s = ColorFixture.state(ColorFixture.resnet18, width: 120, height: 40)
        let grid = render(s)
        let layout = Layout(s)
        XCTAssertEqual(layout.topK, 5)
        let top = s.current!.trace.topK(sample: 0, k: 5)
        for (i, entry) in top.enumerated() {
            let row = grid.row(layout.prediction.y + 2 + i)
            let name = s.checkpoint.classes[entry.index]
            // The first synonym, cut to the column (the panel's width less 13: 24 characters
            // in the 37-column left column at this width).
            let column = layout.prediction.width - 13
            let first = name.hasPrefix("great grey owl") ? "great grey owl \(entry.index)" : name
            let expected = first.unicodeScalars.count <= column ? first : String(first.prefix(column - 1)) + "…"
            XCTAssertTrue(row.hasPrefix(expected), "\(row) vs \(expected)")
            XCTAssertTrue(row.contains(" " + Format.smallUnit(entry.probability) + "│"), row)
            XCTAssertFalse(String(row.unicodeScalars.prefix(layout.separatorX)).contains(", "), "names cut to their first synonym")
        }
        // Ten classes keep the top 3.
        XCTAssertEqual(Layout(Fixture.state()).topK, 3)
        XCTAssertEqual(Format.className("tench, Tinca tinca", 10), "tench")
        XCTAssertEqual(Format.className("tench, Tinca tinca", 3), "te…")
        XCTAssertEqual(Format.className("tench, Tinca tinca", 40), "tench, Tinca tinca")
        XCTAssertEqual(Format.smallUnit(0.0123), ".012")
        XCTAssertEqual(Format.smallUnit(0.5), ".500")
        XCTAssertEqual(Format.smallUnit(1), "1.00")
    }

    func testStageRule() {
        XCTAssertEqual(stageName(of: "layer1.0.conv1"), "layer1")
        XCTAssertEqual(stageName(of: "layer3.1.downsample.0"), "layer3")
        XCTAssertEqual(stageName(of: "features.3.conv.0.0"), "features.3")
        XCTAssertEqual(stageName(of: "features.17.conv.2"), "features.17")
        XCTAssertEqual(stageName(of: "layer2.layers.0.conv1"), "layer2")
        XCTAssertEqual(stageName(of: "layers.4.conv1"), "layers.4")
        XCTAssertEqual(stageName(of: "conv1"), "")
        XCTAssertEqual(stageName(of: "stem.conv"), "")
        // Display only: TArdelean's `.layers` containers are dropped; a leading `layers` stays.
        XCTAssertEqual(compactLayerPath("layer2.layers.0.shortcut.layers.0"), "layer2.0.shortcut.0")
        XCTAssertEqual(compactLayerPath("features.layers.3.conv.layers.6"), "features.3.conv.6")
        XCTAssertEqual(compactLayerPath("layers.4.conv1"), "layers.4.conv1")
        XCTAssertEqual(compactLayerPath("layer1.layers"), "layer1.layers")
        let t = LayerList(names: (0..<12).map { "layer\($0 / 4 + 1).layers.\($0 % 4).conv1" })
        XCTAssertEqual(t.rows.first, .stage("layer1", 0..<4))
        XCTAssertEqual(t.displayName(5, "layer2.layers.1.conv1"), "1.conv1")
        let r = LayerList(names: ColorFixture.resnet18.summary.layers.map(\.name))
        XCTAssertTrue(r.isGrouped)
        XCTAssertEqual(r.rows.filter { if case .stage = $0 { return true } else { return false } }.count, 4)
        XCTAssertEqual(r.displayName(0, "layer1.0.conv1"), "0.conv1")
        let m = LayerList(names: ColorFixture.mobilenet.summary.layers.map(\.name))
        XCTAssertTrue(m.isGrouped)
        XCTAssertEqual(m.rows.count, 51 + 18)
        // The 28×28 models' six layers stay a flat list.
        XCTAssertFalse(LayerList(names: Fixture.layerNames).isGrouped)
    }

    /// Every layer, selected in turn (by key, as a user would), is on screen, marked, with its
    /// stage heading above it in the window; the scroll bar and the range say where the window is.
    func testScrollKeepsTheSelectedLayerVisible() {
        for m in [ColorFixture.resnet18, ColorFixture.mobilenet] {
            for (w, h) in Self.sizes {
                var s = ColorFixture.state(m, width: w, height: h)
                let n = m.summary.layers.count
                for l in 0..<n {
                    if l > 0 { _ = update(&s, .key(.down)) }
                    XCTAssertEqual(s.selectedLayer, l)
                    let layout = Layout(s)
                    guard let y = layout.row(ofLayer: l, layerCount: n, selected: l) else {
                        XCTFail("layer \(l) of \(n) not visible at \(w)×\(h)"); continue
                    }
                    let grid = render(s)
                    XCTAssertEqual(grid[layout.attention.x, y].scalar, "▶", "layer \(l) at \(w)×\(h)")
                    let rows = layout.visibleListRows(layerCount: n, selected: l)
                    let stage = stageName(of: m.summary.layers[l].name)
                    XCTAssertTrue(rows.contains { if case .stage(let name, _) = $0 { return name == stage } else { return false } },
                                  "stage \(stage) of layer \(l) on screen at \(w)×\(h)")
                    if layout.layerList.rows.count > layout.attentionVisibleRows {
                        let bar = (0..<layout.attentionVisibleRows).map { grid[layout.attention.maxX - 1, layout.attention.y + 2 + $0].scalar }
                        XCTAssertTrue(bar.contains("┃"), "scroll thumb at \(w)×\(h)")
                        XCTAssertTrue(grid.row(layout.attention.y).contains("of \(n)"))
                    }
                    // A click on the row selects the layer shown there.
                    XCTAssertEqual(layout.layer(atX: layout.attention.x + 3, y: y, layerCount: n, selected: l), l)
                }
                // Last layer selected: the thumb touches the bottom.
                let layout = Layout(s)
                if layout.layerList.rows.count > layout.attentionVisibleRows {
                    let grid = render(s)
                    XCTAssertEqual(grid[layout.attention.maxX - 1, layout.attention.y + 1 + layout.attentionVisibleRows].scalar, "┃")
                }
            }
        }
    }

    /// No panel draws across another: the separator column is whole, the gap column after it
    /// and the last column stay blank on every row between header and status line, and the
    /// dataset view too (its per-layer list scrolls with the selection).
    func testNoTextCrossesAPanelBorder() {
        for m in [ColorFixture.resnet18, ColorFixture.mobilenet] {
            for (w, h) in Self.sizes {
                for dataset in [false, true] {
                    for selected in [0, m.summary.layers.count / 2, m.summary.layers.count - 1] {
                        var s = ColorFixture.state(m, width: w, height: h)
                        s.selectedLayer = selected
                        s.showDataset = dataset
                        let layout = Layout(s)
                        let grid = render(s)
                        for y in layout.left.y..<layout.left.maxY {
                            XCTAssertEqual(grid[layout.separatorX, y].scalar, "│", "separator row \(y) at \(w)×\(h)")
                            XCTAssertEqual(grid[layout.separatorX + 1, y].scalar, " ", "gap row \(y) at \(w)×\(h): \(grid.row(y))")
                            XCTAssertEqual(grid[w - 1, y].scalar, " ", "last column row \(y) at \(w)×\(h): \(grid.row(y))")
                        }
                        if dataset {
                            let text = grid.text
                            let name = LayerList(names: m.summary.layers.map(\.name)).displayName(selected, m.summary.layers[selected].name)
                            XCTAssertTrue(text.contains(name), "selected layer in the dataset view at \(w)×\(h)")
                        }
                    }
                }
            }
        }
    }
}
