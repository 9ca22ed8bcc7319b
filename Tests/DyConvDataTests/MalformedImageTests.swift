import CZlibSystem
import Foundation
import Testing
@testable import DyConvData

/// Damaged and hostile image files: each is refused with one `DataError` line that names the
/// file, before any image-sized allocation where the header is at fault.
///
/// Oracle: the PNG, JPEG and Netpbm specifications — each input breaks one stated rule (a
/// CRC, a marker, a dimension, maxval 1…65535, the sample count) — and the error kinds
/// documented on `ImageFile.decode`.
@Suite("Malformed images")
struct MalformedImageTests {
    /// Replaces the data of the first chunk `type` of a PNG and rewrites its CRC (zlib's crc32).
    static func patchPNGChunk(_ png: [UInt8], type: String, _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var at = 8
        while at + 8 <= png.count {
            let length = Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3])
            if String(decoding: png[at + 4..<at + 8], as: UTF8.self) == type {
                var data = Array(png[at + 8..<at + 8 + length])
                edit(&data)
                let typed = Array(type.utf8) + data
                let crc = UInt32(typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
                let chunk = bigEndian(UInt32(data.count)) + typed + bigEndian(crc)
                return Array(png[..<at]) + chunk + Array(png[(at + 12 + length)...])
            }
            at += 12 + length
        }
        Issue.record("no \(type) chunk")
        return png
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// Sets the height and width of a JPEG's first SOFn frame header.
    static func patchJPEGSize(_ jpeg: [UInt8], height: Int, width: Int) -> [UInt8] {
        var bytes = jpeg
        var at = 2
        while at + 9 < bytes.count, bytes[at] == 0xFF {
            let marker = bytes[at + 1]
            let length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            if (0xC0...0xC2).contains(marker) {
                bytes[at + 5] = UInt8(height >> 8); bytes[at + 6] = UInt8(height & 0xFF)
                bytes[at + 7] = UInt8(width >> 8); bytes[at + 8] = UInt8(width & 0xFF)
                return bytes
            }
            at += 2 + length
        }
        Issue.record("no SOF marker")
        return bytes
    }

    static func decode(_ bytes: [UInt8], _ name: String = "bad.img") throws {
        _ = try ImageFile.decode(bytes, name: name)
    }

    // MARK: PNG

    @Test("truncated PNG: in the header, in the image data, right after the signature")
    func truncatedPNG() throws {
        let png = try ImageFixtures.bytes("rgb.png")
        for cut in [8, 20, png.count / 2, png.count - 30] {
            expectDataError(.truncated, containing: ["cut.png", "truncated PNG"]) { try Self.decode(Array(png[..<cut]), "cut.png") }
        }
        expectDataError(.truncated, containing: ["empty.png", "empty file"]) { try Self.decode([], "empty.png") }
    }

    @Test("bad CRC in IHDR and in IDAT")
    func badCRC() throws {
        var png = try ImageFixtures.bytes("rgb.png")
        png[20] ^= 0x01  // inside IHDR's data (width's low bytes), CRC unchanged
        expectDataError(.corruptImage, containing: ["crc.png", "corrupt PNG", "CRC"]) { try Self.decode(png, "crc.png") }
        var idat = try ImageFixtures.bytes("rgb.png")
        let at = try #require((8..<idat.count - 4).first { String(decoding: idat[$0..<$0 + 4], as: UTF8.self) == "IDAT" })
        idat[at + 6] ^= 0x40
        expectDataError(.corruptImage, containing: ["idat.png", "corrupt PNG"]) { try Self.decode(idat, "idat.png") }
    }

