import DyConvEngine

// `--data DIR` and `--image FILE…`: what a folder holds, decided from its contents, and how
// its labels meet a model's classes. The CLI (`dyconv inspect|eval`) and the TUI's session both
// open their images here.

/// A dataset found by `DatasetDiscovery`, with what it is and what the user should be told.
public struct DiscoveredDataset: Sendable {
    /// What kind of folder (or files) the images came from.
    public enum Kind: Sendable, Equatable {
        /// An IDX images file and (unless nil) its labels file, found by content.
        case idx(images: String, labels: String?)
        /// CIFAR-10/100 binary batches.
        case cifar(CIFAR.Variant, files: [String])
        /// An ImageFolder tree: one sub-folder per class, classes sorted by name.
        case imageFolder(classes: Int)
        /// Image files without labels (`--image`, a flat folder).
        case imageFiles
    }

    /// The images (labels numbered or named by the dataset itself; see `matched(to:)`).
    public var dataset: ImageDataset
    public var kind: Kind
    /// Whether `dataset.classNames` came from the data (CIFAR's names file, ImageFolder's
    /// folder names) rather than being numbers "0", "1", … (IDX, CIFAR without its names file).
    public var hasClassNames: Bool
    /// What was chosen and done, one line each, for the user: the split used and the one left
    /// out, images resized or converted.
    public var notes: [String]
    /// A short name for messages: "CIFAR-10 test_batch.bin", "IDX t10k-images-idx3-ubyte.gz".
    public var summary: String
    /// Whether any image was resized and centre-cropped to the model's input.
    public var resized = false
    /// How the images were changed for the model, in a few words for a screen header
    /// ("resized + centre crop to 224×224, grey → 3 channels"); nil when none was.
    public var preparation: String? = nil
}

/// How a dataset's labels were matched to a model's classes (`DiscoveredDataset.matched(to:)`).
public enum LabelMatch: Sendable, Equatable {
    /// No labels (image files, a flat folder): nothing to match.
    case unlabelled
    /// The dataset's class names are the model's, in the same order.
    case same
    /// Every class name of the dataset is one of the model's: labels renumbered by name.
    case byName
    /// Labels used as the model's class indices; `warning` is set when the dataset named its
    /// classes and the names disagree with the model's.
    case byIndex(warning: String?)
}

/// Finds the dataset in a folder, or reads image files, for a model's input.
public enum DatasetDiscovery {
    /// Where torchvision's `CIFAR10`/`CIFAR100` downloads put the batches inside their root.
    static let cifarSubfolders: [(name: String, variant: CIFAR.Variant)] =
        [("cifar-10-batches-bin", .cifar10), ("cifar-100-binary", .cifar100)]

    /// Loads the dataset in `directory`, decided by what it holds, in this order:
    /// 1. an IDX folder with any file names: the images/labels pair is found by content (magic
    ///    0x00000803 rank 3 and 0x00000801 rank 1 with the same count, raw or gzip); of two
    ///    pairs the test split (a name containing "t10k" or "test") is used, and a note says so;
    /// 2. CIFAR-10/100 binary batches (`test_batch.bin` / `test.bin` by default, else the
    ///    training batches), also inside torchvision's `cifar-10-batches-bin` / `cifar-100-binary`;
    /// 3. an ImageFolder tree: one sub-folder per class, classes sorted by name as torchvision's
    ///    `ImageFolder` does, image files anywhere below each;
    /// 4. a flat folder of image files: an unlabelled dataset, files sorted by name.
    ///
    /// - Parameters:
    ///   - input: the model's input; images of another shape are resized and centre-cropped (and
    ///     grey/colour converted) to it (`ImageTransform.fit`). nil keeps IDX and CIFAR images as
    ///     they are and sizes image files by the first one.
    ///   - resizeShorterSide: torchvision's `Resize(S)` before the crop (256 for the ImageNet
    ///     recipe at 224); nil resizes only images of another size, to the input's larger side.
    /// - Throws: `DataError`, one line naming the folder or file.
    public static func load(directory: String, input: InputSpec?, resizeShorterSide: Int? = nil) throws -> DiscoveredDataset {
        try checkResize(resizeShorterSide, input: input)
        try checkDirectory(directory)
        let names = try listing(directory)
        if let found = try idx(in: directory, names: names) {
            return try fit(found, to: input, resize: resizeShorterSide)
        }
        if let found = try cifar(in: directory, names: names) {
            return try fit(found, to: input, resize: resizeShorterSide)
        }
        for (sub, _) in cifarSubfolders where names.contains(sub) {
            let inner = Files.join(directory, sub)
            if Files.isDirectory(inner), let found = try cifar(in: inner, names: try listing(inner)) {
                return try fit(found, to: input, resize: resizeShorterSide)
            }
        }
        return try imageFolder(directory, names: names, input: input, resize: resizeShorterSide)
    }

    // MARK: - Folders

