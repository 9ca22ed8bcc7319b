import DyConvEngine
@testable import DyConvImport
import DyConvTestSupport
import DyConvTorch
import Foundation
import Testing

/// kaijieshi7 dy_resnet18/34-layout fixtures (tools/make_import_fixtures.py, PyTorch 2.15).
/// Oracle: PyTorch's probabilities and π per dynamic layer on the same normalised inputs.
@Suite("import kaijieshi7 presets")
struct KaijieshiImportTests {
    @Test("resnet18 .pth (nested state_dict, module. prefixes) matches PyTorch within 1e-4")
    func resnet18Pth() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        let checkpoint = try fixture.importing("model.pth", preset: "kaijieshi7-resnet18")
        try fixture.expectMatchesPyTorch(checkpoint)
        let d = checkpoint.description
        #expect(d.family == "kaijieshi7-resnet18")
        #expect(d.classes == (0..<10).map { "class \($0)" })
        // Every block conv and every downsample.0 is dynamic; the stem is not (kaijieshi7's dy_resnet).
        #expect(d.dynamicConvolutions.count == 19)
        #expect(d.dynamicConvolutions.map(\.name).contains("layer3.0.downsample.0"))
        #expect(!d.dynamicConvolutions.map(\.name).contains("conv1"))
        let c = try #require(d.dynamicConvolutions.first { $0.name == "layer3.0.conv1" })
        // in 4 → hidden int(4·0.25)+1 = 2; widths 4 → 8 from the tensors; K = 4.
        #expect(c.inChannels == 4 && c.outChannels == 8 && c.kernels == 4 && c.stride == 2)
        #expect(c.attention == AttentionSpec(hidden: 2, fc1Bias: false, temperature: 1))
        #expect(checkpoint.tensors["layer3.0.conv1.attention.fc1.weight"]?.shape == [2, 4])
        #expect(checkpoint.metadata[Importer.MetadataKey.preset] == "kaijieshi7-resnet18")
    }

    @Test("resnet18 .safetensors imports to the same checkpoint as the .pth")
    func resnet18Safetensors() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        let a = try fixture.importing("model.pth", preset: "kaijieshi7-resnet18")
        let b = try fixture.importing("model.safetensors", preset: "kaijieshi7-resnet18")
        #expect(a.description == b.description)
        #expect(a.tensors == b.tensors)
        try fixture.expectMatchesPyTorch(b)
    }

    @Test("resnet34 .pth (plain state_dict) matches PyTorch within 1e-4; 35 dynamic layers")
    func resnet34() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet34")
        let checkpoint = try fixture.importing("model.pth", preset: "kaijieshi7-resnet34")
        try fixture.expectMatchesPyTorch(checkpoint)
        #expect(checkpoint.description.dynamicConvolutions.count == 35)
    }

    @Test("a resnet34 file under the resnet18 preset names the blocks resnet18 does not have")
    func wrongDepth() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet34")
        let error = try fixture.importError("model.pth", preset: "kaijieshi7-resnet18")
        #expect(error?.kind == .unexpectedTensor)
        // 8 extra blocks × 16 tensors (2 Dynamic_conv2d × 4, 2 BatchNorm2d × 4).
        #expect(error?.reason == "128 unexpected tensors, not part of kaijieshi7-resnet18, under layer1.2 (16), layer2.2 (16), layer2.3 (16), layer3.2 (16), layer3.3 (16), layer3.4 (16), layer3.5 (16), layer4.2 (16)")
        // And the other way round: resnet18 has no layer1.2.
        let fixture18 = try ImportFixture("kaijieshi7-resnet18")
        let missing = try fixture18.importError("model.pth", preset: "kaijieshi7-resnet34")
        #expect(missing?.kind == .missingTensor)
        #expect(missing?.tensor == "layer1.2.conv1.weight")
    }

    @Test("--classes names the outputs; a count that differs from the classifier width is refused")
    func classes() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        var options = ImportFixture.options()
        options.classes = try ImportOptions.readClasses(path: fixture.path("classes.txt"))
        let checkpoint = try fixture.importing("model.pth", preset: "kaijieshi7-resnet18", options: options)
        #expect(checkpoint.description.classes.first == "airplane")
        options.classes = Array(options.classes!.prefix(9))
        let error = try fixture.importError("model.pth", preset: "kaijieshi7-resnet18", options: options)
        #expect(error?.kind == .invalidOption)
        #expect(error?.description == "--classes: names 9 classes, but the classifier has 10 outputs")
    }

    @Test("--tau sets every dynamic layer's τ (the state_dict has none)")
    func tau() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        var options = ImportFixture.options()
        options.temperature = 4
        let checkpoint = try fixture.importing("model.pth", preset: "kaijieshi7-resnet18", options: options)
        #expect(checkpoint.description.dynamicConvolutions.allSatisfy { $0.attention?.temperature == 4 })
        // At its trained τ = 4 the model gives PyTorch's τ = 4 probabilities.
        let oracle = try fixture.expected()
        let trace = try checkpoint.makeModel().forward(try #require(oracle["input"]))
        #expect(trace.probabilities.maxAbsDifference(try #require(oracle["probabilities_tau4"])) <= 1e-4)
    }

    @Test("a wrong input channel count is named at the stem")
    func wrongInput() throws {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        var options = ImportFixture.options()
        options.input.channels = 1
        options.normalization = Normalization(mean: [0.5], std: [0.25])
        let error = try fixture.importError("model.pth", preset: "kaijieshi7-resnet18", options: options)
        #expect(error?.tensor == "conv1.weight")
    }
}
