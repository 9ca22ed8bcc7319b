#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Learning rate and temperature as functions of the global iteration.
struct Schedules: Sendable {
    let config: TrainingConfig
    let iterationsPerEpoch: Int

    var totalIterations: Int { config.epochs * iterationsPerEpoch }

    /// The learning rate of iteration `t` (0-based, over the whole run).
    func learningRate(at t: Int) -> Float {
        let base = Double(config.learningRate)
        let total = Double(max(totalIterations, 1))
        let warmup = Double(config.warmupEpochs) * Double(iterationsPerEpoch)
        let step = Double(min(t, totalIterations - 1))
        switch config.schedule {
        case .constant, .cosine:
            if warmup > 0 && step < warmup { return Float(base * (step + 1) / warmup) }
            if config.schedule == .constant { return Float(base) }
            let span = max(total - warmup, 1)
            let progress = min(max((step - warmup) / span, 0), 1)
            let low = Double(config.minLearningRate)
            return Float(low + (base - low) * 0.5 * (1 + cos(Double.pi * progress)))
        case .oneCycle:
            // PyTorch OneCycleLR (anneal_strategy="cos", div_factor=25, final_div_factor=1e4).
            let initial = base / 25, final = initial / 1e4
            let peakStep = max((warmup > 0 ? warmup : 0.3 * total) - 1, 1)
            func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
                end + (start - end) / 2 * (cos(Double.pi * pct) + 1)
            }
            if step <= peakStep { return Float(anneal(initial, base, step / peakStep)) }
            let rest = max(total - 1 - peakStep, 1)
            return Float(anneal(base, final, min((step - peakStep) / rest, 1)))
        }
    }

    /// The temperature τ of iteration `t`: linear from start to end over `temperatureEpochs`.
    func temperature(at t: Int) -> Float {
        let span = Double(config.temperatureEpochs) * Double(iterationsPerEpoch)
        guard span > 0 else { return config.temperatureEnd }
        let progress = min(Double(t) / span, 1)
        let start = Double(config.temperatureStart), end = Double(config.temperatureEnd)
        return Float(start + (end - start) * progress)
    }
}

/// One optimiser group: a contiguous range of the flat parameters with its own settings.
struct ParameterGroup: Sendable {
    var range: Range<Int>
    var learningRateScale: Float
    var weightDecay: Float
}

/// SGD with (Nesterov) momentum and per-group weight decay and learning-rate scale, with
/// PyTorch semantics: `d = g + λw; b = μb + d; d = nesterov ? d + μb : b; w -= lr·d`.
struct SGD {
    let groups: [ParameterGroup]
    let momentum: Float
    let nesterov: Bool

    init(layout: ParameterLayout, config: TrainingConfig) {
        var groups: [ParameterGroup] = []
        for entry in layout.parameters {
            let role = entry.role
            let decay: Float
            var scale: Float = 1
            if role.isAttention {
                decay = config.attentionWeightDecay
                scale = config.attentionLRMultiplier
            } else if role.isNormOrBias {
                decay = config.normWeightDecay
            } else {
                decay = config.weightDecay
            }
            let range = entry.offset..<(entry.offset + entry.count)
            if let last = groups.last, last.range.upperBound == range.lowerBound,
               last.weightDecay == decay, last.learningRateScale == scale {
                groups[groups.count - 1].range = last.range.lowerBound..<range.upperBound
            } else {
                groups.append(ParameterGroup(range: range, learningRateScale: scale, weightDecay: decay))
            }
        }
        self.groups = groups
        momentum = config.momentum
        nesterov = config.nesterov
    }

    /// Updates the parameters in `slice` (a sub-range of the flat storage) in place.
    func update(_ slice: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
                momentumBuffer b: UnsafeMutablePointer<Float>, learningRate: Float) {
        let mu = momentum
        for group in groups {
            let lo = max(group.range.lowerBound, slice.lowerBound)
            let hi = min(group.range.upperBound, slice.upperBound)
            if lo >= hi { continue }
            let lr = learningRate * group.learningRateScale
            let decay = group.weightDecay
            if mu == 0 {
                for i in lo..<hi { w[i] -= lr * (g[i] + decay * w[i]) }
            } else if nesterov {
                for i in lo..<hi {
                    let d = g[i] + decay * w[i]
                    let v = mu * b[i] + d
                    b[i] = v
                    w[i] -= lr * (d + mu * v)
                }
            } else {
                for i in lo..<hi {
                    let v = mu * b[i] + g[i] + decay * w[i]
                    b[i] = v
                    w[i] -= lr * v
                }
            }
        }
    }
}
