import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

final class TrainingBenchmarkTests: XCTestCase {
    func testBenchmarkMeasuresStepsAcrossEpochBoundaries() throws {
        let sample = try FashionMNIST.loadSample()
        var config = TrainingConfig()
        config.widths = [4, 4, 8]
        config.batchSize = 16
        // 40 images → 3 steps per epoch; 8 steps cross two epoch boundaries.
        let result = try TrainingBenchmark.measure(config: config, train: sample.prefix(40), warmup: 1, steps: 8)
        XCTAssertEqual(result.steps, 8)
        XCTAssertGreaterThan(result.imagesPerSecond, 0)
        XCTAssertGreaterThanOrEqual(result.bestImagesPerSecond, result.imagesPerSecond)
        XCTAssertGreaterThan(result.millisecondsPerStep, 0)
        XCTAssertThrowsError(try TrainingBenchmark.measure(config: config, train: sample.prefix(40), steps: 0))
    }

    /// Training throughput on Fashion-MNIST (run in release mode, see docs/TRAINING.md):
    /// `DYCONV_TRAIN_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter TrainingBenchmarkTests`.
    func testFashionMNISTThroughput() throws {
        guard ProcessInfo.processInfo.environment["DYCONV_TRAIN_BENCH"] == "1" else {
            throw XCTSkip("set DYCONV_TRAIN_BENCH=1 (and build with -c release) to measure training speed")
        }
        let train = try FashionMNIST.load(.train)
        for model in ["dycnn", "dycnn-static", "dycnn-condconv"] {
            for widths in [[16, 32, 64], [8, 16, 32]] {
                var config = TrainingConfig()
                config.model = model
                config.widths = widths
                config.threads = 2
                let r = try TrainingBenchmark.measure(config: config, train: train, warmup: 5, steps: 60)
                print(String(format: "%@ %@ batch %d threads %d: median %.0f images/s (mean %.0f, best %.0f), %.1f ms/step",
                             model, widths.map(String.init).joined(separator: "/"), r.batchSize, r.threads,
                             r.imagesPerSecond, r.meanImagesPerSecond, r.bestImagesPerSecond, r.millisecondsPerStep))
                XCTAssertGreaterThan(r.imagesPerSecond, 0)
            }
        }
    }
}
