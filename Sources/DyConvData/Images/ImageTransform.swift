import DyConvEngine

/// Fits a decoded image to a model's input the way torchvision's evaluation transform does on a
/// Pillow image: `convert("RGB")`/`convert("L")`, `Resize(S)` (bilinear, antialiased), then
/// `CenterCrop((height, width))`.
///
/// The resampling is Pillow's own algorithm, reproduced step by step (Resample.c): a separable
/// triangle filter whose support grows with the downscale factor, coefficients in 22-bit fixed
/// point, the horizontal pass first and rounded to 8 bits, then the vertical pass. The result
/// matches Pillow to the level on the committed fixtures (`ImageTransformTests`). Only the
/// pixels inside the crop are computed: each output pixel depends on its own coefficients
/// alone, so this equals resizing the whole image and cropping, without the memory of a
/// resize whose long side may be thousands of pixels.
public enum ImageTransform {
    /// Fits `image` to `channels`×`height`×`width`.
    ///
    /// 1. Channels: grey → RGB repeats the channel; RGB → grey is ITU-R 601-2 luma,
    ///    L = R·299/1000 + G·587/1000 + B·114/1000, computed as Pillow's `convert("L")` does
    ///    (16-bit fixed point, rounded: (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16).
    /// 2. Size: an image that already has the input's size is left alone when
    ///    `resizeShorterSide` is nil. Otherwise the shorter side is resized to
    ///    S = `resizeShorterSide ?? max(height, width)` and the other to int(S · long / short),
    ///    as torchvision's `Resize(S)` does, then the centre `height`×`width` is cut out with
    ///    `CenterCrop`'s rounding (top = round((h − height) / 2), halves to even, as Python's
    ///    `round`). Pass 256 for a 224 input to get the ImageNet recipe `Resize(256)` +
    ///    `CenterCrop(224)`.
    ///
    /// - Returns: the fitted image and a note saying what changed, e.g. "RGB → grey (ITU-R
    ///   601-2 luma); resized 500×375 → 298×224 and centre-cropped to 224×224 (width×height)",
    ///   or nil when the image was used as it is.
    /// - Throws: `DataError(.invalidArgument)` when `channels` is not 1 or 3, a side is outside
    ///   1…`Limits.maxImageSide`, `resizeShorterSide` is outside 1…`Limits.maxImageSide`, or the
    ///   resized image would not cover the crop (torchvision would pad it with black).
    public static func fit(_ image: DecodedImage, channels: Int, height: Int, width: Int,
                           resizeShorterSide: Int? = nil) throws -> (image: DecodedImage, note: String?) {
        let name = "ImageTransform"
        try DecodedImage.checkShape(channels: channels, height: height, width: width, name: name)
        if let s = resizeShorterSide, !(1...Limits.maxImageSide).contains(s) {
            throw DataError(.invalidArgument, file: name, "the resize size \(s) must be from 1 to \(Limits.maxImageSide)")
        }
        var notes: [String] = []
        var fitted = image
        if image.channels != channels {
            fitted = converted(image, channels: channels)
            notes.append(channels == 1 ? "RGB → grey (ITU-R 601-2 luma)" : "grey → RGB (channel repeated)")
        }
        if resizeShorterSide != nil || image.height != height || image.width != width {
            let shorter = resizeShorterSide ?? max(height, width)
            let resized = resizedSize(height: image.height, width: image.width, shorterSide: shorter)
            guard resized.height >= height, resized.width >= width else {
                throw DataError(.invalidArgument, file: name,
                                "resizing \(image.width)×\(image.height) to a shorter side of \(shorter) gives \(resized.width)×\(resized.height), smaller than the \(width)×\(height) crop (width×height)")
            }
            let top = cropOffset(resized.height, height), left = cropOffset(resized.width, width)
            fitted = resample(fitted, resizedHeight: resized.height, resizedWidth: resized.width,
                              top: top, left: left, height: height, width: width)
            var steps: [String] = []
            if resized.height != image.height || resized.width != image.width {
                steps.append("resized \(image.width)×\(image.height) → \(resized.width)×\(resized.height)")
            }
            if resized.height != height || resized.width != width {
                steps.append("centre-cropped to \(width)×\(height)")
            }
            if !steps.isEmpty { notes.append(steps.joined(separator: " and ") + " (width×height)") }
        }
        return (fitted, notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    /// The image with `channels` channels (1 or 3): grey → RGB repeats the plane; RGB → grey is
    /// Pillow's `convert("L")` (see `fit`). The image itself when it already has them.
    public static func converted(_ image: DecodedImage, channels: Int) -> DecodedImage {
        precondition(channels == 1 || channels == 3, "channels must be 1 or 3")
        guard image.channels != channels else { return image }
        let plane = image.height * image.width
        if channels == 3 {
            return DecodedImage(validated: 3, image.height, image.width, image.pixels + image.pixels + image.pixels)
        }
        let grey = [UInt8](unsafeUninitializedCapacity: plane) { out, initialized in
            image.pixels.withUnsafeBufferPointer { p in
                for i in 0..<plane {
                    let l = 19595 * Int(p[i]) + 38470 * Int(p[plane + i]) + 7471 * Int(p[2 * plane + i]) + 0x8000
                    out[i] = UInt8(truncatingIfNeeded: l >> 16)
                }
            }
            initialized = plane
        }
        return DecodedImage(validated: 1, image.height, image.width, grey)
    }

    /// torchvision's `Resize(S)` output size: the shorter side becomes S, the longer
    /// int(S · long / short) (Python's true division, truncated); a square stays square.
    public static func resizedSize(height: Int, width: Int, shorterSide s: Int) -> (height: Int, width: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(s) * Double(long) / Double(short))
        return width <= height ? (newLong, s) : (s, newLong)
    }

    /// `CenterCrop`'s offset: int(round((size − crop) / 2.0)), Python rounding halves to even.
    static func cropOffset(_ size: Int, _ crop: Int) -> Int {
        Int((Double(size - crop) / 2.0).rounded(.toNearestOrEven))
    }

    // MARK: Pillow's resampling (Resample.c, 8 bits per channel)

    /// Fixed-point precision of Pillow's 8-bit resampling coefficients.
    private static let precisionBits = 32 - 8 - 2

    /// The taps of a run of output pixels, flat: output i reads `count[i]` inputs from
    /// `first[i]` with the fixed-point weights `weights[offset[i] ..< offset[i] + count[i]]`.
    struct Taps {
        var first: [Int] = []
        var count: [Int] = []
        var offset: [Int] = []
        var weights: [Int] = []
    }

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter (support
    /// 1), for the outputs `range` of a resize from `inSize` to `outSize`.
    static func taps(inSize: Int, outSize: Int, range: Range<Int>) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let inverse = 1.0 / filterScale
        let unit = Double(1 << precisionBits)
        var taps = Taps()
        var k: [Double] = []
        for xx in range {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) cast truncates toward zero, as Int(_: Double) does.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = max(min(Int(center + support + 0.5), inSize) - xmin, 0)
            k.removeAll(keepingCapacity: true)
            var total = 0.0
            for x in 0..<xmax {
                let t = abs((Double(x + xmin) - center + 0.5) * inverse)
                let w = t < 1.0 ? 1.0 - t : 0.0
                k.append(w)
                total += w
            }
            taps.first.append(xmin)
            taps.count.append(xmax)
            taps.offset.append(taps.weights.count)
            for w in k {
                let n = total != 0 ? w / total : w
                taps.weights.append(n < 0 ? Int(-0.5 + n * unit) : Int(0.5 + n * unit))
            }
        }
        return taps
    }

