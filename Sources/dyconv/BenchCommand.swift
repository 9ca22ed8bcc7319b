import ArgumentParser
import DyConvData
import DyConvEngine
import DyConvTraining
import Foundation

/// `dyconv bench`: forward latency, throughput and GFLOP/s, with the machine's sgemm peak.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Forward latency and throughput (median of several runs after warm-up), with GFLOP/s.",
        discussion: """
            Models are built with seeded random weights. GFLOP/s counts 2 FLOPs per multiply-add of \
            convolutions (incl. the attention branch and kernel aggregation) and linear layers. The \
            sgemm peak is a 2048×2048×2048 product on the same threads, measured in the same run.
            """)

    @Option(name: .long, parsing: .upToNextOption,
            help: "Model families (\(Families.available.joined(separator: ", "))).")
    var model: [String] = ["dycnn"]

    @Option(name: .long, parsing: .upToNextOption, help: "Batch sizes.")
    var batch: [Int] = [1, 16, 64, 256]

    @Option(name: .long, help: "Timed runs per measurement (the median is reported).")
    var runs: Int = 20

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Flag(name: .long, help: "Skip the sgemm peak measurement.")
    var noPeak = false

    @Flag(name: .long, help: "Also time every forward pass without collecting the trace, to show its cost.")
    var traceOverhead = false

    @Flag(name: .long, help: "Also measure training speed (images/s of SGD steps) of dycnn models.")
    var train = false

    @Flag(name: .long, help: "Skip the forward measurements (e.g. with --train).")
    var noForward = false

    @Option(name: .long, parsing: .upToNextOption, help: "dycnn widths for --train, as one comma-separated list per model (e.g. 16,32,64 8,16,32).")
    var trainWidths: [String] = ["16,32,64", "8,16,32"]

    @Option(name: .long, help: "Batch size for --train.")
    var trainBatch: Int = 128

    @Option(name: .long, help: "Timed steps for --train.")
    var trainSteps: Int = 20

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
        if batch.contains(where: { $0 < 1 }) { throw ValidationError("--batch sizes must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        // --train settings, checked before any data is loaded (TrainingBenchmark.check).
        if train {
            for config in try trainConfigs() {
                try TrainingBenchmark.check(config: config, steps: trainSteps, trainImages: 60_000)
            }
        }
    }

    /// One training config per --train-widths entry.
    func trainConfigs() throws -> [TrainingConfig] {
        try trainWidths.map { spec in
            var config = TrainingConfig()
            config.model = "dycnn"; config.widths = try TrainingBenchmark.parseWidths(spec); config.batchSize = trainBatch
            config.threads = threads ?? min(Parallel.threads, 64)   // the trainer's most
            return config
        }
    }

    struct Row: Encodable {
        let model: String, batch: Int, multiplyAdds: Int
        let medianMilliseconds: Double, minMilliseconds: Double, imagesPerSecond: Double, gflops: Double
    }
    struct Report: Encodable {
        let threads: Int, sgemmPeakGflops: Double?, results: [Row], train: [TrainingBenchmarkResult]
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        Parallel.configureBLAS()
        let descriptions = try model.map { try Families.named($0) }
        var peak: Double?
        if !noPeak {
            peak = sgemmPeak()
            if !json { print(String(format: "sgemm peak (2048³, %d threads): %.1f GFLOP/s", Parallel.threads, peak!)) }
        }
        var rows: [Row] = []
        for (name, d) in zip(model, descriptions) where !noForward {
            let m = Model.seededRandom(d, seed: 1)
            let macs = d.multiplyAdds()
            if !json {
                print("\(name): \(d.input.channels)×\(d.input.height)×\(d.input.width), "
                      + String(format: "%.1f M multiply-adds per image", Double(macs) / 1e6))
            }
            for b in batch {
                var rng = SeededGenerator(seed: 7)
                var x = Tensor.zeros([b, d.input.channels, d.input.height, d.input.width])
                for i in 0..<x.count { x.data[i] = rng.nextNormal() }
                let options = ForwardOptions(collectTrace: true)
                let untraced = ForwardOptions(collectTrace: false)
                let warm = max(2, min(5, runs / 4))
                for _ in 0..<warm { _ = m.forward(x, options: options) }
                var times: [Double] = [], plain: [Double] = []
                // Large models: fewer runs, but at least 3.
                let n = d.multiplyAdds() * b > 2_000_000_000 ? max(3, runs / 4) : runs
                for _ in 0..<n {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = m.forward(x, options: options)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    if traceOverhead {   // interleaved, so load changes hit both alike
                        let t1 = DispatchTime.now().uptimeNanoseconds
                        _ = m.forward(x, options: untraced)
                        plain.append(Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e6)
                    }
                }
                times.sort(); plain.sort()
                let med = times[times.count / 2]
                let row = Row(model: name, batch: b, multiplyAdds: macs * b, medianMilliseconds: med,
                              minMilliseconds: times[0], imagesPerSecond: Double(b) / (med / 1000),
                              gflops: 2 * Double(macs * b) / (med / 1000) / 1e9)
                rows.append(row)
                if !json {
                    print("  batch \(String(b).leftPad(4)): median " + String(format: "%9.3f ms", med)
                          + String(format: "  (min %.3f)", times[0])
                          + String(format: "  %9.0f images/s  %6.1f GFLOP/s", row.imagesPerSecond, row.gflops)
                          + (peak.map { String(format: "  %4.1f%% of peak", 100 * row.gflops / $0) } ?? "")
                          + (plain.isEmpty ? "" : String(format: "  (no trace: %.3f ms, %+.1f%%)", plain[plain.count / 2],
                                                         100 * (med / plain[plain.count / 2] - 1))))
                }
            }
        }
        var trainRows: [TrainingBenchmarkResult] = []
        if train {
            let data = FashionMNIST.isAvailable(.train) ? try FashionMNIST.load(.train) : try FashionMNIST.loadSample()
            for var config in try trainConfigs() {
                config.threads = min(Parallel.threads, 64)
                let widths = config.widths
                let r = try TrainingBenchmark.measure(config: config, train: data, steps: trainSteps)
                trainRows.append(r)
                if !json {
                    print("train dycnn \(widths.map(String.init).joined(separator: "/")): batch \(trainBatch), "
                          + String(format: "median step %.1f ms, %.0f images/s", r.millisecondsPerStep, r.imagesPerSecond))
                }
            }
        }
        if json { try printJSON(Report(threads: Parallel.threads, sgemmPeakGflops: peak, results: rows, train: trainRows)) }
    }

    /// Median GFLOP/s of a 2048³ sgemm split over the engine's threads.
    func sgemmPeak() -> Double {
        let n = 2048
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var times: [Double] = []
        for _ in 0..<7 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        sgemmSplittingColumns(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!,
                                              ldb: n, c: cp.baseAddress!, ldc: n, allowSplit: true)
                    }
                }
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        times.sort()
        return 2 * Double(n * n * n) / times[times.count / 2] / 1e9
    }
}
