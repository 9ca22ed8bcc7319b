import ArgumentParser
import DyConvData
import DyConvEngine
import Foundation

/// `dyconv eval`: test-set accuracy and attention statistics for each τ / mode combination.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Accuracy, mean attention entropy and mean max π per layer, for each τ and aggregation mode.")

    @Argument(help: "A dyconv checkpoint (.safetensors).")
    var checkpoint: String

    @Option(name: .long, parsing: .upToNextOption, help: "Temperatures τ to evaluate ('trained' = each layer's own).")
    var tau: [Temperature] = [Temperature(nil)]

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("τ for single layers, overriding --tau (e.g. layer3.1.conv=0.5).", valueName: "name=τ"))
    var layerTau: [LayerTemperature] = []

    @Option(name: .long, parsing: .upToNextOption,
            help: "Aggregation modes: \(AggregationMode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var mode: [AggregationMode] = [.attention]

    @Option(name: .long, help: "Evaluate only the first N images.")
    var limit: Int?

    @Option(name: .long, help: "Images per forward pass.")
    var batch: Int = 250

    @Option(name: .long, help: "Seed of the shuffle modes.")
    var seed: UInt64 = 0

    @OptionGroup var dataOptions: DataOptions

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let (_, model) = try loadModel(checkpoint)
        let (dataset, source) = try dataOptions.testSet(quiet: json)
        try checkFits(dataset, model, source: source)
        let total = min(limit ?? dataset.count, dataset.count)
        let perLayer = try layerTemperatures(layerTau, model)
        var results: [EvaluationResult] = []
        var seconds: [Double] = []
        for t in tau {
            for m in mode {
                let progress = ProgressBar(label: "τ=\(t) \(m.rawValue)")
                let start = DispatchTime.now().uptimeNanoseconds
                let r = try evaluate(model: model, dataset: dataset,
                                 options: ForwardOptions(temperature: t.value, layerTemperatures: perLayer, mode: m, seed: seed),
                                 limit: total, batchSize: batch) { done, all in
                    progress.update(done, all); return true
                }
                progress.finish()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                results.append(r)
                if !json { printResult(r, seconds: seconds.last!, source: source) }
            }
        }
        if json { try printJSON(EvalJSON(checkpoint: checkpoint, data: source, results: results)) }
        else if results.count > 1 {
            print("summary")
            for r in results {
                print("  τ \((r.temperature.map { formatNumber($0) } ?? "trained").leftPad(7))  "
                      + r.mode.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
                      + String(format: "%6.2f%%", 100 * r.accuracy))
            }
        }
    }

    func printResult(_ r: EvaluationResult, seconds: Double, source: String) {
        let t = r.temperature.map { formatNumber($0) } ?? "trained"
        print("τ \(t), mode \(r.mode.rawValue): accuracy " + String(format: "%.2f%%", 100 * r.accuracy)
              + " (\(r.correct)/\(r.images), \(source), "
              + String(format: "%.2f s, %.0f images/s)", seconds, Double(r.images) / max(seconds, 1e-9)))
        guard !r.layers.isEmpty else { return }
        print("  " + "layer".padding(toLength: 16, withPad: " ", startingAt: 0) + " entropy          max π    Σπ")
        for l in r.layers {
            print("  " + l.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + String(format: " %.3f ", l.meanEntropy) + bar(l.meanEntropy, width: 10)
                  + String(format: " %.3f %5.2f", l.meanMaxAttention, l.meanMass))
        }
    }
}

/// The `--json` output of `eval`.
struct EvalJSON: Encodable {
    struct Row: Encodable {
        let temperature: String, mode: String, images: Int, correct: Int, accuracy: Double
        let layers: [LayerAttentionSummary]
    }
    let checkpoint: String
    let data: String
    let results: [Row]
    init(checkpoint: String, data: String, results: [EvaluationResult]) {
        self.checkpoint = checkpoint
        self.data = data
        self.results = results.map {
            Row(temperature: $0.temperature.map { formatNumber($0) } ?? "trained", mode: $0.mode.rawValue,
                images: $0.images, correct: $0.correct, accuracy: $0.accuracy, layers: $0.layers)
        }
    }
}
