/// Turns the computed attention π `[N, K]` into the coefficients a layer applies, per `AggregationMode`.
///
/// Every mode keeps each sample's total mass Σ_k π_k (1 for softmax routing), so `average` and
/// `max` are comparable for CondConv too:
/// - `attention`: a = π.
/// - `average`: a_k = Σπ / K.
/// - `max`: a = Σπ at argmax π (first on ties), 0 elsewhere.
/// - `shuffleImage`: a_k = π_σ(k), σ a seeded cyclic permutation of the K kernels (no fixed point
///   for K ≥ 2), drawn per layer and sample position (`firstSample` + n, so a batch run in
///   slices gets the same permutations as in one piece).
/// - `shuffleAcross`: sample n uses π of sample σ(n), σ a seeded cyclic permutation of the batch
///   (no image keeps its own π when N ≥ 2; with N = 1 nothing can be exchanged and a = π).
public func aggregationCoefficients(_ pi: [Float], batch n: Int, kernels k: Int,
                                    mode: AggregationMode, seed: UInt64, layerIndex: Int,
                                    firstSample: Int = 0) -> [Float] {
    switch mode {
    case .attention:
        return pi
    case .average:
        var a = pi
        for s in 0..<n {
            var mass: Float = 0
            for j in 0..<k { mass += pi[s * k + j] }
            for j in 0..<k { a[s * k + j] = mass / Float(k) }
        }
        return a
    case .max:
        var a = [Float](repeating: 0, count: pi.count)
        for s in 0..<n {
            var best = 0
            var mass: Float = 0
            for j in 0..<k {
                mass += pi[s * k + j]
                if pi[s * k + j] > pi[s * k + best] { best = j }
            }
            a[s * k + best] = mass
        }
        return a
    case .shuffleImage:
        var a = pi
        for s in 0..<n {
            var rng = SeededGenerator(seed: mixSeed(seed, UInt64(layerIndex), UInt64(firstSample + s)))
            let sigma = cyclicPermutation(k, using: &rng)
            for j in 0..<k { a[s * k + j] = pi[s * k + sigma[j]] }
        }
        return a
    case .shuffleAcross:
        guard n >= 2 else { return pi }
        var rng = SeededGenerator(seed: mixSeed(seed, UInt64(layerIndex), 0xACC))
        let sigma = cyclicPermutation(n, using: &rng)
        var a = pi
        for s in 0..<n { for j in 0..<k { a[s * k + j] = pi[sigma[s] * k + j] } }
        return a
    }
}

/// A uniformly random cyclic permutation of 0..<n (Sattolo's algorithm): σ(i) ≠ i for n ≥ 2.
public func cyclicPermutation(_ n: Int, using rng: inout SeededGenerator) -> [Int] {
    var p = Array(0..<n)
    var i = n - 1
    while i > 0 {
        let j = Int(rng.next() % UInt64(i))   // j in 0..<i
        p.swapAt(i, j)
        i -= 1
    }
    return p
}

/// Combines seeds into one (for reproducible per-layer, per-sample streams).
@inline(__always)
func mixSeed(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    var g = SeededGenerator(seed: a ^ (b &* 0x9E37_79B9_7F4A_7C15) ^ (c &* 0xC2B2_AE3D_27D4_EB4F))
    return g.next()
}
