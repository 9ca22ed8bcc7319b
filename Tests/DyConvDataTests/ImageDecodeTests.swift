import Foundation
import Testing
@testable import DyConvData

/// Decoding PNG, JPEG and PPM/PGM files.
///
/// Oracle: Pillow 13 (`tools/make_image_fixtures.py`): each fixture comes with the planar pixels
/// Pillow decodes (`Image.open(f).convert("L" | "RGB")`), except 16-bit grey PNG and PGM with
/// maxval > 255, where Pillow's convert clips and the script computes dyconv's documented rule
/// (the manifest names the oracle of each case). Tolerance 0, 1 for JPEG (libjpeg-turbo
/// builds) and scaled PPM/PGM (Pillow rounds halves to even, dyconv up).
@Suite("Image decoding")
struct ImageDecodeTests {
    @Test("the manifest lists every format and kind of file")
    func manifestIsComplete() {
        let files = Set(ImageFixtures.manifest.decode.map(\.file))
        for name in ["grey.png", "rgb.png", "rgba.png", "palette.png", "grey16.png", "rgb16.png", "grey1.png",
                     "interlaced.png", "grey.jpg", "rgb.jpg", "progressive.jpg", "plain.pgm", "plain.ppm",
                     "grey.pgm", "rgb.ppm", "grey16.pgm", "rgb16.ppm"] {
            #expect(files.contains(name), "manifest lacks \(name)")
        }
        #expect(ImageFixtures.manifest.transform.count >= 9)
    }

    @Test("decodes as Pillow does", arguments: ImageFixtures.manifest.decode)
    func decodesAsPillow(_ fixture: ImageFixtures.DecodeCase) throws {
        let image = try ImageFile.read(path: ImageFixtures.path(fixture.file))
        #expect(image.channels == fixture.channels && image.height == fixture.height && image.width == fixture.width,
                "\(fixture.file): got \(image.shapeText)")
        let expected = try ImageFixtures.bytes(fixture.expected)
        let difference = try #require(ImageFixtures.maxDifference(image.pixels, expected), "\(fixture.file): pixel count")
        #expect(difference <= fixture.tolerance, "\(fixture.file) differs from \(fixture.oracle) by \(difference) levels")
    }

    @Test("the format is told by content, not by the extension")
    func contentNotExtension() throws {
        let png = try ImageFixtures.bytes("rgb.png")
        let expected = try ImageFile.read(path: ImageFixtures.path("rgb.png"))
        #expect(try ImageFile.decode(png, name: "photo.jpg") == expected)
        let directory = try TemporaryDirectory()
        let misnamed = try directory.write(png, to: "really-a-png.pgm")
        #expect(try ImageFile.read(path: misnamed) == expected)
    }

    @Test("looksLikeImage goes by extension, any case")
    func extensions() {
        for path in ["a.png", "dir/b.JPG", "c.jpeg", "d.Ppm", "e.pgm", "f.pnm", "/x/y.PNG"] {
            #expect(ImageFile.looksLikeImage(path: path), "\(path)")
        }
        for path in ["a.gif", "b", ".png", "c.png.txt", "dir.png/file", "labels-idx1-ubyte"] {
            #expect(!ImageFile.looksLikeImage(path: path), "\(path)")
        }
    }

    @Test("DecodedImage validates its shape")
    func decodedImageInit() throws {
        let image = try DecodedImage(channels: 3, height: 1, width: 2, pixels: [1, 2, 3, 4, 5, 6])
        #expect(image.shapeText == "3×1×2")
        for (c, h, w, n) in [(2, 1, 1, 2), (1, 0, 1, 0), (1, 1, 16_385, 16_385), (3, 2, 2, 11)] {
            #expect(throws: DataError.self) { try DecodedImage(channels: c, height: h, width: w, pixels: .init(repeating: 0, count: n)) }
        }
    }

    @Test("interleaved RGB rows become planar CHW")
    func planarLayout() {
        // Oracle: the layout by hand — two pixels (1,2,3) and (4,5,6) → planes [1,4] [2,5] [3,6].
        let image = DecodedImage(interleaved: [1, 2, 3, 4, 5, 6], channels: 3, height: 1, width: 2)
        #expect(image.pixels == [1, 4, 2, 5, 3, 6])
    }

    @Test("PPM/PGM scaling: round(v·255/maxval), halves up")
    func pnmScaling() throws {
        // Oracle: the arithmetic by hand. maxval 2: 0, 127.5 → 128, 255; maxval 6: 1 → 42.5 → 43.
        let two = try ImageFile.decode(Array("P2 3 1 2\n0 1 2\n".utf8), name: "two.pgm")
        #expect(two.pixels == [0, 128, 255])
        let six = try ImageFile.decode(Array("P2 1 1 6 1".utf8), name: "six.pgm")
        #expect(six.pixels == [43])
        let wide = try ImageFile.decode(Array("P5 2 1 65535\n".utf8) + [0x80, 0x00, 0xFF, 0xFF], name: "wide.pgm")
        #expect(wide.pixels == [128, 255])  // 32768·255/65535 = 127.50…, up
    }

    @Test("a comment may end the header in place of the single whitespace byte")
    func commentAfterMaxval() throws {
        let image = try ImageFile.decode(Array("P5 2 1 255#c\n".utf8) + [7, 9], name: "c.pgm")
        #expect(image.pixels == [7, 9])
    }
}
