import Foundation
import Testing
@testable import DyConvData
import DyConvTestSupport

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/dyconv-data-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes raw bytes to `name` and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }
}

/// Builds IDX bytes by hand (independently of `IDXFile.encoded()`): magic, big-endian dims, payload.
func idxBytes(magic: UInt32, dimensions: [UInt32], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    for value in [magic] + dimensions {
        bytes += [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
    return bytes + payload
}

/// Runs `body`, expecting a `DataError` of `kind` whose one-line description contains every fragment.
func expectDataError(_ kind: DataError.Kind, containing fragments: [String],
                     sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected DataError.\(kind), but no error was thrown", sourceLocation: sourceLocation)
    } catch let error as DataError {
        #expect(error.kind == kind, "got \(error.kind): \(error)", sourceLocation: sourceLocation)
        let text = error.description
        #expect(!text.contains("\n"), "multi-line message: \(text)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(text.contains(fragment), "\"\(text)\" lacks \"\(fragment)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected DataError.\(kind), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// The repository's bundled sample files.
enum Sample {
    static func imagesPath() throws -> String { try FashionMNIST.sampleDirectory() + "/t10k-images-idx3-ubyte.gz" }
    static func labelsPath() throws -> String { try FashionMNIST.sampleDirectory() + "/t10k-labels-idx1-ubyte.gz" }
}

let fullDatasetPresent = FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz")
