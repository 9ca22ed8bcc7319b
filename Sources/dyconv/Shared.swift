import ArgumentParser
import DyConvData
import DyConvEngine
import Foundation

/// Options shared by the commands that read images.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of images: IDX files (any names, raw or .gz), CIFAR-10/100 binary batches, an ImageFolder tree (one sub-folder per class) or a flat folder of images (unlabelled). Default, as dyconv-tui: the Fashion-MNIST test set in /usr/share/datasets/fashion-mnist when installed, else the 1000-image sample bundled in assets/.",
                                            valueName: "dir"))
    var data: String?

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Image files (PNG, JPEG, PPM/PGM), unlabelled; resized and centre-cropped to the model's input.", valueName: "file"))
    var image: [String] = []

    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("With --data or --image: resize the shorter side to N before the centre crop, as torchvision's Resize(N) (e.g. 256 for a 224 input). Default: only images of another size, to the input's larger side.", valueName: "n"))
    var resize: Int?

    @Flag(name: .long, help: "Use the 1000-image sample bundled in assets/ instead of the full test set.")
    var sample = false

    func validate() throws {
        if resize != nil && data == nil && image.isEmpty { throw ValidationError("--resize applies to --data or --image images; give one of them") }
        // Two sources would silently mean one of them: say which to drop.
        let given = [data != nil ? "--data" : nil, image.isEmpty ? nil : "--image", sample ? "--sample" : nil].compactMap { $0 }
        if given.count > 1 { throw ValidationError("\(given.joined(separator: " and ")) exclude each other: give one of them") }
    }

    /// The images for `model`: `--image` files or the `--data` folder (`DatasetDiscovery`, resized
    /// to the model's input, labels matched to its classes), else `FashionMNIST.loadDefaultTestSet`
    /// (the Debian Fashion-MNIST folder, else the bundled sample). Notes and the label-matching warning go to stderr
    /// (notes only when not `quiet`). `source` says where the images were read from (for messages
    /// about the data); `name` is what a report calls them: "Fashion-MNIST test" for the default
    /// set wherever it is installed, so a report made on another machine reads the same.
    func testSet(for description: ModelDescription, quiet: Bool = false) throws -> (dataset: ImageDataset, source: String, name: String) {
        if sample { return (try FashionMNIST.loadSample(), "bundled sample", "bundled sample") }
        let found: DiscoveredDataset
        if let data {
            found = try DatasetDiscovery.load(directory: data, input: description.input, resizeShorterSide: resize)
        } else if !image.isEmpty {
            found = try DatasetDiscovery.load(imageFiles: image, input: description.input, resizeShorterSide: resize)
        } else {
            // The one default shared with dyconv-tui: the full test set, else the sample.
            let set = try FashionMNIST.loadDefaultTestSet()
            if let text = set.note, !quiet { note(text) }
            return (set.dataset, set.source, set.name)
        }
        let (dataset, match) = try found.matched(to: description.classes)
        if !quiet {
            for line in found.notes { note(line) }
            if match == .byName { note("labels of \(found.summary) matched to the model's classes by name") }
        }
        if case .byIndex(let warning?) = match { printWarning(warning) }
        let name = data ?? found.summary
        return (dataset, name, name)
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data("dyconv: note: \(text)\n".utf8))
    }
}

