import DyConvEngine

/// A set of same-sized unsigned-byte images, held in memory, labelled or not.
///
/// Pixels are stored per image in channel-major order (`[count, channels,
/// height, width]`, the NCHW layout the engine expects), one byte per pixel.
/// A labelled dataset (IDX, CIFAR, an ImageFolder tree) has `labels[i]`, the class index of
/// image `i`, always in `0..<classNames.count`; an unlabelled one (image files given by
/// `--image`, a flat folder) has `labels == nil`, possibly no class names, and can be shown
/// and evaluated for attention, but not scored or trained on. Values are immutable and cheap
/// to copy.
public struct ImageDataset: Sendable {
    /// The number of images.
    public let count: Int
    /// Channels per image (1 for MNIST-style data).
    public let channels: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// All pixels, `count * channels * height * width` bytes, image after image, NCHW.
    public let pixels: [UInt8]
    /// The class index of each image, each in `0..<classNames.count`; nil when unlabelled.
    public let labels: [Int]?
    /// The class names, indexed by label (may be empty when unlabelled).
    public let classNames: [String]
    /// Where each image came from (its file name, for image files), or nil for datasets whose
    /// images are only numbered (IDX, CIFAR).
    public let imageNames: [String]?

    /// Whether the images have labels.
    public var isLabelled: Bool { labels != nil }

    /// Bytes per image (`channels * height * width`).
    public var imageSize: Int { channels * height * width }

