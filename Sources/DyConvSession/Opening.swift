import Foundation
import DyConvEngine
import DyConvData
import DyConvUI

/// Opening a session: every input is checked here, before any screen opens.
extension Session {
    /// Opens checkpoints (the bundled ones when `checkpointPaths` is empty) and images: the
    /// default test set (`FashionMNIST.loadDefaultTestSet`, as the CLI), the bundled sample
    /// (`useSample`), the dataset in `dataDirectory` (`DatasetDiscovery`: an IDX folder, CIFAR
    /// batches, an ImageFolder tree, a flat folder of images) or the files `imagePaths`
    /// (unlabelled), resized to the first model's input and labelled by its classes
    /// (`DiscoveredDataset.matched(to:)`; a by-index match of differing names is a warning).
    ///
    /// Every input is checked here, before any screen opens: unreadable or invalid
    /// checkpoints, a missing data directory, images the models cannot take, an index out
    /// of range, a non-positive τ or limit. Snapshots that fail to read are skipped with a
    /// line in `warnings`.
    /// - Throws: `SessionError`, `CheckpointError` or `DataError`, each a one-line message.
    /// `randomFamilies` adds models of those families (`Families.named`) with seeded random
    /// weights (`seed`), for looking at the machinery before any training; given alone, no
    /// bundled checkpoint is opened.
    /// `resizeShorterSide` is torchvision's `Resize(S)` for those images (`DatasetDiscovery`).
    public static func open(checkpointPaths: [String], dataDirectory: String?, imagePaths: [String] = [],
                            useSample: Bool = false, resizeShorterSide: Int? = nil, imageIndex: Int? = nil,
                            temperature: Float? = nil, limit: Int? = nil, randomFamilies: [String] = [], seed: UInt64 = 1,
                            width: Int = 120, height: Int = 40,
                            colorMode: ColorMode = .xterm256, warnings: inout [String]) throws -> Session {
        if let t = temperature, !Limits.isValidTemperature(t) {
            throw SessionError("--tau \(t): \(Limits.temperatureRangeText)")
        }
        if let l = limit, l < 1 { throw SessionError("--limit must be at least 1, got \(l)") }
        var randomDescriptions: [ModelDescription] = []
        for family in randomFamilies {
            do { randomDescriptions.append(try Families.named(family)) } catch {
                throw SessionError("--random \(family): \(error)")
            }
        }
        let paths = checkpointPaths.isEmpty && randomFamilies.isEmpty ? try bundledCheckpointPaths() : checkpointPaths
        for p in paths where !Files.exists(p) {
            throw SessionError("\(p): no such checkpoint file")
        }

        // Two sources would silently mean one of them: say which to drop (as the CLI).
        let given = [dataDirectory != nil ? "--data" : nil, imagePaths.isEmpty ? nil : "--image",
                     useSample ? "--sample" : nil].compactMap { $0 }
        if given.count > 1 { throw SessionError("\(given.joined(separator: " and ")) exclude each other: give one of them") }
        let dataset: ImageDataset
        let datasetName: String
        var preparation: String? = nil
        if dataDirectory != nil || !imagePaths.isEmpty {
            // The images are sized and labelled for the first model (the others must agree).
            let reference = try paths.first.map { try Checkpoint.readMetadata(path: $0).description } ?? randomDescriptions[0]
            (dataset, datasetName, preparation) = try openImages(directory: dataDirectory, files: imagePaths,
                                                                 resize: resizeShorterSide, for: reference, warnings: &warnings)
        } else if useSample {
            if resizeShorterSide != nil { throw SessionError("--resize applies to --data or --image images; give one of them") }
            dataset = try FashionMNIST.loadSample()
            datasetName = "bundled sample"
        } else {
            if resizeShorterSide != nil { throw SessionError("--resize applies to --data or --image images; give one of them") }
            // The CLI's default too: the full Fashion-MNIST test set when installed, else the
            // bundled sample, named so the screen says which (its accuracy differs).
            let set = try FashionMNIST.loadDefaultTestSet()
            dataset = set.dataset
            datasetName = set.name
            if let note = set.note {
                warnings.append(note)
                preparation = "full test set not installed"
            }
        }
        guard dataset.count > 0 else { throw SessionError("the image set has no images") }

        var opened: [OpenedCheckpoint] = []
        for path in paths {
            opened.append(try openCheckpoint(path: path, dataset: dataset, warnings: &warnings))
        }
        for (family, description) in zip(randomFamilies, randomDescriptions) {
            try dataset.checkCompatible(with: description, name: "--random \(family)", requireLabels: false)
            try checkMemory(description, name: "--random \(family)")
            let model = Model.seededRandom(description, seed: seed)
            let summary = CheckpointSummary(name: "\(family) (random, seed \(seed))", description: description)
            opened.append(OpenedCheckpoint(summary: summary, path: family, model: model, snapshotPaths: []))
        }
        if let i = imageIndex, i < 0 || i >= dataset.count {
            throw SessionError("--index \(i) is out of range: the \(datasetName) has images 0–\(dataset.count - 1)")
        }
        let state = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: opened.map(\.summary),
                              dataset: datasetSummary(dataset, name: datasetName, limit: limit, note: preparation),
                              imageIndex: imageIndex ?? 0, temperature: temperature)
        return Session(state: state, checkpoints: opened, dataset: dataset)
    }

    /// Refuses a model whose forward pass on one of the session's batches (`batchSize`
    /// images, the dataset view's) would need more than `Limits.memoryBudget`: a stem padding
    /// of 10000 is a valid number but a 25 GB activation, found here instead of by an abort.
    /// - Throws: `MemoryLimitError`, "X: a batch of 100 images needs about 25.7 GB; the limit is …".
    /// In shuffle-across mode the partners' clean pass runs beside the batch, hence twice the images.
    static func checkMemory(_ description: ModelDescription, name: String) throws {
        let batch = 2 * batchSize
        try Limits.checkMemory(description.estimatedInferenceBytes(batch: batch), for: "\(name): a batch of \(batch) images")
    }

    /// A session over given models and images (for tests and embedding); `profileLimit`
    /// overrides how many images the profile pass covers (`DatasetSummary.profileLimit`).
    public static func make(models: [(name: String, model: Model)], dataset: ImageDataset, datasetName: String = "images",
                            width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256,
                            limit: Int? = nil, profileLimit: Int? = nil) throws -> Session {
        guard !models.isEmpty else { throw SessionError("no model given") }
        guard dataset.count > 0 else { throw SessionError("the image set has no images") }
        for m in models { try dataset.checkCompatible(with: m.model.description, name: datasetName, requireLabels: false) }
        let opened = models.map {
            OpenedCheckpoint(summary: CheckpointSummary(name: $0.name, description: $0.model.description),
                             path: $0.name, model: $0.model, snapshotPaths: [])
        }
        var summary = datasetSummary(dataset, name: datasetName, limit: limit)
        if let profileLimit { summary.profileLimit = min(max(profileLimit, 0), dataset.count) }
        let state = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: opened.map(\.summary),
                              dataset: summary)
        return Session(state: state, checkpoints: opened, dataset: dataset)
    }

    /// The images of `--data DIR` or `--image FILE…` for a model described by `reference`:
    /// found, resized and labelled by `DatasetDiscovery`; its notes and any label-matching
    /// warning go to `warnings`. Returns the dataset, its display name (what it is) and how its
    /// images were changed for the model (`DiscoveredDataset.preparation`, shown on screen).
    static func openImages(directory: String?, files: [String], resize: Int?, for reference: ModelDescription,
                           warnings: inout [String]) throws -> (ImageDataset, String, String?) {
        let found = try directory.map { try DatasetDiscovery.load(directory: $0, input: reference.input, resizeShorterSide: resize) }
            ?? DatasetDiscovery.load(imageFiles: files, input: reference.input, resizeShorterSide: resize)
        let (dataset, match) = try found.matched(to: reference.classes)
        warnings.append(contentsOf: found.notes)
        if case .byIndex(let warning?) = match { warnings.append(warning) }
        return (dataset, found.summary, found.preparation)
    }

    /// The UI core's summary of the images: the one place the session fills it.
    ///
    /// Unlabelled images (`--image`, a flat folder) have no labels, so the screen shows no true
    /// class and no right/wrong; `note` says how the images were changed for the model.
    static func datasetSummary(_ dataset: ImageDataset, name: String, limit: Int?, note: String? = nil) -> DatasetSummary {
        DatasetSummary(name: name, count: dataset.count, labels: dataset.labels, classNames: dataset.classNames,
                       evaluationLimit: limit, note: note)
    }
}
