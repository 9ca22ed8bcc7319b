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

    @Option(name: .long, parsing: .upToNextOption, help: "Temperatures τ to evaluate (\(temperatureRangeHelp); 'trained' = each layer's own).",
            transform: Temperature.parse)
    var tau: [Temperature] = [Temperature(nil)]

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("τ for single layers, overriding --tau (e.g. layer3.1.conv=0.5).", valueName: "name=τ"),
            transform: LayerTemperature.parse)
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
        let (dataset, source, _) = try dataOptions.testSet(for: model.description, quiet: json)
        // Accuracy needs a classifier whose classes cover the labels: refused before any forward
        // pass, by the one check `evaluate` itself runs (headless model, input shape, labels).
        try dataset.checkEvaluable(by: model.description, name: source)
        let total = min(limit ?? dataset.count, dataset.count)
        try checkInferenceMemory(model.description, batch: min(batch, total), name: model.description.family)
        let routing = Dictionary(model.description.dynamicConvolutions.map { ($0.name, $0.routing) },
                                 uniquingKeysWith: { a, _ in a })
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
                if !json { printResult(r, seconds: seconds.last!, source: source, routing: routing) }
            }
        }
        if json {
            try printJSON(EvalJSON(checkpoint: checkpoint, data: source, results: results, seconds: seconds, routing: routing))
        }
        else if results.count > 1 {
            print("summary")
            for r in results {
                print("  τ \((r.temperature.map { formatNumber($0) } ?? "trained").leftPad(7))  "
                      + r.mode.rawValue.rightPad(15) + (r.isScored ? NumberText.percent(r.accuracy, width: 7) : "no labels"))
            }
        }
    }

    /// One τ × mode result: accuracy, speed, and per layer the mean entropy, mean max and mean sum
    /// of the coefficients (π for softmax attention, r for CondConv's sigmoid routing), and the
    /// median entropy over the images.
    func printResult(_ r: EvaluationResult, seconds: Double, source: String, routing: [String: Routing]) {
        let t = r.temperature.map { formatNumber($0) } ?? "trained"
        // Unlabelled images (--image, a flat folder): the attention statistics without accuracy.
        let score = r.isScored ? "accuracy " + NumberText.percent(r.accuracy) + " (\(r.correct)/\(r.images), "
                               : "no labels, attention only (\(r.images) images, "
        print("τ \(t), mode \(r.mode.rawValue): " + score + "\(source), \(NumberText.fixed(seconds, 2)) s, "
              + "\(NumberText.fixed(Double(r.images) / max(seconds, 1e-9), 0)) images/s)")
        var symbol: String?
        let nameWidth = max(16, r.layers.map(\.name.count).max() ?? 0)   // long PyTorch paths stay aligned
        for l in r.layers {
            let s = (routing[l.name] ?? .softmax).coefficientSymbol()
            if s != symbol {
                symbol = s
                print("  " + "layer".rightPad(nameWidth) + " entropy          max \(s)    Σ\(s)  median")
            }
            // The median of the per-image entropy (`--json`'s entropyBox has the whole box).
            print("  " + l.name.rightPad(nameWidth) + " " + NumberText.fixed(l.meanEntropy, 3) + " " + bar(l.meanEntropy, width: 10)
                  + " " + NumberText.fixed(l.meanMaxAttention, 3) + " " + NumberText.fixed(l.meanMass, 2, width: 5)
                  + "  " + (l.entropyBox.map { NumberText.fixed($0.median, 3) } ?? "  —"))
        }
    }
}

/// The `--json` output of `eval` (schema: docs/CLI-JSON.md).
struct EvalJSON: Encodable {
    /// The nearest-rank quantiles of the per-image H/lnK (`EntropyBox`, what `dyconv report`
    /// and the TUI's dataset view draw).
    struct Box: Encodable {
        let p5: JSONNumber, q1: JSONNumber, median: JSONNumber, q3: JSONNumber, p95: JSONNumber
        init(_ b: EntropyBox) {
            p5 = JSONNumber(b.p5); q1 = JSONNumber(b.q1); median = JSONNumber(b.median); q3 = JSONNumber(b.q3); p95 = JSONNumber(b.p95)
        }
    }
    struct Layer: Encodable {
        let name: String, routing: String
        let meanNormalizedEntropy: JSONNumber, meanMaxAttention: JSONNumber, meanAttention: [JSONNumber]
        let meanAttentionSum: JSONNumber
        /// Null when no image had a finite H/lnK (a diverged model).
        let entropyBox: Box?
        /// [class][k]; `[]` for a class with no image; null for unlabelled images.
        let meanAttentionByClass: [[JSONNumber]]?

        enum CodingKeys: String, CodingKey {
            case name, routing, meanNormalizedEntropy, meanMaxAttention, meanAttention, meanAttentionSum, entropyBox, meanAttentionByClass
        }
        func encode(to encoder: Encoder) throws {   // null is written, not left out: every row has the same keys
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(routing, forKey: .routing)
            try c.encode(meanNormalizedEntropy, forKey: .meanNormalizedEntropy)
            try c.encode(meanMaxAttention, forKey: .meanMaxAttention); try c.encode(meanAttention, forKey: .meanAttention)
            try c.encode(meanAttentionSum, forKey: .meanAttentionSum)
            try c.encode(entropyBox, forKey: .entropyBox); try c.encode(meanAttentionByClass, forKey: .meanAttentionByClass)
        }
    }
    struct Row: Encodable {
        /// `correct` and `accuracy` are null for unlabelled images.
        let temperature: JSONNumber?, mode: String, images: Int, correct: Int?, accuracy: JSONNumber?
        let seconds: JSONNumber, layers: [Layer]

        enum CodingKeys: String, CodingKey { case temperature, mode, images, correct, accuracy, seconds, layers }
        func encode(to encoder: Encoder) throws {   // temperature: null (trained) is written, not left out
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(temperature, forKey: .temperature); try c.encode(mode, forKey: .mode)
            try c.encode(images, forKey: .images); try c.encode(correct, forKey: .correct)
            try c.encode(accuracy, forKey: .accuracy); try c.encode(seconds, forKey: .seconds)
            try c.encode(layers, forKey: .layers)
        }
    }
    let checkpoint: String
    let data: String
    let results: [Row]
    init(checkpoint: String, data: String, results: [EvaluationResult], seconds: [Double], routing: [String: Routing]) {
        self.checkpoint = checkpoint
        self.data = data
        self.results = zip(results, seconds).map { r, s in
            Row(temperature: r.temperature.map(JSONNumber.init), mode: r.mode.rawValue, images: r.images,
                correct: r.isScored ? r.correct : nil, accuracy: r.isScored ? JSONNumber(r.accuracy) : nil, seconds: JSONNumber(s),
                layers: r.layers.map { l in
                    Layer(name: l.name, routing: (routing[l.name] ?? .softmax).rawValue,
                          meanNormalizedEntropy: JSONNumber(l.meanEntropy), meanMaxAttention: JSONNumber(l.meanMaxAttention),
                          meanAttention: l.meanAttention.json, meanAttentionSum: JSONNumber(l.meanMass),
                          entropyBox: l.entropyBox.map(Box.init), meanAttentionByClass: l.meanAttentionByClass.map { $0.map(\.json) })
                })
        }
    }
}
