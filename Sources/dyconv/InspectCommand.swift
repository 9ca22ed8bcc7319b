import ArgumentParser
import DyConvData
import DyConvEngine
import Foundation

/// `dyconv inspect`: prediction, top-3 and per-layer attention for chosen images.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the prediction and every dynamic layer's attention π for chosen images.")

    @Argument(help: "A dyconv checkpoint (.safetensors).")
    var checkpoint: String

    @Option(name: .long, parsing: .upToNextOption, help: "Image indices in the test set (default: 0).")
    var index: [Int] = [0]

    @Option(name: .long, help: "Temperature τ for every dynamic layer (\(temperatureRangeHelp)), or 'trained'.", transform: Temperature.parse)
    var tau: Temperature = Temperature(nil)

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("τ for single layers, overriding --tau (e.g. layer3.1.conv=0.5).", valueName: "name=τ"),
            transform: LayerTemperature.parse)
    var layerTau: [LayerTemperature] = []

    @Option(name: .long, help: "Aggregation mode: \(AggregationMode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var mode: AggregationMode = .attention

    @Option(name: .long, help: "Seed of the shuffle modes.")
    var seed: UInt64 = 0

    @OptionGroup var dataOptions: DataOptions

    @Flag(name: .long, help: "Print the trace as JSON.")
    var json = false

    func run() throws {
        let (_, model) = try loadModel(checkpoint)
        let (dataset, source, _) = try dataOptions.testSet(for: model.description, quiet: json)
        try checkFits(dataset, model, source: source)
        for i in index where i < 0 || i >= dataset.count {
            throw CLIError("--index \(i) is outside the \(dataset.count) images of \(source)")
        }
        try checkInferenceMemory(model.description, batch: index.count, name: model.description.family)
        let options = ForwardOptions(temperature: tau.value, layerTemperatures: try layerTemperatures(layerTau, model),
                                     mode: mode, seed: seed)
        // shuffle-across: each image borrows the π of its fixed partner in the whole test set.
        let partners = mode == .shuffleAcross ? try ShuffleAcrossPartners(count: dataset.count, seed: seed) : nil
        let trace = model.forward(dataset, indices: index, options: options, partners: partners)
        let output = ModelOutput(model.description)
        if json {
            try printJSON(InspectJSON(checkpoint: checkpoint, temperature: tau.value, mode: mode, indices: index,
                                      labels: index.map { dataset.label($0) }, output: output, trace: trace,
                                      partners: partners))
            return
        }
        for (row, i) in index.enumerated() {
            let label = dataset.label(i)
            // Unlabelled images (--image, a flat folder) are named by their file, with no label.
            let heading = "image \(i) (\(dataset.imageNames?[i] ?? source))" + (label.map { ": label \(output.text($0))," } ?? ":")
            if output.isClassifier {
                if let predicted = output.prediction(trace, sample: row) {
                    print("\(heading) predicted \(output.text(predicted))"
                          + (label == nil || predicted == label ? "" : "  ✗ wrong"))
                } else {
                    print("\(heading) no prediction (the output is not finite)")
                }
                let top = trace.topK(sample: row, k: 3)
                // One column for the names shown (ImageNet names run long), at least 12 wide.
                let nameWidth = max(12, min(top.map { output.text($0.0).count }.max() ?? 0, 40))
                for (c, p) in top {
                    print("  \(output.text(c).rightPad(nameWidth)) \(bar(Double(p), width: 20)) "
                          + NumberText.percent(Double(p), width: 7))
                }
            } else {
                printHeadless(trace, row: row, heading: heading, output: output)
            }
            printLayers(trace, row: row, partner: partners?.partner(of: i))
            if row < index.count - 1 { print("") }
        }
    }

    /// The output of a network without classes: its shape, range and first values.
    func printHeadless(_ trace: ForwardTrace, row: Int, heading: String, output: ModelOutput) {
        let values = trace.output(sample: row)
        print("\(heading.dropLast()); headless network (\(output.headlessReason)), no prediction")
        let finite = values.filter(\.isFinite)
        let nonFinite = values.count - finite.count
        let mean = finite.isEmpty ? Float.nan : finite.reduce(0, +) / Float(finite.count)
        print("  output \(output.shapeText) (\(values.count) values): min \(NumberText.fixed(finite.min() ?? .nan, 4)), "
              + "max \(NumberText.fixed(finite.max() ?? .nan, 4)), mean \(NumberText.fixed(mean, 4))"
              + (nonFinite > 0 ? ", \(nonFinite) not finite" : ""))
        let shown = values.prefix(8)
        print("  first values: " + shown.map { NumberText.fixed($0, 4) }.joined(separator: " ")
              + (values.count > shown.count ? " …" : ""))
    }

    /// The coefficient table of every dynamic layer: π (softmax) or r (CondConv's sigmoid), their
    /// sum and the normalized entropy. A header is printed again when the routing or K changes.
    /// `partner`: in shuffle-across mode, the image whose π mixed this image's kernels.
    func printLayers(_ trace: ForwardTrace, row: Int, partner: Int?) {
        var current: (Routing, Int)?
        // Imported networks keep their PyTorch module paths (`layer2.0.downsample.0`): the name
        // column is as wide as the longest, at least 16, so the columns stay aligned.
        let nameWidth = max(16, trace.layers.map(\.name.count).max() ?? 0)
        for layer in trace.layers {
            let symbol = layer.routing.coefficientSymbol()
            if current.map({ $0 != (layer.routing, layer.kernels) }) ?? true {
                current = (layer.routing, layer.kernels)
                let header = (0..<layer.kernels).map { "\(symbol)\($0 + 1)".leftPad(6) }.joined()
                print("  " + "layer".rightPad(nameWidth) + "    τ" + header + "   Σ\(symbol)  entropy (0 sparse … 1 flat)")
            }
            let pi = layer.attention(sample: row)
            let h = layer.entropy[row]
            print("  " + layer.name.rightPad(nameWidth) + formatNumber(layer.temperature).leftPad(5)
                  + pi.map { NumberText.fixed($0, 3, width: 6) }.joined()
                  + NumberText.fixed(pi.reduce(0, +), 3, width: 6)
                  + "  " + NumberText.fixed(h, 3) + " " + bar(Double(h), width: 12))
        }
        if mode != .attention, let first = trace.layers.first {
            let symbol = first.routing.coefficientSymbol()
            let how = partner.map { "the \(symbol) of image \($0), this image's fixed partner" } ?? "modified coefficients"
            print("  (mode \(mode.rawValue): the kernels were mixed with \(how); \(symbol) above is this image's computed "
                  + (first.routing == .sigmoid ? "routing)" : "attention)"))
        }
    }
}

