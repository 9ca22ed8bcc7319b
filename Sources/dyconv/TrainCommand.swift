import ArgumentParser
import DyConvData
import DyConvEngine
import DyConvTraining
import Foundation

/// `dyconv train`: train a dycnn or dyresnet model on Fashion-MNIST with temperature annealing.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a dycnn or dyresnet model (dynamic, static or CondConv) on Fashion-MNIST.",
        discussion: """
            Writes the checkpoint atomically at the end of every epoch (FILE), with the exact \
            training state beside it (FILE.state) so that --resume continues a stopped run \
            bit-identically. --snapshots DIR also keeps epochs' checkpoints, in F16 \
            (DIR/epoch-NNN.safetensors, epoch-000 being the untrained model) for the \
            visualizer's training-history view: every epoch while τ anneals, then every \
            --snapshot-every-th epoch, and the last; every checkpoint's training record lists \
            the figures of all epochs. The recipe is described in docs/TRAINING.md.

            The state is written before the checkpoint; if a run is killed between the two, \
            --resume rewrites the checkpoint from the state. Ctrl-C (SIGINT) or SIGTERM stops \
            the run after the current step, saves its exact state, prints how to resume and \
            exits with 130 (SIGINT) or 143 (SIGTERM); a second signal quits at once. A run \
            whose loss becomes NaN or infinite stops at that step (exit 1). With --resume, \
            --epochs sets a new total; other settings given must match the saved run; a \
            finished run prints "already trained N/N epochs" and exits 0.
            """)

    /// The shipped recipe: every option's default (docs/TRAINING.md).
    static let recipe = TrainingConfig()

    // The settings of the run are optional so that `--resume` can tell which were given: given
    // with --resume they must match the saved run (except --epochs, which changes its length).
    @Option(name: .long, help: "dycnn, dycnn-static, dycnn-condconv (6 dynamic layers), or the deeper dyresnet, dyresnet-static, dyresnet-condconv (ResNet-(6·blocks+2)) (default: \(Self.recipe.model)).")
    var model: String?
    @Option(name: .long, help: "Epochs, 1...\(TrainingConfig.maxEpochs) (default: \(Self.recipe.epochs)); with --resume, the run's new total.")
    var epochs: Int?
    @Option(name: .long, help: ArgumentHelp("The checkpoint to write (.safetensors).", valueName: "file"))
    var out: String
    @Option(name: .long, parsing: .upToNextOption, help: "Widths of the three stages, each 1...4096 (default for every family: \(Self.recipe.widths.map(String.init).joined(separator: " ")); dyresnet's planned size is 8 16 32).")
    var widths: [Int] = []   // empty: not given
    @Option(name: .long, help: "BasicBlocks per stage of a dyresnet model, \(TrainingConfig.blocksRange.lowerBound)...\(TrainingConfig.blocksRange.upperBound) (default: \(Self.recipe.blocks), i.e. ResNet-20 with 18 dynamic layers).")
    var blocks: Int?
    @Option(name: .long, help: "Kernels K per dynamic layer, 1...64 (default: \(Self.recipe.kernels)).")
    var kernels: Int?
    @Option(name: .long, help: "Images per step, 2...65536 (default: \(Self.recipe.batchSize)).")
    var batch: Int?
    @Option(name: .long, help: "Peak learning rate, > 0 (default: \(formatNumber(Self.recipe.learningRate))).")
    var lr: Float?
    @Option(name: .long, help: "SGD momentum, 0 ≤ μ < 1 (default: \(formatNumber(Self.recipe.momentum))).")
    var momentum: Float?
    @Flag(name: .long, help: "Plain (not Nesterov) momentum.")
    var noNesterov = false
    @Option(name: .long, help: "Weight decay of conv and linear weights, ≥ 0 (default: \(formatNumber(Self.recipe.weightDecay))).")
    var weightDecay: Float?
    @Option(name: .long, help: "Weight decay of the attention branch, ≥ 0 (default: \(formatNumber(Self.recipe.attentionWeightDecay))).")
    var attentionWeightDecay: Float?
    @Option(name: .long, help: "Learning-rate multiplier of the attention branch, ≥ 0 (default: \(formatNumber(Self.recipe.attentionLRMultiplier))).")
    var attentionLr: Float?
    @Option(name: .long, help: "Attention FC initialisation: kaiming or pytorch (default: \(Self.recipe.attentionInit.rawValue)).")
    var attentionInit: String?
    @Option(name: .long, help: "Learning-rate schedule: cosine, one-cycle or constant (default: \(Self.recipe.schedule.rawValue)).")
    var schedule: String?
    @Option(name: .long, help: "Warm-up epochs, 0 ≤ w < epochs (default: \(formatNumber(Self.recipe.warmupEpochs))).")
    var warmup: Float?
    @Option(name: .long, help: "Temperature τ at the start, 0.0001...100000 (default: \(formatNumber(Self.recipe.temperatureStart))).")
    var tauStart: Float?
    @Option(name: .long, help: "Temperature τ after annealing, 0.0001...100000 (default: \(formatNumber(Self.recipe.temperatureEnd))).")
    var tauEnd: Float?
    @Option(name: .long, help: "Epochs over which τ anneals linearly (updated every iteration) (default: \(formatNumber(Self.recipe.temperatureEpochs))).")
    var tauEpochs: Float?
    @Flag(name: .long, help: "No random horizontal flips.")
    var noFlip = false
    @Option(name: .long, help: "Random shift of up to this many pixels, 0...8 (default: \(Self.recipe.shift)).")
    var shift: Int?
    @Option(name: .long, help: "Seed of initialisation, order and augmentation (default: \(Self.recipe.seed)).")
    var seed: UInt64?
    @Option(name: .long, help: "Worker threads, 1...64 (default: \(Self.recipe.threads); with --resume, the saved run's).")
    var threads: Int?
    @Option(name: .long, help: ArgumentHelp("Folder with Fashion-MNIST IDX files.", valueName: "dir"))
    var data: String = FashionMNIST.defaultDirectory
    @Option(name: .long, help: ArgumentHelp("Also keep epochs' checkpoints (F16) in this folder.", valueName: "dir"))
    var snapshots: String?
    @Option(name: .long, help: ArgumentHelp("With --snapshots: after τ has annealed, keep every N-th epoch, 1...\(SnapshotRetention.maxEvery) (default: \(SnapshotRetention.defaultEvery); 1 keeps all).", valueName: "n"))
    var snapshotEvery: Int?
    @Flag(name: .long, help: "Continue the run saved in FILE.state.")
    var resume = false
    @Option(name: .long, help: "Use only the first N training images, N ≥ 2 (quick experiments).")
    var limitTrain: Int?

    /// The recipe with every given option applied (on `base`: the default recipe or, with
    /// --resume, the saved run's config).
    func config(base: TrainingConfig = Self.recipe) throws -> TrainingConfig {
        var c = base
        if let model { c.model = model }
        if let epochs { c.epochs = epochs }
        if !widths.isEmpty { c.widths = widths }
        if let blocks { c.blocks = blocks }
        if let kernels { c.kernels = kernels }
        if let batch { c.batchSize = batch }
        if let lr { c.learningRate = lr }
        if let momentum { c.momentum = momentum }
        if noNesterov { c.nesterov = false }
        if let weightDecay { c.weightDecay = weightDecay }
        if let attentionWeightDecay { c.attentionWeightDecay = attentionWeightDecay }
        if let attentionLr { c.attentionLRMultiplier = attentionLr }
        if let attentionInit {
            guard let i = AttentionInit(rawValue: attentionInit) else {
                throw ValidationError("--attention-init must be one of \(AttentionInit.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.attentionInit = i
        }
        if let schedule {
            guard let s = LearningRateSchedule(rawValue: schedule) else {
                throw ValidationError("--schedule must be one of \(LearningRateSchedule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.schedule = s
        }
        if let warmup { c.warmupEpochs = warmup }
        if let tauStart { c.temperatureStart = tauStart }
        if let tauEnd { c.temperatureEnd = tauEnd }
        if let tauEpochs { c.temperatureEpochs = tauEpochs }
        if noFlip { c.flip = false }
        if let shift { c.shift = shift }
        if let seed { c.seed = seed }
        if let threads { c.threads = threads }
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        // The other families have a fixed depth; accepting --blocks there would silently train
        // something other than what was asked for.
        if blocks != nil && !TrainingConfig.dyresnetFamilies.contains(c.model) {
            throw ValidationError("--blocks shapes the dyresnet models only; \(c.model) has a fixed depth")
        }
        return c
    }

    /// The options given with --resume that differ from the saved run, as "--widths 8 16 32
    /// (saved: 16 32 64)"; --epochs and --threads may change.
    func conflicts(with saved: TrainingConfig) -> [String] {
        var found: [String] = []
        func check<T: Equatable>(_ flag: String, _ given: T?, _ value: T, _ show: (T) -> String) {
            if let given, given != value { found.append("\(flag) \(show(given)) (saved: \(show(value)))") }
        }
        let text: (Float) -> String = { formatNumber($0) }
        check("--model", model, saved.model) { $0 }
        check("--widths", widths.isEmpty ? nil : widths, saved.widths) { $0.map(String.init).joined(separator: " ") }
        check("--blocks", blocks, saved.blocks) { String($0) }
        check("--kernels", kernels, saved.kernels) { String($0) }
        check("--batch", batch, saved.batchSize) { String($0) }
        check("--lr", lr, saved.learningRate, text)
        check("--momentum", momentum, saved.momentum, text)
        if noNesterov && saved.nesterov { found.append("--no-nesterov (saved: Nesterov momentum)") }
        check("--weight-decay", weightDecay, saved.weightDecay, text)
        check("--attention-weight-decay", attentionWeightDecay, saved.attentionWeightDecay, text)
        check("--attention-lr", attentionLr, saved.attentionLRMultiplier, text)
        check("--attention-init", attentionInit, saved.attentionInit.rawValue) { $0 }
        check("--schedule", schedule, saved.schedule.rawValue) { $0 }
        check("--warmup", warmup, saved.warmupEpochs, text)
        check("--tau-start", tauStart, saved.temperatureStart, text)
        check("--tau-end", tauEnd, saved.temperatureEnd, text)
        check("--tau-epochs", tauEpochs, saved.temperatureEpochs, text)
        if noFlip && saved.flip { found.append("--no-flip (saved: random flips)") }
        check("--shift", shift, saved.shift) { String($0) }
        check("--seed", seed, saved.seed) { String($0) }
        return found
    }

    func validate() throws {
        if !resume { _ = try config() }
        if let limitTrain, limitTrain < 2 { throw ValidationError("--limit-train must be at least 2, got \(limitTrain)") }
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be in 1...64, got \(threads)") }
        if let epochs, !(1...TrainingConfig.maxEpochs).contains(epochs) {
            throw ValidationError("--epochs must be in 1...\(TrainingConfig.maxEpochs), got \(epochs)")
        }
        if let snapshotEvery {
            guard (1...SnapshotRetention.maxEvery).contains(snapshotEvery) else {
                throw ValidationError("--snapshot-every must be in 1...\(SnapshotRetention.maxEvery), got \(snapshotEvery)")
            }
            guard snapshots != nil else { throw ValidationError("--snapshot-every needs --snapshots DIR") }
        }
        if out.isEmpty { throw ValidationError("--out must name a file") }
        let dir = Files.parent(of: out)
        if !Files.isDirectory(dir) {
            throw ValidationError("--out: folder '\(dir)' does not exist")
        }
    }

    /// The command line that continues this run: the same arguments with --resume.
    private var resumeCommand: String {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if !arguments.contains("--resume") { arguments.append("--resume") }
        return (["dyconv"] + arguments).map(shellQuoted).joined(separator: " ")
    }

    func run() throws {
        // Signals are watched from the start; they are acted on between training steps.
        let interrupts = InterruptMonitor()
        var files = RunFiles(checkpoint: out, snapshots: snapshots)
        if let snapshotEvery { files.snapshotEvery = snapshotEvery }
        if ProcessInfo.processInfo.environment["DYCONV_TEST_KILL_AFTER_STATE"] == "1" {
            // Test hook (system-tests/cli/train_faults_test.sh): die between the state and the checkpoint.
            files.afterStateWritten = { kill(getpid(), SIGKILL) }
        }
        // Before reading data or training: an unwritable --out must not cost an epoch.
        try files.preflight()
        // One process per run: a second `train` into the same --out stops here, before it reads
        // the state the first one is still writing. The temporaries swept next are then ours.
        let runLock = try files.lock(warn: printWarning)
        defer { runLock?.release() }
        files.removeStaleTemporaries()
        var train = try FashionMNIST.load(.train, directory: data)
        if let limitTrain { train = train.prefix(min(limitTrain, train.count)) }
        let test = try FashionMNIST.load(.test, directory: data)
        let trainer: Trainer
        if resume {
            guard Files.exists(files.state) else {
                throw CLIError("\(files.state): no training state to resume (run without --resume first)")
            }
            trainer = try Trainer.resume(path: files.state, train: train, test: test, threads: threads, epochs: epochs)
            let differing = conflicts(with: trainer.config)
            if !differing.isEmpty {
                throw CLIError("--resume: \(differing.joined(separator: ", ")) differ from the saved run in \(files.state); drop them or start a new run")
            }
            if try files.recover(trainer) {
                print("rewrote \(out) from \(files.state) (epoch \(trainer.epoch); the previous run stopped between the two)")
            }
            if trainer.isFinished {
                print("already trained \(trainer.epoch)/\(trainer.config.epochs) epochs; \(out) is complete")
                return
            }
            print("resuming \(trainer.config.model) at epoch \(trainer.epoch + 1)/\(trainer.config.epochs)"
                  + (trainer.iterationInEpoch > 0 ? " step \(trainer.iterationInEpoch + 1)" : ""))
            fflush(nil)
        } else {
            trainer = try Trainer(config: try config(), train: train, test: test)
        }
        let c = trainer.config
        let blocksText = TrainingConfig.dyresnetFamilies.contains(c.model) ? " blocks \(c.blocks)" : ""
        print("training \(c.model) widths \(c.widths)\(blocksText) K=\(c.kernels), \(train.count) images, batch \(c.batchSize), "
              + "\(c.epochs) epochs, τ \(formatNumber(c.temperatureStart))→\(formatNumber(c.temperatureEnd)) over "
              + "\(formatNumber(c.temperatureEpochs)) epochs, \(c.threads) threads")
        fflush(nil)   // a log read while the run trains (or beside another process's lines) shows it at once
        if let path = files.snapshot(epoch: 0), trainer.epoch == 0 && trainer.iterationInEpoch == 0 {
            // Epoch 0: the untrained model at the starting τ, so the history starts from uniform attention.
            let (initial, evaluation) = trainer.initialCheckpoint()
            try files.writeSnapshot(initial, path: path)
            let entropy = evaluation.layers.entropyText
            print(String(format: "epoch   0/%d  (untrained)  test %.2f%%", c.epochs, 100 * evaluation.accuracy)
                  + (entropy.isEmpty ? "" : String(format: "  τ %6.3f  entropy %@", evaluation.temperature ?? trainer.temperature, entropy)))
            fflush(nil)
        }
        let bar = ProgressBar(label: "")
        while !trainer.isFinished {
            while true {
                if let signal = interrupts.signalReceived {
                    bar.finish()
                    try stop(trainer, files: files, lock: runLock, signal: signal)
                }
                guard try trainer.checkedStep() != nil else { break }
                let p = trainer.progress
                if p.iteration % 10 == 0 || p.iteration == p.iterations {
                    bar.update(p.iteration, p.iterations)
                    if bar.enabled {
                        FileHandle.standardError.write(Data(String(format: "  epoch %d  loss %.4f  τ %.2f  %.0f img/s",
                                                                   p.epoch, p.loss, p.temperature, p.imagesPerSecond).utf8))
                    }
                }
            }
            let m = trainer.finishEpoch()
            bar.finish()
            let entropy = m.layers.entropyText
            let tau = entropy.isEmpty ? "" : String(format: "  τ %6.3f", m.temperature)   // static: no τ
            print(String(format: "epoch %3d/%d  loss %.4f  train %.2f%%  test %.2f%%", m.epoch, m.epochs, m.loss,
                         100 * m.trainAccuracy, 100 * m.testAccuracy) + tau
                  + String(format: "  lr %.4f  %6.0f img/s  (%.1f s + eval %.1f s)", m.learningRate,
                           m.imagesPerSecond, m.trainSeconds, m.evalSeconds)
                  + (entropy.isEmpty ? "" : "  entropy \(entropy)"))
            fflush(nil)
            try files.saveEpoch(trainer)
        }
        print("wrote \(out)")
    }

    /// Saves the exact state at this step boundary, says how to resume and exits with
    /// 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    private func stop(_ trainer: Trainer, files: RunFiles, lock: FileLock?, signal: Int32) throws -> Never {
        try trainer.saveState(path: files.state)
        lock?.release()   // exit() skips the caller's defer
        fflush(nil)
        FileHandle.standardError.write(Data(("dyconv: interrupted at epoch \(trainer.epoch + 1) step \(trainer.iterationInEpoch); "
                                             + "resume with: \(resumeCommand)\n").utf8))
        Foundation.exit(InterruptMonitor.exitStatus(for: signal))
    }
}

/// `word` quoted for a POSIX shell when it needs it.
private func shellQuoted(_ word: String) -> String {
    let plain = word.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./=:,+@%".unicodeScalars.contains($0) }
    return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
