@testable import DyConvFigures
import XCTest

// Scatter labels when there are too many to place: `fitted(to:)` numbers the points and puts
// the labels in a key under the plot (the runs report's accuracy-vs-cost figure, 17 groups at
// two costs, had its labels written over each other).

final class ScatterLabelTests: XCTestCase {
    static let frame = Frame(x: 10, y: 40, width: 1080, height: 420)

    /// 17 groups shaped like the runs report: 14 narrow recipes within 0.8 points at two nearby
    /// costs, 3 deep/wide ones at ~9.4M, long labels.
    static func crowded() -> ScatterChart {
        var items: [ScatterChart.Item] = []
        for i in 0..<14 {
            let x = i % 3 == 0 ? 2_314_688.0 : 2_389_008.0
            items.append(.init(x: x, y: 0.9225 + 0.0006 * Double((i * 5) % 14),
                               yMin: i == 2 ? 0.9219 : nil, yMax: i == 2 ? 0.9245 : nil,
                               label: "dycnn 8/16/32 K=4 softmax τ 30→1/5ep recipe \(i) weightDecay=0.0005 · 75.2k params",
                               series: i % 3 == 0 ? 2 : (i % 4 == 1 ? 1 : 0)))
        }
        for i in 0..<3 {
            items.append(.init(x: 9_400_000 + Double(i) * 150_000, y: 0.9385 + 0.0004 * Double(i),
                               label: "dyresnet 8/16/32×3 K=4 softmax τ 30→1/5ep \(i) · 272.2k params", series: i))
        }
        return ScatterChart(title: nil, items: items, seriesNames: ["softmax", "sigmoid", "static"],
                            xAxis: Axis.fitting(items.map(\.x), kind: .log10), yAxis: Axis(lower: 0.92, upper: 0.945, format: .percent),
                            xTitle: "multiply-adds", yTitle: "accuracy")
    }

    static func render(_ chart: ScatterChart, _ frame: Frame) -> String {
        var doc = SVGDocument(width: 1100, height: frame.maxY + 10, title: "t")
        chart.draw(into: &doc, frame: frame)
        return doc.render()
    }

    static func overlap(_ a: Frame, _ b: Frame) -> Bool { !(a.maxX <= b.x || b.maxX <= a.x || a.maxY <= b.y || b.maxY <= a.y) }

    /// Oracle: geometry. Crowded labels do not fit beside their points, so the chart is numbered;
    /// then every number has a free place: no number box overlaps another, a marker (10 × 10
    /// around the point) or leaves the plot, and numbers are ranks by accuracy (1 = highest y).
    func testCrowdedPointsAreNumberedAndNoNumberOverlaps() {
        let plain = Self.crowded()
        let plainPlot = plain.plotArea(in: Self.frame)
        let plainPlaces = plain.placeLabels(plain.pointLabels, map: PlotMap(plot: plainPlot, xAxis: plain.xAxis, yAxis: plain.yAxis),
                                            plot: plainPlot)
        XCTAssertFalse(plainPlaces.allSatisfy(\.fits), "the crowded labels were expected not to fit beside their points")

        let (chart, frame) = plain.fitted(to: Self.frame)
        XCTAssertEqual(chart.labels, .numbered)
        XCTAssertEqual(frame.height, Self.frame.height + chart.keyHeight(width: Self.frame.width), accuracy: 1e-9)
        let plot = chart.plotArea(in: frame)
        XCTAssertEqual(plot.height, plainPlot.height, accuracy: 1e-9, "the key grows the frame, the plot keeps its size")
        let map = PlotMap(plot: plot, xAxis: chart.xAxis, yAxis: chart.yAxis)
        let places = chart.placeLabels(chart.pointLabels, map: map, plot: plot)
        XCTAssertTrue(places.allSatisfy(\.fits))
        let markers = chart.items.map { Frame(x: map.x($0.x) - 5, y: map.y($0.y) - 5, width: 10, height: 10) }
        for (i, a) in places.enumerated() {
            XCTAssertTrue(a.box.x >= plot.x && a.box.maxX <= plot.maxX && a.box.y >= plot.y && a.box.maxY <= plot.maxY)
            for b in places[(i + 1)...] { XCTAssertFalse(Self.overlap(a.box, b.box), "numbers \(a.box) and \(b.box) overlap") }
            for m in markers { XCTAssertFalse(Self.overlap(a.box, m), "number \(i) covers a marker") }
        }
        let byY = chart.items.indices.sorted { chart.items[$0].y > chart.items[$1].y }
        XCTAssertEqual(byY.map { chart.numbers[$0] }, Array(1...chart.items.count))
    }

