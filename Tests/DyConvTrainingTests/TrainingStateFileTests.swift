import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

/// The training state as a safetensors file, and every way a state file can be wrong. Oracles:
/// the engine's safetensors reader (an independent view of what was written), the trainer's own
/// buffers, and for each malformed file one line naming the file and what is wrong.
final class TrainingStateFileTests: XCTestCase {
    private var dir = ""
    private var data: ImageDataset!
    private var trainer: Trainer!
    private var good = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "dyconv-statefile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        data = try syntheticDataset(count: 12, seed: 21)
        trainer = try Trainer(config: tinyConfig(threads: 1, epochs: 2, batch: 4), description: tinyModel(),
                              train: data, test: data)
        trainer.runEpoch()
        trainer.step()  // mid-epoch: non-zero momentum and running sums
        good = dir + "/good.state"
        try trainer.saveState(path: good)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Oracle: the engine's reader sees the checkpoint names, `momentum.<name>` holding the
    /// trainer's momentum buffer, and the documented metadata.
    func testStateIsASafetensorsFileWithNamedTensorsAndMetadata() throws {
        let file = try SafetensorsFile.read(path: good)
        XCTAssertEqual(file.metadata["format"], "dyconv-training-state")
        XCTAssertEqual(file.metadata["dyconv.state_version"], "2")
        XCTAssertEqual(file.metadata["dyconv.threads"], "1")
        for key in ["dyconv.config", "dyconv.model", "dyconv.counters", "dyconv.history"] {
            XCTAssertNotNil(file.metadata[key], key)
        }
        let tensors = trainer.tensors()
        let momentum = trainer.momentum.array
        XCTAssertEqual(file.tensors.count, tensors.count + trainer.layout.parameters.count)
        for (name, tensor) in tensors { XCTAssertEqual(file.tensors[name], tensor, name) }
        for entry in trainer.layout.parameters {
            let stored = try XCTUnwrap(file.tensors["momentum." + entry.name], entry.name)
            XCTAssertEqual(stored.shape, entry.shape)
            XCTAssertEqual(stored.data, Array(momentum[entry.offset..<(entry.offset + entry.count)]), entry.name)
        }
        XCTAssertTrue(momentum.contains { $0 != 0 }, "the test needs a non-zero momentum")
        // Resumed, the trainer holds the same buffers and counters.
        let resumed = try Trainer.resume(path: good, train: data, test: data)
        XCTAssertEqual(resumed.tensors(), tensors)
        XCTAssertEqual(resumed.momentum.array, momentum)
        XCTAssertEqual(resumed.counters, trainer.counters)
        XCTAssertEqual(resumed.history, trainer.history)
    }

    /// A state written by an older dyconv. Oracle: the exact line the issue asks for.
    func testOlderDYCONVTSStateIsRefusedWithOneLine() throws {
        let old = dir + "/old.state"
        var bytes = Array("DYCONVTS".utf8)
        bytes += [2, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8) + [UInt8](repeating: 0, count: 64)
        try Data(bytes).write(to: URL(fileURLWithPath: old))
        expectOneLine(old, "\(old): a training state from an older dyconv (DYCONVTS); start the run again", exact: true)
    }

    // MARK: - Malformed states

