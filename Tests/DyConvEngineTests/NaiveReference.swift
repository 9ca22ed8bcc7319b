import DyConvEngine

/// Slow, obviously-correct reference implementations: the oracles of the engine's tests.
enum Naive {
    /// Direct 6-loop convolution. x `[N, C, H, W]`, w `[O, C/g, k, k]`, bias `[O]`.
    /// Plain flat indexing, accumulated in Double: slow but obviously correct.
    static func conv(_ x: Tensor, _ w: Tensor, bias: [Float]? = nil, stride: Int, padding: Int, groups: Int) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, k) = (w.shape[0], w.shape[1], w.shape[2])
        precondition(cg * groups == c)
        let ho = (h + 2 * padding - k) / stride + 1, wo = (wd + 2 * padding - k) / stride + 1
        let og = o / groups
        var y = [Float](repeating: 0, count: n * o * ho * wo)
        let xs = x.data, ws = w.data
        for s in 0..<n { for oc in 0..<o {
            let g = oc / og
            for oh in 0..<ho { for ow in 0..<wo {
                var acc = Double(bias?[oc] ?? 0)
                for ic in 0..<cg { for ki in 0..<k { for kj in 0..<k {
                    let ih = oh * stride - padding + ki, iw = ow * stride - padding + kj
                    if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                    let xv = xs[((s * c + g * cg + ic) * h + ih) * wd + iw]
                    let wv = ws[((oc * cg + ic) * k + ki) * k + kj]
                    acc += Double(xv) * Double(wv)
                } } }
                y[((s * o + oc) * ho + oh) * wo + ow] = Float(acc)
            } }
        } }
        return Tensor(shape: [n, o, ho, wo], data: y)
    }

    static func pool(_ x: Tensor, kernel k: Int, stride: Int, padding: Int, max isMax: Bool) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h + 2 * padding - k) / stride + 1, wo = (w + 2 * padding - k) / stride + 1
        var y = Tensor.zeros([n, c, ho, wo])
        for s in 0..<n { for ch in 0..<c { for oh in 0..<ho { for ow in 0..<wo {
            var m = -Float.infinity, sum: Float = 0
            for ki in 0..<k { for kj in 0..<k {
                let ih = oh * stride - padding + ki, iw = ow * stride - padding + kj
                if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
                m = Swift.max(m, x[s, ch, ih, iw]); sum += x[s, ch, ih, iw]
            } }
            y[s, ch, oh, ow] = isMax ? m : sum / Float(k * k)
        } } } }
        return y
    }

    static func gap(_ x: Tensor) -> [[Float]] {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return (0..<n).map { s in (0..<c).map { ch in
            var acc: Float = 0
            for i in 0..<h { for j in 0..<w { acc += x[s, ch, i, j] } }
            return acc / Float(h * w)
        } }
    }

    static func linear(_ x: [Float], _ w: Tensor, _ b: [Float]?) -> [Float] {
        (0..<w.shape[0]).map { o in
            var acc = b?[o] ?? 0
            for i in 0..<w.shape[1] { acc += w[o, i] * x[i] }
            return acc
        }
    }

    static func softmax(_ z: [Float], temperature: Float = 1) -> [Float] {
        let m = z.map { $0 / temperature }.max()!
        let e = z.map { Float(Foundation.exp(Double($0 / temperature - m))) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// The attention π of one sample of a dynamic conv, from its checkpoint tensors.
    static func attention(_ x: Tensor, sample s: Int, prefix p: String, params: [String: Tensor],
                          routing: Routing, temperature: Float) -> [Float] {
        let g = gap(x)[s]
        var h = linear(g, params["\(p).attention.fc1.weight"]!, params["\(p).attention.fc1.bias"]?.data)
        h = h.map { Swift.max($0, 0) }
        let z = linear(h, params["\(p).attention.fc2.weight"]!, params["\(p).attention.fc2.bias"]!.data)
        switch routing {
        case .softmax: return softmax(z, temperature: temperature)
        case .sigmoid: return z.map { 1 / (1 + Float(Foundation.exp(Double(-$0 / temperature)))) }
        case .static: return [1]
        }
    }

    /// Slices sample s out of a batch.
    static func sample(_ x: Tensor, _ s: Int) -> Tensor {
        let per = x.count / x.shape[0]
        return Tensor(shape: [1] + x.shape.dropFirst(), data: Array(x.data[(s * per)..<((s + 1) * per)]))
    }

    /// Kernel k of a `[K, ...]` weight tensor.
    static func kernel(_ w: Tensor, _ k: Int) -> Tensor {
        let per = w.count / w.shape[0]
        return Tensor(shape: Array(w.shape.dropFirst()), data: Array(w.data[(k * per)..<((k + 1) * per)]))
    }
}

/// Random tensors for tests.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    var t = Tensor.zeros(shape)
    for i in 0..<t.count { t.data[i] = rng.nextNormal() * scale }
    return t
}

import Foundation
