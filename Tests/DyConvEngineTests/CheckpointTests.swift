import Foundation
import XCTest
@testable import DyConvEngine

// MARK: - Shared fixtures

/// A small network with one of each kind of parameterised layer, and helpers to build files from it.
enum CheckpointTestSupport {
    /// A static conv, a softmax dynamic conv with bias and FC1 bias, a residual block with a
    /// sigmoid (CondConv) conv, batchnorms, pools, GAP and a linear classifier.
    static func smallDescription() -> ModelDescription {
        ModelDescription(
            family: "test-small",
            input: InputSpec(channels: 3, height: 8, width: 8),
            normalization: Normalization(mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3]),
            classes: ["zero", "one", "two", "three", "four"],
            layers: [
                .conv(ConvSpec(name: "stem.conv", inChannels: 3, outChannels: 8, kernel: 3, stride: 1, padding: 1)),
                .batchNorm(BatchNormSpec(name: "stem.bn", channels: 8)),
                .activation(.relu),
                .conv(ConvSpec(name: "block.conv", inChannels: 8, outChannels: 8, kernel: 3, stride: 2, padding: 1,
                               groups: 2, bias: true, routing: .softmax, kernels: 3,
                               attention: AttentionSpec(hidden: 5, fc1Bias: true, temperature: 30))),
                .residual(body: [
                    .conv(ConvSpec(name: "res.conv", inChannels: 8, outChannels: 8, kernel: 1, routing: .sigmoid,
                                   kernels: 2, attention: AttentionSpec(hidden: 2, fc1Bias: false, temperature: 1))),
                    .batchNorm(BatchNormSpec(name: "res.bn", channels: 8, eps: 1e-3)),
                ], shortcut: []),
                .activation(.relu6),
                .maxPool(PoolSpec(kernel: 2, stride: 2)),
                .avgPool(PoolSpec(kernel: 2, stride: 1, padding: 1)),
                .globalAvgPool,
                .linear(LinearSpec(name: "fc", inFeatures: 8, outFeatures: 5)),
            ])
    }

    /// Seeded normal tensors of exactly the shapes `description` needs.
    static func randomTensors(for description: ModelDescription, seed: UInt64) -> [String: Tensor] {
        var rng = SeededGenerator(seed: seed)
        var out: [String: Tensor] = [:]
        for (name, shape) in description.parameterShapes() {
            var t = Tensor.zeros(shape)
            for i in 0..<t.count { t.data[i] = rng.nextNormal() }
            out[name] = t
        }
        return out
    }

    static func checkpoint(seed: UInt64 = 1) -> Checkpoint {
        let d = smallDescription()
        return Checkpoint(description: d, tensors: randomTensors(for: d, seed: seed),
                          metadata: ["note": "quoted \"text\", ünïcode ✓, back\\slash\nnewline", "run": "42"],
                          training: TrainingRecord(epoch: 3, epochs: 10, loss: 0.4375,
                                                   trainAccuracy: 0.875, testAccuracy: 0.8125,
                                                   entropy: ["block.conv": 0.5, "res.conv": 0.25]))
    }

    /// Splits a safetensors file into its header JSON (as Foundation objects) and data section.
    static func split(_ bytes: [UInt8]) -> (header: [String: Any], data: [UInt8]) {
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        let json = try! JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        return (json, Array(bytes[(8 + n)...]))
    }

    /// Assembles a safetensors file from raw header text and a data section (no padding added).
    static func assemble(headerText: String, data: [UInt8]) -> [UInt8] {
        let header = Array(headerText.utf8)
        var out: [UInt8] = []
        var n = UInt64(header.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        return out + header + data
    }

    /// Assembles a safetensors file from a header object and a data section.
    static func assemble(header: [String: Any], data: [UInt8]) -> [UInt8] {
        let json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        return assemble(headerText: String(decoding: json, as: UTF8.self), data: data)
    }

    static func write(_ bytes: [UInt8], to path: String) {
        let created = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        precondition(created, "test setup: cannot create \(path)")
    }

    static func bytes(of path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }
}

/// A fresh temporary directory per test, removed afterwards.
class CheckpointTestCase: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "dyconv-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func contents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Asserts that `body` throws a one-line `CheckpointError` of `kind` naming the file (and tensor).
    func assertError(_ kind: CheckpointError.Kind, file: String, tensor: String? = nil, contains fragments: [String] = [],
                     _ body: () throws -> Void, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected a \(kind) error, but nothing was thrown", line: line)
        } catch let error as CheckpointError {
            let message = error.description
            XCTAssertEqual(error.kind, kind, "wrong kind for: \(message)", line: line)
            XCTAssertTrue(message.contains((file as NSString).lastPathComponent), "no file name in: \(message)", line: line)
            XCTAssertFalse(message.contains("\n"), "message spans lines: \(message)", line: line)
            if let tensor {
                XCTAssertEqual(error.tensor, tensor, "wrong tensor in: \(message)", line: line)
                XCTAssertTrue(message.contains("'\(tensor)'"), "no tensor name in: \(message)", line: line)
            }
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(fragment)' not in: \(message)", line: line)
            }
        } catch {
            XCTFail("expected CheckpointError, got \(type(of: error)): \(error)", line: line)
        }
    }
}

// MARK: - The dyconv checkpoint layer

