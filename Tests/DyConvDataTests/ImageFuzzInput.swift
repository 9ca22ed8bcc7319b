import CZlibSystem
import DyConvData
import DyConvEngine
import Foundation

/// The image fuzz target's harness: one fuzz input → image bytes → `ImageFile.decode` (libpng,
/// libjpeg-turbo through CImageCodecs, the PPM/PGM reader) → `ImageTransform.fit`.
///
/// Shared by the libFuzzer entry point (`Fuzz/image/Entry.swift`) and
/// `ImageFuzzRegressionTests`. A `DataError` of one line is a correct outcome; anything else
/// thrown, a decoded image whose shape and pixel count disagree, a failed fit, a trap, a
/// sanitizer report, a hang or memory beyond the fuzzer's limit is a finding (the harness turns
/// the first three into a `fatalError`, so libFuzzer keeps the input).
///
/// Byte mutation of a PNG mostly breaks a chunk's CRC-32 or the zlib stream and stops there, so
/// byte 0 selects a mode (bits 0–1) and the transform target (bits 2–4, `targets`):
/// - mode 0 or 3, *raw*: the rest is the file (PNG, JPEG, PPM/PGM or anything else);
/// - mode 1, *chunks*: the rest is a PNG without signature and CRCs — records of a 4-byte
///   big-endian length, a 4-byte type and the data (a length past the end takes what is left);
///   the harness adds the signature and correct CRC-32s, so mutations reach libpng's chunk parsing;
/// - mode 2, *scanlines*: the rest is IHDR's 13 bytes, a 2-byte big-endian length and a PLTE,
///   a 1-byte length and a tRNS (a length of 0: no chunk), then the filtered scanlines, which
///   the harness deflates into one IDAT: mutations reach the filters, bit depths, palettes,
///   interlacing and libpng's transforms with a valid zlib stream.
public enum ImageFuzzInput {
    public enum Outcome: Equatable, Sendable {
        case rejected(String)
        /// Decoded to channels × height × width.
        case decoded(channels: Int, height: Int, width: Int)
    }

    /// Model inputs the decoded image is fitted to: channels, height, width, resize size.
    static let targets: [(channels: Int, height: Int, width: Int, resize: Int?)] = [
        (3, 8, 8, nil), (1, 5, 7, nil), (3, 16, 12, nil), (3, 8, 8, 11),
        (1, 1, 1, nil), (3, 33, 3, nil), (1, 12, 12, 12), (3, 4, 9, 40),
    ]

    /// Images above this many pixels are decoded but not fitted: the transform's cost grows
    /// with the pixels (not what a fuzzer explores well) and would only produce timeouts.
    static let maxFittedPixels = 1 << 20

    /// The PNG signature.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Runs one input.
    public static func run(_ data: [UInt8]) -> Outcome {
        guard let first = data.first else { return .rejected("empty input") }
        let body = Array(data.dropFirst())
        let bytes: [UInt8]
        switch first & 3 {
        case 1: bytes = pngFromChunks(body)
        case 2: bytes = pngFromScanlines(body)
        default: bytes = body
        }
        let image: DecodedImage
        do {
            image = try ImageFile.decode(bytes, name: "fuzz")
        } catch let error as DataError {
            if error.description.contains(where: \.isNewline) { fatalError("multi-line error: \(error)") }
            return .rejected(error.description)
        } catch {
            fatalError("ImageFile.decode threw \(type(of: error)), not a DataError: \(error)")
        }
        guard image.channels == 1 || image.channels == 3, image.height >= 1, image.width >= 1,
              image.height <= Limits.maxImageSide, image.width <= Limits.maxImageSide,
              image.pixels.count == image.channels * image.height * image.width else {
            fatalError("decoded an inconsistent image: \(image.shapeText), \(image.pixels.count) bytes")
        }
        if image.height * image.width <= maxFittedPixels {
            let target = targets[Int(first >> 2) & 7]
            do {
                let (fitted, _) = try ImageTransform.fit(image, channels: target.channels, height: target.height,
                                                         width: target.width, resizeShorterSide: target.resize)
                guard fitted.shapeText == "\(target.channels)×\(target.height)×\(target.width)" else {
                    fatalError("fit gave \(fitted.shapeText) for \(target)")
                }
            } catch {
                fatalError("fit of a decoded \(image.shapeText) image to \(target) failed: \(error)")
            }
        }
        return .decoded(channels: image.channels, height: image.height, width: image.width)
    }

    // MARK: Structured PNG

    static func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// One chunk with its length and correct CRC-32.
    static func chunk(_ type: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let typed = type + data
        let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        return bigEndian(data.count) + typed + bigEndian(Int(crc))
    }

