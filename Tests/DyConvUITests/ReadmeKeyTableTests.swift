import XCTest
@testable import DyConvUI

/// README's key table is the program's: oracle `keyTable`, the table `?` draws. Each README row
/// `| keys | action |` with the backticks removed must equal the entry at the same position, and
/// there must be as many rows as entries, so a key added, renamed or re-described in one place
/// and not the other fails here.
final class ReadmeKeyTableTests: XCTestCase {
    func testReadmeKeyTableMatchesTheHelp() throws {
        let readme = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "| Keys | Action |") else {
            return XCTFail("README.md has no '| Keys | Action |' table")
        }
        var rows: [(String, String)] = []
        for line in lines[(start + 2)...] {
            guard line.hasPrefix("| ") else { break }
            let cells = line.dropFirst(2).dropLast(2).components(separatedBy: " | ")
            XCTAssertEqual(cells.count, 2, line)
            guard cells.count == 2 else { continue }
            rows.append((cells[0].replacingOccurrences(of: "`", with: ""), cells[1]))
        }
        XCTAssertEqual(rows.count, keyTable.count, "README rows vs keyTable entries")
        for (row, entry) in zip(rows, keyTable) {
            XCTAssertEqual(row.0, entry.keys, "keys")
            XCTAssertEqual(row.1, entry.action, "action of \(entry.keys)")
        }
    }
}
