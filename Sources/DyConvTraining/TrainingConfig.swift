import DyConvEngine
import Foundation

/// The learning-rate schedule over the whole run (updated every iteration).
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    /// Linear warm-up from 0 over `warmupEpochs`, then cosine decay to `minLearningRate`.
    case cosine
    /// One-cycle (as PyTorch's `OneCycleLR` with cosine annealing): from lr/25 up to lr over the
    /// first `warmupEpochs` (30% of the run when 0), then down to lr/25/10⁴.
    case oneCycle = "one-cycle"
    /// The constant learning rate (after the optional linear warm-up).
    case constant
}

/// How the attention-branch FCs are initialised.
public enum AttentionInit: String, Codable, Sendable, CaseIterable {
    /// Kaiming-normal with fan-out (std √(2/fan_out)), fc2 bias 0 — the recipe that lets the
    /// attention learn.
    case kaiming
    /// PyTorch's default for `nn.Linear` / `nn.Conv2d`: U(±1/√fan_in) for weights and biases.
    case pytorch
}

/// Everything that defines a training run; with the data, it determines the result exactly
/// (for a given thread count).
///
/// Decoding fills missing keys with the defaults, so a recipe file only needs the values it
/// changes. `validate()` checks every value and names the offending option.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Model family: `dycnn` (softmax dynamic convolution), `dycnn-static`, `dycnn-condconv`
    /// (sigmoid routing), the deeper `dyresnet`, `dyresnet-static`, `dyresnet-condconv`, or any
    /// other name `Families.named` knows (then `widths`/`kernels`/`blocks` are ignored).
    public var model: String = "dycnn"
    /// Channel widths of the three `dycnn` or `dyresnet` stages.
    public var widths: [Int] = [16, 32, 64]
    /// BasicBlocks per stage of a `dyresnet` model (ResNet-(6·blocks+2)); ignored by the others.
    ///
    /// A newer key: configs written before it decode with this default, and no older run needs
    /// another value (they are `dycnn` or named-family runs, which ignore it), so training states
    /// keep version 2. It is encoded only where it means something (a `dyresnet` model, or a
    /// value other than the default), so a `dycnn` run's config JSON — the state's
    /// `dyconv.config`, the checkpoint's `dyconv.recipe` — stays byte-identical to older dyconv's.
    public var blocks: Int = 3
    /// Kernels K per dynamic convolution.
    public var kernels: Int = 4
    /// Number of epochs.
    public var epochs: Int = 30
    /// Images per step (split over the threads).
    public var batchSize: Int = 128
    /// Peak learning rate.
    public var learningRate: Float = 0.1
    /// Final learning rate of the cosine schedule.
    public var minLearningRate: Float = 0
    /// SGD momentum μ.
    public var momentum: Float = 0.9
    /// Nesterov momentum.
    public var nesterov: Bool = true
    /// L2 weight decay of convolution kernels and linear weights.
    public var weightDecay: Float = 5e-4
    /// Weight decay of BatchNorm γ/β and all biases.
    public var normWeightDecay: Float = 0
    /// Weight decay of the attention branch (fc1, fc2).
    public var attentionWeightDecay: Float = 0
    /// Learning-rate multiplier of the attention branch.
    public var attentionLRMultiplier: Float = 5
    /// The learning-rate schedule.
    public var schedule: LearningRateSchedule = .cosine
    /// Warm-up length in epochs (fractions allowed).
    public var warmupEpochs: Float = 0
    /// Temperature τ at the start of training.
    public var temperatureStart: Float = 30
    /// Temperature τ after annealing (and the τ written into the checkpoint).
    public var temperatureEnd: Float = 1
    /// Epochs over which τ goes linearly from start to end, updated every iteration (0 = no annealing).
    public var temperatureEpochs: Float = 5
    /// Initialisation of the attention FCs.
    public var attentionInit: AttentionInit = .kaiming
    /// Random horizontal flips.
    public var flip: Bool = true
    /// Random shift of up to this many pixels in x and y (zero fill).
    public var shift: Int = 2
    /// Seed of initialisation, shuffling and augmentation.
    public var seed: UInt64 = 0
    /// Worker threads (each batch is split over them).
    public var threads: Int = 2

    /// The default recipe.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case model, widths, blocks, kernels, epochs, batchSize, learningRate, minLearningRate, momentum, nesterov
        case weightDecay, normWeightDecay, attentionWeightDecay, attentionLRMultiplier, schedule, warmupEpochs
        case temperatureStart, temperatureEnd, temperatureEpochs, attentionInit, flip, shift, seed, threads
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model); try c.encode(widths, forKey: .widths)
        if Self.dyresnetFamilies.contains(model) || blocks != TrainingConfig().blocks {
            try c.encode(blocks, forKey: .blocks)
        }
        try c.encode(kernels, forKey: .kernels)
        try c.encode(epochs, forKey: .epochs); try c.encode(batchSize, forKey: .batchSize)
        try c.encode(learningRate, forKey: .learningRate); try c.encode(minLearningRate, forKey: .minLearningRate)
        try c.encode(momentum, forKey: .momentum); try c.encode(nesterov, forKey: .nesterov)
        try c.encode(weightDecay, forKey: .weightDecay); try c.encode(normWeightDecay, forKey: .normWeightDecay)
        try c.encode(attentionWeightDecay, forKey: .attentionWeightDecay)
        try c.encode(attentionLRMultiplier, forKey: .attentionLRMultiplier)
        try c.encode(schedule, forKey: .schedule); try c.encode(warmupEpochs, forKey: .warmupEpochs)
        try c.encode(temperatureStart, forKey: .temperatureStart); try c.encode(temperatureEnd, forKey: .temperatureEnd)
        try c.encode(temperatureEpochs, forKey: .temperatureEpochs); try c.encode(attentionInit, forKey: .attentionInit)
        try c.encode(flip, forKey: .flip); try c.encode(shift, forKey: .shift); try c.encode(seed, forKey: .seed)
        try c.encode(threads, forKey: .threads)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = TrainingConfig()
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.model, &d.model); try read(.widths, &d.widths); try read(.blocks, &d.blocks)
        try read(.kernels, &d.kernels)
        try read(.epochs, &d.epochs); try read(.batchSize, &d.batchSize)
        try read(.learningRate, &d.learningRate); try read(.minLearningRate, &d.minLearningRate)
        try read(.momentum, &d.momentum); try read(.nesterov, &d.nesterov)
        try read(.weightDecay, &d.weightDecay); try read(.normWeightDecay, &d.normWeightDecay)
        try read(.attentionWeightDecay, &d.attentionWeightDecay)
        try read(.attentionLRMultiplier, &d.attentionLRMultiplier)
        try read(.schedule, &d.schedule); try read(.warmupEpochs, &d.warmupEpochs)
        try read(.temperatureStart, &d.temperatureStart); try read(.temperatureEnd, &d.temperatureEnd)
        try read(.temperatureEpochs, &d.temperatureEpochs); try read(.attentionInit, &d.attentionInit)
        try read(.flip, &d.flip); try read(.shift, &d.shift); try read(.seed, &d.seed)
        try read(.threads, &d.threads)
        self = d
    }

    /// The most epochs a run may have.
    public static let maxEpochs = 100_000

    /// The `dycnn` families (configurable widths and K).
    public static let dycnnFamilies = ["dycnn", "dycnn-static", "dycnn-condconv"]
    /// The `dyresnet` families (configurable widths, K and blocks).
    public static let dyresnetFamilies = ["dyresnet", "dyresnet-static", "dyresnet-condconv"]
    /// The model families whose widths and K come from the config.
    public static let configurableFamilies = dycnnFamilies + dyresnetFamilies
    /// The range of `blocks`: up to ResNet-98, far beyond what a 2-core run trains.
    public static let blocksRange = 1...16

    /// Checks every option; throws `TrainingError` naming the first bad one.
    ///
    /// - Parameter checkingModel: whether `model` must name a known family (not when the
    ///   trainer is given a description directly).
    public func validate(checkingModel: Bool = true) throws {
        func fail(_ message: String) -> TrainingError { TrainingError(message) }
        func finite(_ v: Float) -> Bool { v.isFinite }
        if !checkingModel {
            // The model comes from elsewhere; only the optimisation settings matter.
        } else if Self.configurableFamilies.contains(model) {
            guard widths.count == 3, widths.allSatisfy({ $0 >= 1 && $0 <= 4096 }) else {
                throw fail("widths must be three integers in 1...4096, got \(widths)")
            }
            guard kernels >= 1 && kernels <= 64 else { throw fail("kernels (K) must be in 1...64, got \(kernels)") }
        } else {
            do { _ = try Families.named(model) } catch {
                throw fail("unknown model '\(model)' (use \(Self.configurableFamilies.joined(separator: ", ")) or one of \(Families.available.joined(separator: ", ")))")
            }
        }
        // Checked for every model (a recipe with blocks 0 is a mistake even where it is ignored).
        guard Self.blocksRange.contains(blocks) else {
            throw fail("blocks must be in \(Self.blocksRange.lowerBound)...\(Self.blocksRange.upperBound), got \(blocks)")
        }
        guard epochs >= 1 && epochs <= Self.maxEpochs else { throw fail("epochs must be in 1...\(Self.maxEpochs), got \(epochs)") }
        guard batchSize >= 2 && batchSize <= 65_536 else {
            throw fail("batch size must be in 2...65536 (BatchNorm needs 2 images), got \(batchSize)")
        }
        guard finite(learningRate) && learningRate > 0 else { throw fail("learning rate must be > 0, got \(learningRate)") }
        guard finite(minLearningRate) && minLearningRate >= 0 && minLearningRate <= learningRate else {
            throw fail("min learning rate must be in 0...learning rate, got \(minLearningRate)")
        }
        guard finite(momentum) && momentum >= 0 && momentum < 1 else { throw fail("momentum must be in [0, 1), got \(momentum)") }
        guard !nesterov || momentum > 0 else { throw fail("Nesterov momentum needs momentum > 0") }
        for (name, v) in [("weight decay", weightDecay), ("norm weight decay", normWeightDecay),
                          ("attention weight decay", attentionWeightDecay),
                          ("attention LR multiplier", attentionLRMultiplier)] {
            guard finite(v) && v >= 0 else { throw fail("\(name) must be ≥ 0, got \(v)") }
        }
        guard finite(warmupEpochs) && warmupEpochs >= 0 && warmupEpochs < Float(epochs) else {
            throw fail("warm-up epochs must be in [0, epochs), got \(warmupEpochs)")
        }
        // The engine's τ range: below it z/τ overflows and the softmax turns into NaN.
        guard Limits.isValidTemperature(temperatureStart), Limits.isValidTemperature(temperatureEnd) else {
            throw fail("temperatures: \(Limits.temperatureRangeText), got start \(temperatureStart), end \(temperatureEnd)")
        }
        guard finite(temperatureEpochs) && temperatureEpochs >= 0 && temperatureEpochs <= Float(Self.maxEpochs) else {
            throw fail("temperature epochs must be in 0...\(Self.maxEpochs), got \(temperatureEpochs)")
        }
        guard shift >= 0 && shift <= 8 else { throw fail("shift must be in 0...8 pixels, got \(shift)") }
        guard threads >= 1 && threads <= 64 else { throw fail("threads must be in 1...64, got \(threads)") }
    }

    /// The model this config trains (attention temperature = `temperatureEnd`).
    public func modelDescription() throws -> ModelDescription {
        try validate()
        var description: ModelDescription
        switch model {
        case "dycnn": description = Families.dycnn(widths: widths, routing: .softmax, kernels: kernels, temperature: temperatureEnd)
        case "dycnn-static": description = Families.dycnn(widths: widths, routing: .static, kernels: kernels, temperature: temperatureEnd)
        case "dycnn-condconv": description = Families.dycnn(widths: widths, routing: .sigmoid, kernels: kernels, temperature: temperatureEnd)
        case "dyresnet", "dyresnet-static", "dyresnet-condconv":
            let routing: Routing = model == "dyresnet" ? .softmax : (model == "dyresnet-static" ? .static : .sigmoid)
            description = Families.dyresnet(widths: widths, blocks: blocks, routing: routing, kernels: kernels,
                                            temperature: temperatureEnd)
        default: description = try Families.named(model)
        }
        description.setAttentionTemperature(temperatureEnd)
        return description
    }

    /// Compact JSON of the config (sorted keys).
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a plain value type cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Decodes a config from JSON (missing keys take their defaults) and validates it.
    public static func fromJSON(_ text: String) throws -> TrainingConfig {
        let config: TrainingConfig
        do {
            config = try JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8))
        } catch {
            throw TrainingError("training config does not decode: \(error)")
        }
        try config.validate()
        return config
    }
}

extension ModelDescription {
    /// Sets the trained τ of every dynamic convolution.
    mutating func setAttentionTemperature(_ temperature: Float) {
        func visit(_ layers: inout [LayerSpec]) {
            for i in layers.indices {
                switch layers[i] {
                case .conv(var c) where c.attention != nil:
                    c.attention!.temperature = temperature
                    layers[i] = .conv(c)
                case .residual(var body, var shortcut):
                    visit(&body); visit(&shortcut)
                    layers[i] = .residual(body: body, shortcut: shortcut)
                default:
                    break
                }
            }
        }
        visit(&layers)
    }
}

/// A training failure with a one-line explanation.
public struct TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
