import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

#if canImport(Glibc)
import Glibc
#endif

/// Which epochs keep a snapshot, and what the trainer writes into the snapshot folder.
final class SnapshotRetentionTests: XCTestCase {
    /// Oracle: the rule as docs/TRAINING.md states it — every epoch while τ anneals
    /// (0…⌈τ-epochs⌉), then the multiples of `every`, and always the last — worked out by hand.
    func testKeptEpochs() {
        XCTAssertEqual(SnapshotRetention(epochs: 30, temperatureEpochs: 5).keptEpochs, [0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30],
                       "the shipped recipe: 11 of 31")
        XCTAssertEqual(SnapshotRetention(epochs: 30, temperatureEpochs: 5, every: 3).keptEpochs,
                       [0, 1, 2, 3, 4, 5, 6, 9, 12, 15, 18, 21, 24, 27, 30])
        XCTAssertEqual(SnapshotRetention(epochs: 7, temperatureEpochs: 2.5, every: 3).keptEpochs, [0, 1, 2, 3, 6, 7],
                       "a fractional τ span keeps the epoch in which τ reaches its end")
        XCTAssertEqual(SnapshotRetention(epochs: 12, temperatureEpochs: 0, every: 5).keptEpochs, [0, 5, 10, 12],
                       "no annealing: the untrained model, the samples and the last")
        XCTAssertEqual(SnapshotRetention(epochs: 4, temperatureEpochs: 10, every: 5).keptEpochs, [0, 1, 2, 3, 4],
                       "annealing longer than the run keeps every epoch")
        XCTAssertEqual(SnapshotRetention(epochs: 9, temperatureEpochs: 3, every: 1).keptEpochs, Array(0...9), "every 1 keeps all")
        XCTAssertEqual(SnapshotRetention(epochs: 3, temperatureEpochs: .infinity).keptEpochs, [0, 3],
                       "an unvalidated τ span does not trap")
        var config = TrainingConfig()
        config.epochs = 13
        config.temperatureEpochs = 1
        XCTAssertEqual(SnapshotRetention(config: config, every: 4).keptEpochs, [0, 1, 4, 8, 12, 13])
    }

    /// A run writes snapshots only for the kept epochs, in F16, and the final checkpoint (F32)
    /// and every snapshot carry the figures of all finished epochs. Oracle: the retention rule,
    /// the dtypes in the files' headers, and the trainer's own `history`.
    func testRunWritesKeptEpochsInHalfPrecisionWithTheWholeHistory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-retention-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = try syntheticDataset(count: 12, seed: 3)
        var config = tinyConfig(threads: 1, epochs: 5, batch: 6)   // τ anneals over 1 epoch
        config.temperatureEpochs = 1
        var files = RunFiles(checkpoint: dir.appendingPathComponent("m.safetensors").path,
                             snapshots: dir.appendingPathComponent("snaps").path)
        files.snapshotEvery = 2
        try files.preflight()
        let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
        try files.writeSnapshot(trainer.initialCheckpoint().checkpoint, path: files.snapshot(epoch: 0)!)
        while !trainer.isFinished { trainer.runEpoch(); try files.saveEpoch(trainer) }

        let written = try FileManager.default.contentsOfDirectory(atPath: files.snapshots!).sorted()
        XCTAssertEqual(written, [0, 1, 2, 4, 5].map { String(format: "epoch-%03d.safetensors", $0) })
        XCTAssertEqual(SnapshotRetention(config: config, every: 2).keptEpochs, [0, 1, 2, 4, 5])

        func dtypes(_ path: String) throws -> Set<String> {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var n = 0
            for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
            let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
            return Set(header.compactMap { ($0.value as? [String: Any])?["dtype"] as? String })
        }
        XCTAssertEqual(try dtypes(files.snapshot(epoch: 4)!), ["F16"])
        XCTAssertEqual(try dtypes(files.checkpoint), ["F32"], "the final checkpoint stays F32")

        let expected = trainer.history.map { $0.epoch }
        XCTAssertEqual(expected, [1, 2, 3, 4, 5])
        let final = try Checkpoint.read(path: files.checkpoint)
        XCTAssertEqual(final.training?.history?.map(\.epoch), expected)
        for (entry, metrics) in zip(final.training!.history!, trainer.history) {
            XCTAssertEqual(entry.temperature, metrics.temperature)
            XCTAssertEqual(entry.testAccuracy, metrics.testAccuracy)
            XCTAssertEqual(entry.trainAccuracy, metrics.trainAccuracy)
            XCTAssertEqual(entry.loss, metrics.loss)
            XCTAssertEqual(entry.entropy, metrics.entropyByLayer)
        }
        XCTAssertEqual(final.training?.history?.last, final.training?.asEpoch(temperature: final.description.trainedTemperature!), "the last entry is the record's own epoch")
        // The dropped epoch 3 is in the history of the snapshots after it.
        let snap4 = try Checkpoint.read(path: files.snapshot(epoch: 4)!)
        XCTAssertEqual(snap4.training?.history?.map(\.epoch), [1, 2, 3, 4])
        XCTAssertEqual(snap4.training?.history?[2], final.training?.history?[2])
        XCTAssertNil(try Checkpoint.read(path: files.snapshot(epoch: 0)!).training?.history, "epoch 0 has no finished epoch")
    }
}