final class CheckpointTests: CheckpointTestCase {
    func testRoundTripKeepsEverything() throws {
        let original = CheckpointTestSupport.checkpoint()
        let file = path("model.safetensors")
        try original.write(path: file)
        let read = try Checkpoint.read(path: file)
        XCTAssertEqual(read.description, original.description)
        XCTAssertEqual(Set(read.tensors.keys), Set(original.tensors.keys))
        for (name, t) in original.tensors {
            XCTAssertEqual(read.tensors[name]?.shape, t.shape, name)
            XCTAssertEqual(read.tensors[name]?.data.map(\.bitPattern), t.data.map(\.bitPattern), name)
        }
        XCTAssertEqual(read.metadata, original.metadata)
        XCTAssertEqual(read.training, original.training)
        XCTAssertEqual(read, original)
        XCTAssertEqual(contents(), ["model.safetensors"], "no temporary file may remain")
    }

    func testRoundTripWithoutTrainingRecordAndWithNonFiniteLoss() throws {
        var c = CheckpointTestSupport.checkpoint(seed: 9)
        c.training = nil
        c.metadata = [:]
        try c.write(path: path("a.safetensors"))
        XCTAssertEqual(try Checkpoint.read(path: path("a.safetensors")), c)

        c.training = TrainingRecord(epoch: 1, epochs: 2, loss: .nan, trainAccuracy: nil,
                                    testAccuracy: nil, entropy: nil)
        try c.write(path: path("b.safetensors"))
        let read = try Checkpoint.read(path: path("b.safetensors"))
        XCTAssertEqual(read.training?.epoch, 1)
        XCTAssertEqual(read.training?.epochs, 2)
        XCTAssertTrue(read.training?.loss?.isNaN ?? false, "a diverged loss must survive the round trip")
        XCTAssertNil(read.training?.testAccuracy)
        XCTAssertNil(read.training?.entropy)
    }

    func testWrittenFileMatchesTheSafetensorsLayout() throws {
        let c = CheckpointTestSupport.checkpoint()
        let file = path("layout.safetensors")
        try c.write(path: file)
        let bytes = CheckpointTestSupport.bytes(of: file)

        // Independent parse: 8-byte little-endian length, then JSON, then data.
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        XCTAssertEqual(n % 8, 0, "header is padded to a multiple of 8 bytes")
        XCTAssertEqual(bytes[8], UInt8(ascii: "{"))
        let headerText = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(headerText.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])

        let meta = try XCTUnwrap(header["__metadata__"] as? [String: String])
        XCTAssertEqual(meta["format"], "dyconv")
        XCTAssertEqual(meta["dyconv.format_version"], "1")
        XCTAssertEqual(meta["dyconv.architecture"], c.description.jsonString())
        XCTAssertEqual(meta["note"], c.metadata["note"])
        let training = try JSONSerialization.jsonObject(with: Data(meta["dyconv.training"]!.utf8)) as? [String: Any]
        XCTAssertEqual(training?["epoch"] as? Int, 3)
        XCTAssertEqual(training?["testAccuracy"] as? Double, 0.8125)

