import DyConvEngine
@testable import DyConvImport
import Foundation
import Testing

/// The command-line values. Oracle: the documented formats (CxHxW, comma lists, one name a line).
@Suite("import options")
struct ImportOptionsTests {
    @Test("--input CxHxW parses; malformed or out-of-range shapes are refused")
    func inputShape() throws {
        #expect(try ImportOptions.parseInput("3x32x32") == InputSpec(channels: 3, height: 32, width: 32))
        #expect(try ImportOptions.parseInput("1×28×28") == InputSpec(channels: 1, height: 28, width: 28))
        for bad in ["3x32", "3x32x", "0x32x32", "3x32x32x1", "ax32x32", "3x-1x32", "3x99999999x32"] {
            let error = #expect(throws: ImportError.self, "\(bad)") { try ImportOptions.parseInput(bad) }
            #expect(error?.kind == .invalidOption)
        }
    }

    @Test("--mean/--std: finite lists, one value per channel, std > 0")
    func numbers() throws {
        #expect(try ImportOptions.parseNumbers("0.5, 0.25,1", flag: "--mean") == [0.5, 0.25, 1])
        #expect(throws: ImportError.self) { try ImportOptions.parseNumbers("0.5,,1", flag: "--mean") }
        #expect(throws: ImportError.self) { try ImportOptions.parseNumbers("0.5,nan", flag: "--mean") }
        #expect(throws: ImportError.self) { try ImportOptions.parseNumbers("0.5,0", flag: "--std", positive: true) }
        #expect(throws: ImportError.self) { try ImportOptions.normalization(mean: [0.5], std: [0.2, 0.2], channels: 1) }
        #expect(try ImportOptions.normalization(mean: [0.5, 0.5], std: [0.2, 0.2], channels: 2).std == [0.2, 0.2])
    }

    @Test("--classes: one name per line, trailing blank lines ignored, an inner blank line refused")
    func classesFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-import-\(getpid())-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.txt")
        try Data("airplane\r\n automobile \nbird\n\n".utf8).write(to: good)
        #expect(try ImportOptions.readClasses(path: good.path) == ["airplane", "automobile", "bird"])
        let blank = dir.appendingPathComponent("blank.txt")
        try Data("a\n\nb\n".utf8).write(to: blank)
        let error = #expect(throws: ImportError.self) { try ImportOptions.readClasses(path: blank.path) }
        #expect(error?.description.contains("line 2 is empty") == true)
        #expect(throws: ImportError.self) { try ImportOptions.readClasses(path: dir.appendingPathComponent("none.txt").path) }
    }
}
