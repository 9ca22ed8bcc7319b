#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The one random number generator and the one shuffle of dyconv: seeded weights, the trainer's
// epoch order and augmentation, `ImageDataset.batchIndices`, and the shuffle-image /
// shuffle-across permutations all draw from here. Every seeding and bounded draw below is
// kept as it was when results were first published with it (shipped checkpoints, resume tests
// and documented shuffle accuracies depend on the exact sequences), so none may change.

/// A small, fast, seedable random number generator (SplitMix64) whose state can be saved and
/// restored (it is `Codable`), so a run resumes with the same draws.
///
/// Two seedings exist because two sequences are in use: `init(seed:)` (the engine's: seeded
/// weights, shuffles, `ImageDataset.batchIndices`) and `init(seed:stream:)` (the trainer's:
/// several independent streams from one run seed). Equal arguments give equal sequences on
/// every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The full generator state.
    public var state: UInt64

    /// A generator for `seed` (state = seed + the golden-ratio increment).
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// A generator for `seed` and `stream`: different streams of one seed are independent
    /// (state = mix(seed ^ mix(stream + 0x632BE59BD9B4E019))).
    public init(seed: UInt64, stream: UInt64) {
        state = SeededGenerator.mix(seed ^ SeededGenerator.mix(stream &+ 0x632B_E59B_D9B4_E019))
    }

    /// A generator that continues from a saved `state`.
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededGenerator.mix(state)
    }

    /// A uniform integer in `0..<bound` (bound > 0): the high word of `next() · bound`.
    ///
    /// No modulo bias worth the name (at most bound / 2⁶⁴), and one draw per call.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "SeededGenerator.below: bound must be positive, got \(bound)")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// `next() % bound` (bound > 0): the draw the engine's shuffles have always used; its bias
    /// (at most bound / 2⁶⁴) is as negligible as `below`'s, but the values differ.
    public mutating func modulo(_ bound: Int) -> Int {
        precondition(bound > 0, "SeededGenerator.modulo: bound must be positive, got \(bound)")
        return Int(next() % UInt64(bound))
    }

    /// A uniform Float in [0, 1): the top 24 bits of one draw.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// A standard-normal Float (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u1 = nextUnitFloat()
        if u1 < 1e-7 { u1 = 1e-7 }
        let u2 = nextUnitFloat()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }

    /// The SplitMix64 finaliser.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// How a shuffle turns a draw into an index below a bound (see `MutableCollection.seededShuffle`).
public enum BoundedDraw: Sendable {
    /// `SeededGenerator.modulo`: the engine's shuffles (`ImageDataset.batchIndices`,
    /// `cyclicPermutation`).
    case modulo
    /// `SeededGenerator.below`: the trainer's epoch order.
    case below
}

extension MutableCollection where Self: RandomAccessCollection, Index == Int {
    /// Shuffles in place with `rng`, from the back: for i = n−1 … 1, swap element i with element
    /// j drawn from 0...i (Fisher–Yates), or from 0..<i when `cyclic` (Sattolo's algorithm: the
    /// result is one n-cycle, so no element stays in place for n ≥ 2). One draw per step, so
    /// equal generators give equal orders on every platform.
    @inlinable
    public mutating func seededShuffle(using rng: inout SeededGenerator, draw: BoundedDraw, cyclic: Bool = false) {
        guard count > 1 else { return }
        var i = count - 1
        while i > 0 {
            let bound = cyclic ? i : i + 1
            let j = draw == .modulo ? rng.modulo(bound) : rng.below(bound)
            swapAt(startIndex + i, startIndex + j)
            i -= 1
        }
    }
}
