import DyConvEngine

/// One decoded image: 8-bit grey or RGB, planar.
///
/// `pixels` holds `channels × height × width` bytes in channel-major (CHW) order — the layout
/// of one image of `ImageDataset` and of the engine's input tensors — so a channel is a
/// contiguous plane. Values are 0…255 as in the file (no normalisation).
public struct DecodedImage: Sendable, Equatable {
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    /// Height in pixels, 1…`Limits.maxImageSide`.
    public let height: Int
    /// Width in pixels, 1…`Limits.maxImageSide`.
    public let width: Int
    /// `channels × height × width` bytes, planar CHW.
    public let pixels: [UInt8]

    /// Creates an image, validating its shape.
    ///
    /// - Throws: `DataError(.invalidArgument)` when `channels` is not 1 or 3, a side is outside
    ///   1…`Limits.maxImageSide`, or `pixels.count` is not `channels × height × width`.
    public init(channels: Int, height: Int, width: Int, pixels: [UInt8]) throws {
        let name = "DecodedImage"
        try Self.checkShape(channels: channels, height: height, width: width, name: name)
        guard CheckedSize.product([channels, height, width]) == pixels.count else {
            throw DataError(.invalidArgument, file: name,
                            "\(pixels.count) pixel bytes do not hold \(channels)×\(height)×\(width)")
        }
        self.init(validated: channels, height, width, pixels)
    }

    /// Throws `DataError(.invalidArgument)` about `name` unless `channels` is 1 or 3 and both
    /// sides are in 1…`Limits.maxImageSide`: the shapes an image (or a model input it is
    /// fitted to) may have.
    static func checkShape(channels: Int, height: Int, width: Int, name: String) throws {
        guard channels == 1 || channels == 3 else {
            throw DataError(.invalidArgument, file: name, "channels must be 1 (grey) or 3 (RGB), got \(channels)")
        }
        let sides = 1...Limits.maxImageSide
        guard sides.contains(height), sides.contains(width) else {
            throw DataError(.invalidArgument, file: name,
                            "size \(width)×\(height) (width×height) must have sides from 1 to \(Limits.maxImageSide)")
        }
    }

    /// Creates an image whose shape the caller has checked.
    init(validated channels: Int, _ height: Int, _ width: Int, _ pixels: [UInt8]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// Channels × height × width as dyconv prints input shapes: "3×224×224".
    public var shapeText: String { "\(channels)×\(height)×\(width)" }

    /// The image from interleaved rows (HWC: R G B R G B …, or grey), as decoders write them.
    init(interleaved: [UInt8], channels: Int, height: Int, width: Int) {
        guard channels > 1 else {
            self.init(validated: channels, height, width, interleaved)
            return
        }
        let plane = height * width
        let planar = [UInt8](unsafeUninitializedCapacity: interleaved.count) { out, initialized in
            interleaved.withUnsafeBufferPointer { source in
                for c in 0..<channels {
                    var s = c
                    for i in 0..<plane {
                        out[c * plane + i] = source[s]
                        s += channels
                    }
                }
            }
            initialized = interleaved.count
        }
        self.init(validated: channels, height, width, planar)
    }
}
