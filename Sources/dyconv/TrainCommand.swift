import ArgumentParser
import DyConvData
import DyConvEngine
import DyConvTraining
import Foundation

/// `dyconv train`: train a dycnn model on Fashion-MNIST with temperature annealing.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a dycnn model (dynamic, static or CondConv) on Fashion-MNIST.",
        discussion: """
            Writes the checkpoint atomically at the end of every epoch (FILE), with the exact \
            training state beside it (FILE.state) so that --resume continues a stopped run \
            bit-identically. --snapshots DIR also keeps every epoch's checkpoint \
            (DIR/epoch-NNN.safetensors, epoch-000 being the untrained model) for the \
            visualizer's training-history view. The recipe \
            is described in docs/TRAINING.md.
            """)

    /// The shipped recipe: every option's default (docs/TRAINING.md).
    static let recipe = TrainingConfig()

    @Option(name: .long, help: "dycnn, dycnn-static or dycnn-condconv.")
    var model: String = "dycnn"
    @Option(name: .long, help: "Epochs.")
    var epochs: Int = Self.recipe.epochs
    @Option(name: .long, help: ArgumentHelp("The checkpoint to write (.safetensors).", valueName: "file"))
    var out: String
    @Option(name: .long, parsing: .upToNextOption, help: "Widths of the three stages.")
    var widths: [Int] = Self.recipe.widths
    @Option(name: .long, help: "Kernels K per dynamic layer.")
    var kernels: Int = Self.recipe.kernels
    @Option(name: .long, help: "Images per step.")
    var batch: Int = Self.recipe.batchSize
    @Option(name: .long, help: "Peak learning rate.")
    var lr: Float = Self.recipe.learningRate
    @Option(name: .long, help: "SGD momentum.")
    var momentum: Float = Self.recipe.momentum
    @Flag(name: .long, help: "Plain (not Nesterov) momentum.")
    var noNesterov = false
    @Option(name: .long, help: "Weight decay of conv and linear weights.")
    var weightDecay: Float = Self.recipe.weightDecay
    @Option(name: .long, help: "Weight decay of the attention branch.")
    var attentionWeightDecay: Float = Self.recipe.attentionWeightDecay
    @Option(name: .long, help: "Learning-rate multiplier of the attention branch.")
    var attentionLr: Float = Self.recipe.attentionLRMultiplier
    @Option(name: .long, help: "Attention FC initialisation: kaiming or pytorch.")
    var attentionInit: String = "kaiming"
    @Option(name: .long, help: "Learning-rate schedule: cosine, one-cycle or constant.")
    var schedule: String = "cosine"
    @Option(name: .long, help: "Warm-up epochs.")
    var warmup: Float = Self.recipe.warmupEpochs
    @Option(name: .long, help: "Temperature τ at the start.")
    var tauStart: Float = Self.recipe.temperatureStart
    @Option(name: .long, help: "Temperature τ after annealing.")
    var tauEnd: Float = Self.recipe.temperatureEnd
    @Option(name: .long, help: "Epochs over which τ anneals linearly (updated every iteration).")
    var tauEpochs: Float = Self.recipe.temperatureEpochs
    @Flag(name: .long, help: "No random horizontal flips.")
    var noFlip = false
    @Option(name: .long, help: "Random shift of up to this many pixels.")
    var shift: Int = Self.recipe.shift
    @Option(name: .long, help: "Seed of initialisation, order and augmentation.")
    var seed: UInt64 = Self.recipe.seed
    @Option(name: .long, help: "Worker threads.")
    var threads: Int = Self.recipe.threads
    @Option(name: .long, help: ArgumentHelp("Folder with Fashion-MNIST IDX files.", valueName: "dir"))
    var data: String = FashionMNIST.defaultDirectory
    @Option(name: .long, help: ArgumentHelp("Also keep every epoch's checkpoint in this folder.", valueName: "dir"))
    var snapshots: String?
    @Flag(name: .long, help: "Continue the run saved in FILE.state.")
    var resume = false
    @Option(name: .long, help: "Use only the first N training images (quick experiments).")
    var limitTrain: Int?

    func config() throws -> TrainingConfig {
        var c = TrainingConfig()
        c.model = model; c.epochs = epochs; c.widths = widths; c.kernels = kernels; c.batchSize = batch
        c.learningRate = lr; c.momentum = momentum; c.nesterov = !noNesterov; c.weightDecay = weightDecay
        c.attentionWeightDecay = attentionWeightDecay; c.attentionLRMultiplier = attentionLr
        guard let i = AttentionInit(rawValue: attentionInit) else {
            throw ValidationError("--attention-init must be one of \(AttentionInit.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let s = LearningRateSchedule(rawValue: schedule) else {
            throw ValidationError("--schedule must be one of \(LearningRateSchedule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        c.attentionInit = i; c.schedule = s; c.warmupEpochs = warmup
        c.temperatureStart = tauStart; c.temperatureEnd = tauEnd; c.temperatureEpochs = tauEpochs
        c.flip = !noFlip; c.shift = shift; c.seed = seed; c.threads = threads
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }

    func validate() throws {
        _ = try config()
        if let limitTrain, limitTrain < 2 { throw ValidationError("--limit-train must be at least 2") }
        let dir = (out as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        if !dir.isEmpty, !(FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue) {
            throw ValidationError("--out: folder '\(dir)' does not exist")
        }
    }

    func run() throws {
        var train = try FashionMNIST.load(.train, directory: data)
        if let limitTrain { train = train.prefix(min(limitTrain, train.count)) }
        let test = try FashionMNIST.load(.test, directory: data)
        let statePath = out + ".state"
        let trainer: Trainer
        if resume {
            guard FileManager.default.fileExists(atPath: statePath) else {
                throw CLIError("\(statePath): no training state to resume (run without --resume first)")
            }
            trainer = try Trainer.resume(path: statePath, train: train, test: test, threads: threads)
            print("resuming \(trainer.config.model) at epoch \(trainer.epoch + 1)/\(trainer.config.epochs)")
            fflush(nil)
        } else {
            trainer = try Trainer(config: try config(), train: train, test: test)
        }
        if let snapshots {
            try FileManager.default.createDirectory(atPath: snapshots, withIntermediateDirectories: true)
        }
        let c = trainer.config
        print("training \(c.model) widths \(c.widths) K=\(c.kernels), \(train.count) images, batch \(c.batchSize), "
              + "\(c.epochs) epochs, τ \(formatNumber(c.temperatureStart))→\(formatNumber(c.temperatureEnd)) over "
              + "\(formatNumber(c.temperatureEpochs)) epochs, \(c.threads) threads")
        if let snapshots, trainer.epoch == 0 && !resume {
            // Epoch 0: the untrained model at the starting τ, so the history starts from uniform attention.
            let (initial, evaluation) = trainer.initialCheckpoint()
            try initial.write(path: (snapshots as NSString).appendingPathComponent("epoch-000.safetensors"))
            let entropy = evaluation.layers.entropyText
            print(String(format: "epoch   0/%d  (untrained)  test %.2f%%", c.epochs, 100 * evaluation.accuracy)
                  + (entropy.isEmpty ? "" : String(format: "  τ %6.3f  entropy %@", evaluation.temperature, entropy)))
            fflush(nil)
        }
        let bar = ProgressBar(label: "")
        while !trainer.isFinished {
            let m = trainer.runEpoch { p in
                if p.iteration % 10 == 0 || p.iteration == p.iterations {
                    bar.update(p.iteration, p.iterations)
                    if bar.enabled {
                        FileHandle.standardError.write(Data(String(format: "  epoch %d  loss %.4f  τ %.2f  %.0f img/s",
                                                                   p.epoch, p.loss, p.temperature, p.imagesPerSecond).utf8))
                    }
                }
            }
            bar.finish()
            let entropy = m.layers.entropyText
            let tau = entropy.isEmpty ? "" : String(format: "  τ %6.3f", m.temperature)   // static: no τ
            print(String(format: "epoch %3d/%d  loss %.4f  train %.2f%%  test %.2f%%", m.epoch, m.epochs, m.loss,
                         100 * m.trainAccuracy, 100 * m.testAccuracy) + tau
                  + String(format: "  lr %.4f  %6.0f img/s  (%.1f s + eval %.1f s)", m.learningRate,
                           m.imagesPerSecond, m.trainSeconds, m.evalSeconds)
                  + (entropy.isEmpty ? "" : "  entropy \(entropy)"))
            fflush(nil)
            let checkpoint = trainer.checkpoint()
            try checkpoint.write(path: out)
            if let snapshots {
                try checkpoint.write(path: (snapshots as NSString).appendingPathComponent(String(format: "epoch-%03d.safetensors", m.epoch)))
            }
            try trainer.saveState(path: statePath)
        }
        print("wrote \(out)")
    }
}