    /// Pillow's `clip8`: the fixed-point sum back to 0…255.
    @inline(__always)
    private static func clip8(_ sum: Int) -> UInt8 {
        if sum >= 255 << precisionBits { return 255 }
        if sum <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: sum >> precisionBits)
    }

    /// The `height`×`width` window at (`top`, `left`) of `image` resized to
    /// `resizedHeight`×`resizedWidth`, by Pillow's two passes (horizontal first, rounded to 8
    /// bits in between). A pass whose size does not change is skipped, as in Pillow.
    static func resample(_ image: DecodedImage, resizedHeight: Int, resizedWidth: Int,
                         top: Int, left: Int, height: Int, width: Int) -> DecodedImage {
        let (inH, inW, channels) = (image.height, image.width, image.channels)
        let needHorizontal = resizedWidth != inW
        let needVertical = resizedHeight != inH
        let vertical = needVertical ? taps(inSize: inH, outSize: resizedHeight, range: top..<top + height) : nil
        let horizontal = needHorizontal ? taps(inSize: inW, outSize: resizedWidth, range: left..<left + width) : nil
        // The input rows the vertical pass reads (or the crop's rows when there is none).
        let firstRow: Int, rowCount: Int
        if let vertical {
            firstRow = vertical.first.min() ?? 0
            let last = zip(vertical.first, vertical.count).map { $0 + $1 }.max() ?? firstRow
            rowCount = max(last - firstRow, 0)
        } else {
            (firstRow, rowCount) = (top, height)
        }
        var out = [UInt8](repeating: 0, count: channels * height * width)
        var temp = [UInt8](repeating: 0, count: rowCount * width)
        let half = 1 << (precisionBits - 1)
        // Unsafe pointers in the inner loops: every index is bounded by the taps, which lie in
        // 0..<inW (columns) and firstRow..<firstRow + rowCount (rows) by construction.
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { temp in
                out.withUnsafeMutableBufferPointer { out in
                    for c in 0..<channels {
                        let plane = c * inH * inW
                        // Horizontal pass (or the crop's columns) of the rows in use → temp[rowCount][width].
                        for r in 0..<rowCount {
                            let row = plane + (firstRow + r) * inW
                            for x in 0..<width {
                                if let horizontal {
                                    var sum = half
                                    let first = row + horizontal.first[x], offset = horizontal.offset[x]
                                    for i in 0..<horizontal.count[x] { sum += Int(src[first + i]) * horizontal.weights[offset + i] }
                                    temp[r * width + x] = clip8(sum)
                                } else {
                                    temp[r * width + x] = src[row + left + x]
                                }
                            }
                        }
                        // Vertical pass (or the crop's rows) → out.
                        let outPlane = c * height * width
                        for y in 0..<height {
                            let target = outPlane + y * width
                            if let vertical {
                                let first = vertical.first[y] - firstRow, offset = vertical.offset[y]
                                for x in 0..<width {
                                    var sum = half
                                    for i in 0..<vertical.count[y] { sum += Int(temp[(first + i) * width + x]) * vertical.weights[offset + i] }
                                    out[target + x] = clip8(sum)
                                }
                            } else {
                                for x in 0..<width { out[target + x] = temp[y * width + x] }
                            }
                        }
                    }
                }
            }
        }
        return DecodedImage(validated: channels, height, width, out)
    }
}
