import Foundation
import Testing

/// Replays the torch fuzz target's committed inputs (`Fuzz/corpus/torch/`, and
/// `Fuzz/regressions/torch/` when there are findings) through `TorchFuzzInput.run`, without
/// libFuzzer. Oracle: the process survives every input, and the seeds of the well-formed
/// fixtures (PyTorch-written) are read, in both layouts, with the tensor count of the fixture,
/// so the fuzzer starts from inputs that reach the tensors.
@Suite("torch fuzz inputs")
struct TorchFuzzRegressionTests {
    static func inputs(_ folder: String) -> [(name: String, bytes: [UInt8])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(folder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".txt") && !$0.hasSuffix(".md") }.sorted()
        return names.compactMap { name in
            (try? Data(contentsOf: root.appendingPathComponent(name))).map { (name, Array($0)) }
        }
    }

    @Test("Every seed and regression input is read or refused without a trap; good seeds are read")
    func replay() {
        let corpus = Self.inputs("Fuzz/corpus/torch")
        #expect(corpus.count >= 30, "Fuzz/corpus/torch is missing (python3 tools/make_torch_fixtures.py --fuzz-seeds-only)")
        let expected = ["plain": 8, "nested": 8, "nested_model": 8, "nested_net": 8, "dtypes": 4, "views": 7,
                        "kaijieshi7_dynamic": 11, "parameters": 6]
        for input in corpus + Self.inputs("Fuzz/regressions/torch") {
            let outcome = TorchFuzzInput.run(input.bytes)
            let fixture = input.name.split(separator: "-", maxSplits: 1).last.map(String.init) ?? ""
            if input.name == "storage-count-disagrees" {
                guard case .rejected(let message) = outcome else { Issue.record("\(input.name): \(outcome)"); continue }
                #expect(message.contains("tensor 'fc.bias': gives storage '3' 5 elements, but 'bn.bias' gives it 4"), "\(message)")
            }
            if let count = expected[fixture] {
                guard case .read(let tensors, _) = outcome else { Issue.record("\(input.name): \(outcome)"); continue }
                #expect(tensors == count, "\(input.name)")
            }
        }
    }
}
