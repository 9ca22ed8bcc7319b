import DyConvData
import Foundation
import Testing

/// Replays the IDX fuzz target's committed inputs without libFuzzer, through the same harness
/// (`IDXFuzzInput.run`): the seed corpus `Fuzz/corpus/idx/` and the findings
/// `Fuzz/regressions/idx/` whose fix has merged. Oracle: the process survives every input (a
/// trap ends the test run) and each input loads or is refused with an error. Inputs under
/// `pending/` reproduce crashes not fixed yet and are skipped.
/// Serialized: the harness writes its files to one folder per process.
@Suite(.serialized)
final class FuzzRegressionTests {
    deinit { IDXFuzzInput.removeFolder() }

    /// The committed inputs of `Fuzz/<kind>/<target>` (kind: corpus or regressions), without `pending/`.
    static func inputs(_ kind: String, target: String = "idx") -> [(name: String, bytes: [UInt8])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/\(kind)/\(target)")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".txt") && !$0.hasSuffix(".md") && $0 != "pending" }
            .sorted()
        return names.compactMap { name in
            (try? Data(contentsOf: root.appendingPathComponent(name))).map { (name, Array($0)) }
        }
    }

    @Test func seedsLoad() {
        for seed in IDXFuzzInput.seeds() {
            if case .rejected(let why) = IDXFuzzInput.run(seed.bytes) { Issue.record("seed \(seed.name): \(why)") }
        }
    }

    @Test func corpusIsCommitted() {
        let committed = Set(Self.inputs("corpus").map(\.name))
        for seed in IDXFuzzInput.seeds() { #expect(committed.contains(seed.name), "Fuzz/corpus/idx/\(seed.name) is missing") }
    }

    @Test func corpusAndRegressionsDoNotCrash() {
        let corpus = Self.inputs("corpus")
        #expect(!corpus.isEmpty, "no seed corpus found")
        for input in corpus + Self.inputs("regressions") { _ = IDXFuzzInput.run(input.bytes) }
    }
}
