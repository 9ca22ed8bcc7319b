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

    @Option(name: .long, help: "Temperature τ for every dynamic layer, or 'trained'.")
    var tau: Temperature = Temperature(nil)

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("τ for single layers, overriding --tau (e.g. layer3.1.conv=0.5).", valueName: "name=τ"))
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
        let (dataset, source) = try dataOptions.testSet(quiet: json)
        try checkFits(dataset, model, source: source)
        for i in index where i < 0 || i >= dataset.count {
            throw CLIError("--index \(i) is outside the \(dataset.count) images of \(source)")
        }
        let options = ForwardOptions(temperature: tau.value, layerTemperatures: try layerTemperatures(layerTau, model),
                                     mode: mode, seed: seed)
        // shuffle-across: each image borrows the π of its fixed partner in the whole test set.
        let partners = mode == .shuffleAcross ? try ShuffleAcrossPartners(count: dataset.count, seed: seed) : nil
        let trace = model.forward(dataset, indices: index, options: options, partners: partners)
        let classes = model.description.classes
        if json {
            try printJSON(InspectJSON(checkpoint: checkpoint, temperature: tau.value, mode: mode, indices: index,
                                      labels: index.map { dataset.labels[$0] }, classes: classes, trace: trace))
            return
        }
        for (row, i) in index.enumerated() {
            let label = dataset.labels[i]
            let predicted = trace.prediction(sample: row)
            print("image \(i) (\(source)): label \(classes[label]), predicted \(classes[predicted])"
                  + (predicted == label ? "" : "  ✗ wrong"))
            for (c, p) in trace.topK(sample: row, k: 3) {
                print("  \(classes[c].padding(toLength: 12, withPad: " ", startingAt: 0)) \(bar(Double(p), width: 20)) "
                      + String(format: "%6.2f%%", 100 * p))
            }
            if !trace.layers.isEmpty {
                let k = trace.layers[0].kernels
                let header = (0..<k).map { "π\($0 + 1)".leftPad(6) }.joined()
                print("  " + "layer".padding(toLength: 16, withPad: " ", startingAt: 0) + "    τ" + header
                      + "   Σπ  entropy (0 sparse … 1 flat)")
                for layer in trace.layers {
                    let pi = layer.attention(sample: row)
                    let h = layer.entropy[row]
                    print("  " + layer.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                          + formatNumber(layer.temperature).leftPad(5)
                          + pi.map { String(format: "%6.3f", $0) }.joined()
                          + String(format: "%6.3f", pi.reduce(0, +))
                          + String(format: "  %.3f ", h) + bar(Double(h), width: 12))
                }
                if let partners {
                    print("  (mode shuffle-across: the kernels were mixed with the π of image \(partners.partner(of: i)), this image's partner; π above is the computed attention)")
                } else if mode != .attention {
                    print("  (mode \(mode.rawValue): the kernels were mixed with modified coefficients; π above is the computed attention)")
                }
            }
            if row < index.count - 1 { print("") }
        }
    }
}

extension String {
    /// Right-aligns to `width` characters.
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// The `--json` output of `inspect`.
struct InspectJSON: Encodable {
    struct Layer: Encodable {
        let name: String, routing: String, kernels: Int, temperature: Float
        let logits: [Float], attention: [Float], applied: [Float], entropy: Float
    }
    struct Image: Encodable {
        let index: Int, label: Int, labelName: String, predicted: Int, predictedName: String
        let probabilities: [Float], logits: [Float], layers: [Layer]
    }
    let checkpoint: String
    let temperature: String
    let mode: String
    let images: [Image]

    init(checkpoint: String, temperature: Float?, mode: AggregationMode, indices: [Int], labels: [Int],
         classes: [String], trace: ForwardTrace) {
        self.checkpoint = checkpoint
        self.temperature = temperature.map { formatNumber($0) } ?? "trained"
        self.mode = mode.rawValue
        let c = trace.classCount
        images = indices.enumerated().map { row, i in
            let pred = trace.prediction(sample: row)
            return Image(index: i, label: labels[row], labelName: classes[labels[row]], predicted: pred,
                         predictedName: classes[pred],
                         probabilities: Array(trace.probabilities.data[(row * c)..<((row + 1) * c)]),
                         logits: Array(trace.logits.data[(row * c)..<((row + 1) * c)]),
                         layers: trace.layers.map { l in
                             Layer(name: l.name, routing: l.routing.rawValue, kernels: l.kernels,
                                   temperature: l.temperature, logits: Array(l.logits(sample: row)),
                                   attention: Array(l.attention(sample: row)), applied: Array(l.applied(sample: row)),
                                   entropy: l.entropy[row])
                         })
        }
    }
}
