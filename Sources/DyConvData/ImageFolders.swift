import DyConvEngine

// Image files as datasets: `--image FILE…`, an ImageFolder tree, a flat folder; and fitting any
// dataset's images to a model's input. Decoding and the resize/crop transform are
// `ImageFile` and `ImageTransform` (Images/); this file only finds, counts and assembles.

extension DatasetDiscovery {
    /// The deepest folder level searched for images below an ImageFolder class folder.
    static let maxFolderDepth = 16

    /// Reads image files (PNG, JPEG, PPM/PGM) as an unlabelled dataset, in the order given.
    ///
    /// - Parameters:
    ///   - input: the model's input: images of another size are resized and centre-cropped to
    ///     it, grey and colour converted (`ImageTransform.fit`); nil takes the first image's shape.
    ///   - resizeShorterSide: as in `load(directory:input:resizeShorterSide:)`.
    /// - Throws: `DataError` naming the file: missing, not a regular file, undecodable, or the
    ///   set over `Limits.memoryBudget` (counted before anything is decoded).
    public static func load(imageFiles paths: [String], input: InputSpec?, resizeShorterSide: Int? = nil) throws -> DiscoveredDataset {
        guard !paths.isEmpty else { throw DataError(.invalidArgument, file: "", "no image file given") }
        try checkResize(resizeShorterSide, input: input)
        for path in paths {
            switch Files.kind(of: path) {
            case .regularFile: continue
            case .missing: throw DataError(.notFound, file: path, "no such file")
            case .directory: throw DataError(.invalidArgument, file: path, "is a folder; --image takes image files (use --data for a folder)")
            case .other: throw DataError(.invalidArgument, file: path, "is not a regular file (a device, FIFO or socket)")
            case .error(let code): throw DataError(.io, file: path, Files.errnoText(code))
            }
        }
        let summary = paths.count == 1 ? Files.baseName(of: paths[0]) : "\(paths.count) image files"
        return try readImages(paths, labels: nil, classNames: [], input: input, resize: resizeShorterSide, kind: .imageFiles,
                              hasClassNames: false, notes: [], summary: summary, name: paths[0])
    }

    /// An ImageFolder tree (sub-folders holding images) or, without one, a flat folder of images.
    static func imageFolder(_ directory: String, names: [String], input: InputSpec?, resize: Int?) throws -> DiscoveredDataset {
        var classes: [(name: String, files: [String])] = []
        var looseImages: [String] = []
        for name in names {
            let path = Files.join(directory, name)
            if Files.isDirectory(path) {
                classes.append((name, try imageFiles(below: path, depth: 1)))
            } else if Files.isRegularFile(path) && ImageFile.looksLikeImage(path: path) {
                looseImages.append(path)
            }
        }
        if classes.contains(where: { !$0.files.isEmpty }) {
            // torchvision's ImageFolder refuses a class folder without images; so does dyconv,
            // rather than numbering the classes differently from the training run.
            if let empty = classes.first(where: { $0.files.isEmpty }) {
                throw DataError(.notFound, file: Files.join(directory, empty.name),
                                "class folder without image files (PNG, JPEG, PPM/PGM); an ImageFolder tree needs images in every class folder")
            }
            var notes: [String] = []
            if !looseImages.isEmpty {
                notes.append("\(looseImages.count) image file(s) directly in \(directory) are not in a class folder and are left out, as torchvision's ImageFolder does")
            }
            let files = classes.flatMap(\.files)
            let labels = classes.enumerated().flatMap { c, entry in [Int](repeating: c, count: entry.files.count) }
            return try readImages(files, labels: labels, classNames: classes.map(\.name), input: input, resize: resize,
                                  kind: .imageFolder(classes: classes.count), hasClassNames: true, notes: notes,
                                  summary: "ImageFolder \(Files.baseName(of: directory)) (\(classes.count) classes)", name: directory)
        }
        guard !looseImages.isEmpty else {
            throw DataError(.notFound, file: directory,
                            "no dataset found: no IDX images file, no CIFAR-10/100 batch, no class sub-folders of images and no image files (PNG, JPEG, PPM/PGM)")
        }
        return try readImages(looseImages, labels: nil, classNames: [], input: input, resize: resize, kind: .imageFiles, hasClassNames: false,
                              notes: [], summary: "\(Files.baseName(of: directory)) (\(looseImages.count) images, unlabelled)",
                              name: directory)
    }

    /// The image files anywhere below `directory`, in torchvision's order (sorted names,
    /// depth first), hidden entries skipped.
    static func imageFiles(below directory: String, depth: Int) throws -> [String] {
        guard depth <= maxFolderDepth else {
            throw DataError(.invalidArgument, file: directory, "folders nested deeper than \(maxFolderDepth) levels")
        }
        var files: [String] = []
        for name in try listing(directory) {
            let path = Files.join(directory, name)
            if Files.isDirectory(path) {
                files += try imageFiles(below: path, depth: depth + 1)
            } else if Files.isRegularFile(path) && ImageFile.looksLikeImage(path: path) {
                files.append(path)
            }
        }
        return files
    }

