import DyConvEngine
@testable import DyConvImport
import DyConvTorch
import Testing

/// One module at a time. Oracle: kaijieshi7's dynamic_conv.py (`attention2d`: hidden =
/// int(in·ratio)+1, K when in_planes == 3; `Dynamic_conv2d`: bias [K, out] when bias=True).
@Suite("import model builder")
struct ModelBuilderTests {
    static func builder(_ tensors: [String: [Int]]) -> ModelBuilder {
        let state = TorchStateDict(tensors: tensors.mapValues { Tensor(shape: $0, repeating: 0.5) }, skipped: [], format: .torchZip)
        return ModelBuilder(reader: StateDictReader(state, file: "t.pth"), options: ImportFixture.options())
    }

    @Test("kaijieshi7's hidden rule: int(in·0.25)+1, K for an RGB input")
    func hiddenRule() throws {
        let rule = try #require(DynamicConvLayout.kaijieshi7.hidden)
        #expect(rule(3, 4) == 4)
        #expect(rule(3, 6) == 6)
        #expect(rule(4, 4) == 2)
        #expect(rule(64, 4) == 17)
        #expect(rule(512, 4) == 129)
        #expect(rule(6, 4) == 2)   // int(1.5) + 1
    }

    @Test("a Dynamic_conv2d on RGB with bias=True (dy_vgg's first layer): K, hidden, bias, FCs stored 2-D")
    func rgbDynamicConvWithBias() throws {
        var b = Self.builder([
            "features.0.weight": [4, 16, 3, 3, 3], "features.0.bias": [4, 16],
            "features.0.attention.fc1.weight": [4, 3, 1, 1],
            "features.0.attention.fc2.weight": [4, 4, 1, 1], "features.0.attention.fc2.bias": [4],
        ])
        let spec = try b.dynamicConv("features.0", layout: .kaijieshi7, inChannels: 3, stride: 1, padding: 1,
                                     bias: nil, routing: .softmax, temperature: 34)
        #expect(spec == ConvSpec(name: "features.0", inChannels: 3, outChannels: 16, kernel: 3, stride: 1, padding: 1,
                                 groups: 1, bias: true, routing: .softmax, kernels: 4,
                                 attention: AttentionSpec(hidden: 4, fc1Bias: false, temperature: 34)))
        #expect(b.parameters["features.0.attention.fc1.weight"]?.shape == [4, 3])
        #expect(b.parameters["features.0.attention.fc2.weight"]?.shape == [4, 4])
        #expect(b.parameters["features.0.bias"]?.shape == [4, 16])
        #expect(b.reader.unused.isEmpty)
    }

    @Test("groups are inferred from the weight and must divide both widths")
    func groups() throws {
        var b = Self.builder(["dw.weight": [8, 1, 3, 3], "odd.weight": [5, 4, 3, 3]])
        let dw = try b.conv("dw", inChannels: 8, stride: 1, padding: 1, bias: nil)
        #expect(dw.groups == 8)
        let error = #expect(throws: ImportError.self) { try b.conv("odd", inChannels: 8, stride: 1, padding: 1, bias: nil) }
        #expect(error?.kind == .inconsistent)
        #expect(error?.tensor == "odd.weight")
    }

    @Test("a negative running variance is refused by name")
    func negativeVariance() throws {
        let tensors: [String: Tensor] = [
            "bn.weight": Tensor(shape: [2], repeating: 1), "bn.bias": Tensor(shape: [2], repeating: 0),
            "bn.running_mean": Tensor(shape: [2], repeating: 0), "bn.running_var": Tensor(shape: [2], data: [1, -1]),
        ]
        var b = ModelBuilder(reader: StateDictReader(TorchStateDict(tensors: tensors, skipped: [], format: .safetensors), file: "t.pth"),
                             options: ImportFixture.options())
        let error = #expect(throws: ImportError.self) { try b.batchNorm("bn", channels: 2) }
        #expect(error?.tensor == "bn.running_var")
    }
}