    @Test("huge declared PNG dimensions are refused from the header")
    func hugePNG() throws {
        let png = try ImageFixtures.bytes("rgb.png")
        let huge = Self.patchPNGChunk(png, type: "IHDR") { data in
            data.replaceSubrange(0..<8, with: Self.bigEndian(100_000) + Self.bigEndian(100_000))
        }
        expectDataError(.badDimensions, containing: ["huge.png", "100000×100000", "16384"]) { try Self.decode(huge, "huge.png") }
        let widest = Self.patchPNGChunk(png, type: "IHDR") { data in
            data.replaceSubrange(0..<4, with: Self.bigEndian(0x7FFF_FFFF))
        }
        expectDataError(.badDimensions, containing: ["2147483647×9"]) { try Self.decode(widest) }
        let zero = Self.patchPNGChunk(png, type: "IHDR") { data in
            data.replaceSubrange(4..<8, with: Self.bigEndian(0))
        }
        expectDataError(.corruptImage, containing: ["zero.png", "corrupt PNG: Invalid IHDR data (Image height is zero in IHDR)"]) { try Self.decode(zero, "zero.png") }
    }

    @Test("bad magic: unknown bytes, and other formats named")
    func badMagic() throws {
        expectDataError(.badMagic, containing: ["x.png", "not a PNG, JPEG or PPM/PGM image (starts with 00 01 02 03)"]) {
            try Self.decode([0, 1, 2, 3], "x.png")
        }
        expectDataError(.badMagic, containing: ["a GIF image"]) { try Self.decode(Array("GIF89a....".utf8)) }
        expectDataError(.badMagic, containing: ["a BMP image"]) { try Self.decode(Array("BM....".utf8)) }
        expectDataError(.badMagic, containing: ["a WebP image"]) { try Self.decode(Array("RIFF....WEBPVP8 ".utf8)) }
        var png = try ImageFixtures.bytes("rgb.png")
        png[1] = UInt8(ascii: "Q")
        expectDataError(.badMagic, containing: ["not a PNG"]) { try Self.decode(png) }
    }

    // MARK: JPEG

    @Test("truncated JPEG")
    func truncatedJPEG() throws {
        let jpeg = try ImageFixtures.bytes("rgb.jpg")
        for cut in [3, 40, jpeg.count / 2, jpeg.count - 10] {
            expectDataError(.truncated, containing: ["cut.jpg", "truncated JPEG"]) { try Self.decode(Array(jpeg[..<cut]), "cut.jpg") }
        }
        let progressive = try ImageFixtures.bytes("progressive.jpg")
        expectDataError(.truncated, containing: ["truncated JPEG"]) { try Self.decode(Array(progressive[..<(progressive.count * 2 / 3)])) }
    }

    @Test("damaged JPEG structure and huge or zero dimensions")
    func damagedJPEG() throws {
        expectDataError(.corruptImage, containing: ["g.jpg", "corrupt JPEG: Invalid JPEG file structure: two SOI markers"]) {
            try Self.decode([0xFF, 0xD8, 0xFF, 0xD8, 0xFF, 0xD9], "g.jpg")
        }
        let jpeg = try ImageFixtures.bytes("rgb.jpg")
        expectDataError(.badDimensions, containing: ["big.jpg", "65000×60000", "16384"]) {
            try Self.decode(Self.patchJPEGSize(jpeg, height: 60_000, width: 65_000), "big.jpg")
        }
        expectDataError(.corruptImage, containing: ["corrupt JPEG"]) { try Self.decode(Self.patchJPEGSize(jpeg, height: 0, width: 19)) }
        expectDataError(.corruptImage, containing: ["corrupt JPEG"]) { try Self.decode(Self.patchJPEGSize(jpeg, height: 14, width: 0)) }
    }

    @Test("CMYK, 12-bit and lossless JPEG are refused with a clear line")
    func unsupportedJPEG() throws {
        expectDataError(.unsupportedType, containing: ["cmyk.jpg", "CMYK JPEG is not supported"]) {
            _ = try ImageFile.read(path: ImageFixtures.path("cmyk.jpg"))
        }
        let jpeg = try ImageFixtures.bytes("rgb.jpg")
        let sof = try #require((2..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        var twelve = jpeg
        twelve[sof + 4] = 12  // the frame's sample precision
        expectDataError(.unsupportedType, containing: ["t.jpg", "unsupported JPEG: Unsupported JPEG data precision 12"]) {
            try Self.decode(twelve, "t.jpg")
        }
        var lossless = jpeg
        lossless[sof + 1] = 0xC3  // SOF3: lossless Huffman
        expectDataError(.unsupportedType, containing: ["unsupported JPEG: Unsupported JPEG process: SOF type 0xc3"]) {
            try Self.decode(lossless)
        }
    }

