import Foundation
import Testing
import DyConvEngine
import DyConvTestSupport

/// Compares the engine's forward pass with the PyTorch reference (tools/dyconv_torch.py).
///
/// Each fixture `NAME` in `Fixtures/` is a seeded random model in the checkpoint format
/// (`NAME.safetensors`) and its reference inputs and outputs (`NAME.io.safetensors`), both
/// written by `tools/make_fixtures.py`. The io file's `dyconv.fixture.cases` metadata lists the
/// forward options of every case (temperature, per-layer temperatures, aggregation mode) and
/// the key prefix of its outputs: `<prefix>logits`, `<prefix>pi.<layer>`, optionally
/// `<prefix>z.<layer>` (attention logits) and optionally `<prefix>applied.<layer>`.
/// Regenerate with `pip install -r tools/requirements.txt && python3 tools/make_fixtures.py`.
@Suite("PyTorch reference fixtures")
struct PyTorchFixtureTests {
    /// Every fixture `make_fixtures.py` writes; a missing one fails the test.
    static let fixtureNames = [
        "dycnn_softmax", "dycnn_softmax_bias", "dycnn_condconv", "dyresnet_slice", "dymobilenetv2_slice",
    ]

    /// Largest absolute difference accepted between engine (F32) and reference (F64 rounded to F32).
    static let tolerance: Float = 1e-4

    /// One set of forward options and the key prefix of its reference outputs.
    struct FixtureCase: Decodable {
        var prefix: String
        var temperature: Float?
        var layerTemperatures: [String: Float]
        var mode: String
    }

    /// A loaded fixture: the model, the reference tensors and the cases.
    struct Fixture {
        var name: String
        var model: Model
        var reference: [String: Tensor]
        var cases: [FixtureCase]
    }

