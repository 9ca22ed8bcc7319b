import Foundation
import Testing
@testable import DyConvData
import DyConvTestSupport

/// Every malformed input must produce its own `DataError` (one line, naming the file) and never trap.
@Suite struct MalformedFileTests {
    /// A tiny valid pair: 3 images of 2×2 and their labels.
    private func writePair(in directory: TemporaryDirectory, imageCount: UInt32 = 3, labelCount: UInt32 = 3,
                           labels: [UInt8]? = nil) throws -> (images: String, labels: String) {
        let pixels = (0..<Int(imageCount) * 4).map { UInt8($0 * 17 % 256) }
        let labelBytes = labels ?? (0..<Int(labelCount)).map { UInt8($0 % 10) }
        let images = try directory.write(idxBytes(magic: 0x803, dimensions: [imageCount, 2, 2], payload: pixels),
                                         to: "images-idx3-ubyte")
        let labelsPath = try directory.write(idxBytes(magic: 0x801, dimensions: [labelCount], payload: labelBytes),
                                             to: "labels-idx1-ubyte")
        return (images, labelsPath)
    }

    @Test func validTinyPairLoads() throws {
        let directory = try TemporaryDirectory()
        let paths = try writePair(in: directory)
        let dataset = try ImageDataset.load(imagesPath: paths.images, labelsPath: paths.labels,
                                            classNames: FashionMNIST.classNames)
        #expect(dataset.count == 3 && dataset.height == 2 && dataset.width == 2)
        #expect(dataset.pixels == (0..<12).map { UInt8($0 * 17 % 256) })
        #expect(dataset.labels == [0, 1, 2])
        // Without class names, classes are named after the labels present.
        let inferred = try ImageDataset.load(imagesPath: paths.images, labelsPath: paths.labels)
        #expect(inferred.classNames == ["0", "1", "2"])
    }