    // MARK: PPM / PGM

    @Test("PPM/PGM headers: maxval, negative and overflowing numbers, zero and huge sizes")
    func pnmHeaders() {
        let cases: [(String, DataError.Kind, String)] = [
            ("P5 2 2 0\n", .corruptImage, "maxval 0 must be from 1 to 65535"),
            ("P6 2 2 65536\n", .corruptImage, "maxval 65536 must be from 1 to 65535"),
            ("P5 -2 2 255\n", .corruptImage, "width: expected a decimal number, found '-'"),
            ("P5 99999999999999999999 2 255\n", .corruptImage, "width is too large"),
            ("P5 2 2 2x55\n", .corruptImage, "found 'x' after 2"),
            ("P5 0 2 255\n", .badDimensions, "0×2"),
            ("P6 20000 2 255\n", .badDimensions, "the largest side dyconv reads is 16384"),
            ("P5 2 2", .truncated, "ends before the maxval"),
            ("P5", .truncated, "ends before the width"),
            ("P5 2 2 255", .truncated, "ends after the header"),
            ("P5x 2 2 255\n", .badMagic, "not followed by whitespace"),
            ("P1 2 2 0 1 0 1", .unsupportedType, "PBM bitmaps"),
            ("P4 2 2\n", .unsupportedType, "PBM bitmaps"),
            ("P7\nWIDTH 2\n", .unsupportedType, "PAM"),
            ("P9 2 2 255\n", .badMagic, "not a PNG, JPEG or PPM/PGM"),
        ]
        for (text, kind, fragment) in cases {
            expectDataError(kind, containing: ["h.pgm", fragment]) { try Self.decode(Array(text.utf8), "h.pgm") }
        }
    }

    @Test("PPM/PGM rasters: missing pixels, samples above maxval")
    func pnmRasters() {
        expectDataError(.truncated, containing: ["m.pgm", "header says 4 raster bytes, the file has 3"]) {
            try Self.decode(Array("P5 2 2 255\n".utf8) + [1, 2, 3], "m.pgm")
        }
        expectDataError(.truncated, containing: ["header says 24 raster bytes"]) {
            try Self.decode(Array("P6 2 2 65535\n".utf8) + [UInt8](repeating: 0, count: 23))
        }
        expectDataError(.truncated, containing: ["raster ends after 3 of 4 samples"]) { try Self.decode(Array("P2 2 2 255\n1 2 3 ".utf8)) }
        // A huge ASCII raster is refused from the byte count before its samples are allocated.
        expectDataError(.truncated, containing: ["header says 256000000 samples"]) { try Self.decode(Array("P2 16000 16000 255\n1".utf8)) }
        expectDataError(.corruptImage, containing: ["sample 300 exceeds maxval 255"]) { try Self.decode(Array("P2 2 1 255\n1 300".utf8)) }
        expectDataError(.corruptImage, containing: ["sample 9 at index 1 exceeds maxval 8"]) {
            try Self.decode(Array("P5 2 1 8\n".utf8) + [3, 9])
        }
        expectDataError(.corruptImage, containing: ["sample: expected a decimal number, found '-'"]) { try Self.decode(Array("P2 2 1 255\n1 -2".utf8)) }
    }

    @Test("read(path:) names the path for a missing file, a directory and a bad file")
    func pathErrors() throws {
        let directory = try TemporaryDirectory()
        expectDataError(.notFound, containing: [directory.file("none.png")]) { _ = try ImageFile.read(path: directory.file("none.png")) }
        expectDataError(.io, containing: [directory.path, "is a directory"]) { _ = try ImageFile.read(path: directory.path) }
        let bad = try directory.write([1, 2, 3], to: "bad.png")
        expectDataError(.badMagic, containing: [bad]) { _ = try ImageFile.read(path: bad) }
    }
}
