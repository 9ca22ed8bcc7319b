import Foundation
import Testing
import DyConvEngine
@testable import DyConvData

/// Batching, subsets, statistics and asset lookup against naive reference computations.
@Suite struct ImageDatasetTests {
    /// A 3-channel 4×5 dataset with pseudo-random pixels.
    private func colourDataset(count: Int = 9) throws -> ImageDataset {
        var generator = SplitMix(seed: 42)
        let pixels = (0..<count * 3 * 4 * 5).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return try ImageDataset(channels: 3, height: 4, width: 5, pixels: pixels,
                                labels: (0..<count).map { $0 % 4 }, classNames: ["a", "b", "c", "d"])
    }

    @Test func batchNormalisesLikeTheNaiveFormula() throws {
        let sample = try FashionMNIST.loadSample()
        let norm = FashionMNIST.normalization
        let indices = [999, 0, 17, 17, 512, 3]
        let batch = sample.batch(indices, normalization: norm)
        #expect(batch.shape == [6, 1, 28, 28])
        var worst: Double = 0
        for (row, index) in indices.enumerated() {
            for y in 0..<28 {
                for x in 0..<28 {
                    let p = sample.pixels[index * 784 + y * 28 + x]
                    let naiveFloat = (Float(p) / 255 - norm.mean[0]) / norm.std[0]
                    let naiveDouble = (Double(p) / 255 - Double(norm.mean[0])) / Double(norm.std[0])
                    let value = batch[row, 0, y, x]
                    #expect(value == naiveFloat)
                    worst = max(worst, abs(Double(value) - naiveDouble))
                }
            }
        }
        #expect(worst < 1e-5)
        // Spot values: black and white pixels map to the ends of the normalised range.
        #expect(abs((0 - 0.2860) / 0.3530 - Double(sample.batch([0], normalization: norm).data.min()!)) < 1e-5)
        #expect(abs((1 - 0.2860) / 0.3530 - Double(sample.batch([0], normalization: norm).data.max()!)) < 1e-5)
        // The range form equals the index form.
        #expect(sample.batch(100..<164, normalization: norm) == sample.batch(Array(100..<164), normalization: norm))
        #expect(sample.batch([], normalization: norm).shape == [0, 1, 28, 28])
    }

    @Test func batchUsesPerChannelNormalisationInNCHWOrder() throws {
        let dataset = try colourDataset()
        let norm = Normalization(mean: [0.1, 0.5, 0.9], std: [0.2, 0.25, 0.5])
        let indices = [8, 2, 5]
        let batch = dataset.batch(indices, normalization: norm)
        #expect(batch.shape == [3, 3, 4, 5])
        for (row, index) in indices.enumerated() {
            for c in 0..<3 {
                for y in 0..<4 {
                    for x in 0..<5 {
                        let p = dataset.pixels[((index * 3 + c) * 4 + y) * 5 + x]
                        let expected = (Double(p) / 255 - Double(norm.mean[c])) / Double(norm.std[c])
                        #expect(abs(Double(batch[row, c, y, x]) - expected) < 1e-5)
                    }
                }
            }
        }
        // A single mean/std applies to every channel.
        let shared = dataset.batch([1], normalization: Normalization(mean: [0.5], std: [0.5]))
        for (k, p) in dataset.image(1).enumerated() {
            #expect(abs(Double(shared.data[k]) - (Double(p) / 255 - 0.5) / 0.5) < 1e-6)
        }
        #expect(dataset.batch(2..<7, normalization: norm) == dataset.batch([2, 3, 4, 5, 6], normalization: norm))
    }

    @Test func normalizationAndModelCompatibilityChecks() throws {
        let dataset = try colourDataset()
        try dataset.validate(normalization: Normalization(mean: [0.5], std: [0.25]))
        expectDataError(.invalidArgument, containing: ["2 mean values for 3-channel images"]) {
            try dataset.validate(normalization: Normalization(mean: [0, 0], std: [1]))
        }
        expectDataError(.invalidArgument, containing: ["std", "positive"]) {
            try dataset.validate(normalization: Normalization(mean: [0], std: [0]))
        }
        let sample = try FashionMNIST.loadSample()
        let fits = Families.dycnn(widths: [4, 4, 4], kernels: 2)
        try sample.checkCompatible(with: fits)
        var wrongShape = fits
        wrongShape.input = InputSpec(channels: 3, height: 32, width: 32)
        expectDataError(.invalidArgument, containing: ["sample", "1×28×28", "3×32×32"]) {
            try sample.checkCompatible(with: wrongShape, name: "sample")
        }
        let wrongClasses = Families.dycnn(widths: [4, 4, 4], kernels: 2, classes: ["x", "y"])
        expectDataError(.invalidArgument, containing: ["10 classes", "2 outputs"]) {
            try sample.checkCompatible(with: wrongClasses)
        }
    }

