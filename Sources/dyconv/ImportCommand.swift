import ArgumentParser
import DyConvEngine
import DyConvImport
import Foundation

/// `dyconv import`: a PyTorch checkpoint of a known layout (or described by a mapping file) →
/// a dyconv checkpoint. docs/IMPORT.md walks through each preset.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a PyTorch checkpoint (.pth or .safetensors state_dict) into a dyconv checkpoint.",
        discussion: """
            Presets: \(ImportPresets.all.map { "\($0.name) — \($0.summary)" }.joined(separator: "; ")). \
            Any other network: --from mapping.json (an architecture and tensor renames, docs/IMPORT.md). \
            Widths, K, attention sizes and the class count come from the tensors; a missing, \
            unexpected or mis-shaped tensor is named. The output is written atomically.
            """)

    @Argument(help: ArgumentHelp("The PyTorch checkpoint: a torch.save file (.pth, a zip) or a safetensors state_dict.",
                                 valueName: "src"))
    var source: String

    @Option(name: .customLong("from"),
            help: ArgumentHelp("A preset (\(ImportPresets.namesText)) or a mapping .json file.", valueName: "preset|mapping.json"))
    var from: String

    @Option(name: .long, help: ArgumentHelp("Input image shape the network was trained on, e.g. 3x32x32.", valueName: "CxHxW"))
    var input: String

    @Option(name: .long, help: ArgumentHelp("Per-channel mean of the input normalisation on [0, 1] pixels.", valueName: "a,b,c"))
    var mean: String

    @Option(name: .long, help: ArgumentHelp("Per-channel standard deviation of the input normalisation.", valueName: "a,b,c"))
    var std: String

    @Option(name: .long, help: ArgumentHelp("Text file with one class name per line (default: class 0, class 1, …).", valueName: "file"))
    var classes: String?

    @Option(name: .long, help: ArgumentHelp("τ of every dynamic layer (the state_dict has none; default: the preset's, 1 for a trained kaijieshi7 model), \(temperatureRangeHelp).", valueName: "T"))
    var tau: String?

    @Option(name: .long, help: ArgumentHelp("softmax (DyConv) or sigmoid (CondConv), for the dyconv preset whose tensors cannot tell (default softmax).", valueName: "routing"))
    var routing: String?

    @Option(name: .long, help: ArgumentHelp("The dyconv checkpoint to write (.safetensors).", valueName: "out"))
    var out: String

    func run() throws {
        let spec = try ImportOptions.parseInput(input)
        let normalization = try ImportOptions.normalization(
            mean: ImportOptions.parseNumbers(mean, flag: "--mean"),
            std: ImportOptions.parseNumbers(std, flag: "--std", positive: true), channels: spec.channels)
        var options = ImportOptions(input: spec, normalization: normalization)
        if let tau {
            do { options.temperature = try parseTemperatureValue(tau) } catch { throw CLIError("--tau: \(error)") }
        }
        if let routing {
            guard let r = Routing(rawValue: routing), r != .static else {
                throw CLIError("--routing: '\(routing)' is not softmax or sigmoid")
            }
            options.routing = r
        }
        if let classes { options.classes = try ImportOptions.readClasses(path: classes) }

        let checkpoint: Checkpoint
        if let preset = ImportPresets.named(from) {
            checkpoint = try Importer.run(source: source, preset: preset, options: options)
        } else if from.hasSuffix(".json") || Files.isRegularFile(from) {
            if options.routing != nil { throw CLIError("--routing: a mapping's architecture sets each layer's routing") }
            checkpoint = try Importer.run(source: source, mapping: try ImportMapping.read(path: from), options: options)
        } else {
            throw CLIError("--from: '\(from)' is neither a preset (\(ImportPresets.namesText)) nor a mapping .json file")
        }
        try checkpoint.write(path: out)

        let d = checkpoint.description
        let dynamic = d.dynamicConvolutions
        let kernels = Set(dynamic.map(\.kernels)).sorted().map(String.init).joined(separator: "/")
        let parameters = checkpoint.tensors.values.reduce(0) { $0 + $1.count }
        print("wrote \(out): \(d.family), input \(d.input.channels)×\(d.input.height)×\(d.input.width), "
              + "\(d.classes.count) classes, \(dynamic.count) dynamic layers"
              + (dynamic.isEmpty ? "" : " (K=\(kernels), τ \(formatNumber(dynamic[0].attention?.temperature ?? 1)))")
              + ", \(parameters) parameters")
    }
}
