import DyConvEngine

/// Which epochs of a training run keep a snapshot (`dyconv train --snapshots DIR`).
///
/// The rule: every epoch while τ anneals (epochs 0…⌈τ-epochs⌉, the untrained model
/// included), then every `every`-th epoch (those divisible by it), and always the run's last
/// epoch. The shipped recipe (30 epochs, τ over 5, every 5th) keeps 0–5, 10, 15, 20, 25, 30:
/// 11 snapshots instead of 31. Attention changes fastest while τ falls; after that the
/// curves are smooth and a sample tells the same story. The figures of the epochs without a
/// snapshot are not lost: every checkpoint's `TrainingRecord.history` lists all epochs.
/// `every` = 1 keeps every epoch.
public struct SnapshotRetention: Sendable, Equatable {
    /// The epochs of the run.
    public var epochs: Int
    /// The last epoch in which τ still changes (⌈`TrainingConfig.temperatureEpochs`⌉).
    public var annealingEpochs: Int
    /// The sampling interval after annealing, ≥ 1.
    public var every: Int

    /// The default interval after annealing.
    public static let defaultEvery = 5
    /// The largest accepted interval (`TrainingConfig.maxEpochs`).
    public static let maxEvery = TrainingConfig.maxEpochs

    /// The retention of a run of `epochs` epochs whose τ anneals over `temperatureEpochs`.
    /// - Precondition: `every` ≥ 1.
    public init(epochs: Int, temperatureEpochs: Float, every: Int = defaultEvery) {
        precondition(every >= 1, "snapshot interval must be at least 1")
        self.epochs = epochs
        // A validated config has 0 ≤ temperatureEpochs ≤ maxEpochs, so the conversion is safe;
        // the clamp keeps an unvalidated one from trapping.
        let t = temperatureEpochs.rounded(.up)
        self.annealingEpochs = t.isFinite ? Int(Swift.min(Swift.max(t, 0), Float(TrainingConfig.maxEpochs))) : 0
        self.every = every
    }

    /// The retention of the run `config` describes.
    public init(config: TrainingConfig, every: Int = defaultEvery) {
        self.init(epochs: config.epochs, temperatureEpochs: config.temperatureEpochs, every: every)
    }

    /// Whether the snapshot of `epoch` (0 = untrained) is kept.
    public func keeps(epoch: Int) -> Bool {
        epoch <= annealingEpochs || epoch % every == 0 || epoch == epochs
    }

    /// The epochs 0…`epochs` that keep a snapshot, in order.
    public var keptEpochs: [Int] { (0...Swift.max(epochs, 0)).filter(keeps) }
}