    /// Refuses a path that is not a readable directory.
    static func checkDirectory(_ directory: String) throws {
        switch Files.kind(of: directory) {
        case .directory: return
        case .regularFile: throw DataError(.invalidArgument, file: directory, "is a file; --data takes a folder (use --image for image files)")
        case .other: throw DataError(.invalidArgument, file: directory, "is not a directory (a device, FIFO or socket)")
        case .missing: throw DataError(.notFound, file: directory, "no such directory")
        case .error(let code): throw DataError(.io, file: directory, Files.errnoText(code))
        }
    }

    /// The visible entries of a folder, sorted by code point (Python's order).
    static func listing(_ directory: String) throws -> [String] {
        guard let names = Files.entries(of: directory) else {
            throw DataError(.io, file: directory, "cannot list the folder: \(Files.errnoText())")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted(by: nameOrder)
    }

    /// Python's string order (code points), which torchvision uses to number ImageFolder classes.
    static func nameOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lazy.map(\.value).lexicographicallyPrecedes(b.unicodeScalars.lazy.map(\.value))
    }

    // MARK: - IDX

    /// What the header of a possible IDX file says.
    struct IDXHeader: Equatable {
        var path: String
        /// 3 (images) or 1 (labels).
        var rank: Int
        var count: Int
    }

    /// The IDX images/labels pair in a folder, or nil when no file in it is an IDX images file.
    static func idx(in directory: String, names: [String]) throws -> DiscoveredDataset? {
        var images: [IDXHeader] = [], labels: [IDXHeader] = []
        for name in names {
            let path = Files.join(directory, name)
            guard Files.isRegularFile(path), let header = sniffIDX(path) else { continue }
            if header.rank == 3 { images.append(header) } else { labels.append(header) }
        }
        // The same file raw and gzip (Fashion-MNIST's folder may hold both): the raw one, as
        // `FashionMNIST.files` prefers it.
        images = preferRaw(images)
        labels = preferRaw(labels)
        guard !images.isEmpty else { return nil }
        var pairs: [(images: IDXHeader, labels: IDXHeader?)] = []
        for i in images {
            let partners = labels.filter { $0.count == i.count }
            // Of several labels files with the right count, the one named like the images file.
            let partner = partners.first { stem(of: $0.path) == stem(of: i.path) } ?? partners.first
            pairs.append((i, partner))
        }
        let labelled = pairs.filter { $0.labels != nil }
        let candidates = labelled.isEmpty ? pairs : labelled
        let tests = candidates.filter { isTestName($0.images.path) }
        let chosen = (tests.isEmpty ? candidates : tests)[0]
        var notes: [String] = []
        let others = candidates.filter { $0.images.path != chosen.images.path }
        if !others.isEmpty {
            let split = isTestName(chosen.images.path) ? "the test split " : ""
            notes.append("using \(split)\(Files.baseName(of: chosen.images.path)) (\(chosen.images.count) images); also there: "
                         + others.map { Files.baseName(of: $0.images.path) }.joined(separator: ", "))
        }
        let dataset: ImageDataset
        if let labelsFile = chosen.labels {
            dataset = try ImageDataset.load(imagesPath: chosen.images.path, labelsPath: labelsFile.path)
        } else {
            notes.append("no IDX labels file with \(chosen.images.count) labels beside \(Files.baseName(of: chosen.images.path)): the images are unlabelled")
            dataset = try ImageDataset.loadUnlabelled(imagesPath: chosen.images.path)
        }
        return DiscoveredDataset(dataset: dataset, kind: .idx(images: chosen.images.path, labels: chosen.labels?.path),
                                 hasClassNames: false, notes: notes,
                                 summary: "IDX \(Files.baseName(of: chosen.images.path))")
    }

    /// The rank and count of an IDX unsigned-byte file of rank 3 or 1 (raw or gzip), or nil for
    /// anything else (other files in the folder are not errors).
    static func sniffIDX(_ path: String) -> IDXHeader? {
        var sink = PrefixSink(count: 8)
        do { try ByteSource.feed(file: path, into: &sink) } catch {
            // `PrefixSink` stops the read by throwing once it has its bytes.
            guard sink.bytes.count == 8 else { return nil }
        }
        let b = sink.bytes
        guard b.count == 8, b[0] == 0, b[1] == 0, b[2] == IDXFile.ElementType.uint8.rawValue,
              b[3] == 3 || b[3] == 1 else { return nil }
        let count = Int(b[4]) << 24 | Int(b[5]) << 16 | Int(b[6]) << 8 | Int(b[7])
        return IDXHeader(path: path, rank: Int(b[3]), count: count)
    }

    /// The headers with, of a raw file and its `.gz`, only the raw one.
    static func preferRaw(_ headers: [IDXHeader]) -> [IDXHeader] {
        let paths = Set(headers.map(\.path))
        return headers.filter { !($0.path.hasSuffix(".gz") && paths.contains(String($0.path.dropLast(3)))) }
    }

