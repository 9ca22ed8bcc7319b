/// Activation functions, in place or from `x` into `y`: the engine's layers and the trainer's
/// forward pass both call these (the trainer keeps their derivatives).
public enum Activation {
    /// max(x, 0) in place.
    public static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        apply(.relu, UnsafePointer(x), x, count: count)
    }

    /// min(max(x, 0), 6) in place.
    public static func relu6(_ x: UnsafeMutablePointer<Float>, count: Int) {
        apply(.relu6, UnsafePointer(x), x, count: count)
    }

    /// x · relu6(x + 3) / 6 in place (MobileNetV3's hard-swish).
    public static func hardswish(_ x: UnsafeMutablePointer<Float>, count: Int) {
        apply(.hardswish, UnsafePointer(x), x, count: count)
    }

    /// Applies `kind` in place.
    public static func apply(_ kind: ActivationKind, _ x: UnsafeMutablePointer<Float>, count: Int) {
        apply(kind, UnsafePointer(x), x, count: count)
    }

    /// `y[i] = kind(x[i])` for `count` floats; `y` may be `x` (in place).
    public static func apply(_ kind: ActivationKind, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                             count: Int) {
        switch kind {
        case .relu: Vec.relu(x, y, count: count)
        case .relu6: for i in 0..<count { y[i] = min(max(x[i], 0), 6) }
        case .hardswish:
            for i in 0..<count {
                let v = x[i]
                y[i] = v * min(max(v + 3, 0), 6) * (1.0 / 6.0)
            }
        }
    }
}

/// `y[i] = act(x[i] + bias)` for `count` floats; `x` and `y` may be the same buffer (in place).
///
/// The convolutions' epilogue: one pass that adds the channel's bias and applies the fused
/// activation (none, ReLU, ReLU6 or hard-swish).
@inline(__always)
func biasActivation(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, bias b: Float,
                    activation: ActivationKind?) {
    switch activation {
    case .none: for i in 0..<count { y[i] = x[i] + b }
    case .relu?: for i in 0..<count { y[i] = max(x[i] + b, 0) }
    case .relu6?: for i in 0..<count { y[i] = min(max(x[i] + b, 0), 6) }
    case .hardswish?:
        for i in 0..<count {
            let v = x[i] + b
            y[i] = v * min(max(v + 3, 0), 6) * (1.0 / 6.0)
        }
    }
}

/// y[c, i] = x[c, i] · scale[c] + shift[c] for `[C, P]` planes, in place.
public func channelAffine(_ x: UnsafeMutablePointer<Float>, channels: Int, plane: Int,
                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
    for c in 0..<channels {
        let row = x + c * plane
        Vec.affine(row, row, count: plane, scale: scale[c], shift: shift[c], relu: false)
    }
}

/// Inference BatchNorm of one channel as the affine map `y = x·scale + shift`:
/// scale = γ/√(var + ε), shift = β − mean·scale (a negative running variance counts as 0).
///
/// The engine folds it into convolutions or applies it with `channelAffine`; the trainer's
/// evaluation-mode BatchNorm applies it to its running statistics.
@inline(__always)
public func batchNormInference(gamma: Float, beta: Float, mean: Float, variance: Float,
                               eps: Float) -> (scale: Float, shift: Float) {
    let scale = gamma / (max(variance, 0) + eps).squareRoot()
    return (scale, beta - mean * scale)
}

/// Numerically stable softmax of each row of a `[rows, cols]` matrix, in place, after dividing by τ.
///
/// Defined for every input, never NaN unless a row holds NaN (then that row is NaN): when z/τ
/// overflows to +∞ (a huge logit, or a small τ) the row is the limit of the softmax, uniform over
/// its +∞ entries (one-hot for one), and a row of −∞ only is uniform. τ is meant to lie in
/// `Limits.temperature`; a smaller one is clamped so that 0/τ stays 0.
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, temperature: Float = 1) {
    let inv = min(1 / temperature, .greatestFiniteMagnitude)
    for r in 0..<rows {
        let row = x + r * cols
        var m = -Float.infinity
        for j in 0..<cols { m = max(m, row[j] * inv) }   // NaN never wins a max
        guard m.isFinite else {
            softmaxLimit(row, cols: cols, inv: inv, max: m)
            continue
        }
        var sum: Float = 0
        for j in 0..<cols { let e = expf(row[j] * inv - m); row[j] = e; sum += e }
        let s = 1 / sum
        for j in 0..<cols { row[j] *= s }
    }
}

/// The softmax of a row whose largest z/τ is ±∞: uniform over the entries equal to it (NaN if
/// the row holds NaN).
private func softmaxLimit(_ row: UnsafeMutablePointer<Float>, cols: Int, inv: Float, max m: Float) {
    var count = 0
    var hasNaN = false
    for j in 0..<cols {
        let v = row[j] * inv
        if v == m { count += 1 } else if v.isNaN { hasNaN = true }
    }
    let share: Float = hasNaN || count == 0 ? .nan : 1 / Float(count)
    for j in 0..<cols { row[j] = hasNaN || row[j] * inv == m ? share : 0 }
}

/// Logistic sigmoid of z/τ, in place: 0 or 1 at ±∞ (never NaN unless z is). τ as in `softmaxRows`.
public func sigmoid(_ x: UnsafeMutablePointer<Float>, count: Int, temperature: Float = 1) {
    let inv = min(1 / temperature, .greatestFiniteMagnitude)
    for i in 0..<count {
        let v = x[i] * inv
        x[i] = v >= 0 ? 1 / (1 + expf(-v)) : { let e = expf(v); return e / (1 + e) }()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax cross-entropy of one row of `classes` logits, the one definition the evaluation
/// statistics and the trainer's loss share: log Σ_j exp(x_j) − x_label, computed as
/// m + log Σ_j exp(x_j − m) − x_label with m = max x (no overflow), the sum in Double.
/// Returns the loss and the arg-max (the first largest logit); writes
/// `(softmax − onehot(label)) · scale` into `gradient` when given (the trainer's dL/dlogits).
@inline(__always)
public func softmaxCrossEntropy(_ row: UnsafePointer<Float>, classes: Int, label: Int,
                                gradient: UnsafeMutablePointer<Float>? = nil,
                                scale: Float = 1) -> (loss: Double, argmax: Int) {
    var m = -Float.infinity
    var best = 0
    for j in 0..<classes where row[j] > m { m = row[j]; best = j }
    var total: Double = 0
    for j in 0..<classes { total += Double(expf(row[j] - m)) }
    let loss = Double(m) + log(total) - Double(row[label])
    if let gradient {
        let inv = 1 / total
        for j in 0..<classes {
            let p = Float(Double(expf(row[j] - m)) * inv)
            gradient[j] = (p - (j == label ? 1 : 0)) * scale
        }
    }
    return (loss, best)
}
