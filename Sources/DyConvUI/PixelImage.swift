/// An image as the model sees it before normalization: 1 (grey) or 3 (RGB) planar channels of
/// 8-bit values, channel-major (CHW, as the engine's input tensors), 0 = black.
public struct PixelImage: Sendable, Equatable {
    /// 1 (grey) or 3 (red, green, blue).
    public let channels: Int
    public let width: Int
    public let height: Int
    /// `channels * height * width` values: plane by plane, each row-major.
    public let pixels: [UInt8]

    /// An image from planar pixels. `channels` must be 1 or 3 and `pixels` hold exactly
    /// `channels * height * width` values (a programming error otherwise: the session builds
    /// images from a validated dataset; other channel counts go through `init(planar:…)`).
    public init(channels: Int, width: Int, height: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "PixelImage: \(channels) channels (1 or 3)")
        precondition(width >= 0 && height >= 0 && pixels.count == channels * width * height,
                     "PixelImage: \(pixels.count) values for \(channels)×\(height)×\(width)")
        self.channels = channels; self.width = width; self.height = height; self.pixels = pixels
    }

    /// A grey image (row-major, 0 = black, 255 = white).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.init(channels: 1, width: width, height: height, pixels: pixels)
    }

    /// An image from a dataset's planar pixels with any channel count: 1 and 3 are kept,
    /// any other count becomes grey (the mean over the channels), since the screen shows
    /// only grey or RGB.
    public init(planar pixels: [UInt8], channels: Int, width: Int, height: Int) {
        if channels == 1 || channels == 3 {
            self.init(channels: channels, width: width, height: height, pixels: pixels)
            return
        }
        let plane = width * height, c = max(channels, 1)
        precondition(pixels.count == c * plane, "PixelImage: \(pixels.count) values for \(channels)×\(height)×\(width)")
        var grey = [UInt8](repeating: 0, count: plane)
        for p in 0..<plane {
            var sum = 0
            for ch in 0..<c { sum += Int(pixels[ch * plane + p]) }
            grey[p] = UInt8(sum / c)
        }
        self.init(channels: 1, width: width, height: height, pixels: grey)
    }

    /// Whether the image has colour channels.
    public var isColor: Bool { channels == 3 }

    /// The grey level at (x, y) of a grey image (the first channel of a colour one).
    @inline(__always) public func pixel(_ x: Int, _ y: Int) -> UInt8 { pixels[y * width + x] }

    /// The colour at (x, y); a grey pixel gives three equal components.
    @inline(__always) public func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = y * width + x
        guard channels == 3 else { let v = pixels[i]; return (v, v, v) }
        let plane = width * height
        return (pixels[i], pixels[plane + i], pixels[2 * plane + i])
    }

    /// The luminance at (x, y) (ITU-R BT.601 weights, as a grey conversion of the image would):
    /// what the density ramp draws.
    @inline(__always) public func luminance(_ x: Int, _ y: Int) -> UInt8 {
        guard channels == 3 else { return pixel(x, y) }
        let (r, g, b) = rgb(x, y)
        let weighted: Int = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
        return UInt8((weighted + 500) / 1000)
    }

    /// The size an image of `width × height` pixels is drawn at in a box of
    /// `boxWidth × boxHeight` pixels, aspect kept: shrunk to fit when larger, grown by the
    /// largest whole factor that fits when at least twice smaller (whole factors keep every
    /// source pixel the same size on screen), else as it is.
    public static func fittedSize(width: Int, height: Int, boxWidth: Int, boxHeight: Int) -> (width: Int, height: Int) {
        guard width > 0, height > 0, boxWidth > 0, boxHeight > 0 else { return (0, 0) }
        if width <= boxWidth && height <= boxHeight {
            let k = max(min(boxWidth / width, boxHeight / height), 1)
            return (width * k, height * k)
        }
        // Shrink by the tighter of the two ratios (exact integer arithmetic, rounded down).
        if width * boxHeight >= height * boxWidth {
            return (boxWidth, max(height * boxWidth / width, 1))
        }
        return (max(width * boxHeight / height, 1), boxHeight)
    }

    /// The image resampled to `newWidth × newHeight`: each output pixel is the mean of the
    /// source pixels its area covers when shrinking (box filter over whole source pixels),
    /// the nearest source pixel when growing; per axis. The same size returns the image.
    public func resampled(width newWidth: Int, height newHeight: Int) -> PixelImage {
        guard newWidth != width || newHeight != height else { return self }
        guard newWidth > 0, newHeight > 0, width > 0, height > 0 else {
            return PixelImage(channels: channels, width: 0, height: 0, pixels: [])
        }
        // Source ranges per output column and row: [start, end), never empty.
        func ranges(_ n: Int, _ source: Int) -> [Range<Int>] {
            (0..<n).map { i in
                if n > source {
                    let s = min((2 * i + 1) * source / (2 * n), source - 1)   // nearest: the centre's pixel
                    return s..<(s + 1)
                }
                let s = i * source / n
                return s..<max((i + 1) * source / n, s + 1)
            }
        }
        let xs = ranges(newWidth, width), ys = ranges(newHeight, height)
        let plane = width * height, newPlane = newWidth * newHeight
        var out = [UInt8](repeating: 0, count: channels * newPlane)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    for (oy, yr) in ys.enumerated() {
                        for (ox, xr) in xs.enumerated() {
                            var sum = 0
                            for y in yr {
                                let row = c * plane + y * width
                                for x in xr { sum += Int(src[row + x]) }
                            }
                            let n = yr.count * xr.count
                            dst[c * newPlane + oy * newWidth + ox] = UInt8((sum + n / 2) / n)
                        }
                    }
                }
            }
        }
        return PixelImage(channels: channels, width: newWidth, height: newHeight, pixels: out)
    }
}
