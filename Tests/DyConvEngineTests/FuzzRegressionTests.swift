import Foundation
import XCTest
import DyConvEngine

/// Replays the checkpoint fuzz target's committed inputs without libFuzzer, through the same
/// harness (`CheckpointFuzzInput.run`): the seed corpus `Fuzz/corpus/checkpoint/` and the
/// findings `Fuzz/regressions/checkpoint/` whose fix has merged. Oracle: the process survives
/// every input (a trap ends the test run) and each input either runs or is refused with an
/// error. Inputs under `pending/` reproduce crashes not fixed yet and are skipped.
final class FuzzRegressionTests: XCTestCase {
    /// The files of `Fuzz/corpus/checkpoint/`, `Fuzz/regressions/checkpoint/` or its `pending/`,
    /// found from this file's path.
    static func inputs(_ kind: String) -> [(name: String, bytes: [UInt8])] {
        let parts = kind.split(separator: "/").map(String.init)
        let folder = "Fuzz/\(parts[0])/checkpoint" + (parts.count > 1 ? "/\(parts[1])" : "")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(folder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".txt") && !$0.hasSuffix(".md") && $0 != "pending" }
            .sorted()
        return names.compactMap { name in
            (try? Data(contentsOf: root.appendingPathComponent(name))).map { (name, Array($0)) }
        }
    }

    /// Every committed seed model loads and runs (else the fuzzer would mutate dead inputs). Oracle:
    /// the seeds are small valid models, so the pipeline must reach the logits. (The `op-*` seeds
    /// are edit programs, many of which are meant to be refused.)
    func testSeedModelsRun() {
        let committed = Set(Self.inputs("corpus").map(\.name))
        for seed in CheckpointFuzzInput.seeds() where committed.contains(seed.name) && !seed.name.hasPrefix("op-") {
            let outcome = CheckpointFuzzInput.run(seed.bytes)
            guard case .ran(let classes) = outcome else {
                XCTFail("seed \(seed.name): \(outcome)")
                continue
            }
            XCTAssertGreaterThan(classes, 0, seed.name)
        }
    }

    /// Every generated seed is committed, in the corpus or (while it still crashes main) under
    /// `regressions/checkpoint/pending/`; regenerate with the command in Fuzz/README.md.
    func testCorpusIsCommitted() {
        let committed = Set(Self.inputs("corpus").map(\.name) + Self.inputs("regressions/pending").map(\.name))
        for seed in CheckpointFuzzInput.seeds() {
            XCTAssertTrue(committed.contains(seed.name), "Fuzz/corpus/checkpoint/\(seed.name) is missing")
        }
    }

    func testCorpusDoesNotCrash() {
        let inputs = Self.inputs("corpus")
        XCTAssertFalse(inputs.isEmpty, "no seed corpus found")
        for input in inputs { _ = CheckpointFuzzInput.run(input.bytes) }
    }

    func testRegressionsDoNotCrash() {
        for input in Self.inputs("regressions") {
            let outcome = CheckpointFuzzInput.run(input.bytes)
            if case .skipped(let why) = outcome { XCTFail("\(input.name) no longer reaches the forward pass: \(why)") }
        }
    }
}
