import DyConvEngine

/// Fashion-MNIST (Xiao et al., 2017): 28×28 grey-scale images of clothing in ten classes,
/// 60 000 for training and 10 000 for testing, stored as IDX files.
///
/// The full dataset is read from a directory holding the four standard files
/// (raw or `.gz`), by default where the Debian package `dataset-fashion-mnist`
/// installs it. The first 1000 test images ship with dyconv in
/// `assets/fashion-mnist-sample/` (see `loadSample()`).
public enum FashionMNIST {
    /// The class names, indexed by label (the engine's `Families.fashionMNISTClasses`).
    public static let classNames: [String] = Families.fashionMNISTClasses

    /// Where the Debian package `dataset-fashion-mnist` installs the dataset.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The name of the bundled sample's folder inside the assets directory.
    public static let sampleFolderName = "fashion-mnist-sample"

    /// Mean and standard deviation of `pixel / 255` over the 60 000 training images (0.2860, 0.3530).
    public static let normalization = Families.fashionMNISTNormalization

    /// A part of the dataset.
    public enum Split: String, Sendable, CaseIterable, Codable {
        /// The 60 000 training images.
        case train
        /// The 10 000 test images.
        case test

        /// The file-name prefix: "train" or "t10k".
        public var filePrefix: String { self == .train ? "train" : "t10k" }
        /// The images file name without `.gz`, e.g. "t10k-images-idx3-ubyte".
        public var imagesFileName: String { "\(filePrefix)-images-idx3-ubyte" }
        /// The labels file name without `.gz`, e.g. "t10k-labels-idx1-ubyte".
        public var labelsFileName: String { "\(filePrefix)-labels-idx1-ubyte" }
        /// The number of images in the official split.
        public var officialCount: Int { self == .train ? 60_000 : 10_000 }
    }

    /// Loads a split from `directory`, accepting each file raw or with `.gz` (raw preferred if both exist).
    ///
    /// - Throws: `DataError` naming the directory or file (missing directory or file, or any IDX
    ///   validation failure; see `ImageDataset.load(imagesPath:labelsPath:classNames:)`).
    public static func load(_ split: Split, directory: String = defaultDirectory) throws -> ImageDataset {
        let paths = try files(split, directory: directory)
        return try ImageDataset.load(imagesPath: paths.images, labelsPath: paths.labels, classNames: classNames)
    }

    /// Loads an MNIST-format images/labels pair with the Fashion-MNIST class names (or `classNames`).
    public static func load(imagesPath: String, labelsPath: String,
                            classNames: [String] = FashionMNIST.classNames) throws -> ImageDataset {
        try ImageDataset.load(imagesPath: imagesPath, labelsPath: labelsPath, classNames: classNames)
    }

    /// Loads the bundled 1000-image sample (the first 1000 test images), found via `Assets.directory()`.
    ///
    /// - Throws: `DataError(.assetsNotFound)` if the assets folder cannot be found, otherwise as `load`.
    public static func loadSample() throws -> ImageDataset {
        try load(.test, directory: sampleDirectory())
    }

    /// The images a command opens when it is given none: the Fashion-MNIST test set where the
    /// Debian package installs it (`directory`), else the bundled 1000-image sample, with a note
    /// saying so. `dyconv eval` / `inspect` and `dyconv-tui` all take their default from here,
    /// so they show the same images and the same accuracy for a model.
    ///
    /// - Throws: as `load` (a test set that is there but unreadable is an error, not a fallback),
    ///   or `loadSample()` when the sample is needed and missing.
    public static func loadDefaultTestSet(directory: String = defaultDirectory) throws -> DefaultTestSet {
        if isAvailable(.test, directory: directory) {
            let dataset = try load(.test, directory: directory)
            return DefaultTestSet(dataset: dataset, source: directory, name: "Fashion-MNIST test", note: nil)
        }
        let dataset = try loadSample()
        return DefaultTestSet(dataset: dataset, source: "bundled sample", name: "bundled sample",
                              note: "\(directory) not found, using the bundled \(dataset.count)-image sample")
    }

    /// The bundled sample's directory (`<assets>/fashion-mnist-sample`).
    public static func sampleDirectory() throws -> String {
        Files.join(try Assets.directory(), sampleFolderName)
    }

    /// `true` when `directory` holds both files of `split` (raw or `.gz`).
    public static func isAvailable(_ split: Split, directory: String = defaultDirectory) -> Bool {
        (try? files(split, directory: directory)) != nil
    }

    /// The paths of a split's images and labels files in `directory`.
    ///
    /// - Throws: `DataError(.notFound)` if the directory, or either file in both spellings, is
    ///   missing; `DataError(.io)` with the operating system's reason when a path cannot be
    ///   examined ("too many levels of symbolic links", "permission denied", "not a directory").
    public static func files(_ split: Split, directory: String) throws -> (images: String, labels: String) {
        switch Files.kind(of: directory) {
        case .directory:
            break
        case .regularFile:
            throw DataError(.notFound, file: directory, "is a file, expected the directory holding the Fashion-MNIST IDX files")
        case .other:
            throw DataError(.notFound, file: directory, "is not a directory (a device, FIFO or socket)")
        case .missing:
            let hint = directory == defaultDirectory ? " (install the Debian package dataset-fashion-mnist)" : ""
            throw DataError(.notFound, file: directory, "no such directory\(hint)")
        case .error(let code):
            throw DataError(.io, file: directory, Files.errnoText(code))
        }
        func find(_ name: String) throws -> String {
            let raw = Files.join(directory, name)
            for path in [raw, raw + ".gz"] {
                switch Files.kind(of: path) {
                case .regularFile: return path
                case .missing: continue
                case .directory: throw DataError(.io, file: path, "is a directory, not a file")
                case .other: throw DataError(.io, file: path, "is not a regular file (a device, FIFO or socket)")
                case .error(let code): throw DataError(.io, file: path, Files.errnoText(code))
                }
            }
            throw DataError(.notFound, file: directory, "neither \(name) nor \(name).gz found")
        }
        return (try find(split.imagesFileName), try find(split.labelsFileName))
    }
}

/// The images used when none are given (`FashionMNIST.loadDefaultTestSet`), and how to name them.
public struct DefaultTestSet: Sendable {
    /// The images: the full test set or the bundled sample.
    public let dataset: ImageDataset
    /// Where they were read from, for messages about the data: the test set's directory, or
    /// "bundled sample".
    public let source: String
    /// What to call them on screen: "Fashion-MNIST test" or "bundled sample" (screens show
    /// the number of images beside it).
    public let name: String
    /// Set when the full test set is not installed: "<directory> not found, using the bundled
    /// 1000-image sample".
    public let note: String?

    /// Whether these are the bundled sample rather than the full test set.
    public var isSample: Bool { note != nil }
}
