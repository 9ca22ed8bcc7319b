import Foundation
import Testing
import DyConvEngine
import DyConvTestSupport
@testable import DyConvData

/// `--data DIR` discovery and `--image FILE…`, on folders written here.
///
/// Oracles: the bytes each test writes (IDX headers by `idxBytes`, CIFAR records by
/// `CIFARTests.batch`, PGM/PPM files by `pnm`), the documented rules (the test split preferred,
/// torchvision's ImageFolder numbering classes by sorted folder name), and for resizing the
/// decode helper's `ImageTransform.fit` (checked against Pillow in its own tests): an image of
/// the model's size is taken byte for byte, so these tests fix what goes where.
@Suite struct DatasetDiscoveryTests {
    /// A binary PGM (P5) or PPM (P6) file: header, then the interleaved samples.
    static func pnm(width: Int, height: Int, channels: Int, _ sample: (Int, Int, Int) -> UInt8) -> [UInt8] {
        var bytes = Array("\(channels == 1 ? "P5" : "P6")\n\(width) \(height)\n255\n".utf8)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { bytes.append(sample(c, y, x)) } } }
        return bytes
    }

    static func images(count: Int, side: Int = 4, seed: Int = 0) -> [UInt8] {
        idxBytes(magic: 0x803, dimensions: [UInt32(count), UInt32(side), UInt32(side)],
                 payload: (0..<count * side * side).map { UInt8(truncatingIfNeeded: $0 * 5 + seed) })
    }

    static func labels(_ values: [UInt8]) -> [UInt8] {
        idxBytes(magic: 0x801, dimensions: [UInt32(values.count)], payload: values)
    }

    @Test func idxPairIsFoundByContentWhateverTheNames() throws {
        let dir = try TemporaryDirectory()
        try dir.write(Self.images(count: 3), to: "pictures.dat")
        try dir.write(Gzip.compress(Self.labels([2, 0, 1]), level: 6), to: "answers")
        try dir.write(Array("not a dataset".utf8), to: "README")
        let found = try DatasetDiscovery.load(directory: dir.path, input: nil)
        #expect(found.kind == .idx(images: dir.file("pictures.dat"), labels: dir.file("answers")))
        #expect(found.dataset.count == 3 && found.dataset.labels == [2, 0, 1])
        #expect(found.dataset.pixels == Array(Self.images(count: 3).dropFirst(16)))
        #expect(!found.hasClassNames && found.notes.isEmpty)
    }

    @Test func testSplitIsPreferredAndNamed() throws {
        let dir = try TemporaryDirectory()
        try dir.write(Self.images(count: 5), to: "train-images-idx3-ubyte")
        try dir.write(Self.labels([0, 1, 2, 3, 4]), to: "train-labels-idx1-ubyte")
        try dir.write(Self.images(count: 2, seed: 9), to: "t10k-images-idx3-ubyte")
        try dir.write(Self.labels([4, 4]), to: "t10k-labels-idx1-ubyte")
        // The same test images again, gzipped: the raw file is used, as FashionMNIST.files does.
        try dir.write(Gzip.compress(Self.images(count: 2, seed: 9), level: 1), to: "t10k-images-idx3-ubyte.gz")
        let found = try DatasetDiscovery.load(directory: dir.path, input: nil)
        #expect(found.kind == .idx(images: dir.file("t10k-images-idx3-ubyte"), labels: dir.file("t10k-labels-idx1-ubyte")))
        #expect(found.dataset.labels == [4, 4])
        #expect(found.notes.count == 1)
        #expect(found.notes[0].contains("test split t10k-images-idx3-ubyte") && found.notes[0].contains("train-images-idx3-ubyte"))
    }

    @Test func idxImagesWithoutLabelsAreUnlabelled() throws {
        let dir = try TemporaryDirectory()
        try dir.write(Self.images(count: 2), to: "x")
        try dir.write(Self.labels([1, 2, 3]), to: "y")   // another count: not its labels
        let found = try DatasetDiscovery.load(directory: dir.path, input: nil)
        #expect(found.dataset.labels == nil && found.dataset.count == 2)
        #expect(found.notes.contains { $0.contains("unlabelled") })
    }

    @Test func cifarFolderUsesTheTestBatchAndItsNames() throws {
        let root = try TemporaryDirectory()
        // torchvision's download layout: ROOT/cifar-10-batches-bin/…
        let dir = root.file("cifar-10-batches-bin")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        try Data(CIFARTests.batch([[5], [6]])).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        try Data(CIFARTests.batch([[1]])).write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
        try Data((names.joined(separator: "\n") + "\n\n").utf8).write(to: URL(fileURLWithPath: dir + "/batches.meta.txt"))
        let found = try DatasetDiscovery.load(directory: root.path, input: nil)
        #expect(found.kind == .cifar(.cifar10, files: [dir + "/test_batch.bin"]))
        #expect(found.dataset.labels == [5, 6] && found.dataset.classNames == names && found.hasClassNames)
        #expect(found.notes == ["using the CIFAR-10 test batch test_batch.bin; the training batches are left out"])
        // Without a test batch: the training batches; without the names file: numbered classes.
        try FileManager.default.removeItem(atPath: dir + "/test_batch.bin")
        try FileManager.default.removeItem(atPath: dir + "/batches.meta.txt")
        let train = try DatasetDiscovery.load(directory: dir, input: nil)
        #expect(train.dataset.labels == [1] && !train.hasClassNames && train.notes.count == 2)
    }

    @Test func imageFolderNumbersClassesBySortedFolderName() throws {
        let dir = try TemporaryDirectory()
        // Created out of order; torchvision sorts: "Zebra" < "ant" < "bee" (code points).
        for (folder, files) in [("bee", ["2.pgm", "1.pgm"]), ("ant", ["a.pgm"]), ("Zebra", ["z.pgm"])] {
            try FileManager.default.createDirectory(atPath: dir.file(folder), withIntermediateDirectories: true)
            for (k, file) in files.enumerated() {
                let value = UInt8(folder.utf8.first! &+ UInt8(k))
                try dir.write(Self.pnm(width: 3, height: 2, channels: 1) { _, _, _ in value }, to: "\(folder)/\(file)")
            }
        }
        try dir.write(Array("notes".utf8), to: "ant/readme.txt")  // not an image: skipped
        let found = try DatasetDiscovery.load(directory: dir.path, input: InputSpec(channels: 1, height: 2, width: 3))
        #expect(found.kind == .imageFolder(classes: 3))
        #expect(found.dataset.classNames == ["Zebra", "ant", "bee"] && found.hasClassNames)
        #expect(found.dataset.labels == [0, 1, 2, 2])
        #expect(found.dataset.imageNames == ["Zebra/z.pgm", "ant/a.pgm", "bee/1.pgm", "bee/2.pgm"])
        // 1.pgm was written second (value 'b' + 1), 2.pgm first ('b').
        #expect(found.dataset.pixels == [UInt8](repeating: 90, count: 6) + [UInt8](repeating: 97, count: 6)
                + [UInt8](repeating: 99, count: 6) + [UInt8](repeating: 98, count: 6))
        #expect(!found.resized)
    }

    @Test func flatFolderIsUnlabelledAndFittedToTheModel() throws {
        let dir = try TemporaryDirectory()
        try dir.write(Self.pnm(width: 2, height: 2, channels: 3) { c, y, x in UInt8(c * 100 + y * 10 + x) }, to: "b.ppm")
        try dir.write(Self.pnm(width: 4, height: 4, channels: 1) { _, _, _ in 7 }, to: "a.pgm")
        let found = try DatasetDiscovery.load(directory: dir.path, input: InputSpec(channels: 3, height: 2, width: 2))
        #expect(found.kind == .imageFiles && found.dataset.labels == nil)
        #expect(found.dataset.imageNames == ["a.pgm", "b.ppm"])
        // b.ppm is already 3×2×2: planar, as written.
        #expect(Array(found.dataset.image(1)) == [0, 1, 10, 11, 100, 101, 110, 111, 200, 201, 210, 211])
        // a.pgm: grey 4×4 → RGB, resized to 2×2: a flat image stays flat.
        #expect(Array(found.dataset.image(0)) == [UInt8](repeating: 7, count: 12))
        #expect(found.resized)
        #expect(found.notes.contains { $0.contains("1 image(s) resized") } && found.notes.contains { $0.contains("converted") })
    }

    @Test func imageFilesKeepTheirOrder() throws {
        let dir = try TemporaryDirectory()
        let b = try dir.write(Self.pnm(width: 2, height: 1, channels: 1) { _, _, x in UInt8(x + 1) }, to: "b.pgm")
        let a = try dir.write(Self.pnm(width: 2, height: 1, channels: 1) { _, _, x in UInt8(x + 5) }, to: "a.pgm")
        let found = try DatasetDiscovery.load(imageFiles: [b, a], input: nil)
        #expect(found.dataset.pixels == [1, 2, 5, 6] && found.dataset.labels == nil && found.summary == "2 image files")
        expectDataError(.notFound, containing: ["missing.png", "no such file"]) {
            _ = try DatasetDiscovery.load(imageFiles: [a, dir.file("missing.png")], input: nil)
        }
        expectDataError(.invalidArgument, containing: ["is a folder", "--data"]) {
            _ = try DatasetDiscovery.load(imageFiles: [dir.path], input: nil)
        }
        let broken = try dir.write(Array("P5\n2 1\n255\n".utf8), to: "broken.pgm")
        do {
            _ = try DatasetDiscovery.load(imageFiles: [a, broken], input: nil)
            Issue.record("a truncated PGM was accepted")
        } catch let error as DataError {
            #expect(error.description.contains("broken.pgm"), "\(error)")
        }
    }

    @Test func badFoldersAreOneLineErrors() throws {
        let dir = try TemporaryDirectory()
        expectDataError(.notFound, containing: [dir.path, "no dataset found"]) {
            _ = try DatasetDiscovery.load(directory: dir.path, input: nil)
        }
        expectDataError(.notFound, containing: ["nope", "no such directory"]) {
            _ = try DatasetDiscovery.load(directory: dir.file("nope"), input: nil)
        }
        let file = try dir.write([1], to: "file")
        expectDataError(.invalidArgument, containing: ["is a file"]) {
            _ = try DatasetDiscovery.load(directory: file, input: nil)
        }
        // An ImageFolder with an empty class folder is refused, as torchvision refuses it.
        try FileManager.default.createDirectory(atPath: dir.file("cat"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.file("dog"), withIntermediateDirectories: true)
        try dir.write(Self.pnm(width: 1, height: 1, channels: 1) { _, _, _ in 1 }, to: "cat/1.pgm")
        expectDataError(.notFound, containing: ["dog", "class folder without image files"]) {
            _ = try DatasetDiscovery.load(directory: dir.path, input: nil)
        }
        // A damaged IDX file is reported, not skipped.
        let idx = try TemporaryDirectory()
        try idx.write(Array(Self.images(count: 3).dropLast(1)), to: "images")
        try idx.write(Self.labels([1, 2, 3]), to: "labels")
        expectDataError(.truncated, containing: ["images", "truncated"]) {
            _ = try DatasetDiscovery.load(directory: idx.path, input: nil)
        }
    }

    @Test func idxImagesAreFittedToTheModelInput() throws {
        let dir = try TemporaryDirectory()
        try dir.write(Self.images(count: 2), to: "i")
        try dir.write(Self.labels([0, 1]), to: "l")
        let found = try DatasetDiscovery.load(directory: dir.path, input: InputSpec(channels: 3, height: 4, width: 4))
        // Same size, grey → RGB: the plane repeated three times (the channel rule).
        let grey = Array(Self.images(count: 2).dropFirst(16).prefix(16))
        #expect(Array(found.dataset.image(0)) == grey + grey + grey)
        #expect(found.dataset.labels == [0, 1] && !found.resized)
        // The oracle for a resize: ImageTransform.fit on the same image.
        let small = try DatasetDiscovery.load(directory: dir.path, input: InputSpec(channels: 1, height: 2, width: 2))
        let expected = try ImageTransform.fit(DecodedImage(channels: 1, height: 4, width: 4, pixels: grey),
                                              channels: 1, height: 2, width: 2).image.pixels
        #expect(Array(small.dataset.image(0)) == expected && small.resized)
    }

    /// `--resize S`: torchvision's `Resize(S)` before the crop, applied to every image, even one
    /// already of the input's size. Oracle: `ImageTransform.fit` with the same S.
    @Test func resizeShorterSideAppliesToEveryImage() throws {
        let dir = try TemporaryDirectory()
        let pixels: [UInt8] = (0..<16).map { UInt8($0 * 13) }
        let path = try dir.write(Self.pnm(width: 4, height: 4, channels: 1) { _, y, x in pixels[y * 4 + x] }, to: "a.pgm")
        let input = InputSpec(channels: 1, height: 4, width: 4)
        let plain = try DatasetDiscovery.load(imageFiles: [path], input: input)
        #expect(plain.dataset.pixels == pixels && !plain.resized)
        let resized = try DatasetDiscovery.load(imageFiles: [path], input: input, resizeShorterSide: 6)
        let oracle = try ImageTransform.fit(DecodedImage(channels: 1, height: 4, width: 4, pixels: pixels),
                                            channels: 1, height: 4, width: 4, resizeShorterSide: 6).image.pixels
        #expect(resized.dataset.pixels == oracle && oracle != pixels && resized.resized)
        #expect(resized.notes.contains { $0.contains("shorter side to 6") })
        // Folders too (IDX here), and a size below the input's side is refused before reading.
        try dir.write(Self.images(count: 1), to: "i")
        let idx = try DatasetDiscovery.load(directory: dir.path, input: input, resizeShorterSide: 6)
        #expect(idx.resized)
        expectDataError(.invalidArgument, containing: ["--resize 3", "4…16384"]) {
            _ = try DatasetDiscovery.load(directory: dir.path, input: input, resizeShorterSide: 3)
        }
    }

    // MARK: - Matching labels to the model's classes

    private func folder(_ classes: [String]) throws -> (TemporaryDirectory, DiscoveredDataset) {
        let dir = try TemporaryDirectory()
        for (k, name) in classes.enumerated() {
            try FileManager.default.createDirectory(atPath: dir.file(name), withIntermediateDirectories: true)
            try dir.write(Self.pnm(width: 1, height: 1, channels: 1) { _, _, _ in UInt8(k) }, to: "\(name)/x.pgm")
        }
        return (dir, try DatasetDiscovery.load(directory: dir.path, input: InputSpec(channels: 1, height: 1, width: 1)))
    }

    @Test func labelsMatchByNameWhenEveryNameIsTheModels() throws {
        let (_, found) = try folder(["cat", "dog"])   // labels 0 = cat, 1 = dog
        let (same, m1) = try found.matched(to: ["cat", "dog"])
        #expect(m1 == .same && same.labels == [0, 1])
        let (renamed, m2) = try found.matched(to: ["bird", "dog", "cat"])
        #expect(m2 == .byName && renamed.labels == [2, 1] && renamed.classNames == ["bird", "dog", "cat"])
    }

    @Test func labelsMatchByIndexOtherwiseWithAWarning() throws {
        let (_, found) = try folder(["cat", "dog"])
        let (byIndex, m) = try found.matched(to: ["0", "1", "2"])
        #expect(byIndex.labels == [0, 1] && byIndex.classNames == ["0", "1", "2"])
        guard case .byIndex(let warning?) = m else { Issue.record("expected a warning, got \(m)"); return }
        #expect(warning.contains("cat, dog") && warning.contains("matched by index"))
        expectDataError(.labelOutOfRange, containing: ["labels go up to 1", "1 class"]) {
            _ = try found.matched(to: ["only"])
        }
        // Numbered classes (IDX) match by index without a warning.
        let dir = try TemporaryDirectory()
        try dir.write(Self.images(count: 2), to: "i")
        try dir.write(Self.labels([0, 1]), to: "l")
        let idx = try DatasetDiscovery.load(directory: dir.path, input: nil)
        let (named, quiet) = try idx.matched(to: FashionMNIST.classNames)
        #expect(quiet == .byIndex(warning: nil) && named.classNames == FashionMNIST.classNames)
        // Unlabelled images take the model's names.
        let files = try DatasetDiscovery.load(imageFiles: [dir.write(Self.pnm(width: 1, height: 1, channels: 1) { _, _, _ in 0 }, to: "p.pgm")], input: nil)
        let (shown, none) = try files.matched(to: ["a", "b"])
        #expect(none == .unlabelled && shown.classNames == ["a", "b"] && shown.labels == nil)
    }
}
