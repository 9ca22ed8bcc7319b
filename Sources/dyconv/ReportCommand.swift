import ArgumentParser
import DyConvData
import DyConvEngine
import DyConvReport
import Foundation

/// `dyconv report`: the paper's claims measured on a set of checkpoints, written as report.json,
/// report.md and SVG figures (the work is in DyConvReport; this is the command line around it).
///
///   dyconv report assets/dycnn-dynamic.safetensors assets/dycnn-static.safetensors --out out --threads 2
///
/// Progress goes to stderr, one line per evaluation; stdout gets only the summary at the end.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Measure checkpoints (ablation, entropy per layer, τ sweep, snapshots), group them by recipe, and write report.json, report.md and SVG figures.",
        discussion: """
            Each checkpoint is evaluated at its trained τ in every --modes mode (a static model in \
            attention mode only), then in attention mode at each --tau, and each snapshot beside it \
            (X-snapshots/epoch-NNN.safetensors) at its own τ. Checkpoints whose dyconv.recipe is \
            equal but for the seed form one group (mean ± sd over seeds); groups differing only in \
            routing, K or the τ schedule are compared. Files are written atomically into --out.
            """)

    @Argument(help: "dyconv checkpoints (.safetensors) trained by `dyconv train` (imports form groups of their own).")
    var checkpoints: [String]

    @Option(name: .long, help: ArgumentHelp("Folder for report.json, report.md and the figures (created if missing).", valueName: "dir"))
    var out: String

    @OptionGroup var dataOptions: DataOptions

    @Option(name: .long, help: "Evaluate only the first N images.")
    var limit: Int?

    @Option(name: .long, parsing: .upToNextOption, help: "Inference τ sweep in attention mode (\(temperatureRangeHelp)).",
            transform: parseTemperatureValue)
    var tau: [Float] = ReportOptions.defaultTemperatures

    @Option(name: .long, parsing: .upToNextOption,
            help: "Aggregation modes at the trained τ (attention is always included): \(AggregationMode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var modes: [AggregationMode] = ReportOptions.defaultModes

    @Option(name: .long, help: "Seed of the shuffle modes.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Worker threads (default: all cores). The numbers are exactly reproducible for a fixed count.")
    var threads: Int?

    @Flag(name: .long, help: "Do not evaluate the snapshots beside the checkpoints.")
    var noSnapshots = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be in 1...256") }
        if tau.isEmpty { throw ValidationError("--tau needs at least one value") }
        if modes.isEmpty { throw ValidationError("--modes needs at least one mode") }
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        // The output folder is checked before hours of evaluation, not after.
        do { try ReportWriter.checkFolder(out) } catch let e as ReportError { throw CLIError(e.message) }
        let loaded: [LoadedCheckpoint]
        do { loaded = try ReportMeasurement.load(checkpoints, with: loadModel) } catch let e as ReportError { throw CLIError(e.message) }
        let (dataset, source, dataName) = try dataOptions.testSet(for: loaded[0].model.description)
        let batch = 250
        for c in loaded {
            do { try dataset.checkEvaluable(by: c.model.description, name: source) } catch { throw CLIError("\(c.path): \(error)") }
            try checkInferenceMemory(c.model.description, batch: min(batch, dataset.count), name: c.path)
        }
        // ReportOptions keeps each --tau once (`--tau 1 1` is one column).
        let options = ReportOptions(temperatures: tau, modes: modes, seed: seed, limit: limit, batchSize: batch,
                                    snapshots: !noSnapshots)
        func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        do {
            try ReportWriter.prepareFolder(out)
            let report = try ReportMeasurement.measure(loaded, load: loadModel, dataset: dataset, dataName: dataName,
                                                       options: options, progress: warn)
            for w in report.warnings { warn("warning: " + w) }
            let (written, files) = try ReportWriter.write(report, to: out, command: Self.commandLine())
            for g in written.groups {
                // One checkpoint: its binomial standard error; more: the sd over seeds.
                let spread: String
                if let sd = g.accuracy.sd { spread = " ± \(String(format: "%.2f", 100 * sd)) sd" }
                else if g.checkpoints.count == 1, let se = written.checkpoints[g.checkpoints[0]].standardError {
                    spread = " ± \(String(format: "%.2f", 100 * se)) SE"
                } else { spread = "" }
                print("\(g.label): accuracy \(NumberText.percent(g.accuracy.mean))\(spread) over \(g.accuracy.n) checkpoint\(g.accuracy.n == 1 ? "" : "s")")
            }
            let figures = written.figures.count
            print("wrote \(files.count) files to \(out): report.json, report.md and \(figures) figure\(figures == 1 ? "" : "s")")
        } catch let e as ReportError {
            throw CLIError(e.message)
        }
    }

    /// The command line as typed (arguments shell-quoted where needed), for report.md's header.
    static func commandLine() -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=+,:@%")
        let words = ["dyconv"] + CommandLine.arguments.dropFirst().map { word -> String in
            !word.isEmpty && word.allSatisfy(safe.contains) ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        return words.joined(separator: " ")
    }
}