/// One warning line on stderr: "dyconv: warning: TEXT".
func printWarning(_ text: String) {
    FileHandle.standardError.write(Data("dyconv: warning: \(text)\n".utf8))
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

/// A τ from the command line: a number inside `Limits.temperature`, or `trained`.
///
/// Parsed with `Temperature.parse` (`@Option(transform:)`), so an out-of-range τ is refused with
/// the range and the flag's name before anything runs: a τ of 1e-40 passes `> 0 && isFinite` but
/// turns every softmax into NaN.
struct Temperature: CustomStringConvertible {
    /// nil = each layer's trained τ.
    let value: Float?
    init(_ value: Float?) { self.value = value }
    var description: String { value.map { formatNumber($0) } ?? "trained" }

    /// `trained`, or a number inside `Limits.temperature`.
    static func parse(_ argument: String) throws -> Temperature {
        if argument == "trained" { return Temperature(nil) }
        return Temperature(try parseTemperatureValue(argument))
    }
}

/// "0.0001 to 100000": `Limits.temperature` for help texts.
let temperatureRangeHelp = "\(formatNumber(Limits.temperature.lowerBound)) to \(formatNumber(Limits.temperature.upperBound))"

/// A τ number inside `Limits.temperature`; throws `Limits.temperatureRangeText` otherwise.
func parseTemperatureValue(_ text: String) throws -> Float {
    guard let v = Float(text), Limits.isValidTemperature(v) else { throw CLIError(Limits.temperatureRangeText) }
    return v
}

/// A one-line progress bar on stderr when it is a terminal; silent otherwise.
struct ProgressBar {
    let label: String
    let enabled = isatty(2) != 0
    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let width = 30
        let filled = total > 0 ? min(width, max(0, width * min(done, total) / total)) : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done)/\(total)".utf8))
    }
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// A per-layer temperature `NAME=T` (e.g. `layer3.1.conv=0.5`), T inside `Limits.temperature`.
struct LayerTemperature {
    let layer: String
    let value: Float

    /// `NAME=T`; throws naming what is wrong (parsed with `@Option(transform:)`).
    static func parse(_ argument: String) throws -> LayerTemperature {
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else { throw CLIError("expected NAME=τ, e.g. layer3.1.conv=0.5") }
        return LayerTemperature(layer: parts[0], value: try parseTemperatureValue(parts[1]))
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

/// What a model's output is, for printing: its shape per image and its class names.
///
/// A headless network (`classes: []`, docs/CHECKPOINT.md §4.1) or one that ends in an image has
/// no classes to predict; a dataset label may be beyond the model's classes. Names are looked up
/// only through `name(_:)`, never by indexing with a label or a prediction.
struct ModelOutput {
    /// The output shape of one image, e.g. `[10]` or `[32, 7, 7]`.
    let shape: [Int]
    let classes: [String]
    /// Whether the model predicts one of `classes` (`ModelDescription.isClassifier`).
    let isClassifier: Bool

    init(_ description: ModelDescription) {
        classes = description.classes
        shape = description.outputShape
        isClassifier = description.isClassifier
    }

    /// The predicted class of a sample: nil for a headless network, or when a probability is NaN
    /// (a prediction from NaN would be an arbitrary class).
    func prediction(_ trace: ForwardTrace, sample n: Int) -> Int? {
        guard isClassifier else { return nil }
        let c = trace.classCount
        guard trace.probabilities.data[(n * c)..<((n + 1) * c)].allSatisfy(\.isFinite) else { return nil }
        return trace.prediction(sample: n)
    }

    /// The name of class `i`, or nil when the model has no such class.
    func name(_ i: Int) -> String? { classes.indices.contains(i) ? classes[i] : nil }

    /// "Ankle boot", or "7 (no class name)".
    func text(_ i: Int) -> String { name(i) ?? "\(i) (no class name)" }

    /// Why a non-classifier has no prediction: "no classes" or "its output 32×7×7 is not one value
    /// per class".
    var headlessReason: String {
        classes.isEmpty ? "no classes" : "its output \(shapeText) is not one value per class"
    }

    /// "32×7×7".
    var shapeText: String { shape.map(String.init).joined(separator: "×") }
}

/// Refuses a batch of `batch` images whose forward pass would need more than `Limits.memoryBudget`.
func checkInferenceMemory(_ description: ModelDescription, batch: Int, name: String) throws {
    try Limits.checkMemory(description.estimatedInferenceBytes(batch: batch, threads: Parallel.threads),
                           for: "batch \(batch) of \(name)")
}

