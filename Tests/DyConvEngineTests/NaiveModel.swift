import DyConvEngine
import Foundation

/// A naive interpreter of a `ModelDescription`: every layer with the reference loops, no folding,
/// no fusion. The oracle of the whole-model tests.
enum NaiveModel {
    struct Result { var logits: Tensor; var pi: [String: [[Float]]] }

    static func forward(_ d: ModelDescription, _ p: [String: Tensor], _ x: Tensor, temperature: Float? = nil) -> Result {
        var pis: [String: [[Float]]] = [:]
        let y = run(d.layers, p, x, temperature, &pis)
        return Result(logits: y, pi: pis)
    }

    static func run(_ layers: [LayerSpec], _ p: [String: Tensor], _ input: Tensor, _ tau: Float?,
                    _ pis: inout [String: [[Float]]]) -> Tensor {
        var x = input
        for layer in layers {
            switch layer {
            case .conv(let c):
                if c.isDynamic {
                    let t = tau ?? c.attention!.temperature
                    var outs: [Tensor] = []
                    var rows: [[Float]] = []
                    for s in 0..<x.shape[0] {
                        let xs = Naive.sample(x, s)
                        let pi = Naive.attention(x, sample: s, prefix: c.name, params: p, routing: c.routing, temperature: t)
                        rows.append(pi)
                        // Linearity oracle: Σ_k π_k (conv(x, W_k) + b_k).
                        var acc: Tensor? = nil
                        for k in 0..<c.kernels {
                            let yk = Naive.conv(xs, Naive.kernel(p["\(c.name).weight"]!, k),
                                                bias: p["\(c.name).bias"].map { Naive.kernel($0, k).data },
                                                stride: c.stride, padding: c.padding, groups: c.groups)
                            if acc == nil { acc = Tensor.zeros(yk.shape) }
                            for i in 0..<yk.count { acc!.data[i] += pi[k] * yk.data[i] }
                        }
                        outs.append(acc!)
                    }
                    pis[c.name] = rows
                    x = concat(outs)
                } else {
                    x = Naive.conv(x, p["\(c.name).weight"]!, bias: p["\(c.name).bias"]?.data,
                                   stride: c.stride, padding: c.padding, groups: c.groups)
                }
            case .batchNorm(let b):
                let (g, be) = (p["\(b.name).weight"]!.data, p["\(b.name).bias"]!.data)
                let (m, v) = (p["\(b.name).running_mean"]!.data, p["\(b.name).running_var"]!.data)
                let plane = x.shape[2] * x.shape[3]
                for s in 0..<x.shape[0] { for ch in 0..<b.channels { for i in 0..<plane {
                    let idx = (s * b.channels + ch) * plane + i
                    x.data[idx] = (x.data[idx] - m[ch]) / (v[ch] + b.eps).squareRoot() * g[ch] + be[ch]
                } } }
            case .activation(let kind):
                x.data = x.data.map { v in
                    switch kind {
                    case .relu: return max(v, 0)
                    case .relu6: return min(max(v, 0), 6)
                    case .hardswish: return v * min(max(v + 3, 0), 6) / 6
                    }
                }
            case .maxPool(let s):
                x = Naive.pool(x, kernel: s.kernel, stride: s.stride, padding: s.padding, max: true)
            case .avgPool(let s):
                x = Naive.pool(x, kernel: s.kernel, stride: s.stride, padding: s.padding, max: false)
            case .globalAvgPool:
                let g = Naive.gap(x)
                x = Tensor(shape: [g.count, g[0].count], data: g.flatMap { $0 })
            case .linear(let l):
                let n = x.shape[0]
                let rows = (0..<n).map { s in
                    Naive.linear(Array(x.data[(s * l.inFeatures)..<((s + 1) * l.inFeatures)]), p["\(l.name).weight"]!,
                                 p["\(l.name).bias"]?.data)
                }
                x = Tensor(shape: [n, l.outFeatures], data: rows.flatMap { $0 })
            case .residual(let body, let shortcut):
                let a = run(body, p, x, tau, &pis)
                let b = run(shortcut, p, x, tau, &pis)
                x = Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 + $1 })
            }
        }
        return x
    }

    static func concat(_ ts: [Tensor]) -> Tensor {
        Tensor(shape: [ts.count] + ts[0].shape.dropFirst(), data: ts.flatMap(\.data))
    }

    /// Random parameters with non-trivial BN statistics and biases (unlike `seededRandom`'s init).
    static func randomParameters(_ d: ModelDescription, seed: UInt64) -> [String: Tensor] {
        var p = Model.seededParameters(d, seed: seed)
        var rng = SeededGenerator(seed: seed ^ 0xBEEF)
        for name in p.keys.sorted() {   // sorted: Dictionary order changes from run to run
            var t = p[name]!
            if name.hasSuffix("running_var") {
                for i in 0..<t.count { t.data[i] = 0.5 + rng.nextUnitFloat() }
            } else if name.hasSuffix("running_mean") || name.hasSuffix(".bias") {
                for i in 0..<t.count { t.data[i] = rng.nextNormal() * 0.2 }
            } else if name.hasSuffix("fc2.weight") {
                for i in 0..<t.count { t.data[i] = rng.nextNormal() * 2 }
            } else if t.shape.count == 1 {   // BN weight
                for i in 0..<t.count { t.data[i] = 0.5 + rng.nextUnitFloat() }
            }
            p[name] = t
        }
        return p
    }
}