    /// Mode 1: records (length, type, data) → a PNG with signature and CRCs.
    static func pngFromChunks(_ body: [UInt8]) -> [UInt8] {
        var png = signature
        var at = 0
        while at + 8 <= body.count {
            let declared = Int(body[at]) << 24 | Int(body[at + 1]) << 16 | Int(body[at + 2]) << 8 | Int(body[at + 3])
            let length = min(declared, body.count - at - 8)
            png += chunk(Array(body[at + 4..<at + 8]), Array(body[at + 8..<at + 8 + length]))
            at += 8 + length
        }
        return png
    }

    /// Mode 2: IHDR data, PLTE, tRNS, raw scanlines → a PNG whose IDAT is a valid zlib stream.
    static func pngFromScanlines(_ body: [UInt8]) -> [UInt8] {
        var at = 0
        func take(_ n: Int) -> [UInt8] {
            let n = max(0, min(n, body.count - at))
            defer { at += n }
            return Array(body[at..<at + n])
        }
        let ihdr = take(13)
        let plteLength = take(2).reduce(0) { $0 << 8 | Int($1) }
        let plte = take(plteLength)
        let trns = take(take(1).first.map(Int.init) ?? 0)
        let scanlines = take(body.count)
        var png = signature + chunk(Array("IHDR".utf8), ihdr)
        if !plte.isEmpty { png += chunk(Array("PLTE".utf8), plte) }
        if !trns.isEmpty { png += chunk(Array("tRNS".utf8), trns) }
        png += chunk(Array("IDAT".utf8), deflate(scanlines))
        return png + chunk(Array("IEND".utf8), [])
    }

    /// zlib's `compress` (level 6).
    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = bytes.withUnsafeBufferPointer { source in
            compress(&out, &size, source.baseAddress, uLong(source.count))
        }
        return status == Z_OK ? Array(out[..<Int(size)]) : []
    }

    /// zlib's `uncompress`, for turning a fixture's IDAT back into scanlines (seeds only).
    static func inflate(_ bytes: [UInt8], limit: Int = 1 << 22) -> [UInt8]? {
        var size = uLong(limit)
        var out = [UInt8](repeating: 0, count: limit)
        let status = bytes.withUnsafeBufferPointer { source in
            uncompress(&out, &size, source.baseAddress, uLong(source.count))
        }
        return status == Z_OK ? Array(out[..<Int(size)]) : nil
    }

    /// The chunks of a PNG file: (type, data), CRCs not checked.
    static func chunks(of png: [UInt8]) -> [(type: [UInt8], data: [UInt8])] {
        var result: [(type: [UInt8], data: [UInt8])] = []
        var at = 8
        while at + 12 <= png.count {
            let length = Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3])
            guard at + 12 + length <= png.count else { break }
            result.append((Array(png[at + 4..<at + 8]), Array(png[at + 8..<at + 8 + length])))
            at += 12 + length
        }
        return result
    }

    // MARK: Seeds

    /// The seed corpus: every fixture image raw (mode 0), and every PNG fixture also in the
    /// chunks (mode 1) and scanlines (mode 2) layouts. `fixtures` is the folder
    /// `Tests/DyConvDataTests/Fixtures/images`.
    public static func seeds(fixtures: String) -> [(name: String, bytes: [UInt8])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? [])
            .filter { ImageFile.looksLikeImage(path: $0) }.sorted()
        var seeds: [(name: String, bytes: [UInt8])] = []
        for (index, name) in names.enumerated() {
            guard let contents = FileManager.default.contents(atPath: fixtures + "/" + name) else { continue }
            let bytes = Array(contents)
            let target = UInt8(index % targets.count) << 2
            seeds.append(("raw-\(name)", [target | 0] + bytes))
            guard name.hasSuffix(".png") else { continue }
            let parts = chunks(of: bytes)
            seeds.append(("chunks-\(name)", [target | 1] + parts.flatMap { bigEndian($0.data.count) + $0.type + $0.data }))
            func joined(_ type: String) -> [UInt8] { parts.filter { $0.type == Array(type.utf8) }.flatMap(\.data) }
            let ihdr = joined("IHDR"), plte = joined("PLTE"), trns = joined("tRNS")
            guard let scanlines = inflate(joined("IDAT")), trns.count < 256 else { continue }
            var seed: [UInt8] = [target | 2]
            seed += ihdr
            seed += [UInt8(plte.count >> 8), UInt8(plte.count & 0xFF)]
            seed += plte
            seed += [UInt8(trns.count)]
            seed += trns
            seed += scanlines
            seeds.append(("scanlines-\(name)", seed))
        }
        return seeds
    }
}
