import DyConvEngine
@testable import DyConvImport
import DyConvTestSupport
import DyConvTorch
import Foundation
import Testing

/// The `tardelean-*` presets on the fixtures of `tools/make_tardelean_fixtures.py`.
///
/// Oracle: PyTorch. Each fixture folder holds a small ResNet10 / ResNet18 / MobileNetV2 in
/// TArdelean/DynamicConvolution's layout, saved by `torch.save` (`model.pth`: nested in a
/// training checkpoint, under DataParallel, or plain) and as safetensors, and
/// `expected.safetensors` with the normalised inputs PyTorch fed, its class probabilities (at the
/// fixture's τ and at τ = 4) and π of every dynamic convolution (`pi.<module path>`), computed in
/// float64 in eval mode. The imported network must give them within 1e-4 (`ImportFixture`).
@Suite("TArdelean presets")
struct TArdeleanPresetTests {
    struct Fixture: Sendable, CustomStringConvertible {
        var preset: String
        var side: Int
        var mean: [Float]
        var std: [Float]
        var tau: Float
        var classes: Int
        var dynamicLayers: Int
        var description: String { preset }
    }

    static let cifar = (mean: [Float(0.4914), 0.4822, 0.4465], std: [Float(0.2023), 0.1994, 0.2010])
    static let imageNet = (mean: [Float(0.485), 0.456, 0.406], std: [Float(0.229), 0.224, 0.225])
    static let fixtures = [
        Fixture(preset: "tardelean-resnet10", side: 32, mean: cifar.mean, std: cifar.std, tau: 1, classes: 10, dynamicLayers: 11),
        Fixture(preset: "tardelean-resnet18", side: 32, mean: cifar.mean, std: cifar.std, tau: 1, classes: 10, dynamicLayers: 19),
        Fixture(preset: "tardelean-mobilenetv2", side: 32, mean: imageNet.mean, std: imageNet.std, tau: 2, classes: 20, dynamicLayers: 51),
    ]

    static func path(_ fixture: Fixture, _ file: String) throws -> String {
        try ImportFixture(fixture.preset).path(file)
    }

    static func options(_ fixture: Fixture, tau: Float? = nil) -> ImportOptions {
        ImportOptions(input: InputSpec(channels: 3, height: fixture.side, width: fixture.side),
                      normalization: Normalization(mean: fixture.mean, std: fixture.std),
                      temperature: tau ?? fixture.tau)
    }

    static func preset(_ fixture: Fixture) throws -> ImportPreset {
        try #require(ImportPresets.named(fixture.preset), "\(fixture.preset) is not registered")
    }

