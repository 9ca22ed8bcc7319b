import DyConvEngine
@testable import DyConvImport
import Foundation
import XCTest

/// The command-line values: oracle = the documented formats (CxHxW, comma lists, one name a line).
final class ImportOptionsTests: XCTestCase {
    func testInputShapeParses() throws {
        XCTAssertEqual(try ImportOptions.parseInput("3x32x32"), InputSpec(channels: 3, height: 32, width: 32))
        XCTAssertEqual(try ImportOptions.parseInput("1×28×28"), InputSpec(channels: 1, height: 28, width: 28))
        for bad in ["3x32", "3x32x", "0x32x32", "3x32x32x1", "ax32x32", "3x-1x32", "3x99999999x32"] {
            XCTAssertThrowsError(try ImportOptions.parseInput(bad), bad) { error in
                XCTAssertEqual((error as? ImportError)?.kind, .invalidOption)
            }
        }
    }

    func testNumbersAndNormalization() throws {
        XCTAssertEqual(try ImportOptions.parseNumbers("0.5, 0.25,1", flag: "--mean"), [0.5, 0.25, 1])
        XCTAssertThrowsError(try ImportOptions.parseNumbers("0.5,,1", flag: "--mean"))
        XCTAssertThrowsError(try ImportOptions.parseNumbers("0.5,nan", flag: "--mean"))
        XCTAssertThrowsError(try ImportOptions.parseNumbers("0.5,0", flag: "--std", positive: true))
        XCTAssertThrowsError(try ImportOptions.normalization(mean: [0.5], std: [0.2, 0.2], channels: 1))
        XCTAssertNoThrow(try ImportOptions.normalization(mean: [0.5, 0.5], std: [0.2, 0.2], channels: 2))
    }

    func testClassesFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-import-\(getpid())-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.txt")
        try Data("airplane\r\n automobile \nbird\n\n".utf8).write(to: good)
        XCTAssertEqual(try ImportOptions.readClasses(path: good.path), ["airplane", "automobile", "bird"])
        let blank = dir.appendingPathComponent("blank.txt")
        try Data("a\n\nb\n".utf8).write(to: blank)
        XCTAssertThrowsError(try ImportOptions.readClasses(path: blank.path)) { error in
            XCTAssertTrue("\(error)".contains("line 2 is empty"), "\(error)")
        }
        XCTAssertThrowsError(try ImportOptions.readClasses(path: dir.appendingPathComponent("none.txt").path))
    }
}
