import Foundation
import DyConvEngine
import DyConvData
import DyConvUI

/// Opening a session: every input is checked here, before any screen opens.
extension Session {
    /// Opens checkpoints (the bundled ones when `checkpointPaths` is empty) and images (the
    /// bundled sample, or the Fashion-MNIST test set in `dataDirectory`).
    ///
    /// Every input is checked here, before any screen opens: unreadable or invalid
    /// checkpoints, a missing data directory, images the models cannot take, an index out
    /// of range, a non-positive τ or limit. Snapshots that fail to read are skipped with a
    /// line in `warnings`.
    /// - Throws: `SessionError`, `CheckpointError` or `DataError`, each a one-line message.
    /// `randomFamilies` adds models of those families (`Families.named`) with seeded random
    /// weights (`seed`), for looking at the machinery before any training; given alone, no
    /// bundled checkpoint is opened.
    public static func open(checkpointPaths: [String], dataDirectory: String?, imageIndex: Int? = nil,
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

        let dataset: ImageDataset
        let datasetName: String
        if let dir = dataDirectory {
            guard Files.isDirectory(dir) else {
                throw SessionError("--data \(dir): no such directory")
            }
            dataset = try FashionMNIST.load(.test, directory: dir)
            datasetName = "test set"
        } else {
            dataset = try FashionMNIST.loadSample()
            datasetName = "sample"
        }
        guard dataset.count > 0 else { throw SessionError("the image set has no images") }

        var opened: [OpenedCheckpoint] = []
        for path in paths {
            opened.append(try openCheckpoint(path: path, dataset: dataset, warnings: &warnings))
        }
        for (family, description) in zip(randomFamilies, randomDescriptions) {
            try dataset.checkCompatible(with: description, name: "--random \(family)")
            try checkMemory(description, name: "--random \(family)")
            let model = Model.seededRandom(description, seed: seed)
            let summary = CheckpointSummary(name: "\(family) (random, seed \(seed))", description: description)
            opened.append(OpenedCheckpoint(summary: summary, path: family, model: model, snapshotPaths: []))
        }
        if let i = imageIndex, i < 0 || i >= dataset.count {
            throw SessionError("--index \(i) is out of range: the \(datasetName) has images 0–\(dataset.count - 1)")
        }
        let summary = DatasetSummary(name: datasetName, labels: dataset.labels, classNames: dataset.classNames,
                                     evaluationLimit: limit)
        let state = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: opened.map(\.summary),
                              dataset: summary, imageIndex: imageIndex ?? 0, temperature: temperature)
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

    /// A session over given models and images (for tests and embedding).
    public static func make(models: [(name: String, model: Model)], dataset: ImageDataset, datasetName: String = "images",
                            width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256,
                            limit: Int? = nil) throws -> Session {
        guard !models.isEmpty else { throw SessionError("no model given") }
        guard dataset.count > 0 else { throw SessionError("the image set has no images") }
        for m in models { try dataset.checkCompatible(with: m.model.description, name: datasetName) }
        let opened = models.map {
            OpenedCheckpoint(summary: CheckpointSummary(name: $0.name, description: $0.model.description),
                             path: $0.name, model: $0.model, snapshotPaths: [])
        }
        let summary = DatasetSummary(name: datasetName, labels: dataset.labels, classNames: dataset.classNames,
                                     evaluationLimit: limit)
        let state = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: opened.map(\.summary),
                              dataset: summary)
        return Session(state: state, checkpoints: opened, dataset: dataset)
    }
}