    /// Decodes `paths`, fits each image to the target shape (`input`, else the first image's)
    /// and assembles the dataset. The memory of the whole set is checked from the count before
    /// the second image is decoded.
    static func readImages(_ paths: [String], labels: [Int]?, classNames: [String], input: InputSpec?, resize: Int?,
                           kind: DiscoveredDataset.Kind, hasClassNames: Bool, notes: [String], summary: String,
                           name: String) throws -> DiscoveredDataset {
        let first = try ImageFile.read(path: paths[0])
        let target = input ?? InputSpec(channels: first.channels, height: first.height, width: first.width)
        try checkMemory(images: paths.count, shape: target, name: name)
        let size = target.channels * target.height * target.width
        var pixels = [UInt8]()
        pixels.reserveCapacity(paths.count * size)
        var counter = FitCounter(target: target, resizeShorterSide: resize)
        for (i, path) in paths.enumerated() {
            let image = i == 0 ? first : try ImageFile.read(path: path)
            let fitted = try counter.fit(image)
            pixels += fitted.pixels
        }
        let dataset = try ImageDataset(channels: target.channels, height: target.height, width: target.width, pixels: pixels,
                                       labels: labels, classNames: classNames, imageNames: paths.map { shortName($0, in: name) })
        return DiscoveredDataset(dataset: dataset, kind: kind, hasClassNames: hasClassNames, notes: notes + counter.notes,
                                 summary: summary, resized: counter.resized > 0, preparation: counter.preparation)
    }

    /// `found` with its images fitted to `input` (IDX and CIFAR images of another shape than
    /// the model's, or any when `resize` is given), or as it is when the shapes agree or
    /// `input` is nil.
    static func fit(_ found: DiscoveredDataset, to input: InputSpec?, resize: Int?) throws -> DiscoveredDataset {
        let d = found.dataset
        guard let input, resize != nil || (d.channels, d.height, d.width) != (input.channels, input.height, input.width)
        else { return found }
        try checkMemory(images: d.count, shape: input, name: found.summary)
        var pixels = [UInt8]()
        pixels.reserveCapacity(d.count * input.channels * input.height * input.width)
        var counter = FitCounter(target: input, resizeShorterSide: resize)
        for i in 0..<d.count {
            let image = try DecodedImage(channels: d.channels, height: d.height, width: d.width, pixels: Array(d.image(i)))
            pixels += try counter.fit(image).pixels
        }
        var out = found
        out.dataset = try ImageDataset(channels: input.channels, height: input.height, width: input.width, pixels: pixels,
                                       labels: d.labels, classNames: d.classNames, imageNames: d.imageNames)
        out.notes += counter.notes
        out.resized = counter.resized > 0
        out.preparation = counter.preparation
        return out
    }

    /// How an image is named to the user: its path inside `folder` ("cat/001.png") when it is
    /// there, else its file name.
    static func shortName(_ path: String, in folder: String) -> String {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : Files.baseName(of: path)
    }

    /// Refuses a resize size the crop cannot take: below the input's larger side (torchvision
    /// would pad with black) or over `Limits.maxImageSide`.
    static func checkResize(_ size: Int?, input: InputSpec?) throws {
        guard let size else { return }
        let least = input.map { max($0.height, $0.width) } ?? 1
        guard size >= least, size <= Limits.maxImageSide else {
            throw DataError(.invalidArgument, file: "--resize \(size)",
                            "the shorter side must be resized to \(least)…\(Limits.maxImageSide) pixels (at least the model's input side)")
        }
    }

    /// Refuses `images` images of `shape` (with their labels) over `Limits.memoryBudget`.
    static func checkMemory(images: Int, shape: InputSpec, name: String) throws {
        let bytes = CheckedSize.product(images, CheckedSize.sum(CheckedSize.product([shape.channels, shape.height, shape.width]),
                                                                MemoryLayout<Int>.size))
        do {
            try Limits.checkMemory(bytes, for: "\(images) images of \(shape.channels)×\(shape.height)×\(shape.width)")
        } catch {
            throw DataError(.tooLarge, file: name, error.message)
        }
    }
}

/// Fits images to one shape with `ImageTransform.fit` and counts what it did, for the notes.
struct FitCounter {
    let target: InputSpec
    /// torchvision's `Resize(S)` before the crop, or nil (resize only other sizes, to the larger side).
    let resizeShorterSide: Int?
    /// Images whose height or width differed (resized and centre-cropped).
    private(set) var resized = 0
    /// Images whose channel count differed (grey ↔ colour).
    private(set) var converted = 0

    init(target: InputSpec, resizeShorterSide: Int? = nil) {
        self.target = target
        self.resizeShorterSide = resizeShorterSide
    }

    mutating func fit(_ image: DecodedImage) throws -> DecodedImage {
        if resizeShorterSide != nil || image.height != target.height || image.width != target.width { resized += 1 }
        if image.channels != target.channels { converted += 1 }
        return try ImageTransform.fit(image, channels: target.channels, height: target.height, width: target.width,
                                      resizeShorterSide: resizeShorterSide).image
    }

    /// The changes in a few words (`DiscoveredDataset.preparation`); nil when none was made.
    var preparation: String? {
        var parts: [String] = []
        if resized > 0 {
            parts.append("resized\(resizeShorterSide.map { " to \($0)" } ?? "") + centre crop to \(target.height)×\(target.width)")
        }
        if converted > 0 { parts.append(target.channels == 1 ? "colour → grey (luma)" : "grey → \(target.channels) channels") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// One line per kind of change made.
    var notes: [String] {
        let shape = "\(target.channels)×\(target.height)×\(target.width)"
        var lines: [String] = []
        if resized > 0 {
            let side = resizeShorterSide.map { " to \($0)" } ?? ""
            lines.append("\(resized) image(s) resized (shorter side\(side)) and centre-cropped to the model's input \(shape), as torchvision's evaluation transform does")
        }
        if converted > 0 {
            lines.append("\(converted) image(s) converted to \(target.channels == 1 ? "grey" : "\(target.channels) channels") for the model's input \(shape)")
        }
        return lines
    }
}
