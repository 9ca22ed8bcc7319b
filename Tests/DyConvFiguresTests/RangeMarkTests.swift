@testable import DyConvFigures
import XCTest

// Range marks after the report review: min–max bands under line charts, no whisker for a range of
// zero length (one seed), scatter labels kept off other points' whiskers, and plot notes.

final class RangeMarkTests: XCTestCase {
    static func render(_ chart: any Chart, width: Double = 360, height: Double = 240) -> String {
        var doc = SVGDocument(width: width, height: height, title: "t")
        chart.draw(into: &doc, frame: Frame(x: 0, y: 0, width: width, height: height))
        return doc.render()
    }

    /// Oracle: a band over two x values is one translucent polygon in the series colour (opacity
    /// 0.18) whose corners are the band's ends: 4 points, M + 3 L + Z; without a band no such path.
    func testLineBandIsAPolygon() throws {
        let style = Palette.style(0)
        let series = LineChart.Series(name: "mean", points: [Point(1, 0.5), Point(2, 0.6)], style: style,
                                      band: [.init(x: 1, low: 0.4, high: 0.6), .init(x: 2, low: 0.5, high: 0.7)])
        let axis = Axis(lower: 0, upper: 1)
        let svg = Self.render(LineChart(title: nil, series: [series], xAxis: Axis(lower: 1, upper: 2), yAxis: axis))
        let path = try XCTUnwrap(svg.split(separator: "\n").first { $0.contains("<path") && $0.contains("opacity=\"0.18\"") })
        XCTAssertTrue(path.contains("fill=\"\(style.color)\""))
        XCTAssertEqual(path.filter { $0 == "L" }.count, 3)
        XCTAssertTrue(path.contains("Z"))
        var plain = series
        plain.band = []
        XCTAssertFalse(Self.render(LineChart(title: nil, series: [plain], xAxis: Axis(lower: 1, upper: 2), yAxis: axis))
            .contains("opacity=\"0.18\""))
    }

    /// Oracle: the series markers at the bars' feet tell series apart without colour; series 0's is
    /// a circle (Palette), so two series draw one circle per bar of series 0 and one series none.
    func testBarMarkersOnlyWhenSeveralSeries() {
        func circles(_ s: String) -> Int { s.components(separatedBy: "<circle").count - 1 }
        let axis = Axis(lower: 0, upper: 1, format: .percent)
        let one = Self.render(BarChart(title: nil, groups: [.init(label: "g", bars: [.init(value: 0.9)]),
                                                           .init(label: "h", bars: [.init(value: 0.8)])],
                                       seriesNames: ["a"], yAxis: axis))
        let two = Self.render(BarChart(title: nil, groups: [.init(label: "g", bars: [.init(value: 0.9), .init(value: 0.7)]),
                                                           .init(label: "h", bars: [.init(value: 0.8), .init(value: 0.6)])],
                                       seriesNames: ["a", "b"], yAxis: axis))
        XCTAssertEqual(circles(one), 0)
        // The legend of two series draws series 0's circle once more.
        XCTAssertGreaterThanOrEqual(circles(two), 2)
    }

    /// Oracle: a bar or scatter point with min == max (one seed) draws exactly the lines of the same
    /// chart without min/max: no whisker, no caps; with a real range it draws 3 more (whisker + 2 caps).
    func testNoWhiskerForZeroRange() {
        func lines(_ s: String) -> Int { s.components(separatedBy: "<line").count - 1 }
        let axis = Axis(lower: 0.8, upper: 1, format: .percent)
        func bars(_ bar: BarChart.Bar) -> String {
            Self.render(BarChart(title: nil, groups: [.init(label: "g", bars: [bar])], seriesNames: ["a"], yAxis: axis))
        }
        XCTAssertEqual(lines(bars(.init(value: 0.9, min: 0.9, max: 0.9))), lines(bars(.init(value: 0.9))))
        XCTAssertEqual(lines(bars(.init(value: 0.9, min: 0.89, max: 0.91))), lines(bars(.init(value: 0.9))) + 3)
        func scatter(_ item: ScatterChart.Item) -> String {
            Self.render(ScatterChart(title: nil, items: [item], seriesNames: ["a"], xAxis: Axis(lower: 0, upper: 2), yAxis: axis))
        }
        XCTAssertEqual(lines(scatter(.init(x: 1, y: 0.9, yMin: 0.9, yMax: 0.9, label: "p", series: 0))),
                       lines(scatter(.init(x: 1, y: 0.9, label: "p", series: 0))))
        XCTAssertEqual(lines(scatter(.init(x: 1, y: 0.9, yMin: 0.85, yMax: 0.95, label: "p", series: 0))),
                       lines(scatter(.init(x: 1, y: 0.9, label: "p", series: 0))) + 3)
    }

    /// Oracle: geometry. Point A's preferred label place (right of A, 7 px on) covers x where point
    /// B's tall whisker stands (B 20 px right of A, whisker over the whole y range); the label must
    /// not be drawn across it, i.e. its text box [x, x + 0.6·size·chars] must not contain B's x.
    func testScatterLabelAvoidsWhiskers() throws {
        let xAxis = Axis(lower: 0, upper: 100), yAxis = Axis(lower: 0, upper: 1)
        let chart = ScatterChart(title: nil, items: [
            .init(x: 40, y: 0.5, label: "a long label for A", series: 0),
            .init(x: 46, y: 0.9, yMin: 0.05, yMax: 0.95, label: "B", series: 0),
        ], seriesNames: [], xAxis: xAxis, yAxis: yAxis)
        let frame = Frame(x: 0, y: 0, width: 360, height: 240)
        let svg = Self.render(chart)
        let plot = chart.plotArea(in: frame)
        let bx = PlotMap(plot: plot, xAxis: xAxis, yAxis: yAxis).x(46)
        let line = try XCTUnwrap(svg.split(separator: "\n").first { $0.contains(">a long label for A<") })
        let r = try XCTUnwrap(line.range(of: " x=\""))
        let x = try XCTUnwrap(Double(line[r.upperBound...].prefix { $0 != "\"" }))
        let w = SVGText.width("a long label for A", size: FontSize.note)
        XCTAssertFalse(x <= bx + 4 && x + w >= bx - 4, "label [\(x), \(x + w)] crosses the whisker at \(bx)")
    }

    /// Oracle: the note text is written (escaped) into the SVG of a box plot and a scatter chart.
    func testNotes() {
        let box = BoxPlotChart(title: "t", items: [.init(label: "a", box: nil)], yAxis: Axis(lower: 0, upper: 1),
                               note: "goal: lowest ≥ 0.95 met")
        XCTAssertTrue(Self.render(box).contains(">goal: lowest ≥ 0.95 met<"))
        let scatter = ScatterChart(title: nil, items: [], seriesNames: [], xAxis: Axis(lower: 0, upper: 1),
                                   yAxis: Axis(lower: 0.9, upper: 1), note: "y axis from 90%, not 0")
        XCTAssertTrue(Self.render(scatter).contains(">y axis from 90%, not 0<"))
    }
}
