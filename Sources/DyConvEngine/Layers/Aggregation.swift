/// Turns the computed attention π `[N, K]` into the coefficients a layer applies, per `AggregationMode`.
///
/// Every mode keeps each sample's total mass Σ_k π_k, so `average` and `max` are comparable for
/// CondConv too. With softmax routing (dynamic convolution) Σπ = 1; with sigmoid routing
/// (CondConv) the gates r are independent and Σr is free (0 … K):
/// - `attention`: a = π.
/// - `average`: a_k = (Σ_j π_j) / K: 1/K for softmax, Σr/K for CondConv (the average kernel,
///   scaled by the sample's total gate).
/// - `max`: a = Σ_j π_j at argmax π (first on ties), 0 elsewhere: one-hot for softmax, Σr on the
///   largest gate for CondConv.
/// - `shuffleImage`: a_k = π_σ(k), σ a seeded cyclic permutation of the K kernels (no fixed point
///   for K ≥ 2), drawn from (seed, layer, `imageIndices[n]`): the image's index in its dataset,
///   not its position in the batch, so an image gets the same permutation alone, in any batch,
///   in slices and at any batch size. `imageIndices` nil means the positions 0..<n.
/// - `shuffleAcross`: a = `partner`, the π this layer computed for the sample's partner image
///   in a clean (attention-mode) pass (`Model.forward(_:options:partners:)`).
public func aggregationCoefficients(_ pi: [Float], batch n: Int, kernels k: Int,
                                    mode: AggregationMode, seed: UInt64, layerIndex: Int,
                                    imageIndices: [Int]? = nil, partner: [Float]? = nil) -> [Float] {
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
        precondition(imageIndices == nil || imageIndices!.count == n, "shuffle-image needs one image index per sample")
        var a = pi
        for s in 0..<n {
            let image = imageIndices?[s] ?? s
            var rng = SeededGenerator(seed: mixSeed(seed, UInt64(layerIndex), UInt64(bitPattern: Int64(image))))
            let sigma = cyclicPermutation(k, using: &rng)
            for j in 0..<k { a[s * k + j] = pi[s * k + sigma[j]] }
        }
        return a
    case .shuffleAcross:
        guard let partner, partner.count == pi.count else {
            preconditionFailure("shuffle-across needs the partners' π of every sample: Model.forward(_:options:partners:)")
        }
        return partner
    }
}

/// Each image's fixed partner in `shuffle-across` mode: a seeded derangement of a dataset's
/// indices 0..<count (one random cycle through all of them, Sattolo's algorithm), so image i
/// always borrows the π of the same image `partner(of: i)` ≠ i, whatever batch it runs in.
public struct ShuffleAcrossPartners: Sendable, Equatable {
    /// `partners[i]` is the partner of image i.
    public let partners: [Int]

    /// The partners of `count` images (count ≥ 2) for `seed`.
    /// - Throws: `ForwardOptionsError` when there are fewer than 2 images (no one to pair with).
    public init(count: Int, seed: UInt64) throws(ForwardOptionsError) {
        guard count >= 2 else {
            throw ForwardOptionsError("shuffle-across pairs each image with another one, but the dataset has \(max(count, 0)) image\(count == 1 ? "" : "s")")
        }
        var rng = SeededGenerator(seed: mixSeed(seed, 0x5AFF1E, UInt64(count)))
        partners = cyclicPermutation(count, using: &rng)
    }

    /// Number of images.
    public var count: Int { partners.count }

    /// The partner of image `index` (0 ≤ index < count).
    public func partner(of index: Int) -> Int { partners[index] }
}

/// A uniformly random cyclic permutation of 0..<n (Sattolo's algorithm): σ(i) ≠ i for n ≥ 2.
public func cyclicPermutation(_ n: Int, using rng: inout SeededGenerator) -> [Int] {
    var p = Array(0..<n)
    p.seededShuffle(using: &rng, draw: .modulo, cyclic: true)
    return p
}

/// Combines seeds into one (for reproducible per-layer, per-sample streams).
@inline(__always)
func mixSeed(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    var g = SeededGenerator(seed: a ^ (b &* 0x9E37_79B9_7F4A_7C15) ^ (c &* 0xC2B2_AE3D_27D4_EB4F))
    return g.next()
}