        let expected = c.description.parameterShapes()
        XCTAssertEqual(Set(header.keys), Set(expected.map(\.name) + ["__metadata__"]))
        // Sorted by name, packed contiguously from offset 0.
        var offset = 0
        for name in expected.map(\.name).sorted() {
            let entry = try XCTUnwrap(header[name] as? [String: Any])
            XCTAssertEqual(entry["dtype"] as? String, "F32")
            let shape = try XCTUnwrap(entry["shape"] as? [Int])
            XCTAssertEqual(shape, c.tensors[name]!.shape)
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            XCTAssertEqual(offsets, [offset, offset + 4 * shape.reduce(1, *)], name)
            // The bytes are the little-endian floats.
            let values = c.tensors[name]!.data
            for (i, v) in values.enumerated() {
                let at = 8 + n + offsets[0] + 4 * i
                let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                XCTAssertEqual(bits, v.bitPattern, "\(name)[\(i)]")
            }
            offset = offsets[1]
        }
        XCTAssertEqual(bytes.count, 8 + n + offset, "no bytes after the last tensor")
    }

    /// A file written by the reference implementation (`safetensors.torch.save_file`) from a
    /// PyTorch state_dict: 4-D attention FC weights, an int64 `num_batches_tracked`, and
    /// `format: pt` metadata. Generated with torch 2.x / safetensors 0.8 by:
    ///
    ///     sd = net.state_dict()   # conv = Dynamic_conv2d(1, 2, 3, K=2, hidden 3), bn = BatchNorm2d(2), fc = Linear(2, 3)
    ///     # float tensor number i (in sorted-name order) holds i + j/1000 at element j;
    ///     # bn.running_var = 0.25, bn.num_batches_tracked = 7
    ///     save_file(sd, path, metadata={"format": "pt", "dyconv.architecture": json.dumps(arch), "origin": "pytorch"})
    static let referenceFile = """
    WAYAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJkeWNvbnYuYXJjaGl0ZWN0dXJlIjoie1wiZmFtaWx5XCI6IFwiZml4dHVyZVwiLCBcImlucHV0XCI6IHtcImNoYW5uZWxzXCI6IDEsIFwiaGVpZ2h0XCI6IDQsIFwid2lkdGhcIjogNH0sIFwibm9ybWFsaXphdGlvblwiOiB7XCJtZWFuXCI6IFswLjVdLCBcInN0ZFwiOiBbMC4yNV19LCBcImNsYXNzZXNcIjogW1wiYVwiLCBcImJcIiwgXCJjXCJdLCBcImxheWVyc1wiOiBbe1wib3BcIjogXCJjb252XCIsIFwibmFtZVwiOiBcImNvbnZcIiwgXCJpbkNoYW5uZWxzXCI6IDEsIFwib3V0Q2hhbm5lbHNcIjogMiwgXCJrZXJuZWxcIjogMywgXCJzdHJpZGVcIjogMSwgXCJwYWRkaW5nXCI6IDEsIFwiZ3JvdXBzXCI6IDEsIFwiYmlhc1wiOiB0cnVlLCBcInJvdXRpbmdcIjogXCJzb2Z0bWF4XCIsIFwia2VybmVsc1wiOiAyLCBcImF0dGVudGlvblwiOiB7XCJoaWRkZW5cIjogMywgXCJmYzFCaWFzXCI6IGZhbHNlLCBcInRlbXBlcmF0dXJlXCI6IDQuMH19LCB7XCJvcFwiOiBcImJhdGNobm9ybVwiLCBcIm5hbWVcIjogXCJiblwiLCBcImNoYW5uZWxzXCI6IDIsIFwiZXBzXCI6IDFlLTA1fSwge1wib3BcIjogXCJhY3RpdmF0aW9uXCIsIFwia2luZFwiOiBcInJlbHVcIn0sIHtcIm9wXCI6IFwiZ2FwXCJ9LCB7XCJvcFwiOiBcImxpbmVhclwiLCBcIm5hbWVcIjogXCJmY1wiLCBcImluRmVhdHVyZXNcIjogMiwgXCJvdXRGZWF0dXJlc1wiOiAzLCBcImJpYXNcIjogdHJ1ZX1dfSIsIm9yaWdpbiI6InB5dG9yY2giLCJmb3JtYXQiOiJwdCJ9LCJibi5udW1fYmF0Y2hlc190cmFja2VkIjp7ImR0eXBlIjoiSTY0Iiwic2hhcGUiOltdLCJkYXRhX29mZnNldHMiOlswLDhdfSwiYm4uYmlhcyI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzgsMTZdfSwiYm4ucnVubmluZ19tZWFuIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMTYsMjRdfSwiYm4ucnVubmluZ192YXIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOlsyNCwzMl19LCJibi53ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOlszMiw0MF19LCJjb252LmF0dGVudGlvbi5mYzEud2VpZ2h0Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlszLDEsMSwxXSwiZGF0YV9vZmZzZXRzIjpbNDAsNTJdfSwiY29udi5hdHRlbnRpb24uZmMyLmJpYXMiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOls1Miw2MF19LCJjb252LmF0dGVudGlvbi5mYzIud2VpZ2h0Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDMsMSwxXSwiZGF0YV9vZmZzZXRzIjpbNjAsODRdfSwiY29udi5iaWFzIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDJdLCJkYXRhX29mZnNldHMiOls4NCwxMDBdfSwiY29udi53ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsMiwxLDMsM10sImRhdGFfb2Zmc2V0cyI6WzEwMCwyNDRdfSwiZmMuYmlhcyI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6WzI0NCwyNTZdfSwiZmMud2VpZ2h0Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlszLDJdLCJkYXRhX29mZnNldHMiOlsyNTYsMjgwXX19BwAAAAAAAAAAAAAAbxKDOgAAAEBiEABAAACAPgAAgD4AAIBAMQiAQAAAoEAxCKBAYhCgQAAAwEAxCMBAAADgQDEI4EBiEOBAkxjgQMUg4ED2KOBAAAAAQRkEAEExCABBSgwAQQAAEEEZBBBBMQgQQUoMEEFiEBBBexQQQZMYEEGsHBBBxSAQQd0kEEH2KBBBDi0QQScxEEE/NRBBWDkQQXE9EEGJQRBBokUQQbpJEEHTTRBB7FEQQQRWEEEdWhBBNV4QQU5iEEFmZhBBf2oQQZhuEEGwchBByXYQQeF6EEH6fhBBEoMQQSuHEEFEixBBXI8QQQAAIEEZBCBBMQggQQAAMEEZBDBBMQgwQUoMMEFiEDBBexQwQQ==
    """

    func testReadsAFileWrittenByTheReferenceImplementation() throws {
        let file = path("pytorch.safetensors")
        let data = try XCTUnwrap(Data(base64Encoded: Self.referenceFile))
        CheckpointTestSupport.write([UInt8](data), to: file)
        let c = try Checkpoint.read(path: file)

        XCTAssertEqual(c.description.family, "fixture")
        XCTAssertEqual(c.description.dynamicConvolutions.first?.attention?.temperature, 4)
        XCTAssertEqual(c.metadata, ["origin": "pytorch"], "format/dyconv.* keys are stripped, others kept")
        XCTAssertNil(c.training)
        XCTAssertNil(c.tensors["bn.num_batches_tracked"], "the int64 counter is ignored")
        // Float tensor number i in sorted-name order (the int64 counter is number 1) holds i + j/1000.
        let sortedNames = ["bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "bn.weight",
                           "conv.attention.fc1.weight", "conv.attention.fc2.bias", "conv.attention.fc2.weight",
                           "conv.bias", "conv.weight", "fc.bias", "fc.weight"]
        let shapes: [String: [Int]] = [
            "bn.bias": [2], "bn.running_mean": [2], "bn.running_var": [2], "bn.weight": [2],
            "conv.attention.fc1.weight": [3, 1], "conv.attention.fc2.bias": [2],
            "conv.attention.fc2.weight": [2, 3], "conv.bias": [2, 2], "conv.weight": [2, 2, 1, 3, 3],
            "fc.bias": [3], "fc.weight": [3, 2],
        ]
        XCTAssertEqual(Set(c.tensors.keys), Set(shapes.keys))
        for (i, name) in sortedNames.enumerated() where name != "bn.num_batches_tracked" {
            let t = try XCTUnwrap(c.tensors[name], name)
            XCTAssertEqual(t.shape, shapes[name], "\(name): 4-D attention weights are reshaped to 2-D")
            let expected: [Float] = name == "bn.running_var"
                ? [0.25, 0.25]
                : (0..<t.count).map { Float(i) + Float($0) / 1000 }
            XCTAssertEqual(t.data, expected, name)
        }
    }

    func testAcceptsFourDimensionalAttentionWeightsAndWritesThemTwoDimensional() throws {
        var c = CheckpointTestSupport.checkpoint()
        let fc1 = c.tensors["block.conv.attention.fc1.weight"]!
        let fc2 = c.tensors["res.conv.attention.fc2.weight"]!
        c.tensors["block.conv.attention.fc1.weight"] = fc1.reshaped([5, 8, 1, 1])
        c.tensors["res.conv.attention.fc2.weight"] = fc2.reshaped([2, 2, 1, 1])

        // As stored by a converter that kept the 1x1-conv shapes.
        var file = SafetensorsFile(tensors: c.tensors, metadata: ["dyconv.architecture": c.description.jsonString()])
        try file.write(path: path("alias.safetensors"))
        let read = try Checkpoint.read(path: path("alias.safetensors"))
        XCTAssertEqual(read.tensors["block.conv.attention.fc1.weight"], fc1)
        XCTAssertEqual(read.tensors["res.conv.attention.fc2.weight"], fc2)

        // The writer stores the canonical 2-D shapes.
        try c.write(path: path("canonical.safetensors"))
        let raw = try SafetensorsFile.read(path: path("canonical.safetensors"))
        XCTAssertEqual(raw.tensors["block.conv.attention.fc1.weight"]?.shape, [5, 8])
        XCTAssertEqual(raw.tensors["res.conv.attention.fc2.weight"]?.shape, [2, 2])

        // Only the [.., 1, 1] alias of the attention FCs is accepted.
        file.tensors["block.conv.attention.fc1.weight"] = fc1.reshaped([5, 1, 8, 1])
        try file.write(path: path("bad-alias.safetensors"))
        assertError(.shapeMismatch, file: "bad-alias.safetensors", tensor: "block.conv.attention.fc1.weight",
                    contains: ["[5,1,8,1]", "[5,8]"]) { _ = try Checkpoint.read(path: path("bad-alias.safetensors")) }
        file.tensors["block.conv.attention.fc1.weight"] = fc1
        file.tensors["fc.weight"] = file.tensors["fc.weight"]!.reshaped([5, 8, 1, 1])
        try file.write(path: path("bad-alias2.safetensors"))
        assertError(.shapeMismatch, file: "bad-alias2.safetensors", tensor: "fc.weight") {
            _ = try Checkpoint.read(path: path("bad-alias2.safetensors"))
        }
    }

    func testIgnoresNumBatchesTracked() throws {
        let c = CheckpointTestSupport.checkpoint()
        var tensors = c.tensors
        tensors["stem.bn.num_batches_tracked"] = Tensor(shape: [], data: [100])
        try SafetensorsFile(tensors: tensors, metadata: ["dyconv.architecture": c.description.jsonString()])
            .write(path: path("nbt.safetensors"))
        let read = try Checkpoint.read(path: path("nbt.safetensors"))
        XCTAssertEqual(read.tensors, c.tensors)
    }

    // MARK: Checkpoint-level validation

    /// Writes a copy of a valid checkpoint with its tensors/metadata edited at the container level.
    private func edited(_ name: String, tensors edit: (inout [String: Tensor]) -> Void = { _ in },
                        metadata editMetadata: (inout [String: String]) -> Void = { _ in }) throws -> String {
        let valid = path("valid.safetensors")
        if !FileManager.default.fileExists(atPath: valid) { try CheckpointTestSupport.checkpoint().write(path: valid) }
        var file = try SafetensorsFile.read(path: valid)
        edit(&file.tensors)
        editMetadata(&file.metadata)
        let target = path(name)
        try file.write(path: target)
        return target
    }

    func testMissingTensor() throws {
        let f = try edited("missing.safetensors", tensors: { $0["block.conv.bias"] = nil })
        assertError(.missingTensor, file: f, tensor: "block.conv.bias", contains: ["missing", "[3,8]"]) {
            _ = try Checkpoint.read(path: f)
        }
    }

    func testMissingTensorMentionsUnexpectedNames() throws {
        let f = try edited("renamed.safetensors", tensors: {
            $0["classifier.weight"] = $0.removeValue(forKey: "fc.weight")
        })
        assertError(.missingTensor, file: f, tensor: "fc.weight", contains: ["classifier.weight"]) {
            _ = try Checkpoint.read(path: f)
        }
    }

    func testUnexpectedTensor() throws {
        let f = try edited("extra.safetensors", tensors: { $0["head.extra.weight"] = Tensor(shape: [2], data: [1, 2]) })
        assertError(.unexpectedTensor, file: f, tensor: "head.extra.weight", contains: ["not used"]) {
            _ = try Checkpoint.read(path: f)
        }
    }

    func testShapeMismatch() throws {
        let f = try edited("shape.safetensors", tensors: { $0["block.conv.weight"] = Tensor.zeros([3, 8, 8, 3, 3]) })
        assertError(.shapeMismatch, file: f, tensor: "block.conv.weight",
                    contains: ["[3,8,8,3,3]", "does not match the architecture's [3,8,4,3,3]"]) {
            _ = try Checkpoint.read(path: f)
        }
    }

    func testNonFiniteValuesNameTheFirstBadIndex() throws {
        let nan = try edited("nan.safetensors", tensors: {
            $0["block.conv.weight"]!.data[40] = .nan
            $0["block.conv.weight"]!.data[50] = .infinity
        })
        // 40 = 0*288 + 1*36 + 0*9 + 1*3 + 1 → index [0,1,0,1,1] of [3,8,4,3,3].
        assertError(.nonFiniteValue, file: nan, tensor: "block.conv.weight", contains: ["element 40", "[0,1,0,1,1]", "nan"]) {
            _ = try Checkpoint.read(path: nan)
        }
        let inf = try edited("inf.safetensors", tensors: { $0["fc.bias"]!.data[4] = -.infinity })
        assertError(.nonFiniteValue, file: inf, tensor: "fc.bias", contains: ["element 4", "-inf"]) {
            _ = try Checkpoint.read(path: inf)
        }
    }

    func testFirstNonFiniteFindsEveryKindAtEveryPosition() {
        let finite: [Float] = [0, -0.0, 1, -1, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               .leastNonzeroMagnitude, .leastNormalMagnitude, 3e38, -Float.leastNonzeroMagnitude]
        XCTAssertNil(Checkpoint.firstNonFinite(finite))
        XCTAssertNil(Checkpoint.firstNonFinite([]))
        for bad in [Float.nan, -Float.nan, Float.signalingNaN, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001)] {
            for position in [0, 4, finite.count - 1] {
                var values = finite
                values[position] = bad
                XCTAssertEqual(Checkpoint.firstNonFinite(values), position, "\(bad) at \(position)")
            }
            var two = finite + finite
            two[3] = bad
            two[15] = bad
            XCTAssertEqual(Checkpoint.firstNonFinite(two), 3)
        }
    }

    func testMetadataErrors() throws {
        let noArch = try edited("noarch.safetensors", metadata: { $0["dyconv.architecture"] = nil })
        assertError(.invalidMetadata, file: noArch, contains: ["dyconv.architecture"]) { _ = try Checkpoint.read(path: noArch) }

        let version = try edited("version.safetensors", metadata: { $0["dyconv.format_version"] = "2" })
        assertError(.invalidMetadata, file: version, contains: ["'2'", "version 1"]) { _ = try Checkpoint.read(path: version) }

        let training = try edited("training.safetensors", metadata: { $0["dyconv.training"] = "{\"epoch\": 1}" })
        assertError(.invalidMetadata, file: training, contains: ["dyconv.training", "epochs"]) {
            _ = try Checkpoint.read(path: training)
        }
    }

    func testArchitectureErrors() throws {
        let notJSON = try edited("notjson.safetensors", metadata: { $0["dyconv.architecture"] = "not json" })
        assertError(.invalidArchitecture, file: notJSON, contains: ["does not decode"]) { _ = try Checkpoint.read(path: notJSON) }

        let missingField = try edited("field.safetensors", metadata: {
            $0["dyconv.architecture"] = $0["dyconv.architecture"]!.replacingOccurrences(of: "\"inChannels\":3,", with: "")
        })
        assertError(.invalidArchitecture, file: missingField, contains: ["inChannels", "layers[0]"]) {
            _ = try Checkpoint.read(path: missingField)
        }

        let unknownOp = try edited("op.safetensors", metadata: {
            $0["dyconv.architecture"] = $0["dyconv.architecture"]!.replacingOccurrences(of: "\"op\":\"gap\"", with: "\"op\":\"dropout\"")
        })
        assertError(.invalidArchitecture, file: unknownOp, contains: ["dropout"]) { _ = try Checkpoint.read(path: unknownOp) }

        var bad = CheckpointTestSupport.smallDescription()
        bad.layers[bad.layers.count - 1] = .linear(LinearSpec(name: "fc", inFeatures: 7, outFeatures: 5))
        let invalid = try edited("invalid.safetensors", metadata: { $0["dyconv.architecture"] = bad.jsonString() })
        assertError(.invalidArchitecture, file: invalid, contains: ["architecture is invalid", "linear 'fc' expects 7 inputs"]) {
            _ = try Checkpoint.read(path: invalid)
        }
    }

    // MARK: Writing

    func testWriterRefusesWhatTheReaderWouldReject() throws {
        let file = path("w.safetensors")
        var c = CheckpointTestSupport.checkpoint()
        c.tensors["fc.bias"]!.data[2] = .nan
        assertError(.nonFiniteValue, file: file, tensor: "fc.bias") { try c.write(path: file) }

        c = CheckpointTestSupport.checkpoint()
        c.tensors["stem.conv.weight"] = nil
        assertError(.missingTensor, file: file, tensor: "stem.conv.weight") { try c.write(path: file) }

        c = CheckpointTestSupport.checkpoint()
        c.tensors["fc.bias"]!.shape = [6]
        assertError(.shapeMismatch, file: file, tensor: "fc.bias") { try c.write(path: file) }

        c = CheckpointTestSupport.checkpoint()
        c.metadata["dyconv.architecture"] = "{}"
        assertError(.invalidMetadata, file: file, contains: ["reserved"]) { try c.write(path: file) }

        c = CheckpointTestSupport.checkpoint()
        c.description.input.channels = 4
        assertError(.invalidArchitecture, file: file) { try c.write(path: file) }
        XCTAssertEqual(contents(), [], "a refused write leaves nothing behind")
    }

    func testFailedWritesLeaveTheOldFileIntactAndNoTemporaryFile() throws {
        let file = path("model.safetensors")
        let old = CheckpointTestSupport.checkpoint(seed: 1)
        try old.write(path: file)
        let oldBytes = CheckpointTestSupport.bytes(of: file)

        // Validation failure: nothing is touched.
        var broken = CheckpointTestSupport.checkpoint(seed: 2)
        broken.tensors["res.bn.running_var"]!.data[0] = .infinity
        XCTAssertThrowsError(try broken.write(path: file))
        XCTAssertEqual(CheckpointTestSupport.bytes(of: file), oldBytes)
        XCTAssertEqual(contents(), ["model.safetensors"])

        // Missing directory: a clear error, nothing created.
        let missing = path("no-such-dir/model.safetensors")
        assertError(.writeFailed, file: missing, contains: ["no-such-dir", "does not exist"]) {
            try CheckpointTestSupport.checkpoint(seed: 2).write(path: missing)
        }
        XCTAssertEqual(contents(), ["model.safetensors"])

        // The final rename fails (the target is a non-empty directory): the temporary file is removed.
        let blocked = path("blocked.safetensors")
        try FileManager.default.createDirectory(atPath: blocked + "/inner", withIntermediateDirectories: true)
        assertError(.writeFailed, file: blocked, contains: ["cannot replace"]) {
            try CheckpointTestSupport.checkpoint(seed: 2).write(path: blocked)
        }
        XCTAssertEqual(contents(), ["blocked.safetensors", "model.safetensors"])

        // A successful overwrite replaces the file completely.
        let new = CheckpointTestSupport.checkpoint(seed: 3)
        try new.write(path: file)
        XCTAssertEqual(try Checkpoint.read(path: file), new)
        XCTAssertEqual(contents(), ["blocked.safetensors", "model.safetensors"])
    }

    func testFileSystemErrors() throws {
        assertError(.fileNotFound, file: "absent.safetensors", contains: ["no such file"]) {
            _ = try Checkpoint.read(path: path("absent.safetensors"))
        }
        assertError(.fileNotFound, file: "absent.safetensors") {
            _ = try Checkpoint.read(path: path("nodir/absent.safetensors"))
        }
        try FileManager.default.createDirectory(atPath: path("dir.safetensors"), withIntermediateDirectories: true)
        assertError(.unreadable, file: "dir.safetensors", contains: ["directory"]) {
            _ = try Checkpoint.read(path: path("dir.safetensors"))
        }
    }
}

