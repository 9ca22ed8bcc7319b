import DyConvData
import DyConvEngine
import Foundation

/// Training throughput of one configuration.
public struct TrainingBenchmarkResult: Codable, Sendable, Equatable {
    /// The model family and widths measured.
    public var model: String
    public var widths: [Int]
    public var batchSize: Int
    public var threads: Int
    /// Timed steps (after the warm-up steps).
    public var steps: Int
    /// Training images per second at the median step time (forward + backward + SGD update +
    /// batch assembly); robust against other processes competing for the cores.
    public var imagesPerSecond: Double
    /// Images per second over all timed steps (total images / total time).
    public var meanImagesPerSecond: Double
    /// Images per second of the fastest step.
    public var bestImagesPerSecond: Double
    /// Median wall time of one step, in milliseconds.
    public var millisecondsPerStep: Double
}

/// Measures training speed (images/s) on real data without touching any file.
public enum TrainingBenchmark {
    /// The most timed (or warm-up) steps one measurement runs.
    public static let maxSteps = 10_000

    /// Checks a measurement before any data is loaded or memory allocated: step counts in
    /// 1...`maxSteps` (warm-up from 0), a valid config (the batch size before any division by
    /// it; a batch of 0 used to be SIGFPE), and the trainer's memory estimate.
    ///
    /// - Throws: `TrainingError` with one line naming the bad value.
    public static func check(config: TrainingConfig, warmup: Int = 3, steps: Int, trainImages: Int) throws {
        guard (1...maxSteps).contains(steps) else {
            throw TrainingError("timed steps must be in 1...\(maxSteps), got \(steps)")
        }
        guard (0...maxSteps).contains(warmup) else {
            throw TrainingError("warm-up steps must be in 0...\(maxSteps), got \(warmup)")
        }
        try config.validate()
        try Trainer.checkMemory(config: config, description: try config.modelDescription(), threads: config.threads,
                                trainImages: trainImages)
    }

    /// Parses a `--train-widths` entry ("16,32,64"): exactly three comma-separated integers.
    public static func parseWidths(_ spec: String) throws -> [Int] {
        let parts = spec.split(separator: ",", omittingEmptySubsequences: false)
        let widths = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, widths.count == 3 else {
            throw TrainingError("--train-widths '\(spec)' is not three comma-separated integers")
        }
        return widths
    }

    /// Runs `warmup` untimed and then `steps` timed SGD steps of `config` on `train`.
    ///
    /// Only the model, widths, K, batch size and threads of `config` matter for the speed.
    /// - Throws: `TrainingError` for a bad config, `DataError` when the data does not fit.
    public static func measure(config: TrainingConfig, train: ImageDataset, warmup: Int = 3,
                               steps: Int = 20) throws -> TrainingBenchmarkResult {
        try check(config: config, warmup: warmup, steps: steps, trainImages: train.count)
        var c = config
        // Enough epochs that the schedule never runs out; the benchmark never evaluates.
        let perEpoch = max((train.count + c.batchSize - 1) / c.batchSize, 1)
        c.epochs = max(c.epochs, (warmup + steps) / perEpoch + 2)
        let trainer = try Trainer(config: c, train: train, test: train.prefix(2))
        func one() -> StepMetrics? {
            if let s = trainer.step() { return s }
            trainer.skipToNextEpoch()
            return trainer.step()
        }
        for _ in 0..<warmup { _ = one() }
        var times: [Double] = []
        var images = 0
        for _ in 0..<steps {
            guard let s = one() else { break }
            times.append(s.seconds)
            images += s.images
        }
        let sorted = times.sorted()
        let median = sorted.isEmpty ? 0 : (sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                           : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        let perStep = Double(images) / Double(max(times.count, 1))
        return TrainingBenchmarkResult(model: c.model, widths: c.widths, batchSize: c.batchSize, threads: c.threads,
                                       steps: times.count, imagesPerSecond: perStep / max(median, 1e-9),
                                       meanImagesPerSecond: Double(images) / max(times.reduce(0, +), 1e-9),
                                       bestImagesPerSecond: perStep / max(sorted.first ?? 0, 1e-9),
                                       millisecondsPerStep: 1000 * median)
    }
}

extension Trainer {
    /// Ends the current epoch without evaluating (benchmarks only; not recorded in `history`).
    func skipToNextEpoch() {
        counters.startNextEpoch()
    }
}
