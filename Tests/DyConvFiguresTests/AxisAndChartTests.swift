@testable import DyConvFigures
import XCTest

/// Axes (nice ticks, labels, positions) and chart geometry, against hand-worked values.
final class AxisAndChartTests: XCTestCase {
    /// Oracle: by hand. (0, 1, 6): raw step 0.2 → 0.2. (0.8712, 0.9431, 5): raw 0.018 → 0.02,
    /// first multiple ≥ 0.8712 is 0.88. (−3, 17, 5): raw 5 → 5. (0, 7, 6): raw 1.4 → 2.
    func testLinearTicks() {
        XCTAssertEqual(Ticks.linear(0, 1, maxCount: 6), [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(Ticks.linear(0.8712, 0.9431, maxCount: 5), [0.88, 0.9, 0.92, 0.94])
        XCTAssertEqual(Ticks.linear(-3, 17, maxCount: 5), [0, 5, 10, 15])
        XCTAssertEqual(Ticks.linear(0, 7, maxCount: 6), [0, 2, 4, 6])
        XCTAssertEqual(Ticks.linear(0, 1, maxCount: 11)[3], 0.3)  // exact decimal, not 0.30000000000000004
        XCTAssertEqual(Axis(lower: 0.8712, upper: 0.9431, maxTicks: 5).ticks.map { Axis(lower: 0.8712, upper: 0.9431, maxTicks: 5).label($0) },
                       ["0.88", "0.90", "0.92", "0.94"])
    }

    /// Oracle: by hand. 0.25…100 spans the powers 1, 10, 100 (three: powers only); 2e6…1e7 holds
    /// one power, so 1-2-5 multiples; 1…8 gives 1, 2, 5; 5e6…1e7 holds only two 1-2-5 values,
    /// so every integer multiple: 5M 6M 7M 8M 9M 10M.
    func testLogTicks() {
        XCTAssertEqual(Ticks.log10(0.25, 100), [1, 10, 100])
        XCTAssertEqual(Ticks.log10(2e6, 1e7), [2e6, 5e6, 1e7])
        XCTAssertEqual(Ticks.log10(1, 8), [1, 2, 5])
        XCTAssertEqual(Ticks.log10(0.1, 0.5), [0.1, 0.2, 0.5])
        XCTAssertEqual(Ticks.log10(5e6, 1e7), [5e6, 6e6, 7e6, 8e6, 9e6, 1e7])
        let axis = Axis(kind: .log10, lower: 2e6, upper: 1e7)
        XCTAssertEqual(axis.ticks.map(axis.label), ["2M", "5M", "10M"])
        XCTAssertEqual(Ticks.niceLogFloor(0.25), 0.2)
        XCTAssertEqual(Ticks.niceLogCeil(30), 50)
        XCTAssertEqual(Ticks.niceLogCeil(100), 100)
    }

    /// Oracle: positions by hand. Linear 0…1 over 100…300: 0.25 → 150. Log 1…100 over 0…200:
    /// 10 is one decade of two → 100.
    func testPositions() {
        XCTAssertEqual(Axis(lower: 0, upper: 1).position(0.25, from: 100, to: 300), 150, accuracy: 1e-9)
        XCTAssertEqual(Axis(kind: .log10, lower: 1, upper: 100).position(10, from: 0, to: 200), 100, accuracy: 1e-9)
        XCTAssertEqual(Axis(lower: 0.9, upper: 1, format: .percent).label(0.95), "95%")
        let fitted = Axis.fitting([0.8712, 0.9431], maxTicks: 5)
        XCTAssertEqual(fitted.lower, 0.86, accuracy: 1e-12)
        XCTAssertEqual(fitted.upper, 0.96, accuracy: 1e-12)
    }

    /// Oracle: a box with q1 = 0.25 and q3 = 0.75 on y 0…1 spans exactly half of the plot height
    /// (hand computation: y(0.75) = top + h/4, y(0.25) = top + 3h/4), read back from the rendered rect.
    func testBoxGeometry() throws {
        let chart = BoxPlotChart(title: "t", items: [.init(label: "a", box: BoxValues(p5: 0.1, q1: 0.25, median: 0.5, q3: 0.75, p95: 0.9))],
                                 yAxis: Axis(lower: 0, upper: 1), fill: "#ABCDEF")
        let frame = Frame(x: 0, y: 0, width: 300, height: 200)
        var doc = SVGDocument(width: 300, height: 200, title: "box")
        chart.draw(into: &doc, frame: frame)
        let plot = chart.plotArea(in: frame)
        let rect = try XCTUnwrap(doc.render().split(separator: "\n").first { $0.contains("fill=\"#ABCDEF\"") })
        func attribute(_ name: String) -> Double? {
            guard let r = rect.range(of: " \(name)=\"") else { return nil }
            return Double(rect[r.upperBound...].prefix { $0 != "\"" })
        }
        XCTAssertEqual(try XCTUnwrap(attribute("height")), plot.height / 2, accuracy: 0.01)
        XCTAssertEqual(try XCTUnwrap(attribute("y")), plot.y + plot.height / 4, accuracy: 0.01)
    }

    /// Oracle: label widths by the 0.6 em rule. Three 4-char labels at 10 px (24 px) fit 60 px
    /// slots flat; "a rather long name" (108 px) in a 30 px slot rotates −45°; in an 8 px slot it
    /// turns −90° and every 2nd label is written (12 px line / 8 px slot → 2).
    func testCategoryLabels() {
        XCTAssertNil(CategoryLabels(["abcd", "efgh"], slot: 60).rotation)
        XCTAssertEqual(CategoryLabels(["a rather long name"], slot: 30).rotation, -45)
        let narrow = CategoryLabels(["a rather long name", "b"], slot: 8)
        XCTAssertEqual(narrow.rotation, -90)
        XCTAssertEqual(narrow.stride, 2)
        XCTAssertEqual(SVGText.abbreviate("abcdefghij", maxWidth: 30, size: 10), "abcd…")
    }

    /// Oracle: the worked example in ChartLayout.swift.
    func testPanelGrid() {
        let grid = PanelGrid(count: 5, width: 720, minPanelWidth: 330, panelHeight: 260, top: 40)
        XCTAssertEqual(grid.columns, 2)
        XCTAssertEqual(grid.rows, 3)
        XCTAssertEqual(grid.frame(0), Frame(x: 10, y: 40, width: 344, height: 260))
        XCTAssertEqual(grid.frame(3), Frame(x: 366, y: 312, width: 344, height: 260))
        XCTAssertEqual(grid.height(), 854.0)  // 40 + 3·260 + 2·12 + 10
    }

    /// Oracle: series 0…2 as listed in Palette.swift's overview; styles differ in dash or marker
    /// even where the colour cycle (8) repeats.
    func testSeriesStyles() {
        XCTAssertEqual(Palette.style(0), SeriesStyle(color: "#0072B2", dash: [], marker: .circle))
        XCTAssertEqual(Palette.style(1), SeriesStyle(color: "#D55E00", dash: [6, 3], marker: .square))
        XCTAssertEqual(Palette.style(2), SeriesStyle(color: "#009E73", dash: [2, 2], marker: .triangle))
        XCTAssertEqual(Palette.style(8).color, Palette.style(0).color)
        XCTAssertNotEqual(Palette.style(8), Palette.style(0))
        XCTAssertEqual(Palette.hex((68, 1, 84)), "#440154")
    }

    /// Oracle: the numbers stated in README.md's worked example (two panels, 720 px).
    func testReadmeExample() {
        let grid = PanelGrid(count: 2, width: 720, minPanelWidth: 330, panelHeight: 260, top: 36)
        var doc = SVGDocument(width: 720, height: grid.height(), title: "Entropy", desc: "What it shows.")
        drawFigureHeading("Entropy", width: 720, into: &doc)
        let axis = Axis(lower: 0, upper: 1)
        XCTAssertEqual(axis.ticks.map(axis.label), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        for (i, name) in ["dynamic", "condconv"].enumerated() {
            BoxPlotChart(title: name,
                         items: [.init(label: "conv1", box: BoxValues(p5: 0.97, q1: 0.98, median: 0.99, q3: 1, p95: 1)),
                                 .init(label: "conv6", box: BoxValues(p5: 0.5, q1: 0.7, median: 0.8, q3: 0.85, p95: 0.9))],
                         yAxis: axis, yTitle: "H / ln K", guides: [Guide(value: 0.95, label: "issue goal")])
                .draw(into: &doc, frame: grid.frame(i))
        }
        XCTAssertEqual(grid.frame(0), Frame(x: 10, y: 36, width: 344, height: 260))
        XCTAssertEqual(grid.frame(1), Frame(x: 366, y: 36, width: 344, height: 260))
        XCTAssertTrue(doc.render().hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"306\""))
    }
    /// Oracle: the requested height. `frame(plotHeight:)` gives a plot exactly that tall for a
    /// one-series and a fourteen-series legend (long names, several legend rows); the second
    /// frame is taller by the extra legend rows, so the data are never squeezed by the legend.
    func testFrameForPlotHeightGrowsWithTheLegend() {
        func chart(_ n: Int) -> LineChart {
            LineChart(title: "t", series: (0..<n).map {
                .init(name: "dycnn 8/16/32 K=4 softmax τ 30→1/5ep recipe \($0) · mean of 3 (seeds 0, 1, 2)",
                      points: [Point(1, 0.5), Point(2, 0.6)], style: Palette.style($0))
            }, xAxis: Axis(lower: 1, upper: 2), yAxis: Axis(lower: 0, upper: 1), xTitle: "x", yTitle: "y")
        }
        let one = chart(1).frame(x: 10, y: 40, width: 700, plotHeight: 200)
        let many = chart(14).frame(x: 10, y: 40, width: 700, plotHeight: 200)
        XCTAssertEqual(chart(1).plotArea(in: one).height, 200, accuracy: 1e-9)
        XCTAssertEqual(chart(14).plotArea(in: many).height, 200, accuracy: 1e-9)
        XCTAssertGreaterThan(many.height, one.height + 13 * 14)
        XCTAssertEqual(one.x, 10); XCTAssertEqual(one.y, 40); XCTAssertEqual(one.width, 700)
    }
}