/// The `--json` output of `inspect` (schema: docs/CLI-JSON.md).
struct InspectJSON: Encodable {
    struct Layer: Encodable {
        let name: String, routing: String, kernels: Int, temperature: JSONNumber
        let logits: [JSONNumber], attention: [JSONNumber], applied: [JSONNumber], normalizedEntropy: JSONNumber
    }
    struct Image: Encodable {
        let index: Int, label: Int?, labelName: String?, predicted: Int?, predictedName: String?
        let probabilities: [JSONNumber]?, logits: [JSONNumber], layers: [Layer], partner: Int?

        // Explicit nulls: a headless network's image has every key, with null where nothing applies.
        enum CodingKeys: String, CodingKey {
            case index, label, labelName, predicted, predictedName, probabilities, logits, layers, partner
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index); try c.encode(label, forKey: .label)
            try c.encode(labelName, forKey: .labelName); try c.encode(predicted, forKey: .predicted)
            try c.encode(predictedName, forKey: .predictedName)
            try c.encode(probabilities, forKey: .probabilities); try c.encode(logits, forKey: .logits)
            try c.encode(layers, forKey: .layers); try c.encode(partner, forKey: .partner)
        }
    }
    let checkpoint: String
    let temperature: JSONNumber?
    let mode: String
    let outputShape: [Int]
    let classes: [String]
    let images: [Image]

    enum CodingKeys: String, CodingKey { case checkpoint, temperature, mode, outputShape, classes, images }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint, forKey: .checkpoint); try c.encode(temperature, forKey: .temperature)
        try c.encode(mode, forKey: .mode); try c.encode(outputShape, forKey: .outputShape)
        try c.encode(classes, forKey: .classes); try c.encode(images, forKey: .images)
    }

    init(checkpoint: String, temperature: Float?, mode: AggregationMode, indices: [Int], labels: [Int?],
         output: ModelOutput, trace: ForwardTrace, partners: ShuffleAcrossPartners?) {
        self.checkpoint = checkpoint
        self.temperature = temperature.map(JSONNumber.init)
        self.mode = mode.rawValue
        outputShape = output.shape
        classes = output.classes
        let c = trace.classCount
        images = indices.enumerated().map { row, i in
            let pred = output.prediction(trace, sample: row)
            return Image(index: i, label: labels[row], labelName: labels[row].flatMap(output.name), predicted: pred,
                         predictedName: pred.flatMap(output.name),
                         probabilities: output.isClassifier ? trace.probabilities.data[(row * c)..<((row + 1) * c)].json : nil,
                         logits: trace.output(sample: row).json,
                         layers: trace.layers.map { l in
                             Layer(name: l.name, routing: l.routing.rawValue, kernels: l.kernels,
                                   temperature: JSONNumber(l.temperature), logits: l.logits(sample: row).json,
                                   attention: l.attention(sample: row).json, applied: l.applied(sample: row).json,
                                   normalizedEntropy: JSONNumber(l.entropy[row]))
                         },
                         partner: partners?.partner(of: i))
        }
    }
}