    /// Creates a dataset, validating sizes and labels.
    ///
    /// - Parameters:
    ///   - labels: one class index per image, or nil for unlabelled images (then the image count
    ///     is `pixels.count / (channels * height * width)`).
    ///   - classNames: the class names; may be empty only when `labels` is nil.
    ///   - imageNames: where each image came from (one per image), or nil.
    /// - Throws: `DataError` of kind `.invalidArgument` if a dimension is not positive, the pixel
    ///   count is not the image count times `channels * height * width`, `classNames` is empty
    ///   for labelled images, or `imageNames` has the wrong count; `.labelOutOfRange` if a label
    ///   is not in `0..<classNames.count`.
    public init(channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int]?,
                classNames: [String], imageNames: [String]? = nil) throws {
        let name = "ImageDataset"
        guard channels > 0, height > 0, width > 0 else {
            throw DataError(.invalidArgument, file: name,
                            "image shape \(channels)×\(height)×\(width) must have positive sizes")
        }
        guard let size = CheckedSize.product([channels, height, width]) else {
            throw DataError(.invalidArgument, file: name, "image shape \(channels)×\(height)×\(width) overflows")
        }
        let count = labels?.count ?? pixels.count / size
        guard CheckedSize.product(size, count) == pixels.count else {
            throw DataError(.invalidArgument, file: name,
                            "\(pixels.count) pixel bytes do not hold \(count) images of \(channels)×\(height)×\(width)")
        }
        if let imageNames, imageNames.count != count {
            throw DataError(.invalidArgument, file: name, "\(imageNames.count) image names for \(count) images")
        }
        if let labels {
            guard !classNames.isEmpty else {
                throw DataError(.invalidArgument, file: name, "class names must not be empty")
            }
            if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classNames.count }) {
                throw DataError(.labelOutOfRange, file: name,
                                "label \(labels[bad]) at index \(bad) is out of range for \(classNames.count) classes")
            }
        }
        self.init(unchecked: channels, height, width, pixels, count: count, labels, classNames, imageNames)
    }

    /// Creates a dataset from already validated parts.
    init(unchecked channels: Int, _ height: Int, _ width: Int, _ pixels: [UInt8], count: Int? = nil, _ labels: [Int]?,
         _ classNames: [String], _ imageNames: [String]? = nil) {
        self.count = count ?? labels?.count ?? 0
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classNames = classNames
        self.imageNames = imageNames
    }

    /// Loads any MNIST-format dataset: an IDX images file (`[n, rows, cols]`, magic 0x00000803)
    /// and an IDX labels file (`[n]`, magic 0x00000801), each raw or gzip-compressed.
    ///
    /// - Parameter classNames: the class names; if `nil`, classes are named "0", "1", … up to
    ///   the largest label found.
    /// - Throws: `DataError` naming the offending file: missing or unreadable file, corrupt gzip,
    ///   bad magic, unsupported element type, wrong rank, empty images, no images at all,
    ///   dimensions beyond `Limits`, truncated or over-long data, image/label count mismatch,
    ///   or a label outside `0..<classNames.count`.
    public static func load(imagesPath: String, labelsPath: String,
                            classNames: [String]? = nil) throws -> ImageDataset {
        let (images, n, rows, cols) = try readImages(imagesPath)
        // The label count and the memory of the whole set are checked from the labels header,
        // before the labels are read.
        var labelReader = IDXAssembler(name: labelsPath, expectedRank: 1)
        labelReader.checkDimensions = { dimensions in
            guard dimensions[0] == n else {
                throw DataError(.countMismatch, file: labelsPath, "\(dimensions[0]) labels, but \(imagesPath) has \(n) images")
            }
            // Pixels, the label bytes and the labels as Int.
            let total = CheckedSize.sum(images.data.count, CheckedSize.product(n, 1 + MemoryLayout<Int>.size))
            guard let total, total <= Limits.memoryBudget else {
                throw DataError(.tooLarge, file: labelsPath,
                                "\(n) images of \(rows)×\(cols) need more than the limit of \(Limits.formatBytes(Limits.memoryBudget)) (DYCONV_MEMORY_LIMIT_MB)")
            }
        }
        let labelFile = try IDXFile.read(path: labelsPath, into: &labelReader)
        let names: [String]
        if let classNames {
            guard !classNames.isEmpty else {
                throw DataError(.invalidArgument, file: labelsPath, "no class names given")
            }
            names = classNames
        } else {
            let largest = Int(labelFile.data.max() ?? 0)
            names = (0...largest).map(String.init)
        }
        var labels = [Int](repeating: 0, count: n)
        var bad: (index: Int, value: UInt8)?
        labelFile.data.withUnsafeBufferPointer { source in
            labels.withUnsafeMutableBufferPointer { target in
                let limit = names.count
                for i in 0..<n {
                    let value = source[i]
                    if Int(value) >= limit { bad = (i, value); return }
                    target[i] = Int(value)
                }
            }
        }
        if let bad {
            throw DataError(.labelOutOfRange, file: labelsPath,
                            "label \(bad.value) at index \(bad.index) is out of range for \(names.count) classes (0...\(names.count - 1))")
        }
        return ImageDataset(unchecked: 1, rows, cols, images.data, labels, names)
    }

    /// Loads an IDX images file (`[n, rows, cols]`, raw or gzip) with no labels file: an
    /// unlabelled dataset, with the checks of `load(imagesPath:labelsPath:classNames:)`.
    public static func loadUnlabelled(imagesPath: String) throws -> ImageDataset {
        let (images, n, rows, cols) = try readImages(imagesPath)
        return ImageDataset(unchecked: 1, rows, cols, images.data, count: n, nil, [])
    }

    /// Reads an IDX images file: at least one image of positive size.
    private static func readImages(_ path: String) throws -> (file: IDXFile, count: Int, rows: Int, cols: Int) {
        let images = try IDXFile.read(path: path, expectedRank: 3)
        let n = images.dimensions[0], rows = images.dimensions[1], cols = images.dimensions[2]
        guard rows > 0, cols > 0 else {
            throw DataError(.badDimensions, file: path, "images are \(rows)×\(cols) pixels; both sizes must be positive")
        }
        guard n > 0 else {
            throw DataError(.badDimensions, file: path, "holds no images (header says 0×\(rows)×\(cols))")
        }
        return (images, n, rows, cols)
    }

    // MARK: - Access

    /// The pixels of image `i` (`channels * height * width` bytes, NCHW).
    public func image(_ i: Int) -> ArraySlice<UInt8> {
        precondition(i >= 0 && i < count, "ImageDataset.image: index \(i) out of range 0..<\(count)")
        return pixels[i * imageSize ..< (i + 1) * imageSize]
    }

    /// The labels of the given images, in order; nil for an unlabelled dataset.
    public func labels(at indices: [Int]) -> [Int]? {
        guard let labels else { return nil }
        return indices.map { index in
            precondition(index >= 0 && index < count, "ImageDataset.labels(at:): index \(index) out of range 0..<\(count)")
            return labels[index]
        }
    }

    /// The label of image `i`, or nil for an unlabelled dataset.
    public func label(_ i: Int) -> Int? {
        precondition(i >= 0 && i < count, "ImageDataset.label: index \(i) out of range 0..<\(count)")
        return labels?[i]
    }

    /// The same images and labels with other class names (e.g. the model's, when the labels are
    /// matched to its classes by index); labels must stay below the new count.
    /// - Throws: `DataError(.labelOutOfRange)` when a label is not below `names.count`.
    public func renamingClasses(_ names: [String], labels newLabels: [Int]? = nil) throws -> ImageDataset {
        try ImageDataset(channels: channels, height: height, width: width, pixels: pixels,
                         labels: newLabels ?? labels, classNames: names, imageNames: imageNames)
    }

    // MARK: - Checks

    /// Checks that `normalization` fits these images: one mean/std per channel (or one for all),
    /// every std positive and finite, every mean finite.
    ///
    /// - Throws: `DataError(.invalidArgument)` describing the mismatch; `name` is used as the file.
    public func validate(normalization: Normalization, name: String = "normalization") throws {
        for (label, values) in [("mean", normalization.mean), ("std", normalization.std)] {
            guard values.count == channels || values.count == 1 else {
                throw DataError(.invalidArgument, file: name,
                                "\(values.count) \(label) values for \(channels)-channel images (need \(channels) or 1)")
            }
            guard values.allSatisfy({ $0.isFinite }) else {
                throw DataError(.invalidArgument, file: name, "\(label) \(values) is not finite")
            }
        }
        guard normalization.std.allSatisfy({ $0 > 0 }) else {
            throw DataError(.invalidArgument, file: name, "std \(normalization.std) must be positive")
        }
    }

    /// Checks that a model can be trained or shown on these images: a classifier for this image
    /// shape (see `checkEvaluable(by:name:)`) with exactly as many classes as the dataset has
    /// class names, and a normalisation that fits.
    ///
    /// - Parameters:
    ///   - name: what to call this dataset in the error (e.g. "Fashion-MNIST test").
    ///   - requireLabels: refuse unlabelled images (training needs labels; showing them does
    ///     not, and then the class count is not compared: the model's names are shown).
    /// - Throws: `DataError(.invalidArgument)` with a one-line explanation.
    public func checkCompatible(with description: ModelDescription, name: String = "dataset",
                                requireLabels: Bool = true) throws {
        if requireLabels && !isLabelled {
            throw DataError(.invalidArgument, file: name, "has no labels (image files or a flat folder), so a model cannot be trained on it")
        }
        try checkClassifier(description, name: name)
        if isLabelled && description.classes.count != classNames.count {
            throw DataError(.invalidArgument, file: name,
                            "\(classNames.count) classes but model \(description.family) has \(description.classes.count) outputs")
        }
        try validate(normalization: description.normalization, name: "\(name): model \(description.family) normalization")
    }

    /// Checks that a model can be evaluated on these images and scored against their labels:
    /// at least one image, the model's input shape, a classifier head (the output is a vector of
    /// one score per class, and there is at least one class), and every label below the model's
    /// class count. The class names need not match: a model may have more classes than the data uses.
    ///
    /// `evaluate(model:dataset:options:)` calls it; so should anything that indexes the model's
    /// classes with a label (e.g. `dyconv inspect`).
    ///
    /// - Parameter name: what to call this dataset in the error (e.g. the `--data` directory).
    /// - Throws: `DataError` with one line: `.labelOutOfRange` ("labels go up to 9 but the model
    ///   has 5 classes"), otherwise `.invalidArgument`.
    public func checkEvaluable(by description: ModelDescription, name: String = "dataset") throws {
        guard count > 0 else {
            throw DataError(.invalidArgument, file: name, "has no images to evaluate")
        }
        try checkClassifier(description, name: name)
        let classCount = description.classes.count
        if let top = labels?.max(), top >= classCount {
            throw DataError(.labelOutOfRange, file: name,
                            "labels go up to \(top) but the model \(description.family) has \(classCount) class\(classCount == 1 ? "" : "es")")
        }
    }

    /// Checks that `description` is a valid classifier of images shaped like these.
    private func checkClassifier(_ description: ModelDescription, name: String) throws {
        let input = description.input
        guard input.channels == channels, input.height == height, input.width == width else {
            throw DataError(.invalidArgument, file: name,
                            "images are \(channels)×\(height)×\(width) but model \(description.family) expects \(input.channels)×\(input.height)×\(input.width)")
        }
        guard !description.classes.isEmpty else {
            throw DataError(.invalidArgument, file: name,
                            "model \(description.family) has no classes (a headless network), so it cannot classify images")
        }
        let output: [Int]
        do {
            output = try description.validate()
        } catch {
            throw DataError(.invalidArgument, file: name, "model \(description.family): \(error)")
        }
        guard output == [description.classes.count] else {
            throw DataError(.invalidArgument, file: name,
                            "model \(description.family) outputs \(IDXFile.format(output)) values per image, not one score for each of its \(description.classes.count) classes")
        }
    }

    // MARK: - Subsets and statistics

    /// The images in `range`, as a new dataset with the same class names.
    public func subset(_ range: Range<Int>) -> ImageDataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "ImageDataset.subset: range \(range) out of range 0..<\(count)")
        let size = imageSize
        return ImageDataset(unchecked: channels, height, width,
                            Array(pixels[range.lowerBound * size ..< range.upperBound * size]), count: range.count,
                            labels.map { Array($0[range]) }, classNames, imageNames.map { Array($0[range]) })
    }

    /// The given images, in the given order, as a new dataset with the same class names.
    public func subset(_ indices: [Int]) -> ImageDataset {
        let size = imageSize
        var newPixels = [UInt8]()
        newPixels.reserveCapacity(indices.count * size)
        pixels.withUnsafeBufferPointer { source in
            for index in indices {
                precondition(index >= 0 && index < count, "ImageDataset.subset: index \(index) out of range 0..<\(count)")
                newPixels.append(contentsOf: UnsafeBufferPointer(rebasing: source[index * size ..< (index + 1) * size]))
            }
        }
        return ImageDataset(unchecked: channels, height, width, newPixels, count: indices.count,
                            labels.map { l in indices.map { l[$0] } }, classNames, imageNames.map { n in indices.map { n[$0] } })
    }

    /// The first `n` images (all of them if `n >= count`; none if `n <= 0`).
    public func prefix(_ n: Int) -> ImageDataset {
        subset(0 ..< Swift.max(0, Swift.min(n, count)))
    }

    /// The per-channel mean and standard deviation of `pixel / 255` over the whole dataset.
    ///
    /// Computed exactly from a byte histogram (in Double), so it is fast and order-independent.
    /// Returns zeros for an empty dataset.
    public func statistics() -> Normalization {
        var histograms = [Int](repeating: 0, count: channels * 256)
        let plane = height * width, size = imageSize, channelCount = channels, n = count
        pixels.withUnsafeBufferPointer { source in
            histograms.withUnsafeMutableBufferPointer { histogram in
                guard let base = source.baseAddress else { return }
                for image in 0..<n {
                    for c in 0..<channelCount {
                        let s = base + image * size + c * plane
                        let h = histogram.baseAddress! + c * 256
                        for k in 0..<plane { h[Int(s[k])] += 1 }
                    }
                }
            }
        }
        var means: [Float] = [], stds: [Float] = []
        for c in 0..<channels {
            let h = histograms[c * 256 ..< (c + 1) * 256]
            let total = Double(h.reduce(0, +))
            guard total > 0 else { means.append(0); stds.append(0); continue }
            var sum = 0.0
            for (v, k) in h.enumerated() { sum += Double(k) * Double(v) / 255 }
            let mean = sum / total
            var squares = 0.0
            for (v, k) in h.enumerated() {
                let d = Double(v) / 255 - mean
                squares += Double(k) * d * d
            }
            means.append(Float(mean))
            stds.append(Float((squares / total).squareRoot()))
        }
        return Normalization(mean: means, std: stds)
    }
}
