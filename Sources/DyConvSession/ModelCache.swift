import DyConvEngine
import DyConvData
import DyConvUI

/// A checkpoint the session has opened: its final model, and its training snapshots, whose
/// models are read on first use (opening lists them from their headers only).
final class OpenedCheckpoint {
    let summary: CheckpointSummary
    let path: String
    let model: Model
    /// Snapshot files, in `summary.epochs` order.
    let snapshotPaths: [String]
    /// Snapshot models loaded so far, by index into `snapshotPaths`.
    private var snapshotModels: [Int: Model] = [:]

    init(summary: CheckpointSummary, path: String, model: Model, snapshotPaths: [String]) {
        self.summary = summary; self.path = path; self.model = model; self.snapshotPaths = snapshotPaths
    }

    /// The model of snapshot `epoch` (an index into `snapshotPaths`), or the final model for nil.
    ///
    /// A snapshot is read whole once, here, and checked like the final checkpoint at open
    /// (the file may also have changed since it was listed).
    /// - Throws: `SessionError`, `CheckpointError`, `DataError` or `MemoryLimitError`, one line each.
    func model(epoch: Int?, for dataset: ImageDataset) throws -> Model {
        guard let e = epoch else { return model }
        if let m = snapshotModels[e] { return m }
        guard e >= 0, e < snapshotPaths.count else { throw SessionError("no snapshot \(e) in \(path)") }
        let file = snapshotPaths[e]
        let checkpoint = try Checkpoint.read(path: file)
        try dataset.checkCompatible(with: checkpoint.description, name: file, requireLabels: false)
        try Session.checkMemory(checkpoint.description, name: file)
        let m = try checkpoint.makeModel()
        snapshotModels[e] = m
        return m
    }
}
