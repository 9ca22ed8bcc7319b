import DyConvEngine
@testable import DyConvImport
import DyConvTorch
import Foundation
import Testing

/// `--from mapping.json`. Oracle: the kaijieshi7-resnet18 preset's import of the same tensors
/// (itself checked against PyTorch) and PyTorch's probabilities.
@Suite("import mapping files")
struct ImportMappingTests {
    static func temporaryFile(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-mapping-\(getpid())-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    @Test("write → read round trip; renamed tensors import to the preset's checkpoint and match PyTorch")
    func roundTrip() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        let preset = try fixture.importing(preset: "kaijieshi7-resnet18")
        // The same network saved by a wrapper module: everything under `backbone.`, fc as `head`.
        var state = try TorchCheckpoint.read(path: fixture.path("model.pth"))
        state.tensors = Dictionary(uniqueKeysWithValues: state.tensors.map { key, value in
            (key.hasPrefix("fc.") ? "head." + key.dropFirst(3) : "backbone." + key, value)
        })
        let mapping = ImportMapping(file: "", architecture: preset.description,
                                    tensors: ["fc.weight": "head.weight", "fc.bias": "head.bias"],
                                    prefixes: [.init(dyconv: "", torch: "backbone.")])
        let url = try Self.temporaryFile("mapping.json")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try mapping.jsonData().write(to: url)
        let read = try ImportMapping.read(path: url.path)
        #expect(read.architecture == mapping.architecture)
        #expect(read.tensors == mapping.tensors && read.prefixes == mapping.prefixes)

        let checkpoint = try Importer.run(stateDict: state, file: "wrapped.pth", mapping: read, options: ImportFixture.options())
        #expect(checkpoint.description.layers == preset.description.layers)
        #expect(checkpoint.tensors == preset.tensors)
        #expect(checkpoint.metadata[Importer.MetadataKey.preset] == "mapping:\(url.path)")
        try fixture.expectMatchesPyTorch(checkpoint)
    }

    @Test("a mapped tensor that is missing is named by its PyTorch name and its dyconv name")
    func missing() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        let preset = try fixture.importing(preset: "kaijieshi7-resnet18")
        let state = try TorchCheckpoint.read(path: fixture.path("model.pth"))
        let mapping = ImportMapping(file: "map.json", architecture: preset.description, tensors: ["fc.weight": "classifier.weight"])
        let error = #expect(throws: ImportError.self) {
            try Importer.run(stateDict: state, file: "net.pth", mapping: mapping, options: ImportFixture.options())
        }
        #expect(error?.description == "net.pth: tensor 'classifier.weight': missing (map.json maps dyconv 'fc.weight' [10,8] here)")
    }

    @Test("malformed mapping files are one line each")
    func malformed() throws {
        let url = try Self.temporaryFile("bad.json")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        for (text, expected) in [
            ("{", "is not a mapping"),
            ("{\"tensors\": {}}", "is not a mapping"),
            (String(repeating: "[", count: 500), "nests deeper"),
        ] {
            try Data(text.utf8).write(to: url)
            let error = #expect(throws: ImportError.self) { try ImportMapping.read(path: url.path) }
            #expect(error?.kind == .invalidMapping)
            #expect(error?.reason.contains(expected) == true, "\(String(describing: error))")
        }
        // A rename of a tensor the architecture does not have.
        let architecture = Families.dycnn(widths: [4, 8, 8])
        let mapping = ImportMapping(file: "m.json", architecture: architecture, tensors: ["nope.weight": "x"])
        try mapping.jsonData().write(to: url)
        let error = #expect(throws: ImportError.self) { try ImportMapping.read(path: url.path) }
        #expect(error?.reason == "\"tensors\" maps 'nope.weight', which the architecture does not have")
    }
}
