import XCTest
import DyConvEngine
@testable import DyConvTraining

final class KernelTests: XCTestCase {
    /// im2col equals a naive unfold, and col2im is its exact adjoint, over many geometries.
    func testIm2colAndCol2imAgainstNaiveUnfold() {
        var rng = SeededGenerator(seed: 1, stream: 0)
        var cases = 0
        for kernel in [1, 2, 3, 5] {
            for stride in [1, 2, 3] {
                for padding in 0...min(2, kernel) {
                    for (h, w) in [(5, 5), (7, 4), (6, 9), (3, 3)] {
                        let c = 2
                        let outH = (h + 2 * padding - kernel) / stride + 1
                        let outW = (w + 2 * padding - kernel) / stride + 1
                        guard outH > 0, outW > 0, h + 2 * padding >= kernel, w + 2 * padding >= kernel else { continue }
                        cases += 1
                        let x = (0..<(c * h * w)).map { _ in Float(rng.below(1000)) / 100 - 5 }
                        let rows = c * kernel * kernel, cols = outH * outW
                        let ld = cols + 3        // a wider leading dimension must work too
                        var col = [Float](repeating: .nan, count: rows * ld)
                        x.withUnsafeBufferPointer { xp in
                            col.withUnsafeMutableBufferPointer { cp in
                                im2col(xp.baseAddress!, channels: c, height: h, width: w, kernel: kernel,
                                               stride: stride, padding: padding, outH: outH, outW: outW,
                                               col: cp.baseAddress!, ld: ld)
                            }
                        }
                        var naive = [Float](repeating: 0, count: rows * cols)
                        for ch in 0..<c { for ky in 0..<kernel { for kx in 0..<kernel {
                            for oy in 0..<outH { for ox in 0..<outW {
                                let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
                                let v: Float = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(ch * h + iy) * w + ix] : 0
                                naive[((ch * kernel + ky) * kernel + kx) * cols + oy * outW + ox] = v
                            } }
                        } } }
                        for r in 0..<rows {
                            XCTAssertEqual(Array(col[(r * ld)..<(r * ld + cols)]), Array(naive[(r * cols)..<((r + 1) * cols)]),
                                           "im2col k\(kernel) s\(stride) p\(padding) \(h)x\(w) row \(r)")
                        }
                        // Adjoint: <im2col(x), g> = <x, col2im(g)> for random g.
                        var g = [Float](repeating: 0, count: rows * ld)
                        for r in 0..<rows { for j in 0..<cols { g[r * ld + j] = Float(rng.below(1000)) / 100 - 5 } }
                        var lhs = 0.0
                        for r in 0..<rows { for j in 0..<cols { lhs += Double(naive[r * cols + j]) * Double(g[r * ld + j]) } }
                        var dx = [Float](repeating: .nan, count: c * h * w)
                        g.withUnsafeMutableBufferPointer { gp in
                            dx.withUnsafeMutableBufferPointer { dp in
                                Kernels.col2im(gp.baseAddress!, ld: ld, channels: c, height: h, width: w, kernel: kernel,
                                               stride: stride, padding: padding, outH: outH, outW: outW, dx: dp.baseAddress!)
                            }
                        }
                        var rhs = 0.0
                        for i in 0..<x.count { rhs += Double(x[i]) * Double(dx[i]) }
                        XCTAssertEqual(lhs, rhs, accuracy: 1e-6 * max(abs(lhs), 1) * 10,
                                       "col2im adjoint k\(kernel) s\(stride) p\(padding) \(h)x\(w)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 60)
    }

    func testVectorKernelsMatchScalar() {
        var rng = SeededGenerator(seed: 2, stream: 0)
        for count in [0, 1, 7, 8, 9, 31, 600, 1030] {
            let x = (0..<count).map { _ in Float(rng.below(2001)) / 1000 - 1 }
            let y = (0..<count).map { _ in Float(rng.below(2001)) / 1000 - 1 }
            let (s1, s2) = x.withUnsafeBufferPointer { Vec.sumAndSquares($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: count) }
            XCTAssertEqual(s1, x.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-4)
            XCTAssertEqual(s2, x.reduce(0.0) { $0 + Double($1) * Double($1) }, accuracy: 1e-4)
            var out = [Float](repeating: .nan, count: count)
            x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in out.withUnsafeMutableBufferPointer { op in
                guard let xb = xp.baseAddress, let yb = yp.baseAddress, let ob = op.baseAddress else { return }
                Vec.reluBackward(yb, xb, ob, count: count)
            } } }
            XCTAssertEqual(out, zip(x, y).map { $0 > 0 ? $1 : 0 })
            x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in
                guard let xb = xp.baseAddress, let ob = op.baseAddress else { return }
                Vec.affine(xb, ob, count: count, scale: 2, shift: -0.5, relu: true)
            } }
            XCTAssertEqual(out, x.map { max($0 * 2 - 0.5, 0) })
            let (r1, r2) = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp -> (Double, Double) in
                guard let xb = xp.baseAddress, let yb = yp.baseAddress else { return (0, 0) }
                return Vec.normReduction(yb, xb, mask: xb, mean: 0.25, count: count)
            } }
            let g = zip(x, y).map { $0 > 0 ? $1 : 0 }
            XCTAssertEqual(r1, g.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-4)
            XCTAssertEqual(r2, zip(g, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1 - 0.25) }, accuracy: 1e-4)
        }
    }
}

final class MixingKernelTests: XCTestCase {
    /// `mix` and `scatterDot` against scalar references for K = 1…9 (groups of four and tails).
    func testMixAndScatterDotMatchScalar() {
        var rng = SeededGenerator(seed: 3, stream: 0)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.below(2001)) / 1000 - 1 } }
        for kernels in 1...9 {
            for count in [5, 16, 37, 1100] {
                let w = random(kernels), bank = random(kernels * count), g = random(count)
                var out = [Float](repeating: .nan, count: count)
                Vec.mix(w, kernels: kernels, bank: bank, count: count, into: &out)
                for i in 0..<count {
                    var expected: Float = 0
                    for k in 0..<kernels { expected += w[k] * bank[k * count + i] }
                    XCTAssertEqual(out[i], expected, accuracy: 1e-5, "mix K=\(kernels) n=\(count) i=\(i)")
                }
                var gradBank = random(kernels * count)
                let before = gradBank
                var dots = [Double](repeating: .nan, count: kernels)
                Vec.scatterDot(g, weights: w, kernels: kernels, bank: bank, gradBank: &gradBank, count: count, dots: &dots)
                for k in 0..<kernels {
                    var dot = 0.0
                    for i in 0..<count {
                        dot += Double(g[i]) * Double(bank[k * count + i])
                        XCTAssertEqual(gradBank[k * count + i], before[k * count + i] + w[k] * g[i], accuracy: 1e-6)
                    }
                    XCTAssertEqual(dots[k], dot, accuracy: 1e-4, "dot K=\(kernels) n=\(count) k=\(k)")
                }
            }
        }
    }
}