    @Test func subsetsCopyTheRightImages() throws {
        let dataset = try colourDataset()
        let picked = dataset.subset([7, 1, 7])
        #expect(picked.count == 3)
        #expect(Array(picked.image(0)) == Array(dataset.image(7)))
        #expect(Array(picked.image(1)) == Array(dataset.image(1)))
        #expect(picked.labels == [dataset.labels![7], dataset.labels![1], dataset.labels![7]])
        let range = dataset.subset(2..<5)
        #expect(range.pixels == Array(dataset.pixels[2 * 60 ..< 5 * 60]))
        #expect(range.labels == Array(dataset.labels![2..<5]))
        #expect(range.classNames == dataset.classNames)
        #expect(dataset.prefix(100).count == 9 && dataset.prefix(-1).count == 0 && dataset.prefix(4).count == 4)
        #expect(dataset.labels(at: [3, 0]) == [3, 0])
    }

    @Test func epochBatchesArePermutations() throws {
        let sample = try FashionMNIST.loadSample()
        let ordered = sample.batchIndices(size: 64)
        #expect(ordered.count == 16 && ordered.last!.count == 1000 - 15 * 64)
        #expect(ordered.flatMap { $0 } == Array(0..<1000))
        let shuffled = sample.batchIndices(size: 64, seed: 3)
        #expect(shuffled.flatMap { $0 }.sorted() == Array(0..<1000))
        #expect(shuffled.flatMap { $0 } != Array(0..<1000))
        #expect(shuffled == sample.batchIndices(size: 64, seed: 3))
        #expect(shuffled != sample.batchIndices(size: 64, seed: 4))
    }

    @Test func statisticsMatchNaiveMeanAndStd() throws {
        for dataset in [try colourDataset(), try FashionMNIST.loadSample()] {
            let stats = dataset.statistics()
            let plane = dataset.height * dataset.width
            for c in 0..<dataset.channels {
                var values: [Double] = []
                for i in 0..<dataset.count {
                    for k in 0..<plane { values.append(Double(dataset.pixels[(i * dataset.channels + c) * plane + k]) / 255) }
                }
                let mean = values.reduce(0, +) / Double(values.count)
                let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
                #expect(abs(Double(stats.mean[c]) - mean) < 1e-6)
                #expect(abs(Double(stats.std[c]) - std) < 1e-6)
            }
        }
    }

    @Test func assetsSearchOrder() throws {
        let repoAssets = try Assets.directory()
        let scratch = try TemporaryDirectory()
        // An explicit directory wins.
        #expect(try Assets.directory(configured: scratch.path, executable: nil, workingDirectory: nil)
                == Files.realPath(scratch.path))
        // A missing configured directory falls through to the executable walk.
        let fakeExecutable = Files.parent(of: repoAssets) + "/.build-x/x86_64/debug/tool"
        #expect(try Assets.directory(configured: scratch.file("absent"), executable: fakeExecutable, workingDirectory: nil)
                == repoAssets)
        // Too deep: more than five levels up is not searched.
        let deep = Files.parent(of: repoAssets) + "/a/b/c/d/e/f/tool"
        expectDataError(.assetsNotFound, containing: ["DYCONV_ASSETS", "absent"]) {
            _ = try Assets.directory(configured: scratch.file("absent"), executable: deep, workingDirectory: scratch.path)
        }
        // Finally ./assets in the working directory.
        try FileManager.default.createDirectory(atPath: scratch.file("assets"), withIntermediateDirectories: false)
        #expect(try Assets.directory(configured: nil, executable: deep, workingDirectory: scratch.path) == scratch.file("assets"))
    }
}
