/// Branch-free SIMD loops for memory-bound passes: copies, kernel mixing, and the trainer's
/// BatchNorm, ReLU and reduction loops.
///
/// Written with explicit `SIMD8<Float>` loads and stores, because the compiler does not
/// vectorise (and keeps data-dependent branches in) the equivalent scalar loops. Every
/// function handles any count, with a scalar tail.
package enum Vec {
    package typealias V = SIMD8<Float>
    package static let width = 8

    @inline(__always)
    package static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    package static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    /// `y[i] = x[i]` for short runs (avoids a `memmove` call per image row).
    @inline(__always)
    package static func copy(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count { store(load(x, i), y, i); i += width }
        while i < count { y[i] = x[i]; i += 1 }
    }

    /// `y[i] = 0` for short runs.
    @inline(__always)
    package static func zero(_ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let z = V()
        while i + width <= count { store(z, y, i); i += width }
        while i < count { y[i] = 0; i += 1 }
    }
}

extension Vec {
    /// `out[i] = Σₖ weights[k] · bank[k·stride + i]` for `i < count`: one sample's mixed kernel
    /// W̃ = Σₖ πₖ Wₖ (`bankStride` defaults to `count`; a larger one mixes a slice of every bank).
    ///
    /// Kernels are taken four at a time with the broadcast weights in registers, so the output
    /// is written once for K ≤ 4 (the mix is memory-bound).
    @inline(__always)
    package static func mix(_ weights: UnsafePointer<Float>, kernels: Int, bank: UnsafePointer<Float>, count: Int,
                            bankStride: Int? = nil, into out: UnsafeMutablePointer<Float>) {
        let stride = bankStride ?? count
        var k0 = 0
        while k0 < kernels {
            let group = min(4, kernels - k0)
            let first = k0 == 0
            let w0 = weights[k0], w1 = group > 1 ? weights[k0 + 1] : 0
            let w2 = group > 2 ? weights[k0 + 2] : 0, w3 = group > 3 ? weights[k0 + 3] : 0
            let v0 = V(repeating: w0), v1 = V(repeating: w1), v2 = V(repeating: w2), v3 = V(repeating: w3)
            let b0 = bank + k0 * stride
            let b1 = group > 1 ? b0 + stride : b0, b2 = group > 2 ? b0 + 2 * stride : b0
            let b3 = group > 3 ? b0 + 3 * stride : b0
            var i = 0
            switch group {
            case 4:
                while i + width <= count {
                    var acc = v0 * load(b0, i) + v1 * load(b1, i) + v2 * load(b2, i) + v3 * load(b3, i)
                    if !first { acc += load(out, i) }
                    store(acc, out, i)
                    i += width
                }
            case 3:
                while i + width <= count {
                    var acc = v0 * load(b0, i) + v1 * load(b1, i) + v2 * load(b2, i)
                    if !first { acc += load(out, i) }
                    store(acc, out, i)
                    i += width
                }
            case 2:
                while i + width <= count {
                    var acc = v0 * load(b0, i) + v1 * load(b1, i)
                    if !first { acc += load(out, i) }
                    store(acc, out, i)
                    i += width
                }
            default:
                while i + width <= count {
                    var acc = v0 * load(b0, i)
                    if !first { acc += load(out, i) }
                    store(acc, out, i)
                    i += width
                }
            }
            while i < count {
                var acc = w0 * b0[i]
                if group > 1 { acc += w1 * b1[i] }
                if group > 2 { acc += w2 * b2[i] }
                if group > 3 { acc += w3 * b3[i] }
                out[i] = first ? acc : out[i] + acc
                i += 1
            }
            k0 += group
        }
    }
}

// The trainer's loops: BatchNorm, ReLU, reductions and the kernel-gradient pass. They live here,
// next to `load`/`store`, so that those inline into them (across modules they would be calls).
extension Vec {
    /// Σx and Σx² (Float lanes over blocks of at most 512 elements, accumulated in Double).
    @inline(__always)
    package static func sumAndSquares(_ x: UnsafePointer<Float>, count: Int) -> (Double, Double) {
        var t1 = 0.0, t2 = 0.0
        var i = 0
        while i < count {
            let end = min(i + 512, count)
            var a = V(), b = V()
            while i + width <= end {
                let v = load(x, i)
                a += v
                b += v * v
                i += width
            }
            var s1 = a.sum(), s2 = b.sum()
            while i < end { let v = x[i]; s1 += v; s2 += v * v; i += 1 }
            t1 += Double(s1); t2 += Double(s2)
        }
        return (t1, t2)
    }