// MARK: - The safetensors container

final class SafetensorsCheckpointTests: CheckpointTestCase {
    private var validBytes: [UInt8] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        try CheckpointTestSupport.checkpoint().write(path: path("valid.safetensors"))
        validBytes = CheckpointTestSupport.bytes(of: path("valid.safetensors"))
    }

    /// Writes the valid file with its header object edited (data section unchanged unless `data` is given).
    private func withHeader(_ name: String, _ edit: (inout [String: Any]) -> Void,
                            data editData: (inout [UInt8]) -> Void = { _ in }) -> String {
        var (header, data) = CheckpointTestSupport.split(validBytes)
        edit(&header)
        editData(&data)
        let target = path(name)
        CheckpointTestSupport.write(CheckpointTestSupport.assemble(header: header, data: data), to: target)
        return target
    }

    private func withBytes(_ name: String, _ bytes: [UInt8]) -> String {
        let target = path(name)
        CheckpointTestSupport.write(bytes, to: target)
        return target
    }

    private func entry(_ header: [String: Any], _ name: String) -> [String: Any] {
        header[name] as! [String: Any]
    }

    private func read(_ file: String) throws {
        _ = try Checkpoint.read(path: file)
    }

    func testHeaderLengthErrors() {
        let short = withBytes("short.safetensors", [1, 2, 3, 4, 5])
        assertError(.truncated, file: short, contains: ["5 bytes"]) { try read(short) }
        let empty = withBytes("empty.safetensors", [])
        assertError(.truncated, file: empty) { try read(empty) }

        let zero = withBytes("zero.safetensors", [0, 0, 0, 0, 0, 0, 0, 0] + Array(validBytes[8...]))
        assertError(.invalidHeader, file: zero, contains: ["header length is 0"]) { try read(zero) }

        var huge = validBytes
        huge[0] = 0; huge[1] = 0; huge[2] = 0; huge[3] = 0x10  // 256 MiB
        let absurd = withBytes("absurd.safetensors", huge)
        assertError(.invalidHeader, file: absurd, contains: ["100 MB"]) { try read(absurd) }

        var all = validBytes
        for k in 0..<8 { all[k] = 0xFF }
        let max = withBytes("max.safetensors", all)
        assertError(.invalidHeader, file: max) { try read(max) }

        var beyond = validBytes
        let n = UInt64(validBytes.count)  // header length = whole file size: runs past the end
        for k in 0..<8 { beyond[k] = UInt8((n >> (8 * UInt64(k))) & 0xFF) }
        let past = withBytes("past.safetensors", beyond)
        assertError(.truncated, file: past, contains: ["runs past the end"]) { try read(past) }
    }

    func testHeaderTextErrors() {
        var bad = validBytes
        bad[20] = 0xFF
        let utf8 = withBytes("utf8.safetensors", bad)
        assertError(.invalidHeader, file: utf8, contains: ["UTF-8"]) { try read(utf8) }

        var notJSON = validBytes
        notJSON[8] = UInt8(ascii: "x")
        let json = withBytes("json.safetensors", notJSON)
        assertError(.invalidHeader, file: json, contains: ["not valid JSON"]) { try read(json) }

        let array = withBytes("array.safetensors", CheckpointTestSupport.assemble(headerText: "[1, 2]  ", data: []))
        assertError(.invalidHeader, file: array, contains: ["must be a JSON object", "array"]) { try read(array) }

        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        let twice = withBytes("twice.safetensors",
                              CheckpointTestSupport.assemble(headerText: #"{"a":\#(entry),"a":\#(entry)}"#, data: [0, 0, 0, 0]))
        assertError(.invalidHeader, file: twice, contains: ["'a' twice"]) { try read(twice) }

        let deep = withBytes("deep.safetensors",
                             CheckpointTestSupport.assemble(headerText: String(repeating: "[", count: 100_000), data: []))
        assertError(.invalidHeader, file: deep, contains: ["nesting"]) { try read(deep) }
    }

    func testEntryErrors() {
        let notObject = withHeader("entry.safetensors") { $0["fc.bias"] = "F32" }
        assertError(.invalidEntry, file: notObject, tensor: "fc.bias", contains: ["must be an object", "string"]) { try read(notObject) }

        let noDType = withHeader("nodtype.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["dtype"] = nil; h["fc.bias"] = e
        }
        assertError(.invalidEntry, file: noDType, tensor: "fc.bias", contains: ["no 'dtype'"]) { try read(noDType) }

        let noOffsets = withHeader("nooffsets.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["data_offsets"] = nil; h["fc.bias"] = e
        }
        assertError(.invalidEntry, file: noOffsets, tensor: "fc.bias", contains: ["no 'data_offsets'"]) { try read(noOffsets) }

        // F16, BF16 and F64 are read since issue #9 (TensorDTypeTests); I32 is a known dtype dyconv does not load.
        let i32 = withHeader("i32.safetensors") { h in
            var e = self.entry(h, "stem.bn.weight"); e["dtype"] = "I32"; h["stem.bn.weight"] = e
        }
        assertError(.unsupportedDType, file: i32, tensor: "stem.bn.weight", contains: ["I32", "F32, F16, BF16 or F64"]) { try read(i32) }

        let unknown = withHeader("q4.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["dtype"] = "Q4"; h["fc.bias"] = e
        }
        assertError(.unsupportedDType, file: unknown, tensor: "fc.bias", contains: ["'Q4'"]) { try read(unknown) }

        let negative = withHeader("negative.safetensors") { h in
            var e = self.entry(h, "fc.weight"); e["shape"] = [-5, -8]; h["fc.weight"] = e
        }
        assertError(.invalidEntry, file: negative, tensor: "fc.weight", contains: ["[-5,-8]", "negative"]) { try read(negative) }

        let fraction = withHeader("fraction.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["shape"] = [2.5]; h["fc.bias"] = e
        }
        assertError(.invalidEntry, file: fraction, tensor: "fc.bias", contains: ["non-integer", "2.5"]) { try read(fraction) }

        let three = withHeader("three.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["data_offsets"] = [0, 20, 40]; h["fc.bias"] = e
        }
        assertError(.invalidEntry, file: three, tensor: "fc.bias", contains: ["two non-negative integers"]) { try read(three) }

        let strings = withHeader("strings.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["data_offsets"] = ["0", "20"]; h["fc.bias"] = e
        }
        assertError(.invalidEntry, file: strings, tensor: "fc.bias") { try read(strings) }

        let overflow = withHeader("overflow.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["shape"] = [Int.max, Int.max]; h["fc.bias"] = e
        }
        assertError(.invalidEntry, file: overflow, tensor: "fc.bias", contains: ["too large"]) { try read(overflow) }
    }

    func testOffsetErrors() {
        var offsets: [Int] = []
        _ = withHeader("probe.safetensors") { offsets = self.entry($0, "fc.bias")["data_offsets"] as! [Int] }

        let reversed = withHeader("reversed.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["data_offsets"] = [offsets[1], offsets[0]]; h["fc.bias"] = e
        }
        assertError(.invalidOffsets, file: reversed, tensor: "fc.bias", contains: ["begin is after end"]) { try read(reversed) }

        let dataSize = CheckpointTestSupport.split(validBytes).data.count
        let beyond = withHeader("beyond.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["data_offsets"] = [dataSize - 4, dataSize + 16]; h["fc.bias"] = e
        }
        assertError(.invalidOffsets, file: beyond, tensor: "fc.bias", contains: ["past the end of the data section"]) { try read(beyond) }

        let length = withHeader("length.safetensors") { h in
            var e = self.entry(h, "fc.bias"); e["shape"] = [4]; h["fc.bias"] = e
        }
        assertError(.invalidOffsets, file: length, tensor: "fc.bias", contains: ["span 20 bytes", "needs 16"]) { try read(length) }

        // stem.bn.running_mean moved onto stem.bn.bias (both [8]).
        let overlap = withHeader("overlap.safetensors") { h in
            var e = self.entry(h, "stem.bn.running_mean")
            e["data_offsets"] = self.entry(h, "stem.bn.bias")["data_offsets"]
            h["stem.bn.running_mean"] = e
        }
        assertError(.invalidOffsets, file: overlap, tensor: "stem.bn.running_mean", contains: ["overlap", "'stem.bn.bias'"]) {
            try read(overlap)
        }

        let trailing = withHeader("trailing.safetensors", { _ in }, data: { $0 += [0, 0, 0, 0] })
        assertError(.invalidOffsets, file: trailing, contains: ["cover"]) { try read(trailing) }

        let gap = withHeader("gap.safetensors") { h in h["fc.bias"] = nil; h["fc.weight"] = nil }
        assertError(.invalidOffsets, file: gap, contains: ["not covered"]) { try read(gap) }
    }

    func testMetadataObjectErrors() {
        let number = withHeader("number.safetensors") { h in
            var m = h["__metadata__"] as! [String: Any]; m["epoch"] = 3; h["__metadata__"] = m
        }
        assertError(.invalidMetadata, file: number, contains: ["'epoch'", "must be a string"]) { try read(number) }

        let array = withHeader("metaarray.safetensors") { $0["__metadata__"] = ["a", "b"] }
        assertError(.invalidMetadata, file: array, contains: ["__metadata__"]) { try read(array) }
    }

    func testContainerRoundTripWithEmptyAndOddTensors() throws {
        let file = SafetensorsFile(
            tensors: ["empty": Tensor(shape: [0, 3], data: []), "scalar": Tensor(shape: [], data: [2.5]),
                      "odd \"name\"/ü": Tensor(shape: [3], data: [1, -0.0, .greatestFiniteMagnitude])],
            metadata: ["k": "v\u{0001}\t"])
        try file.write(path: path("odd.safetensors"))
        let read = try SafetensorsFile.read(path: path("odd.safetensors"))
        XCTAssertEqual(read, file)
        XCTAssertEqual(read.tensors["odd \"name\"/ü"]?.data[1].sign, .minus)

        var bad = file
        bad.tensors["broken"] = Tensor(shape: [2], data: [1, 2])
        bad.tensors["broken"]!.data = [1, 2, 3]  // 3 values for shape [2]
        assertError(.invalidEntry, file: "bad.safetensors", tensor: "broken", contains: ["needs 2 values"]) {
            try bad.write(path: path("bad.safetensors"))
        }
        XCTAssertFalse(contents().contains("bad.safetensors"))
    }

    // MARK: Robustness

    private func decodeNeverTraps(_ bytes: [UInt8]) {
        do {
            let file = try SafetensorsFile.decode(bytes, path: "fuzz.safetensors", ignoring: Checkpoint.isIgnoredTensorName)
            _ = try Checkpoint(file: file, path: "fuzz.safetensors")
        } catch {
            // Every failure is a one-line CheckpointError naming the file.
            let message = String(describing: error)
            XCTAssertTrue(message.hasPrefix("fuzz.safetensors: "), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    func testRandomGarbageNeverCrashes() throws {
        var rng = SeededGenerator(seed: 2024)
        // Pure noise, written to disk and read like a user's file.
        for i in 0..<64 {
            let count = Int(rng.next() % 300)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let file = withBytes("noise-\(i).bin", bytes)
            XCTAssertThrowsError(try Checkpoint.read(path: file)) { error in
                XCTAssertTrue(error is CheckpointError, "\(error)")
            }
        }
        // A plausible header length followed by JSON-ish noise, to drive the parser deep.
        let alphabet = Array(#"{}[]":,0123456789-.eE truefalsnl\u"#.utf8) + [0x22, 0x5C]
        for _ in 0..<2000 {
            let n = Int(rng.next() % 120) + 1
            var bytes: [UInt8] = []
            var len = UInt64(n)
            for _ in 0..<8 { bytes.append(UInt8(len & 0xFF)); len >>= 8 }
            bytes += (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            bytes += (0..<Int(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            decodeNeverTraps(bytes)
        }
    }

    func testMutatedAndTruncatedValidFilesNeverCrash() {
        var rng = SeededGenerator(seed: 7)
        var n = 0
        for k in 0..<8 { n |= Int(validBytes[k]) << (8 * k) }
        // Every truncation.
        for length in stride(from: 0, to: validBytes.count, by: max(1, validBytes.count / 1500)) {
            decodeNeverTraps(Array(validBytes[..<length]))
        }
        // Random byte edits, mostly in the header, including digits (offsets, shapes).
        let digits = Array("0123456789-".utf8)
        for _ in 0..<1500 {
            var bytes = validBytes
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let inHeader = rng.next() % 4 != 0
                let at = inHeader ? Int(rng.next() % UInt64(8 + n)) : Int(rng.next() % UInt64(bytes.count))
                bytes[at] = rng.next() % 2 == 0 ? digits[Int(rng.next() % UInt64(digits.count))]
                                               : UInt8(truncatingIfNeeded: rng.next())
            }
            decodeNeverTraps(bytes)
        }
    }
}
