import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

/// Issue #9: the one generator and shuffle (engine `Random.swift`) replaced two SplitMix64
/// copies and three shuffles without changing a single draw (shipped checkpoints, resume files
/// and documented shuffle-image accuracies depend on them).
///
/// Oracle: the previous code, copied verbatim below (the trainer's `TrainingRNG`, the engine's
/// `SeededGenerator`, and each shuffle loop as it was written).
final class RandomSequenceTests: XCTestCase {
    /// The trainer's former generator (`TrainingRNG`), verbatim.
    struct OldTrainingRNG {
        var state: UInt64
        init(seed: UInt64, stream: UInt64 = 0) { state = Self.mix(seed ^ Self.mix(stream &+ 0x632B_E59B_D9B4_E019)) }
        mutating func next() -> UInt64 { state &+= 0x9E37_79B9_7F4A_7C15; return Self.mix(state) }
        mutating func below(_ bound: Int) -> Int { Int(next().multipliedFullWidth(by: UInt64(bound)).high) }
        static func mix(_ value: UInt64) -> UInt64 {
            var z = value
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The engine's former generator: the same SplitMix64 step (written out inline there), seeded
    /// with state = seed + 0x9E3779B97F4A7C15.
    static func oldSeededGenerator(seed: UInt64) -> OldTrainingRNG {
        var g = OldTrainingRNG(seed: 0)
        g.state = seed &+ 0x9E37_79B9_7F4A_7C15
        return g
    }

    func testGeneratorsDrawWhatTheyDrewBefore() {
        for seed: UInt64 in [0, 3, 7, 0xDEAD_BEEF, .max] {
            var old = Self.oldSeededGenerator(seed: seed), new = SeededGenerator(seed: seed)
            for _ in 0..<100 { XCTAssertEqual(old.next(), new.next()) }
            for stream: UInt64 in [0, 1, 0x1000, 0x1003] {
                var oldT = OldTrainingRNG(seed: seed, stream: stream), newT = SeededGenerator(seed: seed, stream: stream)
                for bound in 1..<60 { XCTAssertEqual(oldT.below(bound), newT.below(bound)) }
                XCTAssertEqual(oldT.state, newT.state)
            }
        }
    }

    /// `ImageDataset.batchIndices` (Fisher–Yates, `next() % (i + 1)`) and `cyclicPermutation`
    /// (Sattolo, `next() % i`) as they were written.
    func testEngineShufflesKeepTheirOrders() throws {
        let data = try syntheticDataset(count: 97, seed: 1)
        for seed: UInt64 in [0, 3, 42] {
            var order = Array(0..<97)
            var g = Self.oldSeededGenerator(seed: seed)
            var i = order.count - 1
            while i > 0 { order.swapAt(i, Int(g.next() % UInt64(i + 1))); i -= 1 }
            XCTAssertEqual(data.batchIndices(size: 10, seed: seed).flatMap { $0 }, order)

            for n in [1, 2, 3, 8, 64] {
                var p = Array(0..<n)
                var h = Self.oldSeededGenerator(seed: seed)
                var j = n - 1
                while j > 0 { p.swapAt(j, Int(h.next() % UInt64(j))); j -= 1 }
                var rng = SeededGenerator(seed: seed)
                XCTAssertEqual(cyclicPermutation(n, using: &rng), p)
            }
        }
    }

    /// The trainer's epoch plan: stream 0x1000 + epoch, Fisher–Yates with `below(i + 1)`, then per
    /// position flip, dx, dy. At shift 8 the old plan packed dx + 8 = 16 into 4 bits, which
    /// overflowed into dy; the placements now hold the drawn shifts (every other draw is unchanged).
    func testEpochPlanReplaysTheDraws() throws {
        let data = try syntheticDataset(count: 41, seed: 2)
        var drawn = Set<Int>()
        for shift in [0, 2, 8] {
            var config = tinyConfig(threads: 1, epochs: 2, batch: 10)
            config.shift = shift
            config.flip = shift != 0
            let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
            for epoch in 0..<2 {
                var rng = OldTrainingRNG(seed: config.seed, stream: 0x1000 &+ UInt64(epoch))
                var order = Array(0..<41)
                var i = order.count - 1
                while i > 0 { order.swapAt(i, rng.below(i + 1)); i -= 1 }
                var placements: [ImagePlacement] = []
                for _ in 0..<41 {
                    let flip = config.flip ? rng.below(2) == 1 : false
                    let dx = shift > 0 ? rng.below(2 * shift + 1) - shift : 0
                    let dy = shift > 0 ? rng.below(2 * shift + 1) - shift : 0
                    placements.append(ImagePlacement(flip: flip, dx: dx, dy: dy))
                }
                let plan = trainer.currentPlan()
                XCTAssertEqual(plan.epoch, epoch)
                XCTAssertEqual(plan.order, order, "shift \(shift) epoch \(epoch)")
                XCTAssertEqual(plan.placements, placements, "shift \(shift) epoch \(epoch)")
                if shift == 8 { drawn.formUnion(placements.flatMap { [$0.dx, $0.dy] }) }
                trainer.runEpoch()
            }
        }
        XCTAssertTrue(drawn.contains(8) && drawn.contains(-8), "the seed must draw shifts of ±8 for this test to bite")
    }
}
