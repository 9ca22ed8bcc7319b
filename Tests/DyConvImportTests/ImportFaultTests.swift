import DyConvEngine
@testable import DyConvImport
import DyConvTorch
import Foundation
import Testing

/// Faults in the state_dict, each reported by tensor name with what was expected. Oracle: the
/// kaijieshi7 code's shapes (dynamic_conv.py, dy_resnet.py) for the tensor that was changed.
@Suite("import faults")
struct ImportFaultTests {
    static let preset = ImportPresets.named("kaijieshi7-resnet18")!

    /// The resnet18 fixture's state_dict with `change` applied.
    static func importing(_ change: (inout [String: Tensor]) -> Void) throws -> ImportError? {
        let fixture = try ImportFixture("kaijieshi7-resnet18")
        var state = try TorchCheckpoint.read(path: fixture.path("model.pth"))
        change(&state.tensors)
        return #expect(throws: ImportError.self) {
            try Importer.run(stateDict: state, file: "net.pth", preset: preset, options: ImportFixture.options())
        }
    }

    @Test("a missing tensor is named, with the module and the shape it needs")
    func missing() throws {
        let error = try Self.importing { $0["layer2.1.conv2.attention.fc2.bias"] = nil }
        #expect(error?.kind == .missingTensor)
        #expect(error?.description == "net.pth: tensor 'layer2.1.conv2.attention.fc2.bias': missing (kaijieshi7 Dynamic_conv2d attention FC2 bias [K] with K = 4)")
        let bn = try Self.importing { $0["layer4.1.bn2.running_var"] = nil }
        #expect(bn?.tensor == "layer4.1.bn2.running_var")
        #expect(bn?.reason == "missing (nn.BatchNorm2d after 8 channels needs running_var [8])")
    }

    @Test("a tensor holding NaN is named by its PyTorch name, and nothing is written")
    func nonFinite() throws {
        let key = "layer3.0.conv1.weight"
        let error = try Self.importing {
            var t = $0[key]!
            t.data[5] = .nan
            $0[key] = t
        }
        #expect(error?.kind == .nonFiniteValue)
        #expect(error?.tensor == key)
        #expect(error?.description.hasPrefix("net.pth: tensor 'layer3.0.conv1.weight': holds NaN or ±Inf") == true)
    }

    @Test("an unexpected tensor is named with its shape")
    func unexpected() throws {
        let one = try Self.importing { $0["layer2.1.extra.weight"] = Tensor(shape: [3, 2], repeating: 0) }
        #expect(one?.kind == .unexpectedTensor)
        #expect(one?.description == "net.pth: tensor 'layer2.1.extra.weight': unexpected: [3,2] is not part of kaijieshi7-resnet18")
        // kaijieshi7's fc1 has no bias: one in the file is not silently dropped.
        let bias = try Self.importing { $0["layer1.0.conv1.attention.fc1.bias"] = Tensor(shape: [2], repeating: 0) }
        #expect(bias?.tensor == "layer1.0.conv1.attention.fc1.bias")
        let two = try Self.importing { $0["aux.b"] = Tensor(shape: [1], repeating: 0); $0["aux.a"] = Tensor(shape: [2], repeating: 0) }
        #expect(two?.reason == "2 unexpected tensors, not part of kaijieshi7-resnet18: 'aux.a' [2], 'aux.b' [1]")
        let many = try Self.importing {
            for i in 0..<10 { $0["aux.\(i % 2).t\(i)"] = Tensor(shape: [1], repeating: 0) }
            $0["extra"] = Tensor(shape: [1], repeating: 0)
        }
        #expect(many?.reason == "11 unexpected tensors, not part of kaijieshi7-resnet18, under aux.0 (5), aux.1 (5), extra (1)")
    }

    @Test("a mis-shaped tensor is named with its shape and the expected one")
    func misshaped() throws {
        let bn = try Self.importing { $0["layer2.0.bn1.running_var"] = Tensor(shape: [5], repeating: 1) }
        #expect(bn?.kind == .shapeMismatch)
        #expect(bn?.description == "net.pth: tensor 'layer2.0.bn1.running_var': has shape [5], expected [4] (nn.BatchNorm2d after 4 channels needs running_var [4])")
        let rank = try Self.importing { $0["layer1.0.conv1.weight"] = Tensor(shape: [4, 4, 3, 3], repeating: 0) }
        #expect(rank?.tensor == "layer1.0.conv1.weight")
        #expect(rank?.reason.contains("rank-5") == true)
        let fc2 = try Self.importing { $0["layer1.0.conv1.attention.fc2.weight"] = Tensor(shape: [3, 2, 1, 1], repeating: 0) }
        #expect(fc2?.kind == .shapeMismatch)
        #expect(fc2?.reason == "has shape [3,2,1,1], expected [4,2] or [4,2,1,1] (kaijieshi7 Dynamic_conv2d attention FC2 [K, hidden] with K = 4 from weight, hidden = 2 from FC1)")
        let fc = try Self.importing { $0["fc.weight"] = Tensor(shape: [10, 7], repeating: 0) }
        #expect(fc?.tensor == "fc.weight")
        #expect(fc?.reason.contains("expected [out, 8]") == true)
    }

    @Test("an attention hidden width the code would not make is refused, naming the rule")
    func hiddenRule() throws {
        let error = try Self.importing {
            $0["layer1.0.conv1.attention.fc1.weight"] = Tensor(shape: [3, 4, 1, 1], repeating: 0)
            $0["layer1.0.conv1.attention.fc2.weight"] = Tensor(shape: [4, 3, 1, 1], repeating: 0)
        }
        #expect(error?.kind == .inconsistent)
        #expect(error?.reason == "has hidden width 3, but kaijieshi7 Dynamic_conv2d with 4 input channels and K = 4 makes 2 (int(in·0.25)+1, or K when in = 3)")
    }

    @Test("a block that changes width without kaijieshi7's BasicBlock rule is refused")
    func widthMismatch() throws {
        let error = try Self.importing { $0["layer1.0.conv2.weight"] = Tensor(shape: [4, 5, 4, 3, 3], repeating: 0) }
        #expect(error?.kind == .inconsistent)
        #expect(error?.tensor == "layer1.0.conv2.weight")
    }

    @Test("a source that is not a checkpoint is one line naming the file")
    func unreadable() throws {
        let error = #expect(throws: ImportError.self) {
            try Importer.run(source: "/nonexistent/net.pth", preset: Self.preset, options: ImportFixture.options())
        }
        #expect(error?.kind == .unreadableSource)
        #expect(error?.description == "/nonexistent/net.pth: no such file")
    }
}