    @Test("model.pth and model.safetensors give PyTorch's probabilities (τ and τ = 4) and π", arguments: fixtures)
    func matchesPyTorch(_ fixture: Fixture) throws {
        let folder = try ImportFixture(fixture.preset)
        for file in ["model.pth", "model.safetensors"] {
            let checkpoint = try Importer.run(source: folder.path(file), preset: try Self.preset(fixture),
                                              options: Self.options(fixture))
            try folder.expectMatchesPyTorch(checkpoint)
            let description = checkpoint.description
            #expect(description.family == fixture.preset && description.classes.count == fixture.classes, "\(file)")
            let dynamic = description.dynamicConvolutions
            #expect(dynamic.count == fixture.dynamicLayers, "\(file)")
            #expect(dynamic.allSatisfy { $0.kernels == 4 && $0.attention?.temperature == fixture.tau && $0.attention?.fc1Bias == true },
                    "\(file)")
        }
    }

    @Test("the imported checkpoint round-trips through its file and keeps the preset's names")
    func writesCheckpoint() throws {
        let fixture = Self.fixtures[2]
        let checkpoint = try Importer.run(source: try Self.path(fixture, "model.pth"), preset: try Self.preset(fixture),
                                          options: Self.options(fixture))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tardelean-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try checkpoint.write(path: out)
        let back = try Checkpoint.read(path: out)
        #expect(back.description == checkpoint.description)
        #expect(back.tensors == checkpoint.tensors)
        #expect(back.metadata[Importer.MetadataKey.preset] == "tardelean-mobilenetv2")
        // The depthwise convs are dynamic with groups = channels; the stem is static.
        let convs = back.description.dynamicConvolutions
        let depthwise = try #require(convs.first { $0.name == "features.layers.2.conv.layers.3" })
        #expect(depthwise.groups == depthwise.inChannels && depthwise.kernel == 3 && depthwise.stride == 2)
        #expect(!convs.contains { $0.name.hasPrefix("features.layers.0.") })
    }

    @Test("τ comes from --tau: the fixture's τ = 2 matches PyTorch, τ = 1 does not")
    func temperatureMatters() throws {
        let fixture = Self.fixtures[2]
        let oracle = try ImportFixture(fixture.preset).expected()
        let checkpoint = try Importer.run(source: try Self.path(fixture, "model.safetensors"), preset: try Self.preset(fixture),
                                          options: Self.options(fixture, tau: 1))
        let model = try checkpoint.makeModel()
        let trace = model.forward(try #require(oracle["input"]))
        let first = try #require(trace.layers.first)
        let pi = try #require(oracle["pi." + first.name])
        #expect(Tensor(shape: pi.shape, data: first.attention).maxAbsDifference(pi) > 1e-2)
    }

    // MARK: Faults, each one line naming the tensor

    static func stateDict(_ fixture: Fixture) throws -> TorchStateDict {
        try TorchCheckpoint.read(path: try path(fixture, "model.safetensors"))
    }

    static func importError(_ fixture: Fixture, _ state: TorchStateDict, preset: String? = nil) throws -> ImportError {
        let chosen = try #require(ImportPresets.named(preset ?? fixture.preset))
        do {
            _ = try Importer.run(stateDict: state, file: "net.pth", preset: chosen, options: options(fixture))
        } catch {
            #expect(!error.description.contains("\n"), "one line: \(error)")
            #expect(error.description.hasPrefix("net.pth: "))
            return error
        }
        Issue.record("the import succeeded")
        return ImportError(.inconsistent, file: "", "")
    }

    /// The error of importing `fixture`'s safetensors after `changes` (a nil value removes the tensor).
    static func importError(_ fixture: Fixture, changing changes: [String: Tensor?]) throws -> ImportError {
        var state = try stateDict(fixture)
        for (key, tensor) in changes {
            #expect(tensor != nil || state.tensors[key] != nil, "the fixture has \(key)")
            state.tensors[key] = tensor
        }
        return try importError(fixture, state)
    }

    @Test("a missing tensor is named, with what the module needs")
    func missingTensor() throws {
        let fixture = Self.fixtures[0]
        for key in ["layer2.layers.0.shortcut.layers.0.kernels_weights", "layer3.layers.0.conv2.attention.to_scores.2.bias",
                    "layer4.layers.0.bn1.running_var", "linear.weight", "conv1.weight"] {
            let error = try Self.importError(fixture, changing: [key: nil])
            #expect(error.kind == .missingTensor && error.tensor == key, "\(key): \(error)")
        }
        let error = try Self.importError(Self.fixtures[2], changing: ["features.layers.5.conv.layers.6.kernels_weights": nil])
        #expect(error.kind == .missingTensor && error.tensor == "features.layers.5.conv.layers.6.kernels_weights", "\(error)")
        #expect(error.description.contains("TArdelean DynamicConvolution needs kernels_weights [K, out, in/groups, k, k]"), "\(error)")
    }

    @Test("an unexpected tensor is named; a ResNet18 given as ResNet10 says it has more blocks")
    func unexpectedTensor() throws {
        let fixture = Self.fixtures[0]
        var error = try Self.importError(fixture, changing: ["layer1.layers.0.conv1.attention.gate.weight": Tensor(shape: [4])])
        #expect(error.kind == .unexpectedTensor && error.tensor == "layer1.layers.0.conv1.attention.gate.weight", "\(error)")

        error = try Self.importError(fixture, try Self.stateDict(Self.fixtures[1]), preset: "tardelean-resnet10")
        #expect(error.kind == .unexpectedTensor && error.tensor?.hasPrefix("layer1.layers.1.") == true, "\(error)")
        #expect(error.description.contains("has 1 block"), "\(error)")

        // The other way round, a ResNet10 file lacks ResNet18's second blocks.
        error = try Self.importError(Self.fixtures[1], try Self.stateDict(fixture), preset: "tardelean-resnet18")
        #expect(error.kind == .missingTensor && error.tensor == "layer1.layers.1.conv1.kernels_weights", "\(error)")
    }

    @Test("a mis-shaped tensor is named with its shape and the expected one")
    func misShapedTensor() throws {
        let fixture = Self.fixtures[0]
        var error = try Self.importError(fixture, changing: ["layer3.layers.0.bn2.running_mean": Tensor(shape: [3])])
        #expect(error.kind == .shapeMismatch && error.tensor == "layer3.layers.0.bn2.running_mean", "\(error)")
        #expect(error.description.contains("has shape [3], expected [8]"), "\(error)")

        // FC2 with K = 3 rows while the kernel bank has K = 4.
        error = try Self.importError(fixture, changing: ["layer2.layers.0.conv2.attention.to_scores.2.weight": Tensor(shape: [3, 2])])
        #expect(error.kind == .shapeMismatch && error.tensor == "layer2.layers.0.conv2.attention.to_scores.2.weight", "\(error)")

        // A MobileNetV2 depthwise conv that is not depthwise (2 input channels per group).
        let mobile = Self.fixtures[2]
        var state = try Self.stateDict(mobile)
        let key = "features.layers.2.conv.layers.3.kernels_weights"
        let bank = try #require(state.tensors[key])
        state.tensors[key] = Tensor(shape: [bank.shape[0], bank.shape[1], 2, 3, 3], repeating: 0.1)
        error = try Self.importError(mobile, state)
        #expect(error.kind == .inconsistent && error.tensor == key, "\(error)")
    }

    @Test("attention widths must follow max(1, in // reduce) with one reduce for the whole model")
    func attentionWidthRule() throws {
        // Oracle: brute force over reduce for every (in, hidden).
        for inChannels in 1...70 {
            for hidden in 1...72 {
                let range = TArdeleanPresets.Convs.reductions(giving: hidden, from: inChannels)
                for reduce in 1...200 {
                    #expect((range?.contains(reduce) ?? false) == (max(1, inChannels / reduce) == hidden),
                            "in \(inChannels), hidden \(hidden), reduce \(reduce): \(String(describing: range))")
                }
            }
        }
        // layer4.layers.0.conv2 (in 16, hidden 4 ⇒ reduce 4) re-made with hidden 8 (reduce 2):
        // each conv is a valid DynamicConvolution, but no single reduce makes both.
        let fixture = Self.fixtures[0]
        let p = "layer4.layers.0.conv2.attention.to_scores."
        let error = try Self.importError(fixture, changing: [
            p + "0.weight": Tensor(shape: [8, 16], repeating: 0.01), p + "0.bias": Tensor(shape: [8]),
            p + "2.weight": Tensor(shape: [4, 8], repeating: 0.01),
        ])
        #expect(error.kind == .inconsistent && error.tensor == p + "0.weight", "\(error)")
        #expect(error.description.contains("reduce"), "\(error)")
    }

    @Test("--routing sigmoid is refused: their AttentionLayer is a softmax")
    func routingIsSoftmax() throws {
        let fixture = Self.fixtures[1]
        var options = Self.options(fixture)
        options.routing = .sigmoid
        let (source, preset) = (try Self.path(fixture, "model.safetensors"), try Self.preset(fixture))
        do {
            _ = try Importer.run(source: source, preset: preset, options: options)
            Issue.record("imported with --routing sigmoid")
        } catch {
            #expect(error.kind == .invalidOption && error.description.hasPrefix("--routing: tardelean-resnet18"), "\(error)")
        }
    }

    @Test("their Vanilla baselines (Conv2dWrapper: plain weight tensors) import as static networks")
    func vanillaBaseline() throws {
        // Oracle: the layout of `ResNet10(Conv2dWrapper)`: every DynamicConvolution becomes an
        // nn.Conv2d with `weight [out, in, k, k]` and no attention. Kernel 0 of each bank stands in.
        let fixture = Self.fixtures[0]
        var state = try Self.stateDict(fixture)
        for key in Array(state.tensors.keys) where key.hasSuffix(".kernels_weights") {
            let bank = try #require(state.tensors[key])
            state.tensors[key] = nil
            let module = String(key.dropLast(".kernels_weights".count))
            let size = bank.shape.dropFirst().reduce(1, *)
            state.tensors[module + ".weight"] = Tensor(shape: Array(bank.shape.dropFirst()), data: Array(bank.data[0..<size]))
            for suffix in ["0.weight", "0.bias", "2.weight", "2.bias"] {
                state.tensors[module + ".attention.to_scores." + suffix] = nil
            }
        }
        let checkpoint = try Importer.run(stateDict: state, file: "vanilla.pth", preset: try Self.preset(fixture),
                                          options: Self.options(fixture))
        #expect(checkpoint.description.dynamicConvolutions.isEmpty)
        #expect(checkpoint.tensors["layer2.layers.0.shortcut.layers.0.weight"]?.shape == [4, 2, 1, 1])
    }
}
