import DyConvEngine

/// Reads single image files: PNG (libpng), JPEG (libjpeg-turbo), PPM/PGM (binary P5/P6 and
/// ASCII P2/P3).
///
/// The format is told by the first bytes, never by the extension; the extension only decides
/// which directory entries look like images (`looksLikeImage`). The result is 8-bit grey or RGB
/// (`DecodedImage`), decoded as Pillow decodes it — the library torchvision's datasets open
/// images with — so a model trained in PyTorch sees the same pixels:
/// - PNG: palette → RGB; alpha (an alpha channel or tRNS) dropped, as `convert("RGB")` and
///   `convert("L")` do; 16-bit samples keep their high byte; no gamma correction.
/// - JPEG: grey stays grey, YCbCr becomes RGB (libjpeg's default ISLOW IDCT and fancy
///   upsampling); CMYK is refused.
/// - PPM/PGM: samples scaled from 0…maxval to 0…255, rounding to nearest.
/// - EXIF orientation is not applied, as neither `Image.open` nor torchvision's transforms do.
///
/// Every size comes from an untrusted header: the declared width and height are checked against
/// `Limits.maxImageSide` and the memory budget before any pixel memory is allocated.
public enum ImageFile {
    /// The file name extensions (lower case, without the dot) of the formats dyconv reads.
    public static let extensions: Set<String> = ["png", "jpg", "jpeg", "ppm", "pgm", "pnm"]

    /// Whether `path`'s extension (any case) names a format dyconv reads; for picking image
    /// files out of a folder. Reading still goes by content.
    public static func looksLikeImage(path: String) -> Bool {
        let name = Files.baseName(of: path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Reads and decodes the image file at `path`.
    ///
    /// - Throws: `DataError` naming `path`, one line: `.notFound`/`.io`/`.tooLarge` from the file
    ///   layer, then whatever `decode` throws.
    public static func read(path: String) throws -> DecodedImage {
        let bytes: [UInt8]
        do {
            bytes = try Files.readAll(path: path)
        } catch {
            throw DataError(error)
        }
        return try decode(bytes, name: path)
    }

    /// Decodes an image file's bytes; `name` is what error messages call it (usually the path).
    ///
    /// - Throws: `DataError` naming `name`: `.badMagic` (not PNG, JPEG or PPM/PGM — GIF, BMP,
    ///   WebP and TIFF are named), `.unsupportedType` (CMYK, 12-bit and lossless JPEG, PBM
    ///   bitmaps, PAM),
    ///   `.badDimensions` (a side of 0 or over `Limits.maxImageSide`), `.tooLarge` (over the
    ///   memory budget), `.truncated` (the data ends early), `.corruptImage` (anything else the
    ///   decoder refuses, e.g. a bad CRC).
    public static func decode(_ bytes: [UInt8], name: String) throws -> DecodedImage {
        switch ImageFormat(signature: bytes) {
        case .png: return try ImageCodec.decode(bytes, as: .png, name: name)
        case .jpeg: return try ImageCodec.decode(bytes, as: .jpeg, name: name)
        case .pnm: return try PortableAnymap.decode(bytes, name: name)
        case .other(let reason): throw DataError(bytes.isEmpty ? .truncated : .badMagic, file: name, reason)
        }
    }

    /// Checks a declared size before decoding and returns the bytes of the interleaved output.
    ///
    /// A side of 0 or over `Limits.maxImageSide` is refused; so is a decode whose output, its
    /// planar copy and the file bytes together exceed `Limits.memoryBudget`.
    static func checkedByteCount(width: Int, height: Int, channels: Int, format: String,
                                 fileBytes: Int, name: String) throws -> Int {
        guard width > 0, height > 0 else {
            throw DataError(.badDimensions, file: name, "\(format) header declares \(width)×\(height) pixels (width×height); an image needs at least 1×1")
        }
        guard width <= Limits.maxImageSide, height <= Limits.maxImageSide else {
            throw DataError(.badDimensions, file: name,
                            "\(format) is \(width)×\(height) pixels (width×height); the largest side dyconv reads is \(Limits.maxImageSide)")
        }
        // Both sides are ≤ 2¹⁴, so this product cannot overflow; the sum stays checked anyway.
        let count = width * height * channels
        do {
            try Limits.checkMemory(CheckedSize.sum(CheckedSize.product(count, 2), fileBytes),
                                   for: "decoding this \(width)×\(height) \(format)")
        } catch {
            throw DataError(.tooLarge, file: name, error.message)
        }
        return count
    }
}

/// The image formats `ImageFile` tells apart by their first bytes.
enum ImageFormat: Equatable {
    case png
    case jpeg
    case pnm
    /// Not a readable image: why, as a message ("a GIF image; dyconv reads …").
    case other(String)

    init(signature bytes: [UInt8]) {
        let readable = "dyconv reads PNG, JPEG and PPM/PGM"
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        if bytes.isEmpty {
            self = .other("empty file, not an image")
        } else if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(bytes[1]) {
            // P7 (PAM) and the bitmaps P1/P4 are refused by the PNM reader with their names.
            self = .pnm
        } else if starts(Array("GIF8".utf8)) {
            self = .other("a GIF image; \(readable)")
        } else if starts(Array("BM".utf8)) {
            self = .other("a BMP image; \(readable)")
        } else if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) {
            self = .other("a WebP image; \(readable)")
        } else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) {
            self = .other("a TIFF image; \(readable)")
        } else {
            let head = bytes.prefix(8).map { byte in
                let hex = String(byte, radix: 16, uppercase: true)
                return hex.count == 1 ? "0" + hex : hex
            }.joined(separator: " ")
            self = .other("not a PNG, JPEG or PPM/PGM image (starts with \(head))")
        }
    }
}