    /// Oracle: geometry. Five points in a plus (centre A with B, C right and left, D, E below and
    /// above, 12 px apart) block every near place of A's number; the number may go further out
    /// only where its leader's corridor crosses no other marker and no number, so it cannot sit
    /// next to B and be read as B's. (Before the corridor check A's "2" landed 1.4 px right of B's
    /// marker with its leader through B.)
    func testLeaderLinesCrossNoOtherMarkerOrNumber() {
        let xAxis = Axis(lower: 0, upper: 400), yAxis = Axis(lower: 0, upper: 400)
        let pts = [(100.0, 200.0), (112, 200), (88, 200), (100, 188), (100, 212)]
        var chart = ScatterChart(title: nil, items: pts.enumerated().map { .init(x: $1.0, y: $1.1, label: "p\($0)", series: 0) },
                                 seriesNames: [], xAxis: xAxis, yAxis: yAxis)
        chart.labels = .numbered
        let plot = Frame(x: 0, y: 0, width: 400, height: 400)
        let map = PlotMap(plot: plot, xAxis: xAxis, yAxis: yAxis)
        let places = chart.placeLabels(chart.pointLabels, map: map, plot: plot)
        XCTAssertTrue(places.allSatisfy(\.fits))
        XCTAssertTrue(places.contains { $0.leader != nil }, "the premise: some number needs a leader")
        let markers = chart.items.map { Frame(x: map.x($0.x) - 5, y: map.y($0.y) - 5, width: 10, height: 10) }
        for (i, place) in places.enumerated() {
            for (j, m) in markers.enumerated() where j != i { XCTAssertFalse(Self.overlap(place.box, m), "number \(i) on marker \(j)") }
            for other in places[(i + 1)...] { XCTAssertFalse(Self.overlap(place.box, other.box)) }
            guard let leader = place.leader else { continue }
            // The leader sampled every 0.5 px: no sample inside another marker or number.
            let n = Int(ScatterChart.length(leader) * 2) + 1
            let samples = (0...n).map { Point(leader.from.x + (leader.to.x - leader.from.x) * Double($0) / Double(n),
                                              leader.from.y + (leader.to.y - leader.from.y) * Double($0) / Double(n)) }
            func hit(_ f: Frame) -> Bool { samples.contains { $0.x > f.x && $0.x < f.maxX && $0.y > f.y && $0.y < f.maxY } }
            for (j, m) in markers.enumerated() where j != i { XCTAssertFalse(hit(m), "leader of \(i) crosses marker \(j)") }
            for (j, other) in places.enumerated() where j != i { XCTAssertFalse(hit(other.box), "leader of \(i) crosses number \(j)") }
        }
    }

    /// Oracle: the key is the list of labels. Every label is written once, whole, in the SVG;
    /// the key lies below the plot's x axis title and inside the grown frame; its rows are
    /// number-ordered (entry k of a column is number k + 1 of that column's run).
    func testKeyListsEveryLabelOnceBelowThePlot() throws {
        let (chart, frame) = Self.crowded().fitted(to: Self.frame)
        let svg = Self.render(chart, frame)
        for item in chart.items {
            XCTAssertEqual(svg.components(separatedBy: ">\(SVGText.escape(item.label))<").count - 1, 1, item.label)
        }
        let plot = chart.plotArea(in: frame)
        for item in chart.items {
            let line = try XCTUnwrap(svg.split(separator: "\n").first { $0.contains(">\(SVGText.escape(item.label))<") })
            let r = try XCTUnwrap(line.range(of: " y=\""))
            let y = try XCTUnwrap(Double(line[r.upperBound...].prefix { $0 != "\"" }))
            XCTAssertGreaterThan(y, plot.maxY + AxisPainter.bottomMargin(title: chart.xTitle) - 1)
            XCTAssertLessThanOrEqual(y, frame.maxY)
        }
        XCTAssertEqual(chart.key.entries.map(\.number), Array(1...chart.items.count))
    }

    /// Oracle: the previous drawing. Labels that fit stay beside their points: `fitted` returns
    /// the chart and frame unchanged, and its SVG is the one drawn without it (no numbers, no key).
    func testLabelsThatFitStayBesideTheirPoints() {
        let chart = ScatterChart(title: nil, items: [
            .init(x: 2e6, y: 0.92, label: "static · 19k params", series: 2),
            .init(x: 5e6, y: 0.93, yMin: 0.928, yMax: 0.932, label: "dynamic · 75k params", series: 0),
            .init(x: 9e6, y: 0.94, label: "CondConv · 75k params", series: 1),
        ], seriesNames: ["softmax", "sigmoid", "static"], xAxis: Axis.fitting([2e6, 9e6], kind: .log10),
           yAxis: Axis(lower: 0.91, upper: 0.95, format: .percent))
        let (fitted, frame) = chart.fitted(to: Self.frame)
        XCTAssertEqual(fitted.labels, .beside)
        XCTAssertEqual(frame.height, Self.frame.height)
        XCTAssertEqual(Self.render(fitted, frame), Self.render(chart, Self.frame))
        XCTAssertTrue(Self.render(fitted, frame).contains(">dynamic · 75k params<"))
    }
}