    /// Cut at several points: inside the length, inside the header, inside the data.
    func testTruncatedState() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        for keep in [4, 100, bytes.count - 10] {
            let cut = dir + "/cut-\(keep).state"
            try bytes.prefix(keep).write(to: URL(fileURLWithPath: cut))
            expectOneLine(cut, "truncated")
        }
    }

    func testMissingTensor() throws {
        try rewrite("missing") { $0.tensors["momentum.fc.bias"] = nil }
        try rewrite("missing-weight") { $0.tensors["fc.weight"] = nil }
        expectOneLine(dir + "/missing.state", "tensor 'momentum.fc.bias' is missing")
        expectOneLine(dir + "/missing-weight.state", "tensor 'fc.weight' is missing")
    }

    func testUnexpectedTensor() throws {
        try rewrite("extra") { $0.tensors["momentum.nothing"] = Tensor(shape: [1], data: [0]) }
        expectOneLine(dir + "/extra.state", "unexpected tensor 'momentum.nothing'")
    }

    func testWrongShape() throws {
        try rewrite("shape") { file in
            let t = file.tensors["momentum.fc.weight"]!
            file.tensors["momentum.fc.weight"] = Tensor(shape: [t.shape.reduce(1, *)], data: t.data)
        }
        expectOneLine(dir + "/shape.state", "tensor 'momentum.fc.weight': shape")
    }

    func testNonFiniteValues() throws {
        for (i, name) in ["fc.bias", "momentum.fc.bias"].enumerated() {
            try rewrite("nan-\(i)") { $0.tensors[name]!.data[0] = i == 0 ? .nan : -.infinity }
            expectOneLine(dir + "/nan-\(i).state", "tensor '\(name)' holds non-finite values")
        }
        let buffer = trainer.layout.buffers[0].name
        try rewrite("nan-buffer") { $0.tensors[buffer]!.data[0] = .infinity }
        expectOneLine(dir + "/nan-buffer.state", "tensor '\(buffer)' holds non-finite values")
    }

    func testBadMetadataJSON() throws {
        for key in ["dyconv.config", "dyconv.model", "dyconv.counters", "dyconv.history", "dyconv.threads"] {
            let name = "bad-" + key
            try rewrite(name) { $0.metadata[key] = "{\"epoch\": " }
            expectOneLine(dir + "/\(name).state", "'\(key)' in the training state does not decode")
        }
        try rewrite("no-counters") { $0.metadata["dyconv.counters"] = nil }
        expectOneLine(dir + "/no-counters.state", "no 'dyconv.counters' metadata")
        try rewrite("version") { $0.metadata["dyconv.state_version"] = "3" }
        expectOneLine(dir + "/version.state", "unsupported training state version '3'")
        try rewrite("format") { $0.metadata["format"] = "something" }
        expectOneLine(dir + "/format.state", "not a dyconv training state file (metadata 'format' is 'something')")
    }

    func testCountersOutOfRange() throws {
        var counters = trainer.counters
        let cases: [(String, (inout Trainer.Counters) -> Void)] = [
            ("negative-epoch", { $0.epoch = -1 }),
            ("epoch-past-end", { $0.epoch = 3 }),
            ("negative-step", { $0.iterationInEpoch = -2 }),
            ("correct-over-images", { $0.epochCorrect = $0.epochImages + 1 }),
        ]
        for (name, change) in cases {
            counters = trainer.counters
            change(&counters)
            let text = String(decoding: try JSONEncoder().encode(counters), as: UTF8.self)
            try rewrite(name) { $0.metadata["dyconv.counters"] = text }
            expectOneLine(dir + "/\(name).state", "counters out of range")
        }
        counters = trainer.counters
        counters.iterationInEpoch = 99
        let text = String(decoding: try JSONEncoder().encode(counters), as: UTF8.self)
        try rewrite("step-past-epoch") { $0.metadata["dyconv.counters"] = text }
        expectOneLine(dir + "/step-past-epoch.state", "state is at step 99 of an epoch that has 3 steps")
        try rewrite("threads") { $0.metadata["dyconv.threads"] = "0" }
        expectOneLine(dir + "/threads.state", "stored thread count 0 is outside 1...64")
    }

    /// The checkpoint beside the state, passed in its place; and a state read as a checkpoint.
    func testCheckpointPassedAsStateAndBack() throws {
        let checkpoint = dir + "/m.safetensors"
        try trainer.checkpoint().write(path: checkpoint)
        expectOneLine(checkpoint, "this is a dyconv checkpoint, not a training state")
        XCTAssertThrowsError(try Checkpoint.read(path: good)) { error in
            XCTAssertTrue("\(error)".contains("not a dyconv checkpoint"), "\(error)")
        }
    }

    func testGarbageAndDirectory() throws {
        let garbage = dir + "/garbage.state"
        try Data("not a state file at all".utf8).write(to: URL(fileURLWithPath: garbage))
        expectOneLine(garbage, "not a dyconv training state file")
        expectOneLine(dir, "cannot read the training state: is a directory")
    }

    // MARK: - Helpers

    /// Reads the good state with the engine's reader, changes it, writes it as `<name>.state`.
    private func rewrite(_ name: String, _ change: (inout SafetensorsFile) -> Void) throws {
        var file = try SafetensorsFile.read(path: good)
        change(&file)
        try file.write(path: dir + "/\(name).state")
    }

    /// Resuming `path` fails with one `TrainingError` line that starts with the path and contains
    /// `fragment` (or equals it).
    private func expectOneLine(_ path: String, _ fragment: String, exact: Bool = false, line: UInt = #line) {
        XCTAssertThrowsError(try Trainer.resume(path: path, train: data, test: data), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(error is TrainingError, "\(type(of: error)): \(text)", line: line)
            XCTAssertFalse(text.contains("\n"), text, line: line)
            XCTAssertTrue(text.hasPrefix(path + ": "), text, line: line)
            if exact {
                XCTAssertEqual(text, fragment, line: line)
            } else {
                XCTAssertTrue(text.contains(fragment), "'\(text)' lacks '\(fragment)'", line: line)
            }
        }
    }
}
