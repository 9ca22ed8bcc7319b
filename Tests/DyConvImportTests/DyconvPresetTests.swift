import DyConvEngine
@testable import DyConvImport
import DyConvTorch
import Foundation
import Testing

/// The `dyconv` preset: state_dicts whose names already are dyconv names.
@Suite("import dyconv preset")
struct DyconvPresetTests {
    static let preset = ImportPresets.named("dyconv")!

    /// A state_dict with `description`'s tensor names and shapes and deterministic values.
    static func stateDict(_ description: ModelDescription) -> TorchStateDict {
        var tensors: [String: Tensor] = [:]
        for (i, (name, shape)) in description.parameterShapes().enumerated() {
            let n = shape.reduce(1, *)
            let data = name.hasSuffix("running_var") ? [Float](repeating: 1, count: n)
                                                      : (0..<n).map { Float(sin(Double($0 + i))) * 0.1 }
            tensors[name] = Tensor(shape: shape, data: data)
        }
        return TorchStateDict(tensors: tensors, skipped: [], format: .torchZip)
    }

    @Test("tools/dyconv_torch.py dycnn .pth and .safetensors match PyTorch within 1e-4")
    func pytorchFixture() throws {
        let fixture = try ImportFixture("dyconv")
        for file in ["model.pth", "model.safetensors"] {
            let checkpoint = try fixture.importing(file, preset: "dyconv", options: ImportFixture.options(side: 16))
            try fixture.expectMatchesPyTorch(checkpoint)
            #expect(checkpoint.description.family == "dyconv")
        }
    }

    @Test("dycnn layers are inferred as Families.dycnn builds them, for every routing", arguments: Routing.allCases)
    func dycnnFamily(routing: Routing) throws {
        // Oracle: Families.dycnn, the definition of the layout.
        let family = Families.dycnn(widths: [16, 32, 64], routing: routing, kernels: 4)
        var options = ImportFixture.options(channels: 1, side: 28)
        options.normalization = Families.fashionMNISTNormalization
        if routing != .static { options.routing = routing }
        let checkpoint = try Importer.run(stateDict: Self.stateDict(family), file: "dycnn.pth", preset: Self.preset,
                                          options: options)
        #expect(checkpoint.description.layers == family.layers)
        #expect(checkpoint.tensors == Self.stateDict(family).tensors)
    }

    @Test("an imported kaijieshi7 checkpoint's tensors (dyconv names, dy-resnet layout) import back to the same layers")
    func resnetLayout() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        let kaijieshi = try fixture.importing(preset: "kaijieshi7-resnet18")
        let state = TorchStateDict(tensors: kaijieshi.tensors, skipped: [], format: .safetensors)
        let again = try Importer.run(stateDict: state, file: "dyconv.safetensors", preset: Self.preset, options: ImportFixture.options())
        #expect(again.description.layers == kaijieshi.description.layers)
        #expect(again.tensors == kaijieshi.tensors)
    }

    @Test("a state_dict of neither layout says so and points to mapping.json")
    func unknownLayout() throws {
        let state = TorchStateDict(tensors: ["features.0.0.weight": Tensor(shape: [8, 3, 3, 3], repeating: 0)],
                                   skipped: [], format: .torchZip)
        let error = #expect(throws: ImportError.self) {
            try Importer.run(stateDict: state, file: "m.pth", preset: Self.preset, options: ImportFixture.options())
        }
        #expect(error?.reason.contains("--from mapping.json") == true)
    }
}
