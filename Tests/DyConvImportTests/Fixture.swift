import DyConvEngine
import DyConvImport
import DyConvTestSupport
import DyConvTorch
import Foundation
import Testing

/// One folder of Tests/DyConvImportTests/Fixtures, written by tools/make_import_fixtures.py.
struct ImportFixture {
    let folder: String

    init(_ name: String) throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                               "the test bundle has no Fixtures resource folder")
        folder = url.path + "/" + name
    }

    func path(_ file: String) -> String { folder + "/" + file }

    /// PyTorch's results (eval, no_grad): `input`, `probabilities` (τ = 1), `probabilities_tau4`,
    /// `pi.<layer>` per dynamic layer.
    func expected() throws -> [String: Tensor] { try SafetensorsFile.read(path: path("expected.safetensors")).tensors }

    /// Imports `file` of this fixture with the preset called `preset`.
    func importing(_ file: String = "model.pth", preset: String,
                   options: ImportOptions = ImportFixture.options()) throws -> Checkpoint {
        try Importer.run(source: path(file), preset: try #require(ImportPresets.named(preset)), options: options)
    }

    /// The error importing `file` with `preset` gives, recorded as an issue when there is none.
    func importError(_ file: String = "model.pth", preset: String, options: ImportOptions = ImportFixture.options(),
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> ImportError? {
        let preset = try #require(ImportPresets.named(preset))
        return #expect(throws: ImportError.self, sourceLocation: sourceLocation) {
            try Importer.run(source: path(file), preset: preset, options: options)
        }
    }

    /// The CIFAR-10 normalisation the fixtures were made with.
    static func options(channels: Int = 3, side: Int = 32) -> ImportOptions {
        ImportOptions(input: InputSpec(channels: channels, height: side, width: side),
                      normalization: Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010]))
    }

    /// Runs the imported checkpoint on PyTorch's inputs and expects PyTorch's probabilities and π
    /// (τ = 1) and probabilities at τ = 4, within 1e-4.
    func expectMatchesPyTorch(_ checkpoint: Checkpoint, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let oracle = try expected()
        let model = try checkpoint.makeModel()
        let input = try #require(oracle["input"])
        let trace = model.forward(input)
        let probabilities = try #require(oracle["probabilities"])
        #expect(trace.probabilities.maxAbsDifference(probabilities) <= 1e-4, sourceLocation: sourceLocation)
        let piNames = oracle.keys.filter { $0.hasPrefix("pi.") }.map { String($0.dropFirst(3)) }.sorted()
        #expect(piNames == model.dynamicLayerNames.sorted(), sourceLocation: sourceLocation)
        for layer in trace.layers {
            let pi = try #require(oracle["pi." + layer.name])
            let got = Tensor(shape: pi.shape, data: layer.attention)
            #expect(got.maxAbsDifference(pi) <= 1e-4, "π of \(layer.name)", sourceLocation: sourceLocation)
        }
        let hot = model.forward(input, options: ForwardOptions(temperature: 4))
        let probabilities4 = try #require(oracle["probabilities_tau4"])
        #expect(hot.probabilities.maxAbsDifference(probabilities4) <= 1e-4, "τ = 4", sourceLocation: sourceLocation)
    }
}