    static func fixturesDirectory() throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                               "the test bundle has no Fixtures resource folder")
        return url.path
    }

    static func load(_ name: String) throws -> Fixture {
        let directory = try fixturesDirectory()
        let checkpoint = try Checkpoint.read(path: directory + "/" + name + ".safetensors")
        let model = try checkpoint.makeModel()
        let io = try SafetensorsFile.read(path: directory + "/" + name + ".io.safetensors")
        let casesJSON = try #require(io.metadata["dyconv.fixture.cases"],
                                     "\(name).io.safetensors has no dyconv.fixture.cases metadata")
        let cases = try JSONDecoder().decode([FixtureCase].self, from: Data(casesJSON.utf8))
        return Fixture(name: name, model: model, reference: io.tensors, cases: cases)
    }

    /// Expects `actual` to match the reference tensor `key` elementwise within the tolerance.
    static func expectClose(_ actual: [Float], _ reference: [String: Tensor], _ key: String, fixture: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        guard let expected = reference[key] else {
            Issue.record("\(fixture): reference tensor '\(key)' is missing", sourceLocation: sourceLocation)
            return
        }
        guard expected.data.count == actual.count else {
            Issue.record("\(fixture) \(key): engine gives \(actual.count) values, reference \(expected.shape)",
                         sourceLocation: sourceLocation)
            return
        }
        var worst: Float = 0
        var worstIndex = 0
        for i in 0..<actual.count {
            let d = abs(actual[i] - expected.data[i])
            // NaN never passes: `!(d <= worst)` catches it.
            if !(d <= worst) { worst = d; worstIndex = i; if d.isNaN { break } }
        }
        #expect(worst <= tolerance,
                "\(fixture) \(key): max |Δ| = \(worst) at flat index \(worstIndex) of \(expected.shape) (engine \(actual[worstIndex]), PyTorch \(expected.data[worstIndex]))",
                sourceLocation: sourceLocation)
    }

    @Test("engine forward matches PyTorch: logits, z and π of every dynamic layer", arguments: fixtureNames)
    func matchesPyTorch(name: String) throws {
        let fixture = try Self.load(name)
        let model = fixture.model
        let input = try #require(fixture.reference["input"], "\(name): no input tensor")
        #expect(input.shape.count == 4 && input.shape[0] == 3, "\(name): input shape \(input.shape)")
        try #require(fixture.cases.first.map { $0.prefix == "" && $0.mode == "attention" && $0.temperature == nil } == true,
                     "\(name): the first case must be the plain forward")
        #expect(!model.dynamicLayerNames.isEmpty)

        let trained = Dictionary(uniqueKeysWithValues: model.description.dynamicConvolutions.map {
            ($0.name, $0.attention?.temperature ?? 1)
        })
        for c in fixture.cases {
            let mode = try #require(AggregationMode(rawValue: c.mode), "\(name): unknown mode '\(c.mode)'")
            let options = ForwardOptions(temperature: c.temperature, layerTemperatures: c.layerTemperatures, mode: mode)
            let trace = model.forward(input, options: options)
            let label = name + (c.prefix.isEmpty ? "" : " [\(c.prefix.dropLast())]")

            Self.expectClose(trace.logits.data, fixture.reference, c.prefix + "logits", fixture: label)
            #expect(trace.logits.shape == fixture.reference[c.prefix + "logits"]?.shape)

            // Probabilities are softmax(logits) of the reference logits.
            if let logits = fixture.reference[c.prefix + "logits"], logits.shape.count == 2 {
                let (rows, cols) = (logits.shape[0], logits.shape[1])
                var probabilities = [Float](repeating: 0, count: rows * cols)
                for r in 0..<rows {
                    let row = logits.data[(r * cols)..<((r + 1) * cols)].map(Double.init)
                    let top = row.max() ?? 0
                    let sum = row.reduce(0) { $0 + exp($1 - top) }
                    for j in 0..<cols { probabilities[r * cols + j] = Float(exp(row[j] - top) / sum) }
                }
                let expected = ["p": Tensor(shape: logits.shape, data: probabilities)]
                Self.expectClose(trace.probabilities.data, expected, "p", fixture: label + " probabilities")
            }

            // Exactly the dynamic layers of the reference, in execution order.
            #expect(trace.layers.map(\.name) == model.dynamicLayerNames, "\(label): trace layers")
            let referenceLayers = Set(fixture.reference.keys.filter { $0.hasPrefix(c.prefix + "pi.") }
                .map { String($0.dropFirst(c.prefix.count + 3)) })
            #expect(referenceLayers == Set(model.dynamicLayerNames), "\(label): reference π layers")

            for layer in trace.layers {
                let tau = c.layerTemperatures[layer.name] ?? c.temperature ?? trained[layer.name] ?? .nan
                #expect(layer.temperature == tau, "\(label) \(layer.name): τ \(layer.temperature), expected \(tau)")
                Self.expectClose(layer.logits, fixture.reference, c.prefix + "z." + layer.name, fixture: label)
                Self.expectClose(layer.attention, fixture.reference, c.prefix + "pi." + layer.name, fixture: label)
                if fixture.reference[c.prefix + "applied." + layer.name] != nil {
                    Self.expectClose(layer.applied, fixture.reference, c.prefix + "applied." + layer.name, fixture: label)
                } else if mode == .attention {
                    #expect(layer.applied == layer.attention, "\(label) \(layer.name): applied ≠ attention")
                }
            }
        }
    }

    @Test("dycnn fixture covers τ = 7, per-layer τ and the average/max aggregation modes")
    func dycnnCases() throws {
        let fixture = try Self.load("dycnn_softmax")
        let byPrefix = Dictionary(uniqueKeysWithValues: fixture.cases.map { ($0.prefix, $0) })
        #expect(byPrefix["tau7."]?.temperature == 7)
        #expect(byPrefix["layertau."]?.layerTemperatures.isEmpty == false)
        #expect(byPrefix["average."]?.mode == AggregationMode.average.rawValue)
        #expect(byPrefix["max."]?.mode == AggregationMode.max.rawValue)

        // The explicit τ = 7 override, independent of the cases list.
        let input = try #require(fixture.reference["input"])
        let trace = fixture.model.forward(input, options: ForwardOptions(temperature: 7))
        Self.expectClose(trace.logits.data, fixture.reference, "tau7.logits", fixture: "dycnn_softmax τ=7")
        for layer in trace.layers {
            #expect(layer.temperature == 7)
            Self.expectClose(layer.logits, fixture.reference, "tau7.z." + layer.name, fixture: "dycnn_softmax τ=7")
            Self.expectClose(layer.attention, fixture.reference, "tau7.pi." + layer.name, fixture: "dycnn_softmax τ=7")
        }
        // τ = 7 must actually change the outputs (the fixture is not degenerate).
        let plain = fixture.model.forward(input)
        #expect(plain.logits.maxAbsDifference(trace.logits) > 10 * Self.tolerance)
    }

    @Test("fixture architectures cover every layer kind and routing")
    func coverage() throws {
        var ops = Set<String>()
        var routings = Set<Routing>()
        var depthwise = false, biased = false, fc1Bias = false, dynamicShortcut = false
        var temperatures = Set<Float>()
        func visit(_ layers: [LayerSpec], inShortcut: Bool) {
            for layer in layers {
                switch layer {
                case .conv(let c):
                    ops.insert("conv"); routings.insert(c.routing)
                    if c.groups > 1 && c.groups == c.inChannels && c.isDynamic { depthwise = true }
                    if c.bias && c.isDynamic { biased = true }
                    if let a = c.attention { temperatures.insert(a.temperature); if a.fc1Bias { fc1Bias = true } }
                    if inShortcut && c.isDynamic { dynamicShortcut = true }
                case .batchNorm: ops.insert("batchnorm")
                case .activation(let k): ops.insert(k.rawValue)
                case .maxPool: ops.insert("maxpool")
                case .avgPool(let p): ops.insert(p.padding > 0 ? "avgpool-padded" : "avgpool")
                case .globalAvgPool: ops.insert("gap")
                case .linear: ops.insert("linear")
                case .residual(let body, let shortcut):
                    ops.insert(shortcut.isEmpty ? "residual-identity" : "residual-projection")
                    visit(body, inShortcut: inShortcut); visit(shortcut, inShortcut: true)
                }
            }
        }
        for name in Self.fixtureNames {
            visit(try Self.load(name).model.description.layers, inShortcut: false)
        }
        #expect(ops == ["conv", "batchnorm", "relu", "relu6", "hardswish", "maxpool", "avgpool-padded", "gap",
                        "linear", "residual-identity", "residual-projection"])
        #expect(routings == [.static, .softmax, .sigmoid])
        #expect(depthwise && biased && fc1Bias && dynamicShortcut)
        #expect(temperatures.count >= 3, "trained temperatures \(temperatures)")
    }
}
