import DyConvData
import Foundation
import Testing

/// Replays the CIFAR fuzz target's committed inputs without libFuzzer, through the same harness
/// (`CIFARFuzzInput.run`): the seed corpus `Fuzz/corpus/cifar/` and the findings
/// `Fuzz/regressions/cifar/` whose fix has merged. Oracle: the process survives every input (a
/// trap ends the test run), every seed loads, and the seeds that break a rule are refused.
/// Serialized: the harness writes its files to one folder per process.
@Suite(.serialized)
final class CIFARFuzzRegressionTests {
    deinit { CIFARFuzzInput.removeFolder() }

    @Test func seedsLoad() {
        for seed in CIFARFuzzInput.seeds() {
            if case .rejected(let why) = CIFARFuzzInput.run(seed.bytes) { Issue.record("seed \(seed.name): \(why)") }
        }
    }

    @Test func corpusIsCommitted() {
        let committed = Set(FuzzRegressionTests.inputs("corpus", target: "cifar").map(\.name))
        for seed in CIFARFuzzInput.seeds() { #expect(committed.contains(seed.name), "Fuzz/corpus/cifar/\(seed.name) is missing") }
    }

    @Test func corpusAndRegressionsDoNotCrash() {
        let corpus = FuzzRegressionTests.inputs("corpus", target: "cifar")
        #expect(!corpus.isEmpty, "no seed corpus found")
        for input in corpus + FuzzRegressionTests.inputs("regressions", target: "cifar") { _ = CIFARFuzzInput.run(input.bytes) }
    }

    /// Structured programs that break a rule are refused, not loaded (the harness can fail).
    @Test func damagedStructuredBatchesAreRefused() {
        // CIFAR-10, 2 records, labels 1 and 10 (out of range).
        #expect(CIFARFuzzInput.run([6, 2, 1, 10, 5, 0]) != .loaded(images: 2))
        // CIFAR-10, 1 record, one byte dropped.
        guard case .rejected(let why) = CIFARFuzzInput.run([6, 1, 1, 5, 1]) else { Issue.record("a short batch loaded"); return }
        #expect(why.contains("not a whole number"), "\(why)")
        #expect(CIFARFuzzInput.run([6, 1, 1, 5, 0]) == .loaded(images: 1))
    }
}