    /// A file name reduced to what an images file and its labels file share: "t10k--ubyte" for
    /// both `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte`.
    static func stem(of path: String) -> String {
        var name = Files.baseName(of: path).lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        for word in ["images", "image", "labels", "label", "idx3", "idx1"] {
            name = name.replacing(word, with: "")
        }
        return name
    }

    /// Whether a file name marks the test split ("t10k", "test").
    static func isTestName(_ path: String) -> Bool {
        let name = Files.baseName(of: path).lowercased()
        return name.contains("t10k") || name.contains("test")
    }

    // MARK: - CIFAR

    /// The CIFAR batches in a folder (the test batch, else the training batches), or nil.
    static func cifar(in directory: String, names: [String]) throws -> DiscoveredDataset? {
        for variant in CIFAR.Variant.allCases {
            let present = names.filter { CIFAR.variant(ofFileName: $0) == variant && Files.isRegularFile(Files.join(directory, $0)) }
            guard !present.isEmpty else { continue }
            let files: [String]
            var notes: [String] = []
            if present.contains(variant.testFile) {
                files = [variant.testFile]
                if present.count > 1 { notes.append("using the \(variant.rawValue) test batch \(variant.testFile); the training batches are left out") }
            } else {
                files = present
                notes.append("no \(variant.rawValue) test batch (\(variant.testFile)): using the training batches \(present.joined(separator: ", "))")
            }
            let namesPath = Files.join(directory, variant.classNamesFile)
            var classNames: [String]?
            if Files.exists(namesPath) {
                classNames = try CIFAR.readClassNames(path: namesPath, variant: variant)
            } else {
                notes.append("no \(variant.classNamesFile): the \(variant.rawValue) classes are numbered")
            }
            let paths = files.map { Files.join(directory, $0) }
            let dataset = try CIFAR.load(paths: paths, variant: variant, classNames: classNames)
            return DiscoveredDataset(dataset: dataset, kind: .cifar(variant, files: paths), hasClassNames: classNames != nil,
                                     notes: notes, summary: "\(variant.rawValue) \(files.joined(separator: ", "))")
        }
        return nil
    }
}

// MARK: - Matching labels to a model

extension DiscoveredDataset {
    /// The dataset with the model's class names and, if needed, labels renumbered to the
    /// model's classes, and how they were matched. The rule (docs/DATA.md):
    /// - no labels: the model's names, nothing to match;
    /// - the dataset's names equal the model's: as is;
    /// - every one of the dataset's names is one of the model's (exact, case-sensitive): labels
    ///   renumbered by name (an ImageFolder with a subset of the classes, or in another order);
    /// - otherwise labels are the model's class indices, with a warning when the dataset named
    ///   its classes (numbered classes — IDX, CIFAR without its names file — match by index
    ///   silently, as Fashion-MNIST's IDX files always have).
    ///
    /// - Throws: `DataError(.labelOutOfRange)` when matched by index and a label is not below
    ///   the model's class count.
    public func matched(to modelClasses: [String]) throws -> (dataset: ImageDataset, match: LabelMatch) {
        guard let labels = dataset.labels else {
            return (try dataset.renamingClasses(modelClasses), .unlabelled)
        }
        let own = dataset.classNames
        if own == modelClasses { return (dataset, .same) }
        var index: [String: Int] = [:]
        for (i, name) in modelClasses.enumerated() where index[name] == nil { index[name] = i }
        if hasClassNames, !own.isEmpty, own.allSatisfy({ index[$0] != nil }) {
            let renumbered = labels.map { index[own[$0]]! }
            return (try dataset.renamingClasses(modelClasses, labels: renumbered), .byName)
        }
        if let top = labels.max(), top >= modelClasses.count {
            throw DataError(.labelOutOfRange, file: summary,
                            "labels go up to \(top) but the model has \(modelClasses.count) class\(modelClasses.count == 1 ? "" : "es")")
        }
        let warning: String? = hasClassNames
            ? "the class names of \(summary) (\(Self.list(own))) are not all among the model's (\(Self.list(modelClasses))): labels are matched by index"
            : nil
        return (try dataset.renamingClasses(modelClasses), .byIndex(warning: warning))
    }

    /// "a, b, c, … (10)": the first few names of a list.
    static func list(_ names: [String]) -> String {
        names.count <= 4 ? names.joined(separator: ", ") : names.prefix(3).joined(separator: ", ") + ", … (\(names.count))"
    }
}

// MARK: - Helpers

/// A sink that keeps the first `count` bytes and then stops the source by throwing.
struct PrefixSink: ByteSink {
    struct Enough: Error {}
    let count: Int
    private(set) var bytes: [UInt8] = []
    init(count: Int) { self.count = count }
    var wanted: Int { Swift.max(1, count - bytes.count) }
    mutating func begin(sourceSize: Int?, compressed: Bool) throws {}
    mutating func append(_ chunk: UnsafeBufferPointer<UInt8>) throws {
        bytes.append(contentsOf: chunk.prefix(count - bytes.count))
        if bytes.count >= count { throw Enough() }
    }
}
