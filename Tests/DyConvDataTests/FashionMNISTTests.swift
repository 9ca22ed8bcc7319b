import Foundation
import Testing
import DyConvEngine
@testable import DyConvData
import DyConvTestSupport

/// Reads real Fashion-MNIST files: the bundled sample and, when installed, the full dataset.
@Suite struct FashionMNISTTests {
    @Test func sampleHasTheFirstThousandTestImages() throws {
        let sample = try FashionMNIST.loadSample()
        #expect(sample.count == 1000)
        #expect(sample.channels == 1 && sample.height == 28 && sample.width == 28)
        #expect(sample.pixels.count == 1000 * 784)
        #expect(sample.labels!.count == 1000)
        #expect(sample.classNames == FashionMNIST.classNames)
        // The first ten Fashion-MNIST test labels.
        #expect(Array(sample.labels!.prefix(10)) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        #expect(sample.classNames[sample.labels![0]] == "Ankle boot")
        // Oracles computed with Python's gzip module from the original t10k files.
        #expect(sample.pixels.reduce(0) { $0 + Int($1) } == 58_034_149)
        #expect(sample.image(0).reduce(0) { $0 + Int($1) } == 33_456)
        #expect(sample.image(999).reduce(0) { $0 + Int($1) } == 28_316)
        #expect(sample.labels![999] == 7)
        #expect(sample.classCounts == [107, 105, 111, 93, 115, 87, 97, 95, 95, 95])
        var weighted = 0
        for (i, p) in sample.pixels.enumerated() { weighted += (i % 251) * Int(p) }
        #expect(weighted == 7_245_580_997)
    }

    @Test func classNames() {
        #expect(FashionMNIST.classNames == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        // The engine's model families label their outputs the same way.
        #expect(FashionMNIST.classNames == Families.fashionMNISTClasses)
        #expect(FashionMNIST.normalization == Families.fashionMNISTNormalization)
        #expect(FashionMNIST.Split.test.imagesFileName == "t10k-images-idx3-ubyte")
        #expect(FashionMNIST.Split.train.labelsFileName == "train-labels-idx1-ubyte")
    }

    @Test(.enabled(if: fullDatasetPresent, "Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist"))
    func fullTestSetStartsWithTheSample() throws {
        let test = try FashionMNIST.load(.test)
        #expect(test.count == 10_000)
        #expect(test.height == 28 && test.width == 28 && test.channels == 1)
        #expect(test.classCounts == [Int](repeating: 1000, count: 10))
        let sample = try FashionMNIST.loadSample()
        #expect(Array(test.pixels.prefix(784_000)) == sample.pixels)
        #expect(Array(test.labels!.prefix(1000)) == sample.labels)
        let head = test.prefix(1000)
        #expect(head.pixels == sample.pixels && head.labels == sample.labels)
    }

    @Test(.enabled(if: fullDatasetPresent, "Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist"))
    func fullTrainingSetMatchesPublishedStatistics() throws {
        let train = try FashionMNIST.load(.train)
        #expect(train.count == 60_000)
        #expect(train.classCounts == [Int](repeating: 6000, count: 10))
        let stats = train.statistics()
        // Published Fashion-MNIST training statistics: mean 0.2860, std 0.3530.
        #expect(abs(stats.mean[0] - 0.28604) < 1e-4)
        #expect(abs(stats.std[0] - 0.35302) < 1e-4)
        #expect(abs(stats.mean[0] - FashionMNIST.normalization.mean[0]) < 1e-3)
        #expect(abs(stats.std[0] - FashionMNIST.normalization.std[0]) < 1e-3)
    }

    @Test func rawAndGzipFilesGiveIdenticalData() throws {
        let directory = try TemporaryDirectory()
        let sampleImages = try Data(contentsOf: URL(fileURLWithPath: Sample.imagesPath()))
        let sampleLabels = try Data(contentsOf: URL(fileURLWithPath: Sample.labelsPath()))
        try directory.write(try Gzip.decompress([UInt8](sampleImages)), to: "t10k-images-idx3-ubyte")
        try directory.write(try Gzip.decompress([UInt8](sampleLabels)), to: "t10k-labels-idx1-ubyte")

        let raw = try FashionMNIST.load(.test, directory: directory.path)
        let gz = try FashionMNIST.loadSample()
        #expect(raw.count == gz.count)
        #expect(raw.pixels == gz.pixels)
        #expect(raw.labels == gz.labels)
        #expect(try FashionMNIST.files(.test, directory: directory.path).images.hasSuffix("t10k-images-idx3-ubyte"))

        // A gzip file without the .gz suffix is recognised by its magic bytes.
        try directory.write([UInt8](sampleLabels), to: "labels-without-suffix")
        let sniffed = try IDXFile.read(path: directory.file("labels-without-suffix"), expectedRank: 1)
        #expect(sniffed.data.map(Int.init) == gz.labels)

        // Mixed: raw images, gzip labels, through the generic loader.
        let mixed = try ImageDataset.load(imagesPath: directory.file("t10k-images-idx3-ubyte"),
                                          labelsPath: try Sample.labelsPath(),
                                          classNames: FashionMNIST.classNames)
        #expect(mixed.pixels == gz.pixels && mixed.labels == gz.labels)
    }

    @Test func writtenIDXFilesRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let sample = try FashionMNIST.loadSample().prefix(37)
        let images = try IDXFile(dimensions: [37, 28, 28], data: sample.pixels)
        let labels = try IDXFile(dimensions: [37], data: sample.labels!.map { UInt8($0) })
        try images.write(path: directory.file("train-images-idx3-ubyte.gz"), compressed: true)
        try labels.write(path: directory.file("train-labels-idx1-ubyte"), compressed: false)
        #expect(try IDXFile.read(path: directory.file("train-images-idx3-ubyte.gz")) == images)
        let reloaded = try FashionMNIST.load(.train, directory: directory.path)
        #expect(reloaded.pixels == sample.pixels && reloaded.labels == sample.labels)
        // Hand-built header bytes agree with the encoder.
        #expect(labels.encoded() == idxBytes(magic: 0x801, dimensions: [37], payload: labels.data))
        // Writing leaves no temporary files behind.
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(entries == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte"])
        // Compression is reproducible (mtime 0, no name).
        #expect(Gzip.compress(images.encoded(), level: 9) == Gzip.compress(images.encoded(), level: 9))
    }

    @Test func assetsDirectoryIsFoundFromTheTestExecutable() throws {
        let directory = try Assets.directory()
        #expect(directory.hasSuffix("/assets"))
        #expect(FileManager.default.fileExists(atPath: directory + "/fashion-mnist-sample/t10k-images-idx3-ubyte.gz"))
    }
}
