import DyConvEngine

/// CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) in their "binary version" batches: 3×32×32 colour
/// images, 50 000 for training and 10 000 for testing.
///
/// A batch file is a sequence of fixed-size records with no header: the label byte(s), then
/// 3072 pixel bytes, the red, green and blue 32×32 planes one after the other, rows top to
/// bottom — already the planar CHW layout of `ImageDataset`. CIFAR-10 records have one label
/// byte (0–9; files `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`, class names in
/// `batches.meta.txt`); CIFAR-100 records have two, the coarse label (0–19) then the fine one
/// (0–99; files `train.bin`, `test.bin`, names in `fine_label_names.txt`). dyconv uses the
/// fine labels, as PyTorch's `torchvision.datasets.CIFAR100` does.
///
/// Nothing in a batch says how many records it holds, so its size must be a whole number of
/// records; every label is checked against its range, and the memory of the whole set is
/// checked against `Limits.memoryBudget` from the file sizes, before anything is read.
public enum CIFAR {
    /// Side of the square images.
    public static let side = 32
    /// Pixel bytes of one record: 3 × 32 × 32.
    public static let imageBytes = 3 * 32 * 32
    /// The most bytes a class-names file may have (the real ones are under 1 kB).
    public static let maxNamesFileSize = 1 << 20

    /// CIFAR-10 or CIFAR-100.
    public enum Variant: String, Sendable, Equatable, CaseIterable {
        case cifar10 = "CIFAR-10"
        case cifar100 = "CIFAR-100"

        /// Label bytes before each image: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).
        public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        /// Bytes of one record.
        public var recordSize: Int { labelBytes + CIFAR.imageBytes }
        /// The number of (fine) classes.
        public var classCount: Int { self == .cifar10 ? 10 : 100 }
        /// The number of coarse classes (CIFAR-100 only; 0 for CIFAR-10).
        public var coarseClassCount: Int { self == .cifar10 ? 0 : 20 }
        /// The file holding the class names, one per line.
        public var classNamesFile: String { self == .cifar10 ? "batches.meta.txt" : "fine_label_names.txt" }
        /// The test batch's file name.
        public var testFile: String { self == .cifar10 ? "test_batch.bin" : "test.bin" }
        /// The training batches' file names.
        public var trainFiles: [String] { self == .cifar10 ? (1...5).map { "data_batch_\($0).bin" } : ["train.bin"] }
    }

    /// Loads one or more batch files of `variant` as one dataset, in the order given.
    ///
    /// - Parameter classNames: the class names (e.g. from `readClassNames(path:variant:)`); if
    ///   nil, the classes are numbered "0", "1", … (`variant.classCount` of them).
    /// - Throws: `DataError` naming the file: missing or unreadable, empty, not a whole number
    ///   of records, a label out of range, or more memory than `Limits.memoryBudget`.
    public static func load(paths: [String], variant: Variant, classNames: [String]? = nil) throws -> ImageDataset {
        guard let first = paths.first else {
            throw DataError(.invalidArgument, file: "", "no \(variant.rawValue) batch file given")
        }
        let names = try checkedNames(classNames, variant: variant, file: first)
        // Sizes first: the whole set is checked against the budget before a byte is read.
        var records = 0, largest = 0
        for path in paths {
            let size = try fileSize(path)
            records = CheckedSize.sum(records, try recordCount(size: size, variant: variant, name: path)) ?? Int.max
            largest = Swift.max(largest, size)
        }
        // The pixels and labels of every record, plus the bytes of the file being parsed.
        let total = CheckedSize.sum(CheckedSize.product(records, imageBytes + MemoryLayout<Int>.size), largest)
        do {
            try Limits.checkMemory(total, for: "\(records) \(variant.rawValue) images")
        } catch {
            throw DataError(.tooLarge, file: first, error.message)
        }
        var pixels = [UInt8](), labels = [Int]()
        pixels.reserveCapacity(records * imageBytes)
        labels.reserveCapacity(records)
        for path in paths {
            let bytes: [UInt8]
            do { bytes = try Files.readAll(path: path) } catch { throw DataError(error) }
            try append(bytes, name: path, variant: variant, classCount: names.count, pixels: &pixels, labels: &labels)
        }
        return ImageDataset(unchecked: 3, side, side, pixels, labels, names)
    }

    /// Parses the bytes of one batch file (in memory: tests, fuzzing), with the checks of
    /// `load(paths:variant:classNames:)`; `name` is used in errors.
    public static func parse(_ bytes: [UInt8], name: String, variant: Variant,
                             classNames: [String]? = nil) throws -> ImageDataset {
        let names = try checkedNames(classNames, variant: variant, file: name)
        let records = try recordCount(size: bytes.count, variant: variant, name: name)
        do {
            try Limits.checkMemory(CheckedSize.product(records, imageBytes + MemoryLayout<Int>.size),
                                   for: "\(records) \(variant.rawValue) images")
        } catch {
            throw DataError(.tooLarge, file: name, error.message)
        }
        var pixels = [UInt8](), labels = [Int]()
        try append(bytes, name: name, variant: variant, classCount: names.count, pixels: &pixels, labels: &labels)
        return ImageDataset(unchecked: 3, side, side, pixels, labels, names)
    }

