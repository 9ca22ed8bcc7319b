import XCTest
import Foundation
import DyConvEngine
import DyConvData
@testable import DyConvUI
@testable import DyConvSession

/// `dyconv-tui --image FILE…` and `--data DIR` beyond Fashion-MNIST: the session opens them
/// through `DatasetDiscovery`, sized for the first model. Oracle: the model's own forward pass
/// on the images as written (or as `ImageTransform.fit` makes them, itself checked against
/// Pillow), and the labels written into the files.
final class OpeningImagesTests: XCTestCase {
    private func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "dyconv-session-images-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// A binary PGM of `side`×`side` with pixel (y, x) = f(y, x).
    private func pgm(_ path: String, side: Int, _ f: (Int, Int) -> UInt8) throws {
        var bytes = Array("P5\n\(side) \(side)\n255\n".utf8)
        for y in 0..<side { for x in 0..<side { bytes.append(f(y, x)) } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private func checkpoint(in dir: String) throws -> (path: String, model: Model) {
        let model = Model.seededRandom(Families.dycnn(), seed: 3)
        let path = dir + "/model.safetensors"
        try model.checkpoint().write(path: path)
        return (path, model)
    }

    func testImageFilesOpenUnlabelledAndResized() throws {
        let dir = try temporaryDirectory()
        let (path, model) = try checkpoint(in: dir)
        try pgm(dir + "/a.pgm", side: 28) { y, x in UInt8((y * 28 + x) % 251) }
        try pgm(dir + "/b.pgm", side: 56) { y, x in UInt8((y * 3 + x * 5) % 256) }
        var warnings: [String] = []
        let s = try Session.open(checkpointPaths: [path], dataDirectory: nil, imagePaths: [dir + "/a.pgm", dir + "/b.pgm"],
                                 warnings: &warnings)
        XCTAssertEqual(s.state.dataset.count, 2)
        XCTAssertEqual(s.state.dataset.name, "2 image files")
        XCTAssertEqual(s.state.dataset.note, "resized + centre crop to 28×28")
        XCTAssertNil(s.state.dataset.labels, "unlabelled images reach the UI core without labels")
        XCTAssertTrue(warnings.contains { $0.contains("1 image(s) resized") }, "\(warnings)")
        XCTAssertNil(s.dataset.labels)
        s.start()
        let a: [UInt8] = (0..<784).map { (i: Int) -> UInt8 in UInt8(i % 251) }
        XCTAssertEqual(s.state.currentResult?.image.pixels, a)
        let norm = model.description.normalization
        let input = try ImageDataset(channels: 1, height: 28, width: 28, pixels: a, labels: nil, classNames: [])
        XCTAssertEqual(s.state.currentResult?.trace, model.forward(input.batch([0], normalization: norm)))
        // b.pgm went through the transform: the oracle is ImageTransform.fit on the same pixels.
        let b: [UInt8] = (0..<3136).map { (i: Int) -> UInt8 in
            let y = i / 56, x = i % 56
            return UInt8((y * 3 + x * 5) % 256)
        }
        let fitted = try ImageTransform.fit(DecodedImage(channels: 1, height: 56, width: 56, pixels: b),
                                            channels: 1, height: 28, width: 28).image.pixels
        XCTAssertEqual(Array(s.dataset.image(1)), fitted)
        // Nothing is misclassified without labels.
        if case .failed(let text) = s.findMisclassified(from: 0) { XCTAssertTrue(text.contains("no labels"), text) }
        else { XCTFail("expected a failure message") }
    }

    func testIDXFolderWithAnyNamesOpensLabelledByTheModelsClasses() throws {
        let dir = try temporaryDirectory()
        let (path, _) = try checkpoint(in: dir)
        let data = dir + "/digits"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        // IDX by hand: magic 0x00000803 / 0x00000801, big-endian sizes, the bytes.
        let pixels: [UInt8] = (0..<3 * 784).map { (i: Int) -> UInt8 in UInt8(i % 256) }
        try Data([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28] + pixels).write(to: URL(fileURLWithPath: data + "/pixels"))
        try Data([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]).write(to: URL(fileURLWithPath: data + "/classes"))
        var warnings: [String] = []
        let s = try Session.open(checkpointPaths: [path], dataDirectory: data, warnings: &warnings)
        XCTAssertEqual(s.state.dataset.labels, [7, 0, 9])
        XCTAssertEqual(s.state.dataset.classNames, FashionMNIST.classNames)
        XCTAssertEqual(s.state.dataset.name, "IDX pixels")
        XCTAssertTrue(warnings.isEmpty, "\(warnings)")
    }

    /// A CIFAR-10 batch for the 1×28×28 model: grey, resized, labels by index with a warning
    /// (CIFAR's names are not the model's). Oracle: the record's bytes through ImageTransform.fit.
    func testCIFARFolderIsFittedAndMatchedByIndex() throws {
        let dir = try temporaryDirectory()
        let (path, _) = try checkpoint(in: dir)
        let data = dir + "/cifar"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let image: [UInt8] = (0..<3072).map { (i: Int) -> UInt8 in UInt8((i * 7) % 256) }
        try Data([6] + image + [2] + image).write(to: URL(fileURLWithPath: data + "/test_batch.bin"))
        let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"
        try Data(names.utf8).write(to: URL(fileURLWithPath: data + "/batches.meta.txt"))
        var warnings: [String] = []
        let s = try Session.open(checkpointPaths: [path], dataDirectory: data, warnings: &warnings)
        XCTAssertEqual(s.state.dataset.labels, [6, 2])
        XCTAssertEqual(s.state.dataset.classNames, FashionMNIST.classNames)
        XCTAssertEqual(s.state.dataset.name, "CIFAR-10 test_batch.bin")
        XCTAssertEqual(s.state.dataset.note, "resized + centre crop to 28×28, colour → grey (luma)")
        XCTAssertTrue(warnings.contains { $0.contains("matched by index") }, "\(warnings)")
        let fitted = try ImageTransform.fit(DecodedImage(channels: 3, height: 32, width: 32, pixels: image),
                                            channels: 1, height: 28, width: 28).image.pixels
        XCTAssertEqual(Array(s.dataset.image(1)), fitted)
    }

    func testBadImageInputsAreOneLineErrors() throws {
        let dir = try temporaryDirectory()
        let (path, _) = try checkpoint(in: dir)
        try pgm(dir + "/a.pgm", side: 4) { _, _ in 1 }
        var warnings: [String] = []
        func message(_ body: () throws -> Session) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let both = message { try Session.open(checkpointPaths: [path], dataDirectory: dir, imagePaths: [dir + "/a.pgm"], warnings: &warnings) }
        XCTAssertTrue(both.contains("exclude each other"), both)
        let missing = message { try Session.open(checkpointPaths: [path], dataDirectory: nil, imagePaths: [dir + "/nope.png"], warnings: &warnings) }
        XCTAssertTrue(missing.contains("nope.png"), missing)
        try Data("P5\n9 9\n255\n".utf8).write(to: URL(fileURLWithPath: dir + "/short.pgm"))
        let short = message { try Session.open(checkpointPaths: [path], dataDirectory: nil, imagePaths: [dir + "/short.pgm"], warnings: &warnings) }
        XCTAssertTrue(short.contains("short.pgm"), short)
        for m in [both, missing, short] { XCTAssertFalse(m.contains("\n"), m) }
    }
}

/// The default images, shared with the CLI (`FashionMNIST.loadDefaultTestSet`).
final class DefaultImagesTests: XCTestCase {
    /// Oracle: what is installed. The full test set (10000 images) when its files are in the
    /// Debian folder, else the bundled 1000-image sample with a note; the TUI names which.
    func testTheTUIOpensTheCLIsDefaultTestSet() throws {
        let path = try Session.bundledCheckpointPaths()[0]
        var warnings: [String] = []
        let s = try Session.open(checkpointPaths: [path], dataDirectory: nil, warnings: &warnings)
        let cli = try FashionMNIST.loadDefaultTestSet()
        XCTAssertEqual(s.state.dataset.count, cli.dataset.count)
        XCTAssertEqual(s.state.dataset.labels, cli.dataset.labels)
        XCTAssertEqual(s.state.dataset.profileLimit, 1000)
        if FashionMNIST.isAvailable(.test) {
            XCTAssertEqual(cli.dataset.count, 10_000)
            XCTAssertEqual(s.state.dataset.name, "Fashion-MNIST test")
            XCTAssertNil(s.state.dataset.note)
            XCTAssertEqual(cli.source, FashionMNIST.defaultDirectory)
            XCTAssertTrue(warnings.isEmpty, "\(warnings)")
        } else {
            XCTAssertEqual(s.state.dataset.name, "bundled sample")
            XCTAssertEqual(s.state.dataset.note, "full test set not installed")
            XCTAssertTrue(warnings.contains { $0.contains("not found, using the bundled 1000-image sample") }, "\(warnings)")
        }
        // The status line says which set it is.
        XCTAssertTrue(render(s.state).text.contains("\(s.state.dataset.name): \(s.state.dataset.count) images"))
    }

    /// Without the test set's files: the sample, with a note naming where they were looked for.
    func testMissingTestSetFallsBackToTheSample() throws {
        let set = try FashionMNIST.loadDefaultTestSet(directory: "/nonexistent/fashion-mnist")
        XCTAssertTrue(set.isSample)
        XCTAssertEqual(set.dataset.count, 1000)
        XCTAssertEqual(set.name, "bundled sample")
        XCTAssertEqual(set.source, "bundled sample")
        XCTAssertEqual(set.note, "/nonexistent/fashion-mnist not found, using the bundled 1000-image sample")
    }

    /// `--sample` forces the sample and excludes `--data`. Oracle: `FashionMNIST.loadSample()`.
    func testSampleFlag() throws {
        let path = try Session.bundledCheckpointPaths()[0]
        var warnings: [String] = []
        let s = try Session.open(checkpointPaths: [path], dataDirectory: nil, useSample: true, warnings: &warnings)
        XCTAssertEqual(s.state.dataset.name, "bundled sample")
        XCTAssertEqual(s.state.dataset.labels, try FashionMNIST.loadSample().labels)
        XCTAssertThrowsError(try Session.open(checkpointPaths: [path], dataDirectory: "/tmp", useSample: true, warnings: &warnings)) {
            XCTAssertTrue("\($0)".contains("--data and --sample exclude each other"), "\($0)")
        }
    }
}
