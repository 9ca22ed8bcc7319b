import XCTest
import DyConvEngine
@testable import DyConvUI

/// Issue #8 item 5: NaN and ±inf reaching the screen (a τ of 1e-40, a BatchNorm mean of
/// −3e38) trapped in the bar drawing and in `Int(NaN)`. Every panel must draw such a trace:
/// numbers as "nan" / "inf" / "-inf", bars and plotted points left empty. The oracle is
/// "render returns" (a trap kills the test process) plus the shown text.
final class NonFiniteTests: XCTestCase {
    /// The values that broke the printers: NaN, ±inf, and finite extremes whose products overflow.
    static let poison: [Float] = [.nan, .infinity, -.infinity, 3e38, -3e38, .leastNonzeroMagnitude, -.nan]

    /// The fixture's forward result with every number replaced by a poison value.
    static func poisoned(for s: ViewState) -> ForwardResult {
        var r = Fixture.result(for: s)
        func p(_ i: Int) -> Float { poison[i % poison.count] }
        let layers = r.trace.layers.enumerated().map { l, t in
            LayerTrace(name: t.name, routing: t.routing, kernels: t.kernels, temperature: l == 0 ? .nan : Float("1e-40")!,
                       logits: (0..<t.kernels).map { p($0 + l) }, attention: (0..<t.kernels).map { p($0 + l + 1) },
                       applied: (0..<t.kernels).map { p($0 + l + 2) }, entropy: [p(l)])
        }
        let classes = r.trace.classCount
        r.trace = ForwardTrace(layers: layers, logits: Tensor(shape: [1, classes], data: (0..<classes).map { p($0) }),
                               probabilities: Tensor(shape: [1, classes], data: (0..<classes).map { p($0 + 3) }))
        r.milliseconds = .nan
        return r
    }

    /// A state with a poisoned forward result, cloud, evaluation, sweep and epochs.
    static func poisonedState(width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256,
                              charset: Charset = .unicode, checkpoint: Int = 0) -> ViewState {
        var epochs = Fixture.epochs
        epochs[0].temperature = .nan
        epochs[1].temperature = .infinity
        epochs[1].testAccuracy = .nan
        epochs[2].testAccuracy = -.infinity
        var dynamic = Fixture.dynamic
        dynamic.epochs = epochs
        dynamic.training?.testAccuracy = .infinity
        var s = ViewState(width: width, height: height, colorMode: colorMode,
                          checkpoints: [dynamic, Fixture.condconv, Fixture.staticNet], dataset: Fixture.dataset)
        s.charset = charset
        s.checkpointIndex = checkpoint
        let r = poisoned(for: s)
        _ = update(&s, .forwardCompleted(r))
        // Cloud points of other images, poisoned too.
        let k = s.checkpoint.layers.first?.kernels ?? 0
        if k > 0 {
            let batch = CloudBatch(key: s.configKey, indices: [10, 11, 12],
                                   layers: s.checkpoint.layers.map { _ in (0..<(3 * k)).map { poison[$0 % poison.count] } },
                                   entropies: s.checkpoint.layers.map { _ in (0..<3).map { poison[$0 % poison.count] } },
                                   kernels: s.checkpoint.layers.map(\.kernels))
            _ = update(&s, .cloudPoints(batch))
        }
        return s
    }

    /// The dataset view of a poisoned state: NaN accuracy parts, entropy sums and sweep points.
    static func poisonedDatasetView(_ base: ViewState) -> ViewState {
        var s = base
        _ = update(&s, .key(.char("d")))
        _ = update(&s, .evaluationProgress(EvaluationProgress(key: s.evaluationKey, done: 300, total: 1000, correct: 250,
                                                               entropySums: [.nan, .infinity, -.infinity, 3e308, -3e308, 0],
                                                               milliseconds: .infinity)))
        let temps = SweepProgress.defaultTemperatures
        let points = temps.enumerated().map { i, t in
            SweepPoint(temperature: t, accuracy: [Double.nan, .infinity, -.infinity, 0.5, 1e300][i % 5],
                       meanEntropy: [Double.infinity, .nan, 0.3, -.infinity, -1e300][i % 5])
        }
        _ = update(&s, .sweepProgress(SweepProgress(key: s.sweepKey, temperatures: temps, points: points, partialDone: -5)))
        return s
    }

    func testEveryPanelDrawsNonFiniteNumbers() {
        for colorMode in ColorMode.allCases {
            for charset in Charset.allCases {
                for (w, h) in [(120, 40), (80, 24), (200, 60)] {
                    for checkpoint in 0..<3 {
                        let s = Self.poisonedState(width: w, height: h, colorMode: colorMode, charset: charset, checkpoint: checkpoint)
                        var modes = s
                        for _ in 0..<AggregationMode.allCases.count {
                            _ = render(modes)
                            _ = update(&modes, .key(.char("m")))
                            _ = update(&modes, .forwardCompleted(Self.poisoned(for: modes)))
                        }
                        let text = render(s).text
                        XCTAssertTrue(text.contains("nan"), "\(colorMode) \(charset) \(w)×\(h) #\(checkpoint)")
                        _ = render(Self.poisonedDatasetView(s))
                        var help = s
                        _ = update(&help, .key(.char("?")))
                        _ = render(help)
                    }
                }
            }
        }
    }

