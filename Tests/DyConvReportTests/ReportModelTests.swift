import DyConvEngine
@testable import DyConvReport
import XCTest

/// The report.json model round-trips through JSON unchanged (oracle: Equatable on the decoded value).
final class ReportModelTests: XCTestCase {
    func testJSONRoundTrip() throws {
        let layer = LayerAttentionSummary(name: "l", meanEntropy: 0.9, meanMaxAttention: 0.4, meanAttention: [0.25, 0.75],
                                          meanMass: 1, entropyBox: EntropyBox(p5: 0.5, q1: 0.6, median: 0.7, q3: 0.8, p95: 0.9),
                                          meanAttentionByClass: [[0.5, 0.5], []])
        let eval = EvaluationResult(temperature: nil, mode: .attention, images: 10, correct: 9, loss: 0.1, layers: [layer])
        let stats = SeedStatistics(n: 1, mean: 0.9, min: 0.9, max: 0.9, sd: 0)
        let report = Report(
            data: .init(name: "test", images: 10, classNames: ["a", "b"]),
            settings: .init(temperatures: [0.5, 1], modes: [.attention, .average], seed: 0),
            checkpoints: [CheckpointReport(path: "x.safetensors", name: "x", family: "dycnn", routing: "softmax", kernels: 2,
                                           recipe: ["model=dycnn"], seed: 0, group: 0, parameters: 10, multiplyAdds: 100,
                                           trainedTemperature: 1, evaluations: [eval],
                                           history: [TrainingRecord.Epoch(epoch: 1, temperature: 1)])],
            groups: [GroupReport(key: "model=dycnn", label: "dycnn", checkpoints: [0], seeds: [0], family: "dycnn",
                                 routing: "softmax", kernels: 2, parameters: 10, multiplyAdds: 100, accuracy: stats,
                                 ablation: ["attention": stats], layerNames: ["l"], entropy: [stats])],
            comparisons: [Comparison(kind: .kernels, members: [.init(group: 0, value: "K=2")])],
            figures: [FigureInfo(file: "a.svg", title: "A", caption: "c")])
        let data = try JSONEncoder().encode(report)
        XCTAssertEqual(try JSONDecoder().decode(Report.self, from: data), report)
        XCTAssertEqual(report.checkpoints[0].trained, eval)
    }
}
