import Foundation
import DyConvEngine
import DyConvData
import DyConvUI

/// Finding the checkpoints to open and their training snapshots.
extension Session {
    /// File names of the bundled checkpoints, in the order they are opened.
    public static let bundledCheckpointNames = ["dycnn-dynamic.safetensors", "dycnn-condconv.safetensors", "dycnn-static.safetensors",
                                                "dyresnet-dynamic.safetensors", "dyresnet-static.safetensors"]

    /// The bundled checkpoints that exist in the assets folder.
    /// - Throws: `SessionError` when the assets folder has none of them.
    public static func bundledCheckpointPaths() throws -> [String] {
        let assets = try Assets.directory()
        let paths = bundledCheckpointNames.map { Files.join(assets, $0) }
            .filter { Files.exists($0) }
        guard !paths.isEmpty else {
            throw SessionError("no CHECKPOINT given and none bundled in \(assets) (looked for \(bundledCheckpointNames.joined(separator: ", "))); pass a checkpoint file")
        }
        return paths
    }

    /// The UI's line for one epoch: the training record, with the τ its layers store.
    static func epochSummary(_ t: TrainingRecord, _ description: ModelDescription) -> EpochSummary {
        EpochSummary(t, temperature: description.trainedTemperature)
    }

    /// Opens a checkpoint file for `dataset`, with the snapshots in its snapshot folder
    /// (`Snapshots.list(for:)`).
    ///
    /// Snapshots are listed from their headers only (`Checkpoint.readMetadata`); one whose
    /// header is broken, whose architecture differs from the checkpoint's or whose batches
    /// would not fit in memory is skipped with a line in `warnings`. Its tensors are read
    /// when it is first shown (`OpenedCheckpoint.model(epoch:for:)`).
    /// - Throws: `CheckpointError`, `DataError` or `MemoryLimitError` for the checkpoint itself.
    static func openCheckpoint(path: String, dataset: ImageDataset, warnings: inout [String]) throws -> OpenedCheckpoint {
        let checkpoint = try Checkpoint.read(path: path)
        try dataset.checkCompatible(with: checkpoint.description, name: path, requireLabels: false)
        try checkMemory(checkpoint.description, name: path)
        let model = try checkpoint.makeModel()
        var epochs: [EpochSummary] = []
        var records: [TrainingRecord] = []
        var snapshotPaths: [String] = []
        for file in Snapshots.list(for: path) {
            do {
                let snap = try Checkpoint.readMetadata(path: file.path)
                guard snap.description.input == checkpoint.description.input,
                      snap.description.classes.count == checkpoint.description.classes.count,
                      snap.description.dynamicConvolutions.map(\.name) == checkpoint.description.dynamicConvolutions.map(\.name)
                else {
                    warnings.append("skipping snapshot \(file.path): its architecture differs from \(path)")
                    continue
                }
                try checkMemory(snap.description, name: file.path)
                let record = snap.training ?? TrainingRecord(epoch: file.epoch, epochs: checkpoint.training?.epochs ?? file.epoch)
                epochs.append(epochSummary(record, snap.description))
                records.append(record)
                snapshotPaths.append(file.path)
            } catch {
                warnings.append("skipping snapshot: \(error)")
            }
        }
        let summary = CheckpointSummary(name: Snapshots.displayName(of: path), description: checkpoint.description, epochs: epochs,
                                        history: CheckpointSummary.history(snapshots: epochs, records: records,
                                                                           final: checkpoint.training),
                                        training: checkpoint.training.map { epochSummary($0, checkpoint.description) })
        return OpenedCheckpoint(summary: summary, path: path, model: model, snapshotPaths: snapshotPaths)
    }
}
