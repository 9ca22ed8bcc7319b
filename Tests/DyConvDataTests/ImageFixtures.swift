import Foundation
import Testing

/// The image fixtures written by `tools/make_image_fixtures.py` (Pillow 13) in
/// `Fixtures/images`, described by its `manifest.json`.
enum ImageFixtures {
    struct DecodeCase: Decodable, CustomTestStringConvertible, Sendable {
        let file: String
        let channels: Int
        let height: Int
        let width: Int
        let expected: String
        let oracle: String
        let tolerance: Int
        var testDescription: String { file }
    }

    struct TransformCase: Decodable, CustomTestStringConvertible, Sendable {
        let source: String
        let channels: Int
        let height: Int
        let width: Int
        let resize: Int?
        let expected: String
        let oracle: String
        var testDescription: String { "\(source) → \(channels)×\(height)×\(width) resize \(resize.map(String.init) ?? "auto")" }
    }

    struct Manifest: Decodable {
        let decode: [DecodeCase]
        let transform: [TransformCase]
    }

    static func path(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                               "the test bundle has no Fixtures resource folder")
        return url.path + "/images/" + name
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: try path(name))))
    }

    /// The manifest; empty lists if it cannot be read (the `manifestIsComplete` test then fails).
    static let manifest: Manifest = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil),
              let data = try? Data(contentsOf: url.appendingPathComponent("images/manifest.json")),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else {
            return Manifest(decode: [], transform: [])
        }
        return manifest
    }()

    /// The largest absolute difference between two byte arrays of the same length (nil if the lengths differ).
    static func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        guard a.count == b.count else { return nil }
        return zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }
}
