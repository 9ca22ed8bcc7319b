import ArgumentParser
import DyConvEngine
import DyConvTraining
import Foundation

/// `dyconv compact-snapshots`: rewrite a folder of training snapshots as `dyconv train
/// --snapshots` writes them now: F16 tensors, only the epochs `SnapshotRetention` keeps, each
/// kept snapshot's training record carrying the figures of every epoch up to its own.
struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact-snapshots",
        abstract: "Rewrite training snapshots in F16, keeping the epochs dyconv train keeps.",
        discussion: """
            Reads every DIR/epoch-NNN.safetensors and writes the kept epochs to --out with \
            their numbering: every epoch while τ anneals (from the run's dyconv.recipe), then \
            every --every-th, and the last. The figures of the dropped epochs (τ, loss, \
            accuracies, entropy) go into the kept snapshots' training records, so the \
            visualizer's history is unchanged. A tensor F16 cannot hold stays F32 \
            (docs/CHECKPOINT.md). Weights are rounded, nothing is retrained.
            """)

    @Argument(help: ArgumentHelp("Folder of epoch-NNN.safetensors snapshots.", valueName: "dir"))
    var source: String

    @Option(name: .long, help: ArgumentHelp("Folder to write the kept snapshots to (created; must hold no snapshots yet).", valueName: "dir"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("After τ has annealed, keep every N-th epoch (default: \(SnapshotRetention.defaultEvery)).", valueName: "n"))
    var every: Int = SnapshotRetention.defaultEvery

    func validate() throws {
        guard (1...SnapshotRetention.maxEvery).contains(every) else {
            throw ValidationError("--every must be in 1...\(SnapshotRetention.maxEvery), got \(every)")
        }
        let a = URL(fileURLWithPath: source).standardizedFileURL.path, b = URL(fileURLWithPath: out).standardizedFileURL.path
        guard a != b else { throw ValidationError("--out must be another folder than \(source)") }
    }

    func run() throws {
        // The snapshots, by epoch: the file name's epoch must be its record's.
        var byEpoch: [Int: (path: String, checkpoint: Checkpoint)] = [:]
        let names = try Self.snapshotNames(in: source)
        guard !names.isEmpty else { throw CLIError("\(source): no epoch-NNN.safetensors snapshots") }
        for (epoch, name) in names {
            let path = Files.join(source, name)
            let checkpoint = try Checkpoint.read(path: path)
            guard let record = checkpoint.training else { throw CLIError("\(path): no training record (dyconv.training)") }
            guard record.epoch == epoch else { throw CLIError("\(path): its training record says epoch \(record.epoch)") }
            byEpoch[epoch] = (path, checkpoint)
        }
        let last = byEpoch.keys.max()!
        guard let recipeText = byEpoch[last]!.checkpoint.metadata["dyconv.recipe"] else {
            throw CLIError("\(byEpoch[last]!.path): no dyconv.recipe metadata, so when τ stops annealing is unknown")
        }
        let recipe: TrainingConfig
        do { recipe = try TrainingConfig.fromJSON(recipeText) } catch {
            throw CLIError("\(byEpoch[last]!.path): dyconv.recipe does not decode: \(error)")
        }
        let retention = SnapshotRetention(config: recipe, every: every)

        // Every epoch's figures: each snapshot's own record, then what their histories add.
        var history: [Int: TrainingRecord.Epoch] = [:]
        for (_, snap) in byEpoch {
            for e in snap.checkpoint.training?.history ?? [] where e.epoch >= 1 && history[e.epoch] == nil { history[e.epoch] = e }
        }
        for (epoch, snap) in byEpoch where epoch >= 1 {
            // τ lives in the layers (a network without attention has none; 1 stands in).
            history[epoch] = snap.checkpoint.training!.asEpoch(temperature: snap.checkpoint.description.trainedTemperature ?? 1)
        }

        do { try Files.createDirectories(out) } catch { throw CLIError("--out: \(error)") }
        if let existing = try Self.snapshotNames(in: out).first {
            throw CLIError("--out \(out) already holds \(existing.name); give an empty folder")
        }
        let files = RunFiles(checkpoint: Files.join(out, "unused.safetensors"), snapshots: out)
        var total = 0
        for epoch in byEpoch.keys.sorted() where retention.keeps(epoch: epoch) {
            var checkpoint = byEpoch[epoch]!.checkpoint
            let upTo = history.keys.sorted().filter { $0 <= epoch }.map { history[$0]! }
            checkpoint.training!.history = upTo.isEmpty ? nil : upTo
            let path = files.snapshot(epoch: epoch)!
            try files.writeSnapshot(checkpoint, path: path)
            let size = (try? Files.InputFile(path: path).size) ?? 0
            total += size
            print("\(path)  \(Limits.formatBytes(size))")
        }
        let kept = byEpoch.keys.filter(retention.keeps).count
        print("kept \(kept) of \(byEpoch.count) snapshots, \(Limits.formatBytes(total)) in all")
    }

    /// The `epoch-NNN.safetensors` names in `folder`, by epoch.
    static func snapshotNames(in folder: String) throws -> [(epoch: Int, name: String)] {
        guard let names = Files.entries(of: folder) else {
            throw CLIError("\(folder): cannot list the folder")
        }
        return names.compactMap { name in Snapshots.epoch(fileName: name).map { ($0, name) } }.sorted { $0.0 < $1.0 }
    }
}
