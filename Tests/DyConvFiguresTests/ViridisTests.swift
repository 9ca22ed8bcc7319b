import DyConvFigures
import XCTest

/// `Viridis`: the stops are hit exactly and the scale is monotone in lightness (oracle: the
/// published viridis endpoints, and a luma ordering of the stops).
final class ViridisTests: XCTestCase {
    func testEndpointsAndClamp() {
        XCTAssertTrue(Viridis.rgb(0) == (68, 1, 84))
        XCTAssertTrue(Viridis.rgb(1) == (253, 231, 37))
        XCTAssertTrue(Viridis.rgb(-3) == Viridis.rgb(0))
        XCTAssertTrue(Viridis.rgb(.nan) == Viridis.rgb(0))
        XCTAssertTrue(Viridis.rgb(7) == Viridis.rgb(1))
    }

    func testLumaIncreases() {
        func luma(_ c: (red: UInt8, green: UInt8, blue: UInt8)) -> Double {
            0.2126 * Double(c.red) + 0.7152 * Double(c.green) + 0.0722 * Double(c.blue)
        }
        let values = stride(from: 0.0, through: 1.0, by: 0.05).map { luma(Viridis.rgb($0)) }
        XCTAssertEqual(values, values.sorted())
    }
}
