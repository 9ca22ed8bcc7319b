import DyConvData
import DyConvEngine
import Foundation

// The order, augmentation and assembly of training batches, drawn from (seed, epoch).

extension Trainer {
    // MARK: - Epoch plan and batches

    /// The current epoch's order and augmentation (built on first use).
    func currentPlan() -> EpochPlan { epochPlan() }

    func epochPlan() -> EpochPlan {
        if let plan, plan.epoch == counters.epoch { return plan }
        var rng = TrainingRNG(seed: config.seed, stream: 0x1000 &+ UInt64(counters.epoch))
        var order = (0..<train.count).map { Int32($0) }
        var i = order.count - 1
        while i > 0 {
            order.swapAt(i, rng.below(i + 1))
            i -= 1
        }
        let s = config.shift
        var augmentation = [UInt16](repeating: 0, count: train.count)
        for p in 0..<train.count {
            let flip: UInt16 = config.flip ? UInt16(rng.below(2)) : 0
            let dx = s > 0 ? rng.below(2 * s + 1) - s : 0
            let dy = s > 0 ? rng.below(2 * s + 1) - s : 0
            augmentation[p] = flip | UInt16(dx + 8) << 1 | UInt16(dy + 8) << 5
        }
        let made = EpochPlan(epoch: counters.epoch, order: order, augmentation: augmentation)
        plan = made
        return made
    }

    /// Writes normalised, augmented images into a worker's input buffer.
    static func assemble(_ dataset: ImageDataset, normalization table: UnsafePointer<Float>,
                                 indices: UnsafeBufferPointer<Int32>, augmentation: UnsafeBufferPointer<UInt16>?,
                                 into out: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        let (c, h, w) = (dataset.channels, dataset.height, dataset.width)
        let size = c * h * w, plane = h * w
        dataset.pixels.withUnsafeBufferPointer { source in
            let src = source.baseAddress!
            for (row, index) in indices.enumerated() {
                let image = src + Int(index) * size
                let target = out + row * size
                labels[row] = Int32(dataset.labels[Int(index)])
                var flip = false, dx = 0, dy = 0
                if let augmentation {
                    let a = augmentation[row]
                    flip = a & 1 == 1
                    dx = Int((a >> 1) & 15) - 8
                    dy = Int((a >> 5) & 15) - 8
                }
                for ch in 0..<c {
                    let t = table + ch * 256, s = image + ch * plane, d = target + ch * plane
                    let zero = t[0]
                    if !flip && dx == 0 && dy == 0 {
                        for k in 0..<plane { d[k] = t[Int(s[k])] }
                        continue
                    }
                    // out(y, x) = flipped(y - dy, x - dx), zero pixels outside.
                    for y in 0..<h {
                        let sy = y - dy
                        let row = d + y * w
                        if sy < 0 || sy >= h { row.update(repeating: zero, count: w); continue }
                        let srow = s + sy * w
                        for x in 0..<w {
                            let fx = x - dx
                            if fx < 0 || fx >= w { row[x] = zero; continue }
                            row[x] = t[Int(srow[flip ? w - 1 - fx : fx])]
                        }
                    }
                }
            }
        }
    }


    /// Splits `n` samples over the workers: worker `w` gets `count` samples from `offset`.
    func share(_ n: Int, worker w: Int) -> (offset: Int, count: Int) {
        let base = n / threads, extra = n % threads
        let count = base + (w < extra ? 1 : 0)
        let offset = w * base + min(w, extra)
        return (offset, count)
    }
}
