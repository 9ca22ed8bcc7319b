import DyConvEngine

// The one place where dataset bytes become network input: the normalisation table, the batch
// assembly (with the trainer's flip/shift augmentation as an option) and the epoch order of
// `batchIndices`. The CLI, the TUI, `evaluate` and the trainer all assemble through here.

/// A `Normalization` as one 256-entry lookup table per channel: byte v of channel c becomes
/// `(v / 255 − mean_c) / std_c`, so assembling a batch costs one table load per pixel.
public struct NormalizationTable: Sendable, Equatable {
    /// Image channels.
    public let channels: Int
    /// `channels × 256` values, channel after channel.
    public let values: [Float]

    /// The table of `normalization` for `channels`-channel images.
    ///
    /// `normalization.mean` and `.std` hold one value per channel, or a single value used for all
    /// channels (check user-supplied values first with `ImageDataset.validate(normalization:)`).
    public init(_ normalization: Normalization, channels: Int) {
        let mean = normalization.mean, std = normalization.std
        precondition(channels > 0 && (mean.count == channels || mean.count == 1) && (std.count == channels || std.count == 1),
                     "NormalizationTable: \(mean.count) means and \(std.count) stds for \(channels) channels; call validate(normalization:) first")
        var table = [Float](repeating: 0, count: channels * 256)
        for c in 0..<channels {
            let m = mean.count == 1 ? mean[0] : mean[c]
            let s = std.count == 1 ? std[0] : std[c]
            for v in 0..<256 { table[c * 256 + v] = (Float(v) / 255 - m) / s }
        }
        self.channels = channels
        values = table
    }
}

/// Where an image's pixels land when it is assembled (training augmentation): mirrored
/// left–right when `flip`, then moved `dx` pixels right and `dy` down; pixels moved in from
/// outside the image are those of a 0 byte. Output pixel (y, x) is source pixel
/// (y − dy, flip ? w − 1 − (x − dx) : x − dx).
public struct ImagePlacement: Sendable, Equatable {
    /// Whether the image is mirrored left–right.
    public let flip: Bool
    // Int8: the trainer keeps one placement per training image (shifts are at most 8 pixels).
    private let shiftX: Int8, shiftY: Int8

    /// Pixels moved right (negative: left).
    public var dx: Int { Int(shiftX) }
    /// Pixels moved down (negative: up).
    public var dy: Int { Int(shiftY) }

    /// A placement; `dx` and `dy` must lie in −128...127 (a shift of the whole width or height
    /// or more leaves only zero pixels).
    public init(flip: Bool = false, dx: Int = 0, dy: Int = 0) {
        precondition(Int(Int8.min)...Int(Int8.max) ~= dx && Int(Int8.min)...Int(Int8.max) ~= dy,
                     "ImagePlacement: shift (\(dx), \(dy)) out of range −128...127")
        self.flip = flip
        shiftX = Int8(dx)
        shiftY = Int8(dy)
    }

    /// The image as it is.
    public static let identity = ImagePlacement()
}

extension ImageDataset {
    /// The given images as a normalised `[n, channels, height, width]` tensor: `(p / 255 - mean) / std`.
    ///
    /// `normalization.mean` and `.std` hold one value per channel, or a single value used for all
    /// channels (check user-supplied values first with `validate(normalization:)`). Each output
    /// element is a table lookup, so a 60 000-image epoch costs only memory bandwidth.
    /// Indices must lie in `0..<count`; they may repeat and come in any order.
    public func batch(_ indices: [Int], normalization: Normalization) -> Tensor {
        let n = indices.count
        guard n > 0 else { return Tensor(shape: [0, channels, height, width], data: []) }
        let table = NormalizationTable(normalization, channels: channels)
        let data = [Float](unsafeUninitializedCapacity: n * imageSize) { buffer, initialized in
            indices.withUnsafeBufferPointer { assemble($0, table: table, into: buffer.baseAddress!) }
            initialized = n * imageSize
        }
        return Tensor(shape: [n, channels, height, width], data: data)
    }

    /// The images in `range` as a normalised `[n, channels, height, width]` tensor (see `batch(_:normalization:)`).
    public func batch(_ range: Range<Int>, normalization: Normalization) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "ImageDataset.batch: range \(range) out of range 0..<\(count)")
        return batch(Array(range), normalization: normalization)
    }

    /// Writes images `indices` into `out` (`indices.count × imageSize` floats, NCHW), each byte
    /// through `table`, each image placed by `placements[row]` when given (one per index), and
    /// their labels into `labels` when given (one per index; the dataset must be labelled then).
    ///
    /// The trainer calls it on its workers' input buffers; `batch` on a new tensor.
    /// - Precondition: every index in `0..<count`; `table` has this dataset's channels.
    public func assemble(_ indices: UnsafeBufferPointer<Int>, table: NormalizationTable,
                         placements: UnsafeBufferPointer<ImagePlacement>? = nil,
                         into out: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>? = nil) {
        precondition(table.channels == channels, "ImageDataset.assemble: a \(table.channels)-channel table for \(channels)-channel images")
        precondition(placements == nil || placements!.count == indices.count,
                     "ImageDataset.assemble: \(placements?.count ?? 0) placements for \(indices.count) images")
        let (c, h, w) = (channels, height, width)
        let size = c * h * w, plane = h * w, limit = count
        precondition(labels == nil || self.labels != nil, "ImageDataset.assemble: labels asked of an unlabelled dataset")
        let sourceLabels = self.labels ?? []
        pixels.withUnsafeBufferPointer { source in
            table.values.withUnsafeBufferPointer { lookup in
                let src = source.baseAddress!, tab = lookup.baseAddress!
                for (row, index) in indices.enumerated() {
                    precondition(index >= 0 && index < limit, "ImageDataset.assemble: index \(index) out of range 0..<\(limit)")
                    let image = src + index * size
                    let target = out + row * size
                    if let labels { labels[row] = Int32(sourceLabels[index]) }
                    let p = placements?[row] ?? .identity
                    for ch in 0..<c {
                        let t = tab + ch * 256, s = image + ch * plane, d = target + ch * plane
                        if p == .identity {
                            for k in 0..<plane { d[k] = t[Int(s[k])] }
                            continue
                        }
                        let zero = t[0]
                        for y in 0..<h {
                            let sy = y - p.dy
                            let line = d + y * w
                            if sy < 0 || sy >= h { line.update(repeating: zero, count: w); continue }
                            let sourceLine = s + sy * w
                            for x in 0..<w {
                                let fx = x - p.dx
                                if fx < 0 || fx >= w { line[x] = zero; continue }
                                line[x] = t[Int(sourceLine[p.flip ? w - 1 - fx : fx])]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The image indices of one epoch split into batches of `size` (the last may be smaller).
    ///
    /// With a `seed` the order is a Fisher–Yates shuffle driven by `SeededGenerator(seed:)`
    /// (`seededShuffle(draw: .modulo)`), so equal seeds give equal epochs on every platform;
    /// without one the order is `0..<count`.
    public func batchIndices(size: Int, seed: UInt64? = nil) -> [[Int]] {
        precondition(size > 0, "ImageDataset.batchIndices: batch size must be positive, got \(size)")
        var order = Array(0..<count)
        if let seed {
            var generator = SeededGenerator(seed: seed)
            order.seededShuffle(using: &generator, draw: .modulo)
        }
        return stride(from: 0, to: order.count, by: size).map { Array(order[$0 ..< Swift.min($0 + size, order.count)]) }
    }
}
