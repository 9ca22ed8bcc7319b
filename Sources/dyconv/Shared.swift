import ArgumentParser
import DyConvData
import DyConvEngine
import Foundation

/// Options shared by the commands that read images.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder with an MNIST-format dataset (IDX files, raw or .gz).",
                                            valueName: "dir"))
    var data: String?

    @Flag(name: .long, help: "Use the 1000-image sample bundled in assets/ instead of the full test set.")
    var sample = false

    /// The test images: `--data`, else the Debian Fashion-MNIST folder, else the bundled sample.
    func testSet(quiet: Bool = false) throws -> (dataset: ImageDataset, source: String) {
        if sample { return (try FashionMNIST.loadSample(), "bundled sample") }
        if let data { return (try FashionMNIST.load(.test, directory: data), data) }
        if FashionMNIST.isAvailable(.test) {
            return (try FashionMNIST.load(.test), FashionMNIST.defaultDirectory)
        }
        if !quiet {
            FileHandle.standardError.write(Data(
                "dyconv: note: \(FashionMNIST.defaultDirectory) not found, using the bundled 1000-image sample\n".utf8))
        }
        return (try FashionMNIST.loadSample(), "bundled sample")
    }
}

/// Loads a checkpoint and builds its model.
func loadModel(_ path: String) throws -> (Checkpoint, Model) {
    let checkpoint = try Checkpoint.read(path: path)
    do {
        return (checkpoint, try checkpoint.makeModel())
    } catch let e as ModelDescriptionError {
        throw CLIError("\(path): \(e.message)")
    }
}

/// Checks that a dataset's images fit a model's input.
func checkFits(_ dataset: ImageDataset, _ model: Model, source: String) throws {
    let i = model.description.input
    guard dataset.channels == i.channels, dataset.height == i.height, dataset.width == i.width else {
        throw CLIError("\(source): images are \(dataset.channels)×\(dataset.height)×\(dataset.width), "
            + "the model takes \(i.channels)×\(i.height)×\(i.width)")
    }
}

extension AggregationMode: ExpressibleByArgument {}

/// Parses τ values: positive finite numbers, or `trained`.
struct Temperature: ExpressibleByArgument, CustomStringConvertible {
    /// nil = each layer's trained τ.
    let value: Float?
    init?(argument: String) {
        if argument == "trained" { value = nil; return }
        guard let v = Float(argument), v.isFinite, v > 0 else { return nil }
        value = v
    }
    init(_ value: Float?) { self.value = value }
    var description: String { value.map { formatNumber($0) } ?? "trained" }
}

/// A compact number: 1, 0.5, 2.25, 30.
func formatNumber(_ v: Float) -> String {
    if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
    return String(format: "%.3g", Double(v))
}

/// Prints a JSON-encodable value, pretty and key-sorted.
func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try enc.encode(value), as: UTF8.self))
}

/// A one-line progress bar on stderr when it is a terminal; silent otherwise.
struct ProgressBar {
    let label: String
    let enabled = isatty(2) != 0
    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done)/\(total)".utf8))
    }
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// A fixed-width horizontal bar for a value in [0, 1].
func bar(_ value: Double, width: Int) -> String {
    let v = min(max(value, 0), 1)
    let eighths = Int((v * Double(width * 8)).rounded())
    let full = eighths / 8, rest = eighths % 8
    let parts = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    var s = String(repeating: "█", count: full)
    if full < width { s += parts[rest] }
    return s.padding(toLength: width, withPad: " ", startingAt: 0)
}

/// A per-layer temperature `NAME=T` (e.g. `layer3.1.conv=0.5`).
struct LayerTemperature: ExpressibleByArgument {
    let layer: String
    let value: Float
    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let v = Float(parts[1]), v.isFinite, v > 0 else { return nil }
        layer = parts[0]; value = v
    }
}

/// The per-layer τ dictionary, checking that every layer exists in the model.
func layerTemperatures(_ list: [LayerTemperature], _ model: Model) throws -> [String: Float] {
    let names = Set(model.dynamicLayerNames)
    var out: [String: Float] = [:]
    for t in list {
        guard names.contains(t.layer) else {
            throw CLIError("--layer-tau: the model has no dynamic layer '\(t.layer)' (it has \(model.dynamicLayerNames.joined(separator: ", ")))")
        }
        out[t.layer] = t.value
    }
    return out
}
