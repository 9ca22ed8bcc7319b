import DyConvEngine

/// The distribution of one dynamic layer's attention over the profiled images: what the
/// depth profile draws (H/lnK on one shared axis), and the dataset-mean π and Σπ.
public struct LayerProfile: Sendable, Equatable {
    /// Normalized entropy H/lnK of every point, ascending (NaN points left out).
    public var sortedEntropy: [Float]
    /// Mean π_k per kernel over the points (K values).
    public var meanAttention: [Double]
    /// Mean Σ_k π_k over the points: 1 for softmax routing, CondConv's mean Σr.
    public var meanMass: Double

    public init(sortedEntropy: [Float], meanAttention: [Double], meanMass: Double) {
        self.sortedEntropy = sortedEntropy; self.meanAttention = meanAttention; self.meanMass = meanMass
    }

    /// Number of points with a finite entropy.
    public var count: Int { sortedEntropy.count }

    /// The `q`-quantile (0…1, nearest rank) of H/lnK; nil without points.
    public func quantile(_ q: Double) -> Float? {
        guard !sortedEntropy.isEmpty else { return nil }
        let qq = q.isFinite ? min(max(q, 0), 1) : 0.5
        let i = Int((qq * Double(sortedEntropy.count - 1)).rounded())
        return sortedEntropy[min(max(i, 0), sortedEntropy.count - 1)]
    }

    /// The mean H/lnK; nil without points.
    public var meanEntropy: Double? {
        guard !sortedEntropy.isEmpty else { return nil }
        var s = 0.0
        for v in sortedEntropy { s += Double(v) }
        return s / Double(sortedEntropy.count)
    }

    /// How many points have H/lnK in `[lower, upper)` (the last bin of a histogram passes
    /// `upper` above 1 to include 1).
    public func count(from lower: Float, to upper: Float) -> Int {
        lowerBound(upper) - lowerBound(lower)
    }

    /// Index of the first point ≥ `v` (binary search).
    private func lowerBound(_ v: Float) -> Int {
        var lo = 0, hi = sortedEntropy.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedEntropy[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// π of the profiled images (the first `DatasetSummary.profileLimit`) under one
/// configuration: the simplex clouds, the depth profile and the heat rows' means.
///
/// Points are stored by image, so a change of τ, mode or epoch need not empty the cloud: the
/// points stay, marked stale, and are replaced in place as the background recompute reports
/// them (`freshCount` of `count` are up to date), so the user watches the clouds move to the
/// vertices at small τ and to the centre at large τ. A change of checkpoint (another network,
/// possibly another shape) empties it.
public struct AttentionCloud: Sendable, Equatable {
    /// Configuration of the fresh points.
    public private(set) var key: ConfigKey?
    /// K per layer (empty before the first point).
    public private(set) var kernels: [Int] = []
    /// Per dynamic layer, the π of every point, concatenated (`count * K` values).
    public private(set) var layers: [[Float]] = []
    /// Per dynamic layer, the normalized entropy of every point (`count` values).
    public private(set) var entropies: [[Float]] = []
    /// The image index of every point.
    public private(set) var indices: [Int] = []
    /// Whether each point was computed under `key` (false: under an earlier configuration).
    public private(set) var fresh: [Bool] = []
    /// Number of fresh points.
    public private(set) var freshCount = 0
    /// Per layer, the distribution of the points (`updateProfiles()` recomputes it).
    public private(set) var profiles: [LayerProfile] = []
    /// Point of each image index.
    private var position: [Int: Int] = [:]
    /// Most points kept.
    public static let capacity = 10_000

    public init() {}

    /// Number of points.
    public var count: Int { indices.count }

    /// Whether every point is up to date.
    public var isFresh: Bool { freshCount == indices.count }

    /// Empties the cloud and binds it to a configuration.
    public mutating func reset(to key: ConfigKey?) {
        self = AttentionCloud()
        self.key = key
    }

    /// Binds the cloud to `key`: a configuration of the same network keeps the points,
    /// marked stale; another network empties the cloud.
    public mutating func rebind(to key: ConfigKey) {
        guard self.key != key else { return }
        guard let old = self.key, old.sameNetwork(as: key) else { reset(to: key); return }
        self.key = key
        for i in fresh.indices { fresh[i] = false }
        freshCount = 0
    }

    /// Adds or replaces image `index`'s point: π (one slice per layer) and H/lnK per layer,
    /// computed under `key`. Points of another shape than the cloud's empty it first.
    /// Call `updateProfiles()` after a batch.
    public mutating func add(index: Int, attention: [ArraySlice<Float>], entropy: [Float], key: ConfigKey) {
        rebind(to: key)
        guard entropy.count == attention.count else { return }
        let ks = attention.map(\.count)
        if ks != kernels {
            if !indices.isEmpty { reset(to: key) }
            kernels = ks
            layers = Array(repeating: [], count: ks.count)
            entropies = Array(repeating: [], count: ks.count)
        }
        if let p = position[index] {
            for (l, a) in attention.enumerated() {
                let k = ks[l]
                layers[l].replaceSubrange((p * k)..<((p + 1) * k), with: a)
                entropies[l][p] = entropy[l]
            }
            if !fresh[p] { fresh[p] = true; freshCount += 1 }
            return
        }
        guard indices.count < AttentionCloud.capacity else { return }
        position[index] = indices.count
        indices.append(index)
        fresh.append(true)
        freshCount += 1
        for (l, a) in attention.enumerated() {
            layers[l].append(contentsOf: a)
            entropies[l].append(entropy[l])
        }
    }

    /// The π of point `i` in layer `l` (K values).
    public func attention(point i: Int, layer l: Int) -> ArraySlice<Float> {
        let k = kernels[l]
        return layers[l][(i * k)..<((i + 1) * k)]
    }

    /// Recomputes `profiles` from the points (after a batch, not per frame).
    public mutating func updateProfiles() {
        profiles = layers.indices.map { l in
            let k = kernels[l]
            let n = indices.count
            var mean = [Double](repeating: 0, count: k)
            var mass = 0.0
            let values = layers[l]
            for i in 0..<n {
                for j in 0..<k {
                    let v = Double(values[i * k + j])
                    if v.isFinite { mean[j] += v; mass += v }
                }
            }
            if n > 0 { for j in 0..<k { mean[j] /= Double(n) }; mass /= Double(n) }
            let sorted = entropies[l].filter { $0.isFinite }.sorted()
            return LayerProfile(sortedEntropy: sorted, meanAttention: mean, meanMass: mass)
        }
    }
}

/// How the simplex panel draws attention: the selected layer alone or every layer side by
/// side (small multiples, key `s`), and the rotation of the K = 4 tetrahedron (keys `r` `R`
/// turn it about the vertical axis, `e` `E` tilt it), in steps of `SimplexView.step` degrees.
public struct SimplexView: Sendable, Equatable {
    /// Every dynamic layer's cloud side by side instead of the selected layer's alone.
    public var smallMultiples = false
    /// Rotation about the vertical axis, in steps.
    public var yaw = 2
    /// Tilt towards the viewer, in steps.
    public var pitch = 1
    /// Degrees per step.
    public static let step = 15

    public init(smallMultiples: Bool = false, yaw: Int = 2, pitch: Int = 1) {
        self.smallMultiples = smallMultiples; self.yaw = yaw; self.pitch = pitch
    }

    /// Yaw in radians.
    public var yawRadians: Double { Double(yaw * SimplexView.step) * .pi / 180 }
    /// Pitch in radians.
    public var pitchRadians: Double { Double(pitch * SimplexView.step) * .pi / 180 }
}