    /// Σx (Float lanes over blocks of at most 512 elements, accumulated in Double).
    @inline(__always)
    package static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < count {
            let end = min(i + 512, count)
            var a = V()
            while i + width <= end { a += load(x, i); i += width }
            var s = a.sum()
            while i < end { s += x[i]; i += 1 }
            total += Double(s)
        }
        return total
    }

    /// `y = x·scale + shift`, then `max(·, 0)` when `relu`.
    @inline(__always)
    package static func affine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                       scale: Float, shift: Float, relu: Bool) {
        let s = V(repeating: scale), t = V(repeating: shift), zero = V()
        var i = 0
        if relu {
            while i + width <= count {
                var v = load(x, i) * s + t
                v.replace(with: zero, where: v .< zero)
                store(v, y, i)
                i += width
            }
            while i < count { y[i] = max(x[i] * scale + shift, 0); i += 1 }
        } else {
            while i + width <= count { store(load(x, i) * s + t, y, i); i += width }
            while i < count { y[i] = x[i] * scale + shift; i += 1 }
        }
    }

    /// BatchNorm backward reduction over one channel plane: `(Σg, Σg·(x − mean))` where
    /// `g = dy`, or `g = dy·[y > 0]` when `mask` (the fused ReLU's output) is given.
    @inline(__always)
    package static func normReduction(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                              mean: Float, count: Int) -> (Double, Double) {
        var t1 = 0.0, t2 = 0.0
        let m = V(repeating: mean), zero = V()
        var i = 0
        while i < count {
            let end = min(i + 512, count)
            var a = V(), b = V()
            if let mask {
                while i + width <= end {
                    var g = load(dy, i)
                    g.replace(with: zero, where: load(mask, i) .<= zero)
                    a += g
                    b += g * (load(x, i) - m)
                    i += width
                }
            } else {
                while i + width <= end {
                    let g = load(dy, i)
                    a += g
                    b += g * (load(x, i) - m)
                    i += width
                }
            }
            var s1 = a.sum(), s2 = b.sum()
            while i < end {
                let g = (mask == nil || mask![i] > 0) ? dy[i] : 0
                s1 += g
                s2 += g * (x[i] - mean)
                i += 1
            }
            t1 += Double(s1); t2 += Double(s2)
        }
        return (t1, t2)
    }

    /// BatchNorm input gradient over one channel plane:
    /// `dx = a·g − b − c·(x − mean)` with `g` masked as in `normReduction`.
    @inline(__always)
    package static func normGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                             _ dx: UnsafeMutablePointer<Float>, count: Int, mean: Float, a: Float, b: Float, c: Float) {
        let mv = V(repeating: mean), av = V(repeating: a), bv = V(repeating: b), cv = V(repeating: c), zero = V()
        var i = 0
        if let mask {
            while i + width <= count {
                var g = load(dy, i)
                g.replace(with: zero, where: load(mask, i) .<= zero)
                store(av * g - bv - cv * (load(x, i) - mv), dx, i)
                i += width
            }
        } else {
            while i + width <= count {
                store(av * load(dy, i) - bv - cv * (load(x, i) - mv), dx, i)
                i += width
            }
        }
        while i < count {
            let g = (mask == nil || mask![i] > 0) ? dy[i] : 0
            dx[i] = a * g - b - c * (x[i] - mean)
            i += 1
        }
    }

    /// `dx = dy·[x > 0]` (ReLU backward, using the ReLU's input or output).
    @inline(__always)
    package static func reluBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                             count: Int) {
        let zero = V()
        var i = 0
        while i + width <= count {
            var g = load(dy, i)
            g.replace(with: zero, where: load(x, i) .<= zero)
            store(g, dx, i)
            i += width
        }
        while i < count { dx[i] = x[i] > 0 ? dy[i] : 0; i += 1 }
    }

    /// `y = max(x, 0)`.
    @inline(__always)
    package static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let zero = V()
        var i = 0
        while i + width <= count {
            var v = load(x, i)
            v.replace(with: zero, where: v .< zero)
            store(v, y, i)
            i += width
        }
        while i < count { y[i] = max(x[i], 0); i += 1 }
    }

    /// `y[i] += x[i]`.
    @inline(__always)
    package static func accumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count { store(load(y, i) + load(x, i), y, i); i += width }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// `z[i] = x[i] + y[i]`.
    @inline(__always)
    package static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count { store(load(x, i) + load(y, i), z, i); i += width }
        while i < count { z[i] = x[i] + y[i]; i += 1 }
    }
}