    @Test func badMagic() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(idxBytes(magic: 0x1234_5678, dimensions: [1, 1, 1], payload: [0]), to: "bad.idx")
        expectDataError(.badMagic, containing: [path, "bad magic 0x12345678", "0x00000803"]) {
            _ = try IDXFile.read(path: path, expectedRank: 3)
        }
        // A PNG is not an IDX file either.
        let png = try directory.write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], to: "picture.png")
        expectDataError(.badMagic, containing: [png, "0x89504E47"]) {
            _ = try IDXFile.read(path: png, expectedRank: 3)
        }
        // Unknown element type code.
        let unknown = try directory.write(idxBytes(magic: 0x0000_0A03, dimensions: [1, 1, 1], payload: [0]), to: "unknown")
        expectDataError(.badMagic, containing: [unknown, "unknown IDX element type 0x0A"]) {
            _ = try IDXFile.read(path: unknown, expectedRank: 3)
        }
    }

    @Test func unsupportedElementType() throws {
        let directory = try TemporaryDirectory()
        let floats = try directory.write(idxBytes(magic: 0x0000_0D03, dimensions: [1, 1, 1], payload: [0, 0, 0, 0]),
                                         to: "floats-idx3")
        expectDataError(.unsupportedType, containing: [floats, "float32", "0x0D", "only unsigned byte (0x08)"]) {
            _ = try IDXFile.read(path: floats, expectedRank: 3)
        }
    }

    @Test func wrongNumberOfDimensions() throws {
        let directory = try TemporaryDirectory()
        let paths = try writePair(in: directory)
        // Images and labels swapped.
        expectDataError(.badDimensions, containing: [paths.labels, "declares 1 dimension", "expected 3"]) {
            _ = try ImageDataset.load(imagesPath: paths.labels, labelsPath: paths.images)
        }
        // Dimensions whose product overflows.
        let huge = try directory.write(idxBytes(magic: 0x803, dimensions: [.max, .max, .max], payload: []), to: "huge")
        expectDataError(.badDimensions, containing: [huge, "too large"]) {
            _ = try IDXFile.read(path: huge, expectedRank: 3)
        }
        // Zero-sized images.
        let empty = try directory.write(idxBytes(magic: 0x803, dimensions: [2, 0, 28], payload: []), to: "empty-images")
        expectDataError(.badDimensions, containing: [empty, "0×28"]) {
            _ = try ImageDataset.load(imagesPath: empty, labelsPath: paths.labels)
        }
    }

    @Test func truncatedData() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(idxBytes(magic: 0x803, dimensions: [10, 28, 28], payload: [UInt8](repeating: 7, count: 1234)),
                                       to: "t10k-images-idx3-ubyte")
        expectDataError(.truncated, containing: [path, "truncated: header says 10×28×28 = 7840 bytes of data, file has 1234"]) {
            _ = try IDXFile.read(path: path, expectedRank: 3)
        }
        // Truncated inside the header, and an empty file.
        let header = try directory.write([0, 0, 8, 3, 0, 0, 0, 10, 0, 0], to: "short-header")
        expectDataError(.truncated, containing: [header, "needs 16 bytes, file has 10"]) {
            _ = try IDXFile.read(path: header, expectedRank: 3)
        }
        let nothing = try directory.write([], to: "zero-bytes")
        expectDataError(.truncated, containing: [nothing, "too short"]) {
            _ = try IDXFile.read(path: nothing, expectedRank: 1)
        }
        // Same through gzip: the stream is fine, the IDX content is short.
        let gz = try directory.write(Gzip.compress(idxBytes(magic: 0x801, dimensions: [100], payload: [1, 2, 3])),
                                     to: "labels.gz")
        expectDataError(.truncated, containing: [gz, "header says 100 = 100 bytes of data, file has 3"]) {
            _ = try IDXFile.read(path: gz, expectedRank: 1)
        }
    }

    @Test func trailingBytes() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(idxBytes(magic: 0x801, dimensions: [2], payload: [1, 2, 3, 4]), to: "long")
        expectDataError(.trailingData, containing: [path, "2 unexpected bytes"]) {
            _ = try IDXFile.read(path: path, expectedRank: 1)
        }
    }

    @Test func imageLabelCountMismatch() throws {
        let directory = try TemporaryDirectory()
        let paths = try writePair(in: directory, imageCount: 3, labelCount: 2)
        expectDataError(.countMismatch, containing: [paths.labels, "2 labels", paths.images, "3 images"]) {
            _ = try ImageDataset.load(imagesPath: paths.images, labelsPath: paths.labels, classNames: FashionMNIST.classNames)
        }
    }

    @Test func labelOutOfRange() throws {
        let directory = try TemporaryDirectory()
        let paths = try writePair(in: directory, labels: [3, 10, 1])
        expectDataError(.labelOutOfRange, containing: [paths.labels, "label 10 at index 1", "10 classes"]) {
            _ = try ImageDataset.load(imagesPath: paths.images, labelsPath: paths.labels, classNames: FashionMNIST.classNames)
        }
        expectDataError(.labelOutOfRange, containing: ["label 9 at index 1", "2 classes"]) {
            _ = try ImageDataset(channels: 1, height: 1, width: 1, pixels: [0, 0], labels: [0, 9], classNames: ["a", "b"])
        }
        expectDataError(.labelOutOfRange, containing: ["label -1 at index 0"]) {
            _ = try ImageDataset(channels: 1, height: 1, width: 1, pixels: [0], labels: [-1], classNames: ["a"])
        }
    }

    @Test func corruptGzipStream() throws {
        let directory = try TemporaryDirectory()
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Sample.imagesPath())))

        // Damaged bytes in the middle of the deflate data.
        var damaged = original
        for i in stride(from: 5000, to: 5400, by: 1) { damaged[i] ^= 0x5A }
        let damagedPath = try directory.write(damaged, to: "t10k-images-idx3-ubyte.gz")
        expectDataError(.corruptGzip, containing: [damagedPath, "corrupt gzip stream"]) {
            _ = try IDXFile.read(path: damagedPath, expectedRank: 3)
        }

        // A changed CRC in the trailer: the data inflates but fails the integrity check.
        var badCRC = original
        badCRC[badCRC.count - 8] ^= 0xFF
        let crcPath = try directory.write(badCRC, to: "crc.gz")
        expectDataError(.corruptGzip, containing: [crcPath, "incorrect data check"]) {
            _ = try IDXFile.read(path: crcPath, expectedRank: 3)
        }

        // Cut off half-way.
        let cutPath = try directory.write(Array(original.prefix(original.count / 2)), to: "cut.gz")
        expectDataError(.corruptGzip, containing: [cutPath, "ends early"]) {
            _ = try IDXFile.read(path: cutPath, expectedRank: 3)
        }

        // Empty, and not gzip at all, despite the .gz name.
        let emptyPath = try directory.write([], to: "empty.gz")
        expectDataError(.corruptGzip, containing: [emptyPath, "empty"]) {
            _ = try IDXFile.read(path: emptyPath, expectedRank: 1)
        }
        let textPath = try directory.write(Array("hello, this is not compressed".utf8), to: "text.gz")
        expectDataError(.corruptGzip, containing: [textPath, "incorrect header check"]) {
            _ = try IDXFile.read(path: textPath, expectedRank: 1)
        }

        // Garbage after a complete stream.
        let labelsGz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Sample.labelsPath())))
        let garbagePath = try directory.write(labelsGz + Array("garbage".utf8), to: "garbage.gz")
        expectDataError(.corruptGzip, containing: [garbagePath, "corrupt gzip stream"]) {
            _ = try IDXFile.read(path: garbagePath, expectedRank: 1)
        }
        // ...while zero padding after the stream is accepted, as gunzip does.
        let paddedPath = try directory.write(labelsGz + [UInt8](repeating: 0, count: 512), to: "padded.gz")
        #expect(try IDXFile.read(path: paddedPath, expectedRank: 1).dimensions == [1000])
    }

    @Test func missingFilesAndDirectories() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.file("nope-images-idx3-ubyte.gz")
        expectDataError(.notFound, containing: [missing, "no such file"]) {
            _ = try IDXFile.read(path: missing)
        }
        expectDataError(.io, containing: [directory.path, "is a directory"]) {
            _ = try IDXFile.read(path: directory.path)
        }
        let absent = directory.file("no-such-dir")
        expectDataError(.notFound, containing: [absent, "no such directory"]) {
            _ = try FashionMNIST.load(.test, directory: absent)
        }
        // Only the images present: the labels file is reported by name.
        try directory.write(idxBytes(magic: 0x803, dimensions: [1, 1, 1], payload: [0]), to: "t10k-images-idx3-ubyte")
        expectDataError(.notFound, containing: [directory.path, "t10k-labels-idx1-ubyte.gz"]) {
            _ = try FashionMNIST.load(.test, directory: directory.path)
        }
        #expect(!FashionMNIST.isAvailable(.test, directory: directory.path))
        let paths = try writePair(in: directory)
        expectDataError(.notFound, containing: [directory.file("missing-labels")]) {
            _ = try ImageDataset.load(imagesPath: paths.images, labelsPath: directory.file("missing-labels"))
        }
    }

    @Test func gzipRoundTripsAndConcatenatedMembers() throws {
        var generator = SplitMix(seed: 7)
        let data = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: generator.next() % 7) }
        let compressed = Gzip.compress(data)
        #expect(compressed.count < data.count)
        #expect(compressed.prefix(4) == [0x1F, 0x8B, 0x08, 0x00])
        #expect(Array(compressed[4..<8]) == [0, 0, 0, 0])  // mtime 0
        #expect(try Gzip.decompress(compressed) == data)
        // Two members back to back decode to the concatenation, as gunzip does.
        let joined = Gzip.compress(Array(data.prefix(1000))) + Gzip.compress(Array(data.dropFirst(1000)))
        #expect(try Gzip.decompress(joined) == data)
        #expect(try Gzip.decompress(Gzip.compress([])) == [])
        #expect(try Gzip.decompress(Gzip.compress(data, level: 0)) == data)
    }

    @Test func invalidDatasetConstruction() {
        expectDataError(.invalidArgument, containing: ["ImageDataset", "5 pixel bytes"]) {
            _ = try ImageDataset(channels: 1, height: 2, width: 2, pixels: [1, 2, 3, 4, 5], labels: [0], classNames: ["a"])
        }
        expectDataError(.invalidArgument, containing: ["positive"]) {
            _ = try ImageDataset(channels: 0, height: 2, width: 2, pixels: [], labels: [], classNames: ["a"])
        }
        expectDataError(.invalidArgument, containing: ["class names"]) {
            _ = try ImageDataset(channels: 1, height: 1, width: 1, pixels: [1], labels: [0], classNames: [])
        }
        expectDataError(.invalidArgument, containing: ["IDXFile", "2×2"]) {
            _ = try IDXFile(dimensions: [2, 2], data: [1, 2, 3])
        }
    }
}

/// A local SplitMix64 so these tests do not depend on the engine's generator.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