    func testPanelsShowNanAndInf() throws {
        let s = Self.poisonedState()
        let grid = render(s)
        let layout = Layout(s)
        // Attention panel: the first layer's π are [inf, -inf, 3e38, -3e38] and H = nan.
        let row = try XCTUnwrap(layout.row(ofLayer: 0, layerCount: s.layerCount, selected: 0))
        let attention = grid.row(row)
        XCTAssertTrue(attention.contains("inf"), attention)
        XCTAssertTrue(attention.contains("-inf"), attention)
        XCTAssertTrue(attention.contains("nan"), attention)
        // Layer detail: z, π, applied and the sums.
        let detail = (layout.detail.y..<layout.detail.maxY).map { grid.row($0) }.joined(separator: "\n")
        XCTAssertTrue(detail.contains("nan"), detail)
        XCTAssertTrue(detail.contains("inf"), detail)
        XCTAssertTrue(detail.contains("τ nan"), detail)
        XCTAssertTrue(detail.contains("3.0e38"), "huge values in short scientific form: \(detail)")
        // Prediction: probabilities [-3e38, 3e38, tiny, nan, inf, -inf, …].
        let prediction = (layout.prediction.y..<layout.prediction.maxY).map { grid.row($0) }.joined(separator: "\n")
        XCTAssertTrue(prediction.contains("3.0e38") || prediction.contains("inf"), prediction)
        // Simplex: Σπ of non-finite π is nan; the point is left out, the legend stays.
        XCTAssertTrue(grid.text.contains("Σπ = nan"), grid.text)
        XCTAssertTrue(grid.text.contains("this image"))
        // Status line: the forward time.
        XCTAssertTrue(grid.row(s.height - 1).contains("forward nan ms"), grid.row(s.height - 1))
        // Dataset view: accuracy, entropies and the sweep chart.
        let d = render(Self.poisonedDatasetView(s)).text
        XCTAssertTrue(d.contains("accuracy  83.3%"), d)
        XCTAssertTrue(d.contains("nan"), d)
        XCTAssertTrue(d.contains("300/1000"), d)
        // Training history with NaN / inf τ and accuracies: the sparklines draw.
        var e = s
        _ = update(&e, .key(.char("<")))
        XCTAssertTrue(render(e).text.contains("Training · epoch 4/4"))
        _ = update(&e, .key(.char("<"))); _ = update(&e, .key(.char("<"))); _ = update(&e, .key(.char("<")))
        XCTAssertTrue(render(e).text.contains("τ nan"), render(e).text)
        // τ keys from a NaN τ land inside the range, never on NaN.
        _ = update(&e, .key(.char("+")))
        XCTAssertTrue(Limits.isValidTemperature(e.temperature ?? .nan), "\(String(describing: e.temperature))")
    }

    /// The one conversion of plotted floats to Int: nil (point left out) for what Int() traps on.
    func testPlotCoordinate() {
        XCTAssertNil(plotCoordinate(.nan))
        XCTAssertNil(plotCoordinate(.infinity))
        XCTAssertNil(plotCoordinate(-.infinity))
        XCTAssertNil(plotCoordinate(1e300))
        XCTAssertNil(plotCoordinate(-Double(Int.max)))
        XCTAssertEqual(plotCoordinate(2.5), 3)
        XCTAssertEqual(plotCoordinate(-2.4), -2)
    }

    /// The number formatter every panel uses: total over Double, short for huge values.
    func testFormatIsTotal() {
        XCTAssertEqual(Format.fixed(Double.nan, 3), "nan")
        XCTAssertEqual(Format.fixed(-Double.nan, 3), "nan")
        XCTAssertEqual(Format.fixed(Double.infinity, 2), "inf")
        XCTAssertEqual(Format.fixed(-Double.infinity, 2), "-inf")
        XCTAssertEqual(Format.fixed(Float(3e38), 3), "3.0e38")
        XCTAssertEqual(Format.fixed(-3e38, 3), "-3.0e38")
        XCTAssertEqual(Format.fixed(Double.greatestFiniteMagnitude, 1), "1.8e308")
        XCTAssertEqual(Format.fixed(9.96e9, 0), "1.0e10")
        XCTAssertEqual(Format.fixed(123456789.0, 1), "123456789.0")
        XCTAssertEqual(Format.fixed(Double.leastNonzeroMagnitude, 3), "0.000")
        XCTAssertEqual(Format.unit(.nan), "nan")
        XCTAssertEqual(Format.percent(.nan), "nan%")
        XCTAssertEqual(Format.temperature(.infinity), "inf")
        XCTAssertEqual(Format.milliseconds(.nan), "nan ms")
        XCTAssertEqual(Format.milliseconds(-.infinity), "-inf ms")
        // Bars and level glyphs: empty for non-finite fractions, whatever the width.
        var g = CellGrid(width: 10, height: 1)
        for f in [Double.nan, .infinity, -.infinity, 1e308, -1e308] {
            g.bar(0, 0, width: 10, fraction: f, fill: .plain, track: .plain)
            _ = CellGrid.levelGlyph(f)
        }
        g.bar(0, 0, width: -5, fraction: .nan, fill: .plain, track: .plain)
    }
}