extension Vec {
    /// One pass over a sample's kernel gradient `g` = dL/dW̃: `dots[k] = ⟨g, bankₖ⟩` (= dL/dπₖ)
    /// and `gradBankₖ += weights[k] · g` (= this sample's share of dL/dWₖ).
    ///
    /// Kernels are taken four at a time with register accumulators; dot products are flushed
    /// into Double every 512 elements.
    @inline(__always)
    package static func scatterDot(_ g: UnsafePointer<Float>, weights: UnsafePointer<Float>, kernels: Int,
                           bank: UnsafePointer<Float>, gradBank: UnsafeMutablePointer<Float>, count: Int,
                           dots: UnsafeMutablePointer<Double>) {
        var k0 = 0
        while k0 < kernels {
            let group = min(4, kernels - k0)
            // Unused lanes of a smaller group point at kernel k0 with weight 0 and are discarded.
            let w0 = weights[k0], w1 = group > 1 ? weights[k0 + 1] : 0
            let w2 = group > 2 ? weights[k0 + 2] : 0, w3 = group > 3 ? weights[k0 + 3] : 0
            let v0 = V(repeating: w0), v1 = V(repeating: w1), v2 = V(repeating: w2), v3 = V(repeating: w3)
            let o0 = k0 * count
            let o1 = group > 1 ? o0 + count : o0, o2 = group > 2 ? o0 + 2 * count : o0
            let o3 = group > 3 ? o0 + 3 * count : o0
            var t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0
            var i = 0
            while i < count {
                let end = min(i + 512, count)
                var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                while i + width <= end {
                    let d = load(g, i)
                    a0 += d * load(bank + o0, i)
                    store(load(gradBank + o0, i) + v0 * d, gradBank + o0, i)
                    if group > 1 {
                        a1 += d * load(bank + o1, i)
                        store(load(gradBank + o1, i) + v1 * d, gradBank + o1, i)
                    }
                    if group > 2 {
                        a2 += d * load(bank + o2, i)
                        store(load(gradBank + o2, i) + v2 * d, gradBank + o2, i)
                    }
                    if group > 3 {
                        a3 += d * load(bank + o3, i)
                        store(load(gradBank + o3, i) + v3 * d, gradBank + o3, i)
                    }
                    i += width
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while i < end {
                    let d = g[i]
                    s0 += d * bank[o0 + i]; gradBank[o0 + i] += w0 * d
                    if group > 1 { s1 += d * bank[o1 + i]; gradBank[o1 + i] += w1 * d }
                    if group > 2 { s2 += d * bank[o2 + i]; gradBank[o2 + i] += w2 * d }
                    if group > 3 { s3 += d * bank[o3 + i]; gradBank[o3 + i] += w3 * d }
                    i += 1
                }
                t0 += Double(s0); t1 += Double(s1); t2 += Double(s2); t3 += Double(s3)
            }
            dots[k0] = t0
            if group > 1 { dots[k0 + 1] = t1 }
            if group > 2 { dots[k0 + 2] = t2 }
            if group > 3 { dots[k0 + 3] = t3 }
            k0 += group
        }
    }
}

extension Vec {
    /// `y[i] += value`.
    @inline(__always)
    package static func addScalar(_ value: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        let v = V(repeating: value)
        var i = 0
        while i + width <= count { store(load(y, i) + v, y, i); i += width }
        while i < count { y[i] += value; i += 1 }
    }
}
