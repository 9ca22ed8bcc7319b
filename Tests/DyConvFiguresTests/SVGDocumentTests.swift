@testable import DyConvFigures
import XCTest

/// The SVG writer: number formatting, escaping and a golden document.
final class SVGDocumentTests: XCTestCase {
    /// Oracle: hand-written expected strings (two decimals, no exponent, no "-0.00").
    func testNumberFormat() {
        XCTAssertEqual(SVGNumber.format(0), "0.00")
        XCTAssertEqual(SVGNumber.format(-0.001), "0.00")
        XCTAssertEqual(SVGNumber.format(-0.0), "0.00")
        XCTAssertEqual(SVGNumber.format(1e-7), "0.00")
        XCTAssertEqual(SVGNumber.format(-2.5), "-2.50")
        XCTAssertEqual(SVGNumber.format(1234.5678), "1234.57")
        XCTAssertEqual(SVGNumber.format(0.07), "0.07")
        XCTAssertEqual(SVGNumber.format(1e20), "1000000000000.00")
        XCTAssertEqual(SVGNumber.format(.nan), "0.00")
        XCTAssertEqual(SVGNumber.fixed(93.456, decimals: 1), "93.5")
        XCTAssertEqual(SVGNumber.fixed(-0.04, decimals: 1), "0.0")
        XCTAssertEqual(SVGNumber.fixed(7, decimals: 0), "7")
        XCTAssertEqual(SVGNumber.trimmed(0.25), "0.25")
        XCTAssertEqual(SVGNumber.trimmed(100), "100")
        XCTAssertEqual(SVGNumber.trimmed(0.5), "0.5")
    }

    /// Oracle: the five XML entities, by hand; and the escaped text lands in the rendered title,
    /// desc, text and attribute values (no raw "<" from user text).
    func testEscaping() {
        XCTAssertEqual(SVGText.escape("a&b<c>\"d'e"), "a&amp;b&lt;c&gt;&quot;d&apos;e")
        XCTAssertEqual(SVGText.escape("τ 30→1"), "τ 30→1")
        var doc = SVGDocument(width: 10, height: 10, title: "<T&>", desc: "\"d\"")
        doc.text("x<y", x: 1, y: 2)
        doc.group(label: "a'b") { _ in }
        let svg = doc.render()
        XCTAssertTrue(svg.contains("<title>&lt;T&amp;&gt;</title>"))
        XCTAssertTrue(svg.contains("<desc>&quot;d&quot;</desc>"))
        XCTAssertTrue(svg.contains(">x&lt;y</text>"))
        XCTAssertTrue(svg.contains("aria-label=\"a&apos;b\""))
        XCTAssertFalse(svg.contains("x<y"))
    }

    /// Oracle: the worked example of SVGDocument.swift's overview, character for character.
    func testGoldenDocument() {
        var doc = SVGDocument(width: 100, height: 50, title: "A & B")
        doc.rect(x: 10, y: 10, width: 30, height: 20, fill: "#0072B2")
        doc.text("x<y", x: 50, y: 45, size: 12, anchor: .middle)
        XCTAssertEqual(doc.render(), """
            <svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100.00 50.00" font-family="DejaVu Sans, sans-serif" role="img">
            <title>A &amp; B</title>
            <rect x="10.00" y="10.00" width="30.00" height="20.00" fill="#0072B2"/>
            <text x="50.00" y="45.00" font-size="12.00" text-anchor="middle" fill="#000000">x&lt;y</text>
            </svg>

            """)
    }

    /// Oracle: a tiny line chart pinned as a golden string. Its coordinates were checked by hand:
    /// frame (0,0,160,100); no title (4) and no marker line (+4) → plot top 8; y ticks "0" and "1"
    /// (1 char → 6 px estimated, ×1.15 = 6.9, + 8 = 14.9 left margin); bottom 18 (tick 10 + 8) →
    /// plot bottom 82; right margin 10 → plot right 150. So (0, 0) is at (14.9, 82), (1, 1) at
    /// (150, 8); tick labels end 6 px left of the axis (8.9) with the baseline 0.35 em below the tick.
    func testGoldenTinyChart() {
        let chart = LineChart(title: nil, series: [.init(name: "s", points: [Point(0, 0), Point(1, 1)], style: Palette.style(0))],
                              xAxis: Axis(lower: 0, upper: 1, maxTicks: 2), yAxis: Axis(lower: 0, upper: 1, maxTicks: 2), legend: false)
        var doc = SVGDocument(width: 160, height: 100, title: "tiny")
        chart.draw(into: &doc, frame: Frame(x: 0, y: 0, width: 160, height: 100))
        XCTAssertEqual(doc.render(), Self.tinyGolden)
    }

    static let tinyGolden = """
        <svg xmlns="http://www.w3.org/2000/svg" width="160" height="100" viewBox="0 0 160.00 100.00" font-family="DejaVu Sans, sans-serif" role="img">
        <title>tiny</title>
        <g>
        <line x1="14.90" y1="82.00" x2="150.00" y2="82.00" stroke="#E3E3E3" stroke-width="1.00"/>
        <line x1="14.90" y1="82.00" x2="10.90" y2="82.00" stroke="#333333" stroke-width="1.00"/>
        <text x="8.90" y="85.50" font-size="10.00" text-anchor="end" fill="#333333">0</text>
        <line x1="14.90" y1="8.00" x2="150.00" y2="8.00" stroke="#E3E3E3" stroke-width="1.00"/>
        <line x1="14.90" y1="8.00" x2="10.90" y2="8.00" stroke="#333333" stroke-width="1.00"/>
        <text x="8.90" y="11.50" font-size="10.00" text-anchor="end" fill="#333333">1</text>
        <line x1="14.90" y1="8.00" x2="14.90" y2="82.00" stroke="#333333" stroke-width="1.00"/>
        <line x1="14.90" y1="82.00" x2="14.90" y2="86.00" stroke="#333333" stroke-width="1.00"/>
        <text x="14.90" y="98.00" font-size="10.00" text-anchor="middle" fill="#333333">0</text>
        <line x1="150.00" y1="82.00" x2="150.00" y2="86.00" stroke="#333333" stroke-width="1.00"/>
        <text x="150.00" y="98.00" font-size="10.00" text-anchor="middle" fill="#333333">1</text>
        <line x1="14.90" y1="82.00" x2="150.00" y2="82.00" stroke="#333333" stroke-width="1.00"/>
        <polyline points="14.90,82.00 150.00,8.00" fill="none" stroke="#0072B2" stroke-width="1.75" stroke-linejoin="round"/>
        <circle cx="14.90" cy="82.00" r="3.00" fill="#0072B2" stroke="#0072B2" stroke-width="1.00"/>
        <circle cx="150.00" cy="8.00" r="3.00" fill="#0072B2" stroke="#0072B2" stroke-width="1.00"/>
        </g>
        </svg>

        """
}
