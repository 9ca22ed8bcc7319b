import Foundation
import Testing
@testable import DyConvData

/// torchvision's evaluation transform (convert, `Resize(S)`, `CenterCrop`).
///
/// Oracle: Pillow 13 through `tools/make_image_fixtures.py`: `convert("L" | "RGB")`,
/// `resize((w, h), Image.BILINEAR)` — the call torchvision makes on a PIL image — and `crop`,
/// with the sizes and offsets of torchvision's `_compute_resized_output_size` and `center_crop`.
/// Tolerance ±1 level (the implementation reproduces Pillow's fixed-point algorithm, so the
/// fixtures match exactly today; the bound leaves room for Pillow's rounding to change).
@Suite("Image transform")
struct ImageTransformTests {
    @Test("fit matches Pillow + torchvision within one level", arguments: ImageFixtures.manifest.transform)
    func matchesPillow(_ fixture: ImageFixtures.TransformCase) throws {
        let source = try ImageFile.read(path: ImageFixtures.path(fixture.source))
        let (image, note) = try ImageTransform.fit(source, channels: fixture.channels, height: fixture.height,
                                                   width: fixture.width, resizeShorterSide: fixture.resize)
        #expect(image.channels == fixture.channels && image.height == fixture.height && image.width == fixture.width)
        let expected = try ImageFixtures.bytes(fixture.expected)
        let difference = try #require(ImageFixtures.maxDifference(image.pixels, expected))
        #expect(difference <= 1, "\(fixture.testDescription): \(difference) levels from Pillow")
        let unchanged = fixture.resize == nil && source.channels == fixture.channels
            && source.height == fixture.height && source.width == fixture.width
        #expect((note == nil) == unchanged, "note: \(note ?? "nil")")
    }

    @Test("the note says what changed")
    func notes() throws {
        let source = try ImageFile.read(path: ImageFixtures.path("land.png"))  // 33×25 RGB
        let fitted = try ImageTransform.fit(source, channels: 1, height: 16, width: 16)
        #expect(fitted.note == "RGB → grey (ITU-R 601-2 luma); resized 33×25 → 21×16 and centre-cropped to 16×16 (width×height)")
        let same = try ImageTransform.fit(source, channels: 3, height: 25, width: 33)
        #expect(same.note == nil && same.image == source)
        let grey = try ImageTransform.fit(ImageTransform.converted(source, channels: 1), channels: 3, height: 25, width: 33)
        #expect(grey.note == "grey → RGB (channel repeated)")
    }

    @Test("torchvision's Resize sizes: int(S · long / short)")
    func resizedSizes() {
        // Oracle: Python by hand, e.g. int(224 * 500 / 375) = 298.
        #expect(ImageTransform.resizedSize(height: 375, width: 500, shorterSide: 224) == (224, 298))
        #expect(ImageTransform.resizedSize(height: 500, width: 375, shorterSide: 224) == (298, 224))
        #expect(ImageTransform.resizedSize(height: 7, width: 7, shorterSide: 3) == (3, 3))
        #expect(ImageTransform.resizedSize(height: 3, width: 10, shorterSide: 256) == (256, 853))
    }

    @Test("CenterCrop offsets round halves to even, as Python's round")
    func cropOffsets() {
        // Oracle: Python: int(round(1 / 2.0)) = 0, round(3 / 2.0) = 2, round(5 / 2.0) = 2.
        #expect(ImageTransform.cropOffset(11, 10) == 0)
        #expect(ImageTransform.cropOffset(13, 10) == 2)
        #expect(ImageTransform.cropOffset(15, 10) == 2)
        #expect(ImageTransform.cropOffset(16, 10) == 3)
    }

    @Test("RGB → grey is Pillow's L = (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16")
    func luma() throws {
        // Oracle: Pillow `Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))` for these colours:
        // (255,0,0) → 76, (0,255,0) → 150, (0,0,255) → 29, (255,255,255) → 255, (10,200,30) → 124.
        let colours: [(UInt8, UInt8, UInt8, UInt8)] = [(255, 0, 0, 76), (0, 255, 0, 150), (0, 0, 255, 29),
                                                       (255, 255, 255, 255), (10, 200, 30, 124)]
        let image = try DecodedImage(channels: 3, height: 1, width: colours.count,
                                     pixels: colours.map(\.0) + colours.map(\.1) + colours.map(\.2))
        #expect(ImageTransform.converted(image, channels: 1).pixels == colours.map(\.3))
    }

    @Test("refuses a target it cannot produce")
    func invalidTargets() throws {
        let source = try DecodedImage(channels: 1, height: 4, width: 4, pixels: .init(repeating: 9, count: 16))
        for (c, h, w, s) in [(2, 4, 4, nil), (3, 0, 4, nil), (3, 4, 16_385, nil), (1, 8, 8, 7 as Int?), (1, 2, 2, 20_000), (1, 2, 2, 0)] {
            #expect(throws: DataError.self) { try ImageTransform.fit(source, channels: c, height: h, width: w, resizeShorterSide: s) }
        }
    }

    @Test("a resize that does not cover the crop is refused (torchvision would pad)")
    func uncoveredCrop() throws {
        let source = try DecodedImage(channels: 1, height: 10, width: 20, pixels: .init(repeating: 9, count: 200))
        #expect(throws: DataError.self) { try ImageTransform.fit(source, channels: 1, height: 8, width: 30, resizeShorterSide: 12) }
        // 20×10 → shorter side 15 → 30×15 covers 30×8.
        #expect(try ImageTransform.fit(source, channels: 1, height: 8, width: 30, resizeShorterSide: 15).image.pixels.count == 240)
    }

    @Test("a very elongated image is fitted without resizing all of it")
    func elongated() throws {
        // 1×8000 → shorter side 224 makes the long side 1,792,000: only the crop is computed.
        // Oracle: a constant image stays constant under any normalised filter.
        let strip = try DecodedImage(channels: 1, height: 1, width: 8000, pixels: .init(repeating: 77, count: 8000))
        let (image, _) = try ImageTransform.fit(strip, channels: 3, height: 224, width: 224)
        #expect(image.pixels.count == 3 * 224 * 224 && image.pixels.allSatisfy { $0 == 77 })
    }
}
