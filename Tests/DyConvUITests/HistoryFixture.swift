@testable import DyConvUI

/// A 31-epoch run like the shipped checkpoint's (epochs 0…30, snapshots at 0–5 and every
/// fifth epoch, the final checkpoint = epoch 30), with per-layer H/lnK that falls with depth
/// and epoch: layer l at epoch e has 1 − l·e/600 (the top layer ends at 0.75).
enum HistoryFixture {
    static func entropy(layer l: Int, epoch e: Int) -> Float { Float(1 - Double(l) * Double(e) / 600) }

    static func summary(_ e: Int) -> EpochSummary {
        var map: [String: Float] = [:]
        for (l, name) in Fixture.layerNames.enumerated() { map[name] = entropy(layer: l, epoch: e) }
        let tau: Float = max(30 - Float(e) * 3, 1)
        let acc: Float = 0.5 + Float(e) / 70
        return EpochSummary(epoch: e, epochs: 30, temperature: tau, testAccuracy: acc, layerEntropy: map)
    }

    static let snapshotEpochs = [0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30]

    static var longRun: CheckpointSummary {
        var c = Fixture.dynamic
        c.history = (0...30).map(summary)
        c.epochs = snapshotEpochs.map(summary)
        c.training = summary(30)
        return c
    }
}