    /// Reads a class-names file (`batches.meta.txt`, `fine_label_names.txt`): one name per line,
    /// blank lines ignored (CIFAR-10's file ends with some), surrounding spaces trimmed.
    ///
    /// - Throws: `DataError` naming the file: unreadable, over `maxNamesFileSize`, or a number
    ///   of names other than `variant.classCount`.
    public static func readClassNames(path: String, variant: Variant) throws -> [String] {
        let bytes: [UInt8]
        do {
            let prefix = try Files.readPrefix(path: path, count: maxNamesFileSize + 1)
            guard prefix.fileSize <= maxNamesFileSize else {
                throw DataError(.tooLarge, file: path, "a class-names file of \(Limits.formatBytes(prefix.fileSize)); the limit is \(Limits.formatBytes(maxNamesFileSize))")
            }
            bytes = prefix.bytes
        } catch let error as FileError {
            throw DataError(error)
        }
        let names = classNames(fromText: bytes)
        guard names.count == variant.classCount else {
            throw DataError(.countMismatch, file: path, "\(names.count) class names, but \(variant.rawValue) has \(variant.classCount) classes")
        }
        return names
    }

    /// The non-blank lines of a text file, trimmed: the one parser of class-name lists
    /// (CIFAR's files, `dyconv import --classes`-style lists).
    public static func classNames(fromText bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self)
            .split(whereSeparator: { $0.isNewline })
            .map { $0.trimmingSpaces() }
            .filter { !$0.isEmpty }
    }

    /// Which variant a batch file's name belongs to: CIFAR-10's `data_batch_N.bin` and
    /// `test_batch.bin`, CIFAR-100's `train.bin` and `test.bin`; nil for other names.
    public static func variant(ofFileName name: String) -> Variant? {
        if name == Variant.cifar10.testFile || (name.hasPrefix("data_batch_") && name.hasSuffix(".bin")) { return .cifar10 }
        if name == Variant.cifar100.testFile || Variant.cifar100.trainFiles.contains(name) { return .cifar100 }
        return nil
    }

    // MARK: - Helpers

    /// The size of a regular file, without reading it.
    private static func fileSize(_ path: String) throws -> Int {
        do { return try Files.readPrefix(path: path, count: 0).fileSize } catch { throw DataError(error) }
    }

    /// The number of records in `size` bytes: at least one, and no partial record.
    private static func recordCount(size: Int, variant: Variant, name: String) throws -> Int {
        let record = variant.recordSize
        guard size > 0 else {
            throw DataError(.badDimensions, file: name, "is empty: a \(variant.rawValue) batch holds \(record)-byte records")
        }
        guard size % record == 0 else {
            throw DataError(.truncated, file: name,
                            "\(size) bytes is not a whole number of \(variant.rawValue) records of \(record) bytes "
                            + "(\(size / record) records and \(size % record) bytes over)")
        }
        return size / record
    }

    /// The class names to use: `given` (checked to have `variant.classCount` entries), or numbers.
    private static func checkedNames(_ given: [String]?, variant: Variant, file: String) throws -> [String] {
        guard let given else { return (0..<variant.classCount).map(String.init) }
        guard given.count == variant.classCount else {
            throw DataError(.countMismatch, file: file, "\(given.count) class names given, but \(variant.rawValue) has \(variant.classCount) classes")
        }
        return given
    }

    /// Appends the records of one batch (its size already checked) to `pixels` and `labels`.
    private static func append(_ bytes: [UInt8], name: String, variant: Variant, classCount: Int,
                               pixels: inout [UInt8], labels: inout [Int]) throws {
        let record = variant.recordSize
        let records = try recordCount(size: bytes.count, variant: variant, name: name)
        let coarseLimit = variant.coarseClassCount
        try bytes.withUnsafeBufferPointer { source in
            for r in 0..<records {
                let start = r * record
                if variant == .cifar100, Int(source[start]) >= coarseLimit {
                    throw DataError(.labelOutOfRange, file: name,
                                    "record \(r): coarse label \(source[start]) is out of range 0...\(coarseLimit - 1)")
                }
                let label = Int(source[start + variant.labelBytes - 1])
                guard label < classCount else {
                    throw DataError(.labelOutOfRange, file: name,
                                    "record \(r): label \(label) is out of range 0...\(classCount - 1) for \(variant.rawValue)")
                }
                labels.append(label)
                pixels.append(contentsOf: UnsafeBufferPointer(rebasing: source[(start + variant.labelBytes)..<(start + record)]))
            }
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
