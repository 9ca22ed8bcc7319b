import DyConvEngine
import Foundation
import XCTest

/// `EnvironmentSetting`: the parser against hand-written cases, and docs/ENVIRONMENT.md against
/// the code's table (oracle: the documented table, row by row).
final class EnvironmentSettingTests: XCTestCase {
    func testValuesInsideTheRangeParseAndOthersAreOneLine() throws {
        setenv("DYCONV_SLICE", "12", 1)
        defer { unsetenv("DYCONV_SLICE") }
        XCTAssertEqual(EnvironmentSetting.slice.integer, 12)
        XCTAssertNoThrow(try EnvironmentSetting.validateAll())

        for bad in ["0", "4097", "twelve", "1e3", "-1", "99999999999999999999999"] {
            setenv("DYCONV_SLICE", bad, 1)
            XCTAssertNil(EnvironmentSetting.slice.integer, bad)
            XCTAssertThrowsError(try EnvironmentSetting.validateAll(), bad) { error in
                XCTAssertEqual("\(error)", "DYCONV_SLICE=\(bad): must be an integer from 1 to 4096")
            }
        }
        setenv("DYCONV_SLICE", "", 1)   // empty = unset
        XCTAssertNil(EnvironmentSetting.slice.text)
        XCTAssertNoThrow(try EnvironmentSetting.validateAll())
    }

    func testAPathKnobAcceptsAnyText() throws {
        setenv("DYCONV_ASSETS", "/no/such/folder", 1)
        defer { unsetenv("DYCONV_ASSETS") }
        XCTAssertEqual(EnvironmentSetting.assets.text, "/no/such/folder")
        XCTAssertNoThrow(try EnvironmentSetting.validateAll())
    }

    func testTheDocumentedTableIsTheCodesTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/ENVIRONMENT.md"), encoding: .utf8)
        let rows = page.split(separator: "\n").filter { $0.hasPrefix("| `DYCONV_") }
            .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        // The knobs' table has three columns (the tests-only table below it has two).
        let documented = Dictionary(rows.filter { $0.count == 3 }.map { ($0[0], ($0[1], $0[2])) },
                                    uniquingKeysWith: { a, _ in a })
        for setting in EnvironmentSetting.allCases {
            guard let (values, summary) = documented["`\(setting.rawValue)`"] else {
                XCTFail("\(setting.rawValue) is not in docs/ENVIRONMENT.md"); continue
            }
            let expected = setting.range.map { "\($0.lowerBound) to \($0.upperBound)" } ?? "a path"
            XCTAssertEqual(values, expected, setting.rawValue)
            XCTAssertEqual(summary, setting.summary, setting.rawValue)
        }
    }
}
