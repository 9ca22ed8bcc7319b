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
            sgemm peak is a 2048×2048×2048 product on the same threads, and the memory-read bandwidth \
            a streaming read of a 256 MiB buffer (far larger than the caches) on the same threads, \
            both measured in the same run.
            """)

    @Option(name: .long, parsing: .upToNextOption,
            help: "Model families (\(Families.available.joined(separator: ", "))); default dycnn unless --architecture is given.")
    var model: [String] = []

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Architecture JSON files (`dyconv describe M --json`), measured after --model's families.",
                               valueName: "file"))
    var architecture: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Batch sizes.")
    var batch: [Int] = [1, 16, 64, 256]

    @Option(name: .long, help: "Timed runs per measurement (the median is reported).")
    var runs: Int = 20

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Flag(name: .long, help: "Skip the sgemm peak and memory bandwidth measurements.")
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

    /// One forward measurement; its JSON form is documented in docs/CLI-JSON.md.
    struct Row: Encodable {
        let model: String, batch: Int, multiplyAdds: Int
        let medianMilliseconds: JSONNumber, minMilliseconds: JSONNumber, imagesPerSecond: JSONNumber, gflops: JSONNumber
        let noTraceMedianMilliseconds: JSONNumber?

        enum CodingKeys: String, CodingKey {
            case model, batch, multiplyAdds, medianMilliseconds, minMilliseconds, imagesPerSecond, gflops
            case noTraceMedianMilliseconds
        }
        func encode(to encoder: Encoder) throws {   // every key present, null where not measured
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model); try c.encode(batch, forKey: .batch)
            try c.encode(multiplyAdds, forKey: .multiplyAdds); try c.encode(medianMilliseconds, forKey: .medianMilliseconds)
            try c.encode(minMilliseconds, forKey: .minMilliseconds); try c.encode(imagesPerSecond, forKey: .imagesPerSecond)
            try c.encode(gflops, forKey: .gflops); try c.encode(noTraceMedianMilliseconds, forKey: .noTraceMedianMilliseconds)
        }
    }
    /// One training measurement (`--train`).
    struct TrainRow: Encodable {
        let model: String, widths: [Int], batchSize: Int, threads: Int, steps: Int
        let imagesPerSecond: JSONNumber, meanImagesPerSecond: JSONNumber, bestImagesPerSecond: JSONNumber
        let millisecondsPerStep: JSONNumber
        init(_ r: TrainingBenchmarkResult) {
            model = r.model; widths = r.widths; batchSize = r.batchSize; threads = r.threads; steps = r.steps
            imagesPerSecond = JSONNumber(r.imagesPerSecond); meanImagesPerSecond = JSONNumber(r.meanImagesPerSecond)
            bestImagesPerSecond = JSONNumber(r.bestImagesPerSecond); millisecondsPerStep = JSONNumber(r.millisecondsPerStep)
        }
    }
    struct Report: Encodable {
        let threads: Int, sgemmPeakGflops: JSONNumber?, memoryReadGBps: JSONNumber?, results: [Row], train: [TrainRow]

        enum CodingKeys: String, CodingKey { case threads, sgemmPeakGflops, memoryReadGBps, results, train }
        func encode(to encoder: Encoder) throws {   // sgemmPeakGflops, memoryReadGBps: null with --no-peak
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(threads, forKey: .threads); try c.encode(sgemmPeakGflops, forKey: .sgemmPeakGflops)
            try c.encode(memoryReadGBps, forKey: .memoryReadGBps)
            try c.encode(results, forKey: .results); try c.encode(train, forKey: .train)
        }
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        Parallel.configureBLAS()
        let families = model.isEmpty && architecture.isEmpty ? ["dycnn"] : model
        var descriptions = try families.map { try Families.named($0) }
        var names = families
        for path in architecture {
            let d = try architectureFile(path)
            descriptions.append(d); names.append(d.family)
        }
        // Refuse a batch that cannot fit before measuring anything (the input alone of
        // --batch 100000000 on dycnn is 313.6 GB).
        if !noForward {
            for (name, d) in zip(names, descriptions) {
                for b in batch {
                    try checkInferenceMemory(d, batch: b, name: name)
                    guard CheckedSize.product(d.multiplyAdds(), b) != nil else {
                        throw CLIError("batch \(b) of \(name): its multiply-adds cannot be counted")
                    }
                }
            }
        }
        var peak: Double?, bandwidth: Double?
        if !noPeak {
            peak = sgemmPeak()
            bandwidth = memoryReadBandwidth()
            if !json, let peak, let bandwidth {
                print("sgemm peak (2048³, \(Parallel.threads) threads): \(NumberText.fixed(peak, 1)) GFLOP/s; "
                      + "memory read (256 MiB): \(NumberText.fixed(bandwidth, 1)) GB/s")
            }
        }
        var rows: [Row] = []
        for (name, d) in zip(names, descriptions) where !noForward {
            let m = Model.seededRandom(d, seed: 1)
            let macs = d.multiplyAdds()
            if !json {
                print("\(name): \(d.input.channels)×\(d.input.height)×\(d.input.width), "
                      + "\(NumberText.fixed(Double(macs) / 1e6, 1)) M multiply-adds per image")
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
                let batchMacs = macs * b   // checked above
                let n = batchMacs > 2_000_000_000 ? max(3, runs / 4) : runs
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
                let noTrace = plain.isEmpty ? nil : plain[plain.count / 2]
                let imagesPerSecond = Double(b) / (med / 1000), gflops = 2 * Double(batchMacs) / (med / 1000) / 1e9
                rows.append(Row(model: name, batch: b, multiplyAdds: batchMacs, medianMilliseconds: JSONNumber(med),
                                minMilliseconds: JSONNumber(times[0]), imagesPerSecond: JSONNumber(imagesPerSecond),
                                gflops: JSONNumber(gflops), noTraceMedianMilliseconds: noTrace.map(JSONNumber.init)))
                if !json {
                    print("  batch \(String(b).leftPad(4)): median \(NumberText.fixed(med, 3, width: 9)) ms"
                          + "  (min \(NumberText.fixed(times[0], 3)))"
                          + "  \(NumberText.fixed(imagesPerSecond, 0, width: 9)) images/s  \(NumberText.fixed(gflops, 1, width: 6)) GFLOP/s"
                          + (peak.map { "  \(NumberText.percent(gflops / $0, 1, width: 5)) of peak" } ?? "")
                          + (noTrace.map { "  (no trace: \(NumberText.fixed($0, 3)) ms, "
                                           + "\(NumberText.percent(med / $0 - 1, 1, sign: true)))" } ?? ""))
                }
            }
        }
        var trainRows: [TrainRow] = []
        if train {
            let data = FashionMNIST.isAvailable(.train) ? try FashionMNIST.load(.train) : try FashionMNIST.loadSample()
            for var config in try trainConfigs() {
                config.threads = min(Parallel.threads, 64)
                let widths = config.widths
                let r = try TrainingBenchmark.measure(config: config, train: data, steps: trainSteps)
                trainRows.append(TrainRow(r))
                if !json {
                    print("train dycnn \(widths.map(String.init).joined(separator: "/")): batch \(trainBatch), "
                          + "median step \(NumberText.fixed(r.millisecondsPerStep, 1)) ms, "
                          + "\(NumberText.fixed(r.imagesPerSecond, 0)) images/s")
                }
            }
        }
        if json {
            try printJSON(Report(threads: Parallel.threads, sgemmPeakGflops: peak.map(JSONNumber.init),
                                 memoryReadGBps: bandwidth.map(JSONNumber.init), results: rows,
                                 train: trainRows))
        }
    }

    /// The validated architecture of `--architecture FILE` (a `dyconv describe --json` text).
    func architectureFile(_ path: String) throws -> ModelDescription {
        let bytes = try Files.readAll(path: path)
        do {
            let d = try ModelDescription.fromJSON(String(decoding: bytes, as: UTF8.self))
            try d.validate()
            return d
        } catch {   // the checkpoint reader's one-line summary of decoding and validation errors
            throw CLIError("\(path): not a valid architecture JSON: \(Checkpoint.summarize(error))")
        }
    }

    /// Median GB/s of reading a 256 MiB buffer (≫ the caches) split over the engine's threads:
    /// the rate at which a batch-1 pass can stream kernel banks from memory.
    func memoryReadBandwidth() -> Double {
        let count = 64 << 20
        let buffer = [Float](repeating: 1, count: count)
        var times: [Double] = []
        var sink: Float = 0
        for _ in 0..<7 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let chunks = Parallel.threads
            var sums = [Float](repeating: 0, count: chunks)
            buffer.withUnsafeBufferPointer { bp in
                sums.withUnsafeMutableBufferPointer { sp in
                    nonisolated(unsafe) let p = bp.baseAddress!, out = sp.baseAddress!
                    Parallel.forEachChunk(count, maxChunks: chunks) { c, r in out[c] = streamSum(p + r.lowerBound, count: r.count) }
                }
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            sink += sums.reduce(0, +)
        }
        precondition(sink > 0, "the read buffer holds ones")   // keeps the reads from being optimised away
        times.sort()
        return Double(count * MemoryLayout<Float>.stride) / times[times.count / 2] / 1e9
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

/// Σ p[0..<count] with four independent 8-wide accumulators (enough loads in flight to keep
/// the memory bus busy).
private func streamSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 32 <= count {
        a0 += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        a1 += raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
        a2 += raw.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD8<Float>.self)
        a3 += raw.loadUnaligned(fromByteOffset: (i + 24) * 4, as: SIMD8<Float>.self)
        i += 32
    }
    var s = (a0 + a1 + a2 + a3).sum()
    while i < count { s += p[i]; i += 1 }
    return s
}
