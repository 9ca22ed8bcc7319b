import DyConvData
import DyConvEngine
import Foundation

// The order and augmentation of training batches, drawn from (seed, epoch). The batches are
// assembled by `ImageDataset.assemble` (DyConvData), on the workers.

extension Trainer {
    // MARK: - Epoch plan and batches

    /// The current epoch's order and augmentation (built on first use).
    func currentPlan() -> EpochPlan { epochPlan() }

    /// The epoch's plan: one generator stream per epoch, `SeededGenerator(seed:stream: 0x1000 + epoch)`,
    /// first the order (Fisher–Yates, `below` draws), then per position a flip (when
    /// `config.flip`) and an x and a y shift in −shift...shift (when `config.shift > 0`).
    func epochPlan() -> EpochPlan {
        if let plan, plan.epoch == counters.epoch { return plan }
        var rng = SeededGenerator(seed: config.seed, stream: 0x1000 &+ UInt64(counters.epoch))
        var order = Array(0..<train.count)
        order.seededShuffle(using: &rng, draw: .below)
        let s = config.shift
        var placements = [ImagePlacement](repeating: .identity, count: train.count)
        for p in 0..<train.count {
            let flip = config.flip ? rng.below(2) == 1 : false
            let dx = s > 0 ? rng.below(2 * s + 1) - s : 0
            let dy = s > 0 ? rng.below(2 * s + 1) - s : 0
            placements[p] = ImagePlacement(flip: flip, dx: dx, dy: dy)
        }
        let made = EpochPlan(epoch: counters.epoch, order: order, placements: placements)
        plan = made
        return made
    }

    /// Splits `n` samples over the workers: worker `w` gets `count` samples from `offset`.
    func share(_ n: Int, worker w: Int) -> (offset: Int, count: Int) {
        let base = n / threads, extra = n % threads
        let count = base + (w < extra ? 1 : 0)
        let offset = w * base + min(w, extra)
        return (offset, count)
    }
}
